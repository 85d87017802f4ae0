"""The FireCube models: LOADE-CNN (Eddin et al. 2022), its ablation, LSTM, ConvLSTM and the scikit-learn baselines."""
from __future__ import annotations


import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from torch import nn
from torch.nn import functional as F

import registry
from registry.datasets.tensors import Fields
from registry.models.firecube import Loade, flat_features, random_state_params, temporal_encoding

TORCH_MODELS = ("loade_cnn", "lstm", "convlstm")
SKLEARN_MODELS = ("logistic_regression", "random_forest")
SMALL = {"loade_cnn": {"width": 8}, "lstm": {"hidden_size": 16}, "convlstm": {"hidden_size": 8}}


@pytest.fixture(scope="module", autouse=True)
def _registry():
    registry.load_all()


def harness(window: int = 10, patch: int = 25, dynamic: int = 10, static: int = 15) -> dict[str, int]:
    return {"num_classes": 2, "dynamic_channels": dynamic, "static_channels": static, "window": window, "patch": patch}


def build(name: str, window: int = 4, patch: int = 9, dynamic: int = 10, static: int = 15, **params):
    """Build as the runner does: the harness offers all five names, the entry takes the ones it declares."""
    entry = registry.MODELS.get(name)
    offered = harness(window, patch, dynamic, static)
    assert set(entry.harness_names) <= set(offered)
    return entry.build(harness={k: offered[k] for k in entry.harness_names}, params=params)


def batch(n: int = 4, window: int = 4, patch: int = 9, dynamic: int = 10, static: int = 15, seed: int = 0) -> Fields:
    g = torch.Generator().manual_seed(seed)
    return Fields(
        dynamic=torch.rand(n, window, dynamic, patch, patch, generator=g),
        static=torch.rand(n, static, patch, patch, generator=g),
        doy=torch.randint(1, 367, (n,), generator=g).float(),
    )


def with_field(x: Fields, name: str, value: torch.Tensor) -> Fields:
    tensors = dict(x.tensors)
    tensors[name] = value
    return Fields(**tensors)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- registration and shapes


@pytest.mark.parametrize("name", TORCH_MODELS + SKLEARN_MODELS)
def test_registered_with_harness_subset_and_description(name):
    entry = registry.MODELS.get(name)
    assert set(entry.harness_names) <= set(harness())
    assert entry.description and "\n" not in entry.description


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_output_shape_full_size_defaults(name):
    model = build(name, window=10, patch=25).eval()
    with torch.no_grad():
        out = model(batch(n=2, window=10, patch=25))
    assert out.shape == (2, 2) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", TORCH_MODELS)
@pytest.mark.parametrize("window,patch", [(4, 9), (4, 5), (1, 3)])
def test_output_shape_small_inputs(name, window, patch):
    model = build(name, window, patch, **SMALL[name])
    out = model(batch(n=3, window=window, patch=patch))  # training mode: batch norms use batch statistics
    assert out.shape == (3, 2) and torch.isfinite(out).all()


def test_loade_cnn_parameter_count_at_defaults():
    # Cd=10, Cs=15, widths 32/64/128, d=256, head 384 -> 256 -> 128 -> 32 -> 2:
    dynamic = 27 * (10 * 32 + 32 * 64 + 64 * 128)                     # bias-free 3x3x3 convs   285,120
    loade = sum(2 * (9 * w * w + w) for w in (32, 64, 128))           # gamma and beta convs    387,520
    static = 9 * (15 * 32 + 32 * 64 + 64 * 128) + 2 * (32 + 64 + 128)  # convs + BN2d affine      96,928
    project = 128 * 256 + 256                                         # pooled dynamic -> d       33,024
    head = (384 * 256 + 256) + (256 * 128 + 128) + (128 * 32 + 32) + (32 * 2 + 2)  #            135,650
    expected = dynamic + loade + static + project + 1 + head          # + the scalar w
    assert expected == 938_243
    model = build("loade_cnn", window=10, patch=25)
    assert n_params(model) == expected
    ablation = build("loade_cnn", window=10, patch=25, loade=False)
    assert n_params(ablation) == expected - loade + 27 * 15 * 32 + 2 * (32 + 64 + 128)


def test_bad_params_are_rejected():
    entry = registry.MODELS.get("loade_cnn")
    assert entry.validate_params({"dropout": 1.5}, "model.params", "spec.yaml")
    assert entry.validate_params({"width": 0}, "model.params", "spec.yaml")
    assert not entry.validate_params({"loade": False, "temporal_encoding": False}, "model.params", "spec.yaml")


# ---------------------------------------------------------------- the LOADE layer


def test_loade_with_zeroed_convs_is_affine_free_batch_norm():
    torch.manual_seed(0)
    layer = Loade(6, 5)
    for conv in (layer.gamma, layer.beta):
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
    x, s = torch.randn(4, 6, 3, 7, 7) * 3 + 1, torch.randn(4, 5, 7, 7)
    reference = nn.BatchNorm3d(6, affine=False)
    torch.testing.assert_close(layer(x, s), reference(x))
    direct = (x - x.mean(dim=(0, 2, 3, 4), keepdim=True)) / torch.sqrt(x.var(dim=(0, 2, 3, 4), unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(layer(x, s), direct, atol=1e-5, rtol=1e-5)


def test_loade_initialisation():
    layer = Loade(64, 64)
    for conv in (layer.gamma, layer.beta):
        assert torch.all(conv.bias == 0)
        assert abs(conv.weight.std().item() - 0.01) < 0.001 and abs(conv.weight.mean().item()) < 0.001
    assert not any(p.requires_grad for p in layer.norm.parameters()) and layer.norm.affine is False
    assert layer.cond_norm.affine is False


def test_loade_constant_static_map_gives_spatially_constant_modulation():
    torch.manual_seed(0)
    layer = Loade(4, 3)
    levels = torch.randn(5, 3, 1, 1)  # each sample and channel a different constant over the patch
    s = levels.expand(-1, -1, 9, 9).contiguous()
    gamma, beta = layer.modulation(s)
    assert gamma.shape == beta.shape == (5, 4, 9, 9)
    for m in (gamma, beta):
        torch.testing.assert_close(m, m[:, :, :1, :1].expand_as(m))
        assert m.abs().max() > 0  # not trivially zero


def test_loade_modulation_is_the_same_at_every_time_step():
    torch.manual_seed(0)
    layer = Loade(4, 3)
    for conv in (layer.gamma, layer.beta):
        nn.init.normal_(conv.weight, 0.0, 0.5)
    frame = torch.randn(2, 4, 1, 6, 6)
    x = frame.expand(-1, -1, 5, -1, -1).contiguous()  # the same map at all 5 time steps
    s = torch.randn(2, 3, 6, 6)
    out = layer(x, s)
    for t in range(5):
        torch.testing.assert_close(out[:, :, t], out[:, :, 0])
    gamma, beta = layer.modulation(s)
    x = torch.randn(2, 4, 5, 6, 6)
    x_hat = F.batch_norm(x, None, None, training=True)
    torch.testing.assert_close(layer(x, s), x_hat * (1 + gamma[:, :, None]) + beta[:, :, None])


def test_loade_cnn_has_three_loade_layers_matching_branch_widths():
    model = build("loade_cnn", width=8)
    layers = [m for m in model.modules() if isinstance(m, Loade)]
    assert [m.gamma.out_channels for m in layers] == [8, 16, 32]
    assert [m.gamma.in_channels for m in layers] == [8, 16, 32]
    assert [c.out_channels for c in model.dynamic_convs] == [8, 16, 32]
    assert [c.out_channels for c in model.static_convs] == [8, 16, 32]
    assert model.dynamic_convs[0].in_channels == 10 and model.static_convs[0].in_channels == 15


def test_loade_cnn_static_input_modulates_the_dynamic_branch():
    model = build("loade_cnn", width=8).eval()
    x = batch()
    static = x["static"].clone()
    static[:, :, 0, 0] += 1.0
    with torch.no_grad():
        assert not torch.allclose(model(x), model(with_field(x, "static", static)))


def test_ablation_has_no_loade_and_concatenates_static_along_time():
    model = build("loade_cnn", width=8, loade=False)
    assert not any(isinstance(m, Loade) for m in model.modules())
    assert model.dynamic_convs[0].in_channels == 10 + 15
    assert all(isinstance(m, nn.BatchNorm3d) and m.affine for m in model.dynamic_norms)
    out = model(batch())
    assert out.shape == (4, 2)
    out.sum().backward()
    assert model.dynamic_convs[0].weight.grad[:, 10:].abs().sum() > 0  # the static channels reach it


# ---------------------------------------------------------------- temporal encoding


def test_temporal_encoding_matches_the_formula():
    d = 256
    doy = np.array([1.0, 2.0, 45.0, 180.0, 366.0])
    expected = np.zeros((len(doy), d))
    for row, t in enumerate(doy):
        for i in range(d // 2):
            expected[row, 2 * i] = np.sin(t / 10 ** (2 * i / d))
            expected[row, 2 * i + 1] = np.cos(t / 10 ** (2 * i / d))
    got = temporal_encoding(torch.tensor(doy, dtype=torch.float32)).numpy()
    assert got.shape == (5, d)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_model_adds_scaled_encoding_to_projected_dynamic_features():
    model = build("loade_cnn", width=8).eval()
    with torch.no_grad():
        model.pe_weight.fill_(0.5)
        x = batch()
        y = with_field(x, "doy", x["doy"] % 366 + 1)
        delta = model.features(y) - model.features(x)
    expected = 1.5 * (temporal_encoding(y["doy"]) - temporal_encoding(x["doy"]))
    torch.testing.assert_close(delta[:, :256], expected, atol=1e-5, rtol=1e-5)
    assert torch.all(delta[:, 256:] == 0)  # the static features are untouched


def test_day_of_year_matters_from_initialisation():
    model = build("loade_cnn", width=8).eval()
    assert model.pe_weight.item() == 0.0 and model.pe_weight.requires_grad
    x = batch()
    with torch.no_grad():
        assert not torch.allclose(model(x), model(with_field(x, "doy", x["doy"] % 366 + 1)))


def test_without_temporal_encoding_the_day_of_year_is_ignored():
    model = build("loade_cnn", width=8, temporal_encoding=False).eval()
    assert not hasattr(model, "pe_weight")
    x = batch()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(with_field(x, "doy", torch.full_like(x["doy"], 7.0))), rtol=0, atol=0)


# ---------------------------------------------------------------- LSTM and ConvLSTM inputs


def test_lstm_uses_only_the_centre_pixel():
    model = build("lstm", **SMALL["lstm"]).eval()
    x = batch(patch=9)
    dynamic, static = x["dynamic"].clone(), x["static"].clone()
    dynamic[:, :, :, 0, 0] += 5.0
    dynamic[:, :, :, 4, 3] += 5.0  # next to the centre
    static[:, :, 8, 8] += 5.0
    changed = Fields(dynamic=dynamic, static=static, doy=x["doy"] + 10)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(changed), rtol=0, atol=0)
        centre = x["dynamic"].clone()
        centre[:, :, 0, 4, 4] += 1.0
        assert not torch.allclose(model(x), model(with_field(x, "dynamic", centre)))
        centre_static = x["static"].clone()
        centre_static[:, 0, 4, 4] += 1.0
        assert not torch.allclose(model(x), model(with_field(x, "static", centre_static)))


def test_convlstm_uses_the_whole_patch():
    model = build("convlstm", **SMALL["convlstm"]).eval()
    x = batch(patch=9)
    with torch.no_grad():
        base = model(x)
        dynamic = x["dynamic"].clone()
        dynamic[:, 0, 0, 0, 0] += 1.0  # a corner pixel on the first day
        assert not torch.allclose(base, model(with_field(x, "dynamic", dynamic)))
        static = x["static"].clone()
        static[:, 0, 8, 0] += 1.0
        assert not torch.allclose(base, model(with_field(x, "static", static)))
        torch.testing.assert_close(base, model(with_field(x, "doy", x["doy"] + 1)), rtol=0, atol=0)


def test_stacked_recurrent_models_run():
    for name in ("lstm", "convlstm"):
        model = build(name, **SMALL[name], layers=2)
        assert model(batch()).shape == (4, 2)


# ---------------------------------------------------------------- gradients, determinism, learnability


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_gradients_reach_the_first_layers(name):
    model = build(name, **SMALL[name])
    F.cross_entropy(model(batch()), torch.tensor([0, 1, 0, 1])).backward()
    if name == "loade_cnn":
        first = [model.dynamic_convs[0].weight, model.static_convs[0].weight, model.dynamic_norms[0].gamma.weight,
                 model.dynamic_norms[0].beta.weight, model.pe_weight]
    elif name == "lstm":
        first = [model.lstm.weight_ih_l0]
    else:
        first = [model.cells[0].gates.weight]
    for p in first:
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_deterministic_with_a_fixed_seed(name):
    outs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = build(name, **SMALL[name])
        outs.append(model(batch()))  # training mode: dropout draws from the same seeded generator
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def toy_problem(n: int = 64, window: int = 4, patch: int = 5, seed: int = 0) -> tuple[Fields, torch.Tensor]:
    """Label = the centre pixel's mean of dynamic channel 0 over time > 0.5, separable with a margin: channel 0
    is one level per sample, at least 0.1 from 0.5, plus zero-mean daily noise, the same over the patch (so the
    patch mean is the centre's); every other value is uniform noise."""
    g = torch.Generator().manual_seed(seed)
    x = batch(n, window, patch, seed=seed)
    side = torch.randint(0, 2, (n,), generator=g) * 2 - 1
    level = 0.5 + side * (0.1 + 0.4 * torch.rand(n, generator=g))
    noise = 0.1 * torch.randn(n, window, generator=g)
    daily = level[:, None] + noise - noise.mean(dim=1, keepdim=True)
    dynamic = x["dynamic"].clone()
    dynamic[:, :, 0] = daily[:, :, None, None]
    c = patch // 2
    y = (dynamic[:, :, 0, c, c].mean(dim=1) > 0.5).long()
    return with_field(x, "dynamic", dynamic), y


@pytest.fixture
def one_thread():
    """Tiny problems gain nothing from threads, and two threads on busy cores can stall for seconds."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name,params", [(name, SMALL[name]) for name in TORCH_MODELS] + [("loade_cnn", {"width": 8, "loade": False})],
                         ids=[*TORCH_MODELS, "loade_cnn-ablation"])
def test_learns_a_separable_toy_problem(name, params, one_thread):
    x, y = toy_problem()
    assert 0.3 < y.float().mean() < 0.7
    torch.manual_seed(0)
    model = build(name, window=4, patch=5, **params)  # default dropout 0.5
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(100):
        optimiser.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    assert accuracy > 0.9, f"{name}: train accuracy {accuracy:.2f}"


# ---------------------------------------------------------------- scikit-learn baselines and their features


def test_flat_features_are_the_centre_pixel_by_day_then_static():
    x = batch(n=3, window=4, patch=9, dynamic=10, static=15)
    features = flat_features(x)
    assert isinstance(features, np.ndarray) and features.dtype == np.float32
    assert features.shape == (3, 4 * 10 + 15)
    d, s = x["dynamic"].numpy(), x["static"].numpy()
    for i in range(3):
        for t in range(4):
            for c in range(10):
                assert features[i, t * 10 + c] == d[i, t, c, 4, 4]
        for c in range(15):
            assert features[i, 40 + c] == s[i, c, 4, 4]


def test_flat_features_even_patch_uses_lower_right_centre():
    x = batch(n=2, window=2, patch=4, dynamic=3, static=2)
    np.testing.assert_array_equal(flat_features(x)[:, :3], x["dynamic"][:, 0, :, 2, 2].numpy())


@pytest.mark.parametrize("name", SKLEARN_MODELS)
def test_sklearn_baselines_fit_and_predict(name):
    x, y = toy_problem(n=80, window=4, patch=5)
    estimator = build(name)
    assert isinstance(estimator, BaseEstimator) and not isinstance(estimator, nn.Module)
    if name == "random_forest":
        estimator.set_params(n_estimators=20)
    estimator.set_params(**random_state_params(estimator, 0))
    features = flat_features(x)
    estimator.fit(features, y.numpy())
    proba = estimator.predict_proba(features)
    assert proba.shape == (80, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == y.numpy()).mean() > 0.9


def test_sklearn_params_reach_the_estimators():
    logistic = build("logistic_regression", c=0.5, max_iter=50)
    lr = logistic.named_steps["logisticregression"]
    assert lr.C == 0.5 and lr.max_iter == 50 and lr.class_weight is None
    assert [type(step).__name__ for step in logistic.named_steps.values()] == ["StandardScaler", "LogisticRegression"]
    forest = build("random_forest", n_estimators=7, max_depth=3, min_samples_leaf=2)
    assert (forest.n_estimators, forest.max_depth, forest.min_samples_leaf, forest.n_jobs) == (7, 3, 2, 1)
    assert build("random_forest").max_depth is None


def test_random_state_can_be_set():
    forest = build("random_forest", n_estimators=5)
    assert random_state_params(forest, 7) == {"random_state": 7}
    forest.set_params(random_state=7)
    assert forest.random_state == 7
    logistic = build("logistic_regression")
    assert random_state_params(logistic, 7) == {"logisticregression__random_state": 7}
    logistic.set_params(**random_state_params(logistic, 7))
    assert logistic.named_steps["logisticregression"].random_state == 7

    x, y = toy_problem(n=60, window=4, patch=5)
    features, labels = flat_features(x), y.numpy()
    probas = [build("random_forest", n_estimators=5).set_params(random_state=3).fit(features, labels).predict_proba(features)
              for _ in range(2)]
    np.testing.assert_array_equal(probas[0], probas[1])
