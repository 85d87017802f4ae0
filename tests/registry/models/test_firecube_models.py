"""The FireCube models: LOADE-CNN as the official code (HakamShams/LOAN models/CNN.py) and Podium's earlier
variant, their ablations, LSTM, ConvLSTM and the scikit-learn baselines."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator
from torch import nn
from torch.nn import functional as F

import registry
from registry.datasets.tensors import Fields
from registry.models.firecube import (
    MIN_PATCH, MIN_WINDOW, Loade, flat_features, random_state_params, temporal_encoding, temporal_encoding_podium_v1,
)

SKLEARN_MODELS = ("logistic_regression", "random_forest")
# id -> (registry name, small params, the small (window, patch) it runs on): the official network needs T >= 8, P >= 14
TORCH = {
    "loade_cnn": ("loade_cnn", {"width": 8}, (8, 15)),
    "loade_cnn-podium_v1": ("loade_cnn", {"width": 8, "variant": "podium_v1"}, (4, 9)),
    "lstm": ("lstm", {"hidden_size": 16}, (4, 9)),
    "convlstm": ("convlstm", {"hidden_size": 8}, (4, 9)),
}
TORCH_MODELS = tuple(TORCH)
SMALL = {key: params for key, (_, params, _) in TORCH.items()}
LOADE = {"loade_cnn": {}, "loade_cnn-podium_v1": {"variant": "podium_v1"}}  # the two variants, at their defaults


@pytest.fixture(scope="module", autouse=True)
def _registry():
    registry.load_all()


def harness(window: int = 10, patch: int = 25, dynamic: int = 10, static: int = 15) -> dict[str, int]:
    return {"num_classes": 2, "dynamic_channels": dynamic, "static_channels": static, "window": window, "patch": patch}


def build(name: str, window: int = 4, patch: int = 9, dynamic: int = 10, static: int = 15, **params):
    """Build as the runner does: the harness offers all five names, the entry takes the ones it declares.
    ``name`` is a registry name or a key of TORCH (whose variant, if it names one, is used)."""
    entry_name, small, _ = TORCH.get(name, (name, {}, None))
    if "variant" in small:
        params = {"variant": small["variant"], **params}
    entry = registry.MODELS.get(entry_name)
    offered = harness(window, patch, dynamic, static)
    assert set(entry.harness_names) <= set(offered)
    return entry.build(harness={k: offered[k] for k in entry.harness_names}, params=params)


def build_small(key: str, **params):
    """A torch model at its small parameters, on the smallest inputs it takes; returns (model, window, patch)."""
    _, small, (window, patch) = TORCH[key]
    return build(key, window, patch, **{**small, **params}), window, patch


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


def conv(c_in: int, c_out: int, kernel: int, dims: int, bias: bool = True) -> int:
    """Parameters of a convolution with a cubic (square) kernel."""
    return kernel**dims * c_in * c_out + (c_out if bias else 0)


def linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


# ---------------------------------------------------------------- registration and shapes


@pytest.mark.parametrize("name", ["loade_cnn", "lstm", "convlstm", *SKLEARN_MODELS])
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


@pytest.mark.parametrize("name", ["loade_cnn-podium_v1", "lstm", "convlstm"])
@pytest.mark.parametrize("window,patch", [(4, 9), (4, 5), (1, 3)])
def test_output_shape_small_inputs(name, window, patch):
    model = build(name, window, patch, **SMALL[name])
    out = model(batch(n=3, window=window, patch=patch))  # training mode: batch norms use batch statistics
    assert out.shape == (3, 2) and torch.isfinite(out).all()


@pytest.mark.parametrize("window,patch", [(MIN_WINDOW, MIN_PATCH), (MIN_WINDOW, 15), (10, 25), (12, 31)])
def test_official_network_runs_from_its_smallest_inputs(window, patch):
    model = build("loade_cnn", window, patch, width=8)
    out = model(batch(n=3, window=window, patch=patch))
    assert out.shape == (3, 2) and torch.isfinite(out).all()


@pytest.mark.parametrize("window,patch", [(MIN_WINDOW - 1, 25), (10, MIN_PATCH - 1), (4, 9)])
def test_official_network_refuses_inputs_too_small_for_it(window, patch):
    with pytest.raises(ValueError, match="variant=podium_v1 runs on smaller inputs"):
        build("loade_cnn", window, patch)
    build("loade_cnn", window, patch, variant="podium_v1")  # the earlier variant takes them


def test_official_parameter_count_from_the_architecture():
    # models/CNN.py at Cd=10, Cs=15: Block1-3 (unpadded 3D convs with bias, the third 2x2x2), loan1-2 (gamma and beta
    # 3x3 convs, affine-free batch norms), Block4-6 (2D convs with bias, the third 2x2) with bn4 after Block4 only,
    # PE_Weights (256), lastlayer1-4 (Conv1d k=1: linear maps) on 128*2 + 128 features
    dynamic = conv(10, 32, 3, 3) + conv(32, 64, 3, 3) + conv(64, 128, 2, 3)
    loade = 2 * conv(32, 32, 3, 2) + 2 * conv(64, 64, 3, 2)
    static = conv(15, 32, 3, 2) + 2 * 32 + conv(32, 64, 3, 2) + conv(64, 128, 2, 2)
    head = linear(128 * 2 + 128, 256) + linear(256, 128) + linear(128, 32) + linear(32, 2)
    expected = dynamic + loade + static + 256 + head
    assert (dynamic, loade, static, head, expected) == (129_696, 92_352, 55_808, 135_650, 413_762)  # the docstring's numbers
    assert n_params(build("loade_cnn", window=10, patch=25)) == expected
    assert n_params(build("loade_cnn", window=10, patch=25, temporal_encoding=False)) == expected - 256
    # without LOADE: no gamma/beta convs, one affine BatchNorm3d(32), and the 15 static channels enter Block1
    ablation = expected - loade + 2 * 32 + 27 * 15 * 32
    assert ablation == 334_434 and n_params(build("loade_cnn", window=10, patch=25, loade=False)) == ablation


def test_podium_v1_parameter_count_at_defaults():
    # Cd=10, Cs=15, widths 32/64/128, d=256, head 384 -> 256 -> 128 -> 32 -> 2:
    dynamic = conv(10, 32, 3, 3, bias=False) + conv(32, 64, 3, 3, bias=False) + conv(64, 128, 3, 3, bias=False)
    loade = sum(2 * conv(w, w, 3, 2) for w in (32, 64, 128))           # gamma and beta convs
    static = sum(conv(a, b, 3, 2, bias=False) for a, b in ((15, 32), (32, 64), (64, 128))) + 2 * (32 + 64 + 128)
    project = linear(128, 256)                                          # pooled dynamic -> d
    head = linear(384, 256) + linear(256, 128) + linear(128, 32) + linear(32, 2)
    expected = dynamic + loade + static + project + 1 + head            # + the scalar w
    assert expected == 938_243
    assert n_params(build("loade_cnn", window=10, patch=25, variant="podium_v1")) == expected
    ablation = build("loade_cnn", window=10, patch=25, loade=False, variant="podium_v1")
    assert n_params(ablation) == expected - loade + 27 * 15 * 32 + 2 * (32 + 64 + 128) == 564_131


def test_bad_params_are_rejected():
    entry = registry.MODELS.get("loade_cnn")
    assert entry.validate_params({"dropout": 1.5}, "model.params", "spec.yaml")
    assert entry.validate_params({"width": 0}, "model.params", "spec.yaml")
    assert entry.validate_params({"variant": "v2"}, "model.params", "spec.yaml")
    assert not entry.validate_params({"loade": False, "temporal_encoding": False}, "model.params", "spec.yaml")
    assert not entry.validate_params({"variant": "podium_v1"}, "model.params", "spec.yaml")


def test_variants_and_ablations_are_filed_apart():
    entry = registry.MODELS.get("loade_cnn")
    assert entry.label({}) == "loade_cnn"
    assert entry.label({"variant": "podium_v1"}) == "loade_cnn-podium_v1"
    assert entry.label({"loade": False}) == "loade_cnn-no_loade"
    assert entry.label({"variant": "podium_v1", "temporal_encoding": False}) == "loade_cnn-podium_v1-no_temporal_encoding"


# ---------------------------------------------------------------- the LOADE layer


def test_loade_with_zeroed_convs_is_affine_free_batch_norm():
    torch.manual_seed(0)
    layer = Loade(6, 5)
    for conv_ in (layer.gamma, layer.beta):
        nn.init.zeros_(conv_.weight)
        nn.init.zeros_(conv_.bias)
    x, s = torch.randn(4, 6, 3, 7, 7) * 3 + 1, torch.randn(4, 5, 7, 7)
    reference = nn.BatchNorm3d(6, affine=False)
    torch.testing.assert_close(layer(x, s), reference(x))
    direct = (x - x.mean(dim=(0, 2, 3, 4), keepdim=True)) / torch.sqrt(x.var(dim=(0, 2, 3, 4), unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(layer(x, s), direct, atol=1e-5, rtol=1e-5)


def test_loade_without_norm_modulates_the_raw_maps():
    torch.manual_seed(0)
    layer = Loade(4, 3, normalize=False)  # the official second layer, LOAN(..., norm=False)
    assert not any(isinstance(m, nn.BatchNorm3d) for m in layer.modules())
    x, s = torch.randn(2, 4, 5, 6, 6) * 3 + 1, torch.randn(2, 3, 6, 6)
    gamma, beta = layer.modulation(s)
    torch.testing.assert_close(layer(x, s), x * (1 + gamma[:, :, None]) + beta[:, :, None])
    for conv_ in (layer.gamma, layer.beta):
        nn.init.zeros_(conv_.weight)
    torch.testing.assert_close(layer(x, s), x)  # zero modulation: the identity


def test_loade_initialisation():
    layer = Loade(64, 64)
    for conv_ in (layer.gamma, layer.beta):
        assert torch.all(conv_.bias == 0) and conv_.padding == (1, 1) and conv_.padding_mode == "zeros"
        assert abs(conv_.weight.std().item() - 0.01) < 0.001 and abs(conv_.weight.mean().item()) < 0.001
    assert not any(p.requires_grad for p in layer.norm.parameters()) and layer.norm.affine is False
    assert layer.cond_norm.affine is False


def test_replicate_padded_loade_gives_spatially_constant_modulation_of_a_constant_map():
    torch.manual_seed(0)
    layer = Loade(4, 3, padding_mode="replicate")  # podium_v1's layers
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
    for conv_ in (layer.gamma, layer.beta):
        nn.init.normal_(conv_.weight, 0.0, 0.5)
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


# ---------------------------------------------------------------- the official network's structure


def test_official_network_layers():
    model = build("loade_cnn", window=10, patch=25)
    convs = [model.dynamic1, model.dynamic2, model.dynamic3, model.static1, model.static2, model.static3]
    assert all(c.bias is not None and set(c.padding) == {0} for c in convs)  # unpadded, with bias
    assert [c.kernel_size for c in convs] == [(3, 3, 3), (3, 3, 3), (2, 2, 2), (3, 3), (3, 3), (2, 2)]
    assert model.dynamic3.stride == (1, 2, 2) and model.static3.stride == (2, 2)
    assert [c.out_channels for c in convs] == [32, 64, 128, 32, 64, 128]
    assert model.dynamic1.in_channels == 10 and model.static1.in_channels == 15
    # LOADE after dynamic stages 1 and 2 only, conditioned on static stages 1 and 2; the second without batch norm
    layers = [m for m in model.modules() if isinstance(m, Loade)]
    assert layers == [model.loade1, model.loade2]
    assert [(m.gamma.in_channels, m.gamma.out_channels) for m in layers] == [(32, 32), (64, 64)]
    assert isinstance(model.loade1.norm, nn.BatchNorm3d) and isinstance(model.loade2.norm, nn.Identity)
    # batch norm with parameters only after the static branch's first convolution
    affine = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine]
    assert affine == [model.static_norm1]
    # no projection: the only linear maps are the head's, fed 128 x 2 pooled dynamic + 128 static features
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert all(any(m is h for h in model.head.modules()) for m in linears)
    assert [(m.in_features, m.out_features) for m in linears] == [(384, 256), (256, 128), (128, 32), (32, 2)]
    assert model.pe_weight.shape == (256,) and torch.all(model.pe_weight == 0) and model.pe_weight.requires_grad


def test_official_features_are_256_pooled_dynamic_then_128_static():
    model = build("loade_cnn", window=10, patch=25, temporal_encoding=False).eval()
    x = batch(n=2, window=10, patch=25)
    with torch.no_grad():
        features = model.features(x)
        assert features.shape == (2, 384) and torch.all(features >= 0)  # averages of ReLU outputs
        # the dynamic part: stage 3's 128 maps averaged to 2 time steps (of 2) and 1 x 1, channel-major
        d = x["dynamic"].permute(0, 2, 1, 3, 4)
        d = F.max_pool3d(F.relu(model.loade1(model.dynamic1(d), model.static1(x["static"]))), (1, 2, 2))
        s = F.max_pool2d(F.relu(model.static_norm1(model.static1(x["static"]))), 2)
        d = F.max_pool3d(F.relu(model.loade2(model.dynamic2(d), model.static2(s))), 2)
        d = F.relu(model.dynamic3(d))
        assert d.shape == (2, 128, 2, 2, 2)
        torch.testing.assert_close(features[:, :256], d.mean(dim=(3, 4)).flatten(1))


@pytest.mark.parametrize("key", LOADE)
def test_static_input_modulates_the_dynamic_branch(key):
    model, window, patch = build_small(key)
    x = batch(window=window, patch=patch)
    static = x["static"].clone()
    static[:, :, 0, 0] += 1.0
    with torch.no_grad():
        model.eval()
        assert not torch.allclose(model(x), model(with_field(x, "static", static)))


def test_official_ablation_has_no_loade_and_concatenates_static_along_time():
    model, window, patch = build_small("loade_cnn", loade=False)
    assert not any(isinstance(m, Loade) for m in model.modules())
    assert model.dynamic1.in_channels == 10 + 15
    assert isinstance(model.loade1, nn.BatchNorm3d) and model.loade1.affine and model.loade2 is None
    out = model(batch(window=window, patch=patch))
    assert out.shape == (4, 2)
    out.sum().backward()
    assert model.dynamic1.weight.grad[:, 10:].abs().sum() > 0  # the static channels reach it


def test_podium_v1_has_three_loade_layers_matching_branch_widths():
    model = build("loade_cnn", width=8, variant="podium_v1")
    layers = [m for m in model.modules() if isinstance(m, Loade)]
    assert [m.gamma.out_channels for m in layers] == [8, 16, 32]
    assert [m.gamma.in_channels for m in layers] == [8, 16, 32]
    assert [c.out_channels for c in model.dynamic_convs] == [8, 16, 32]
    assert [c.out_channels for c in model.static_convs] == [8, 16, 32]
    assert model.dynamic_convs[0].in_channels == 10 and model.static_convs[0].in_channels == 15


def test_podium_v1_ablation_has_no_loade_and_concatenates_static_along_time():
    model = build("loade_cnn", width=8, loade=False, variant="podium_v1")
    assert not any(isinstance(m, Loade) for m in model.modules())
    assert model.dynamic_convs[0].in_channels == 10 + 15
    assert all(isinstance(m, nn.BatchNorm3d) and m.affine for m in model.dynamic_norms)
    out = model(batch())
    assert out.shape == (4, 2)
    out.sum().backward()
    assert model.dynamic_convs[0].weight.grad[:, 10:].abs().sum() > 0


# ---------------------------------------------------------------- temporal encoding


def test_official_temporal_encoding_matches_the_formula():
    # models/CNN.py, PositionalEncoder: row pos = doy - 1; column j has frequency 10^(2j/d), sin for even j, cos for odd j
    d = 256
    doy = np.array([1.0, 2.0, 45.0, 180.0, 366.0])
    expected = np.zeros((len(doy), d))
    for row, t in enumerate(doy):
        for j in range(d):
            angle = (t - 1) / 10 ** (2 * j / d)
            expected[row, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    got = temporal_encoding(torch.tensor(doy, dtype=torch.float32)).numpy()
    assert got.shape == (5, d)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    first = temporal_encoding(torch.tensor([1.0]))[0]  # position 0: sin 0 = 0 and cos 0 = 1, alternating
    assert torch.all(first[0::2] == 0) and torch.all(first[1::2] == 1)


def test_podium_v1_temporal_encoding_matches_its_formula():
    d = 256
    doy = np.array([1.0, 2.0, 45.0, 180.0, 366.0])
    expected = np.zeros((len(doy), d))
    for row, t in enumerate(doy):
        for i in range(d // 2):
            expected[row, 2 * i] = np.sin(t / 10 ** (2 * i / d))
            expected[row, 2 * i + 1] = np.cos(t / 10 ** (2 * i / d))
    got = temporal_encoding_podium_v1(torch.tensor(doy, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_official_model_adds_the_encoding_scaled_per_column():
    model, window, patch = build_small("loade_cnn")
    model.eval()
    assert model.pe_dim == 64  # 8w at w = 8
    with torch.no_grad():
        model.pe_weight.copy_(torch.linspace(-0.5, 1.5, 64))
        x = batch(window=window, patch=patch)
        y = with_field(x, "doy", x["doy"] % 366 + 1)
        delta = model.features(y) - model.features(x)
    expected = (1 + model.pe_weight) * (temporal_encoding(y["doy"], 64) - temporal_encoding(x["doy"], 64))
    torch.testing.assert_close(delta[:, :64], expected, atol=1e-5, rtol=1e-5)
    assert torch.all(delta[:, 64:] == 0)  # the static features are untouched


def test_podium_v1_adds_scaled_encoding_to_projected_dynamic_features():
    model = build("loade_cnn", width=8, variant="podium_v1").eval()
    with torch.no_grad():
        model.pe_weight.fill_(0.5)
        x = batch()
        y = with_field(x, "doy", x["doy"] % 366 + 1)
        delta = model.features(y) - model.features(x)
    expected = 1.5 * (temporal_encoding_podium_v1(y["doy"]) - temporal_encoding_podium_v1(x["doy"]))
    torch.testing.assert_close(delta[:, :256], expected, atol=1e-5, rtol=1e-5)
    assert torch.all(delta[:, 256:] == 0)


@pytest.mark.parametrize("key", LOADE)
def test_day_of_year_matters_from_initialisation(key):
    model, window, patch = build_small(key)
    model.eval()
    assert torch.all(model.pe_weight == 0.0) and model.pe_weight.requires_grad
    x = batch(window=window, patch=patch)
    with torch.no_grad():
        assert not torch.allclose(model(x), model(with_field(x, "doy", x["doy"] % 366 + 1)))


@pytest.mark.parametrize("key", LOADE)
def test_without_temporal_encoding_the_day_of_year_is_ignored(key):
    model, window, patch = build_small(key, temporal_encoding=False)
    model.eval()
    assert not hasattr(model, "pe_weight")
    x = batch(window=window, patch=patch)
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


@pytest.mark.parametrize("key", TORCH_MODELS)
def test_gradients_reach_the_first_layers(key):
    model, window, patch = build_small(key)
    F.cross_entropy(model(batch(window=window, patch=patch)), torch.tensor([0, 1, 0, 1])).backward()
    if key == "loade_cnn":
        first = [model.dynamic1.weight, model.static1.weight, model.loade1.gamma.weight, model.loade1.beta.weight,
                 model.loade2.gamma.weight, model.pe_weight]
    elif key == "loade_cnn-podium_v1":
        first = [model.dynamic_convs[0].weight, model.static_convs[0].weight, model.dynamic_norms[0].gamma.weight,
                 model.dynamic_norms[0].beta.weight, model.pe_weight]
    elif key == "lstm":
        first = [model.lstm.weight_ih_l0]
    else:
        first = [model.cells[0].gates.weight]
    for p in first:
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


@pytest.mark.parametrize("key", TORCH_MODELS)
def test_deterministic_with_a_fixed_seed(key):
    outs = []
    for _ in range(2):
        torch.manual_seed(123)
        model, window, patch = build_small(key)
        outs.append(model(batch(window=window, patch=patch)))  # training mode: dropout draws from the same seeded generator
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


LEARNERS = {**{key: (key, {}) for key in TORCH_MODELS}, "loade_cnn-ablation": ("loade_cnn", {"loade": False}),
            "loade_cnn-podium_v1-ablation": ("loade_cnn-podium_v1", {"loade": False})}


@pytest.mark.parametrize("case", LEARNERS)
def test_learns_a_separable_toy_problem(case, one_thread):
    key, params = LEARNERS[case]
    small = TORCH[key][1]
    window, patch = (MIN_WINDOW, 15) if key == "loade_cnn" else (4, 5)  # the official network's smallest odd patch
    x, y = toy_problem(n=32, window=window, patch=patch)
    assert 0.3 < y.float().mean() < 0.7
    torch.manual_seed(0)
    model = build(key, window, patch, **{**small, **params})  # default dropout 0.5
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        optimiser.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    assert accuracy > 0.9, f"{case}: train accuracy {accuracy:.2f}"


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
