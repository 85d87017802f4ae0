"""The MTNeuro models: ResNet-18 (2D and 3D), the U-Net on a ResNet-18 encoder, and the 3D U-Net."""
from __future__ import annotations

import pydantic
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import registry
from registry.models.resnet18 import BasicBlock

HARNESS = {"num_classes": 4, "in_channels": 1}
MODELS_2D = ("resnet18", "unet_resnet18")
MODELS_3D = ("resnet18_3d", "unet3d")
SMALL = {"resnet18": {"width": 8}, "resnet18_3d": {"width": 8}, "unet_resnet18": {"width": 8}, "unet3d": {"start_filters": 8}}


@pytest.fixture(scope="module", autouse=True)
def _registry():
    registry.load_all()


def build(name: str, num_classes: int = 4, in_channels: int = 1, **params) -> nn.Module:
    harness = {"num_classes": num_classes, "in_channels": in_channels}
    return registry.MODELS.get(name).build(harness=harness, params=params)


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> nn.Module:
    """Full-batch Adam (lr 1e-2) on cross-entropy for ``steps`` steps, in training mode."""
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def first_conv(model: nn.Module) -> nn.Module:
    return next(m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d)))


def resnet18_params(width: int, in_channels: int, num_classes: int, dims: int = 2) -> int:
    """ResNet-18's parameters counted by hand: bias-free convs, BN weight + bias, linear weight + bias."""
    k = 3**dims  # a 3x3 (3x3x3) kernel
    stem_k = 7 * 7 * (3 if dims == 3 else 1)  # 7x7, or 3x7x7 in 3D
    total = stem_k * in_channels * width + 2 * width  # stem conv + BN
    in_planes = width
    for stage in range(4):
        planes = width * 2**stage
        total += k * in_planes * planes + k * planes * planes + 2 * 2 * planes  # block 1: two convs, two BNs
        if stage > 0:  # stride 2 and more channels: 1x1 projection conv + BN
            total += in_planes * planes + 2 * planes
        total += 2 * (k * planes * planes + 2 * planes)  # block 2
        in_planes = planes
    return total + 8 * width * num_classes + num_classes  # linear head


def test_resnet18_parameter_count_is_exact():
    # Worked by hand for width 64, 1 input channel, 4 classes:
    #   stem 7*7*1*64 + 2*64                                         =      3,264
    #   stage 1: 4 convs 9*64*64 + 4 BNs 2*64                        =    147,968
    #   stage 2: 9*64*128 + 3*9*128*128 + 1x1 64*128 + 5 BNs 2*128   =    525,568
    #   stage 3: 9*128*256 + 3*9*256*256 + 128*256 + 5 BNs 2*256     =  2,099,712
    #   stage 4: 9*256*512 + 3*9*512*512 + 256*512 + 5 BNs 2*512     =  8,393,728
    #   head 512*4 + 4                                               =      2,052
    #   total                                                        = 11,172,292
    assert 3_264 + 147_968 + 525_568 + 2_099_712 + 8_393_728 + 2_052 == 11_172_292
    assert resnet18_params(64, 1, 4) == 11_172_292
    assert n_params(build("resnet18")) == 11_172_292
    # the same architecture at 3 channels and 1000 classes is the familiar ImageNet ResNet-18
    assert n_params(build("resnet18", num_classes=1000, in_channels=3)) == resnet18_params(64, 3, 1000) == 11_689_512


@pytest.mark.parametrize("width", [8, 16])
def test_resnet18_3d_parameter_count_follows_the_same_formula(width):
    assert n_params(build("resnet18_3d", width=width)) == resnet18_params(width, 1, 4, dims=3)


@pytest.mark.parametrize("name, small, big", [
    ("resnet18", {"width": 16}, {"width": 32}),
    ("resnet18_3d", {"width": 8}, {"width": 16}),
    ("unet_resnet18", {"width": 16}, {"width": 32}),
    ("unet3d", {"start_filters": 8}, {"start_filters": 16}),
])
def test_width_scales_parameters_quadratically(name, small, big):
    assert n_params(build(name, **big)) / n_params(build(name, **small)) == pytest.approx(4, rel=0.05)


@pytest.mark.parametrize("width", [8, 64])
def test_resnet18_stage_widths(width):
    model = build("resnet18", width=width)
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert [b.conv2.out_channels for b in blocks] == [width * 2**(i // 2) for i in range(8)]
    projections = [b.shortcut[0] for b in blocks if not isinstance(b.shortcut, nn.Identity)]
    assert [(p.kernel_size, p.stride) for p in projections] == [((1, 1), (2, 2))] * 3
    assert model.head.in_features == 8 * width


@pytest.mark.parametrize("name", MODELS_2D)
@pytest.mark.parametrize("size", [64, 32])
def test_2d_output_shapes(name, size):
    model = build(name).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, size, size))
    expected = (2, 4) if name == "resnet18" else (2, 4, size, size)
    assert out.shape == expected
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name, params", [("resnet18_3d", {"width": 16}), ("unet3d", {})])
def test_3d_output_shapes(name, params):
    model = build(name, **params).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, 8, 32, 32))
    assert out.shape == ((2, 4) if name == "resnet18_3d" else (2, 4, 8, 32, 32))
    assert torch.isfinite(out).all()


def test_resnet18_3d_keeps_depth_through_stem_and_pool_then_halves_it_per_stage():
    model = build("resnet18_3d", width=8).eval()
    x = torch.randn(1, 1, 8, 32, 32)
    shapes = {}
    with torch.no_grad():
        for name, module in model.encoder.named_children():
            x = module(x)
            shapes[name] = tuple(x.shape[2:])
    assert shapes["stem"] == (8, 16, 16)
    assert shapes["maxpool"] == (8, 8, 8)
    assert [shapes[f"layer{i}"] for i in range(1, 5)] == [(8, 8, 8), (4, 4, 4), (2, 2, 2), (1, 1, 1)]
    assert x.shape == (1, 64)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_resnet18_3d_runs_on_thin_stacks(depth):
    model = build("resnet18_3d", width=8).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, depth, 32, 32)).shape == (2, 4)


@pytest.mark.parametrize("name", ["resnet18", "resnet18_3d"])
def test_classifier_is_head_of_encoder(name):
    model = build(name, **SMALL[name]).eval()
    x = torch.randn(3, 1, *((8,) if name == "resnet18_3d" else ()), 32, 32)
    assert isinstance(model.head, nn.Linear)
    with torch.no_grad():
        features = model.encoder(x)
        assert features.shape == (3, model.head.in_features)
        assert torch.equal(model.head(features), model(x))
    params = {id(p) for p in model.parameters()}
    assert params == {id(p) for p in model.encoder.parameters()} | {id(p) for p in model.head.parameters()}


def test_unet_encoder_is_the_resnet18_trunk():
    unet, resnet = build("unet_resnet18", width=8), build("resnet18", width=8)
    blocks = [m for m in unet.encoder.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 8
    assert n_params(unet.encoder) == n_params(resnet.encoder)
    # a (pretrained) ResNet-18 encoder loads into the U-Net as it is
    unet.encoder.load_state_dict(resnet.encoder.state_dict())
    assert torch.equal(unet.encoder["layer4"][1].conv2.weight, resnet.encoder.layer4[1].conv2.weight)


def test_unet3d_has_the_requested_levels_and_filters():
    model = build("unet3d", depth=3, start_filters=8)
    widths = sorted({m.out_channels for m in model.modules() if isinstance(m, nn.Conv3d) and m.kernel_size == (3, 3, 3)})
    assert widths == [8, 16, 32]
    assert n_params(build("unet3d")) == 5_300_164  # MTNeuro's reference configuration: depth 4, 32 start filters


@pytest.mark.parametrize("depth, shape", [(5, (8, 32, 32)), (4, (1, 16, 16)), (3, (3, 9, 17))])
def test_unet3d_never_pools_an_axis_below_one_voxel(depth, shape):
    model = build("unet3d", depth=depth, start_filters=4).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, *shape)).shape == (1, 4, *shape)


@pytest.mark.parametrize("name, shape, message", [
    ("unet3d", (2, 1, 32, 32), r"\(N, C, D, H, W\)"),
    ("resnet18_3d", (2, 1, 32, 32), r"\(N, C, D, H, W\)"),
    ("resnet18", (2, 1, 8, 32, 32), r"\(N, C, H, W\)"),
    ("unet_resnet18", (2, 1, 8, 32, 32), r"\(N, C, H, W\)"),
    ("unet_resnet18", (2, 1, 48, 32), "divisible by 32"),
])
def test_wrong_input_shape_raises_a_clear_value_error(name, shape, message):
    model = build(name, **SMALL[name])
    with pytest.raises(ValueError, match=message):
        model(torch.randn(*shape))


def test_bad_spec_params_are_refused_before_building():
    with pytest.raises(pydantic.ValidationError):
        build("resnet18", width=0)
    with pytest.raises(pydantic.ValidationError):
        build("unet3d", width=8)  # unet3d takes start_filters
    with pytest.raises(pydantic.ValidationError):
        build("unet3d", depth=0)


def test_initialisation():
    model = build("resnet18", width=8)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all((bn.weight == 1).all() and (bn.bias == 0).all() for bn in bns)
    conv = model.encoder.layer2[0].conv1  # kaiming normal, fan-out: std sqrt(2 / (out_channels * 3 * 3))
    assert conv.weight.std().item() == pytest.approx((2 / (16 * 9)) ** 0.5, rel=0.1)


@pytest.mark.parametrize("name", [*MODELS_2D, *MODELS_3D])
def test_gradient_reaches_the_first_conv(name):
    model = build(name, **SMALL[name]).train()
    x = torch.randn(2, 1, *((8,) if name in MODELS_3D else ()), 32, 32)
    model(x).square().mean().backward()
    grad = first_conv(model).weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


@pytest.mark.parametrize("name", [*MODELS_2D, *MODELS_3D])
def test_seeded_builds_are_identical(name):
    x = torch.randn(2, 1, *((8,) if name in MODELS_3D else ()), 32, 32)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = build(name, **SMALL[name]).train()
        out = model(x)
        out.square().mean().backward()
        results.append((model.state_dict(), out.detach(), first_conv(model).weight.grad))
    (state_a, out_a, grad_a), (state_b, out_b, grad_b) = results
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert torch.equal(out_a, out_b)
    assert torch.equal(grad_a, grad_b)


def test_unet_resnet18_overfits_a_disc():
    torch.manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    mask = ((yy - 13) ** 2 + (xx - 18) ** 2 <= 81).long()
    # low contrast and strong noise: a per-pixel threshold gets ~68%, so context has to be learnt
    image = 0.5 * (mask.float() - 0.5) + 0.5 * torch.randn(32, 32)
    # the image with its mirror: training-mode batch norm needs two values per channel at stride 32
    x = torch.stack([image, image.flip(-1)])[:, None]
    y = torch.stack([mask, mask.flip(-1)])
    model = fit(build("unet_resnet18", num_classes=2, width=8), x, y, steps=80)
    with torch.no_grad():
        accuracy = (model.eval()(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.95


def test_resnet18_separates_bright_from_dark():
    torch.manual_seed(0)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.arange(n) % 2
        images = (labels.float() - 0.5)[:, None, None, None] + torch.randn(n, 1, 32, 32)
        return images, labels

    x, y = sample(32)
    model = fit(build("resnet18", num_classes=2, width=8), x, y, steps=30)
    x_new, y_new = sample(64)  # unseen images
    with torch.no_grad():
        accuracy = (model.eval()(x_new).argmax(1) == y_new).float().mean().item()
    assert accuracy > 0.95
