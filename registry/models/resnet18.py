"""ResNet-18 of He et al. 2016 (ImageNet variant, table 1) in 2D and 3D, for MTNeuro tiles and stacks.

2D (``resnet18``): 7x7 stride-2 stem conv, 3x3 stride-2 max-pool, four stages of two basic blocks
with 64/128/256/512 channels and strides 1/2/2/2, 1x1 projection shortcuts where the shape changes
(the paper's option B), global average pooling, linear head. ``width`` scales the stage widths
(64 is the paper's). At width 64 with 3 input channels and 1000 classes this is the well-known
11,689,512-parameter network; with 1 input channel and 4 classes it has 11,172,292.

3D (``resnet18_3d``): the same with 3x3x3 convs, for (N, C, D, H, W) stacks that have few slices
(MTNeuro: D=8). Depth must not be strided away early, so the stem is 3x7x7 with stride 1x2x2 and
the max-pool 3x3x3 with stride 1x2x2 (depth kept at full resolution), and stages 2-4 stride 2 in
every axis, as R3D-18 does (Tran et al. 2018, "A Closer Look at Spatiotemporal Convolutions",
table 1). A D=8 stack has depth 8 -> 8 -> 8 -> 4 -> 2 -> 1 after stem, pool and stages 1-4. A padded
stride-2 conv maps depth 1 (or 2) to 1, so thinner stacks run too: depth never collapses below 1.

The classifier is ``head(encoder(x))``: ``encoder`` is everything up to and including global
pooling (returning (N, features)), ``head`` the linear layer, so a linear probe can freeze all but
the head. ``resnet18_trunk`` gives the stem, max-pool and stages on their own, for the U-Net's encoder.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from pydantic import PositiveInt
from torch import nn

from registry.core import MODELS

_SHAPES = {2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def layer_classes(dims: int) -> tuple[type[nn.Module], type[nn.Module], type[nn.Module]]:
    """The conv, batch-norm and max-pool classes of a ``dims``-dimensional network."""
    if dims == 2:
        return nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d
    if dims == 3:
        return nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d
    raise ValueError(f"dims must be 2 or 3, got {dims}")


def check_input(x: torch.Tensor, dims: int, model: str) -> None:
    """Raise a ValueError naming the expected shape unless ``x`` is a batch of ``dims``-D images."""
    if x.dim() != dims + 2:
        raise ValueError(f"{model} expects {dims}D input of shape {_SHAPES[dims]}, got shape {tuple(x.shape)}")


def init_weights(model: nn.Module) -> None:
    """Kaiming-normal convolutions (He et al. 2015, fan-out), batch norms with weight 1 and bias 0."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class BasicBlock(nn.Module):
    """Two 3x3 (3x3x3) conv-BN layers with a residual connection; a 1x1 projection where the shape changes."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1, dims: int = 2):
        super().__init__()
        conv, norm, _ = layer_classes(dims)
        self.conv1 = conv(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = norm(planes)
        self.conv2 = conv(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = norm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(conv(in_planes, planes, 1, stride, bias=False), norm(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class GlobalAvgPool(nn.Module):
    """Mean over all spatial axes: (N, C, *spatial) -> (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(dim=2)  # a plain mean, deterministic on GPUs unlike adaptive pooling's backward


def resnet18_trunk(in_channels: int, width: int = 64, dims: int = 2) -> OrderedDict[str, nn.Module]:
    """The stem, max-pool and four stages of ResNet-18, in order, named ``stem``, ``maxpool``, ``layer1``..``layer4``.

    Output strides (in H and W) are 2 after the stem, 4 after the pool and stage 1, then 8, 16, 32;
    stage ``i`` (1-based) has ``width * 2**(i-1)`` channels. In 3D, depth strides are given above.
    """
    if width < 1:
        raise ValueError(f"width must be positive, got {width}")
    conv, norm, pool = layer_classes(dims)
    if dims == 2:
        stem_conv = conv(in_channels, width, 7, 2, 3, bias=False)
        maxpool = pool(3, 2, 1)
    else:  # keep the depth axis at full resolution until stage 2 (see the module docstring)
        stem_conv = conv(in_channels, width, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False)
        maxpool = pool(3, (1, 2, 2), 1)
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    modules["stem"] = nn.Sequential(stem_conv, norm(width), nn.ReLU(inplace=True))
    modules["maxpool"] = maxpool
    in_planes = width
    for stage in range(4):
        planes = width * 2**stage
        stride = 1 if stage == 0 else 2
        modules[f"layer{stage + 1}"] = nn.Sequential(
            BasicBlock(in_planes, planes, stride, dims), BasicBlock(planes, planes, 1, dims)
        )
        in_planes = planes
    return modules


class ResNet18(nn.Module):
    """ResNet-18 classifier: ``head(encoder(x))``, with ``encoder`` ending in global average pooling."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 64, dims: int = 2):
        super().__init__()
        self.dims = dims
        trunk = resnet18_trunk(in_channels, width, dims)
        trunk["avgpool"] = GlobalAvgPool()
        self.encoder = nn.Sequential(trunk)
        self.num_features = 8 * width
        self.head = nn.Linear(self.num_features, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.dims, "resnet18" if self.dims == 2 else "resnet18_3d")
        return self.head(self.encoder(x))


@MODELS.register("resnet18")
def resnet18(num_classes: int, in_channels: int, *, width: PositiveInt = 64) -> nn.Module:
    """ResNet-18 (He et al. 2016, ImageNet variant) for 2D images: 7x7/2 stem, max-pool, 4 stages of 2 basic blocks, widths 64..512 x width/64; 11.2M params."""
    return ResNet18(num_classes, in_channels, width, dims=2)


@MODELS.register("resnet18_3d")
def resnet18_3d(num_classes: int, in_channels: int, *, width: PositiveInt = 64) -> nn.Module:
    """ResNet-18 with 3x3x3 convs for (N, C, D, H, W) stacks: 3x7x7 stem and pool keep depth, stages 2-4 stride 2 in depth (R3D-18 style)."""
    return ResNet18(num_classes, in_channels, width, dims=3)
