"""The image models of the registry: the CIFAR ResNets of He et al. 2016 and the small CNN."""
from __future__ import annotations

import pydantic
import pytest
import torch
from torch import nn

import registry
from registry.models.resnet_cifar import BasicBlock, CifarResNet

DEPTHS = (8, 20, 32, 56, 110)


@pytest.fixture(scope="module", autouse=True)
def _registry():
    registry.load_all()


def build(name: str, num_classes: int = 10, in_channels: int = 3, **params) -> nn.Module:
    model = registry.MODELS.get(name).build(harness={"num_classes": num_classes, "in_channels": in_channels}, params=params)
    return model.eval()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def convs(model: nn.Module, kernel: int) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (kernel, kernel)]


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("num_classes, in_channels, size", [(10, 3, 32), (100, 3, 32), (10, 1, 8)])
def test_resnet_output_shape(depth, num_classes, in_channels, size):
    model = build(f"resnet{depth}", num_classes, in_channels)
    with torch.no_grad():
        out = model(torch.randn(2, in_channels, size, size))
    assert out.shape == (2, num_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("depth", DEPTHS)
def test_resnet_depth_counts_3x3_convs_plus_the_linear_head(depth):
    model = build(f"resnet{depth}")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(convs(model, 3)) + len(linears) == depth
    assert convs(model, 1) == []  # option A: identity shortcuts, no projection convs
    assert len(linears) == 1


@pytest.mark.parametrize("depth, millions", [(20, 0.27), (32, 0.46), (56, 0.85), (110, 1.7)])
def test_resnet_parameter_counts_match_he_et_al_table_6(depth, millions):
    assert n_params(build(f"resnet{depth}")) / 1e6 == pytest.approx(millions, rel=0.03)


def test_option_b_adds_a_1x1_projection_where_the_shape_changes():
    a, b = build("resnet20"), build("resnet20", shortcut="B")
    projections = convs(b, 1)
    assert [(c.in_channels, c.out_channels, c.stride) for c in projections] == [(16, 32, (2, 2)), (32, 64, (2, 2))]
    assert len(convs(b, 3)) == len(convs(a, 3))
    # the projections (with their batch norms) are the only extra parameters
    assert n_params(b) - n_params(a) == 16 * 32 + 32 * 64 + 2 * (32 + 64)
    with torch.no_grad():
        assert b(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_option_a_shortcut_subsamples_and_zero_pads_channels():
    block = BasicBlock(16, 32, stride=2, shortcut="A")
    x = torch.randn(2, 16, 8, 8)
    out = block.shortcut(x)
    assert out.shape == (2, 32, 4, 4)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])
    assert (out[:, :8] == 0).all() and (out[:, 24:] == 0).all()


@pytest.mark.parametrize("width", [8, 32])
def test_width_scales_every_stage(width):
    model = build("resnet20", width=width)
    assert sorted({c.out_channels for c in convs(model, 3)}) == [width, 2 * width, 4 * width]
    assert model.head.in_features == 4 * width
    # conv weights dominate and grow with the square of the width
    assert n_params(model) / n_params(build("resnet20")) == pytest.approx((width / 16) ** 2, rel=0.05)
    with torch.no_grad():
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("depth", [0, 2, 7, 21, 111, -4])
def test_bad_depth_raises_value_error(depth):
    with pytest.raises(ValueError, match="6n"):
        CifarResNet(depth, num_classes=10)


@pytest.mark.parametrize("depth", [14, 44])
def test_other_6n_plus_2_depths_build(depth):
    model = CifarResNet(depth, num_classes=10)
    assert len(convs(model, 3)) + 1 == depth


def test_bad_spec_params_are_refused_before_building():
    with pytest.raises(pydantic.ValidationError):
        build("resnet20", shortcut="C")
    with pytest.raises(pydantic.ValidationError):
        build("resnet20", depth=22)  # depth is the entry's name, not a parameter


@pytest.mark.parametrize("width", [8, 16])
def test_small_cnn_on_digit_sized_inputs(width):
    model = build("small_cnn", in_channels=1, width=width)
    with torch.no_grad():
        out = model(torch.randn(5, 1, 8, 8))
    assert out.shape == (5, 10)
    assert max(c.out_channels for c in convs(model, 3)) == 2 * width


def test_small_cnn_size_and_dropout():
    assert n_params(build("small_cnn", in_channels=1)) == pytest.approx(14_000, rel=0.05)
    model = build("small_cnn", in_channels=1, dropout=0.5)
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.5]
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))  # eval mode: dropout off, deterministic
