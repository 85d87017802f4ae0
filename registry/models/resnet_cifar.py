"""The CIFAR ResNets of He et al. 2016 (sec. 4.2): 6n+2 layers in three stages of 16, 32, 64 filters.

Depth 8, 20, 32, 56, 110 are n = 1, 3, 5, 9, 18. The paper uses identity shortcuts with zero
padding where the shape changes (option A); option B (1x1 projection) is available too.
``width`` scales the stage widths (16 is the paper's).
"""
from __future__ import annotations

from typing import Literal

import torch
from pydantic import PositiveInt
from torch import nn
from torch.nn import functional as F

from registry.core import MODELS


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, shortcut: str):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride = stride
        self.pad = planes - in_planes
        self.project: nn.Module | None = None
        if shortcut == "B" and (stride != 1 or in_planes != planes):
            self.project = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.project is not None:
            return self.project(x)
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.pad:
            # option A: the new channels are zeros, split evenly on both sides
            x = F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet for small images: 3x3 stem, three stages, global average pooling, linear head."""

    def __init__(self, depth: int, num_classes: int, in_channels: int = 3, width: int = 16, shortcut: str = "A"):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 with n >= 1, got {depth}")
        blocks = (depth - 2) // 6
        widths = [width, 2 * width, 4 * width]
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        layers: list[nn.Module] = []
        in_planes = width
        for stage, planes in enumerate(widths):
            for i in range(blocks):
                stride = 2 if stage > 0 and i == 0 else 1
                layers.append(BasicBlock(in_planes, planes, stride, shortcut))
                in_planes = planes
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(in_planes, num_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.stages(self.stem(x))
        return self.head(features.mean(dim=(2, 3)))


Shortcut = Literal["A", "B"]


@MODELS.register("resnet8")
def resnet8(num_classes: int, in_channels: int, *, width: PositiveInt = 16, shortcut: Shortcut = "A") -> nn.Module:
    """CIFAR ResNet-8 (He et al. 2016): 3 stages of 1 basic block, widths 16/32/64 x width/16."""
    return CifarResNet(8, num_classes, in_channels, width, shortcut)


@MODELS.register("resnet20")
def resnet20(num_classes: int, in_channels: int, *, width: PositiveInt = 16, shortcut: Shortcut = "A") -> nn.Module:
    """CIFAR ResNet-20 (He et al. 2016): 3 stages of 3 basic blocks, widths 16/32/64 x width/16; 0.27M params at width 16."""
    return CifarResNet(20, num_classes, in_channels, width, shortcut)


@MODELS.register("resnet32")
def resnet32(num_classes: int, in_channels: int, *, width: PositiveInt = 16, shortcut: Shortcut = "A") -> nn.Module:
    """CIFAR ResNet-32 (He et al. 2016): 3 stages of 5 basic blocks, widths 16/32/64 x width/16."""
    return CifarResNet(32, num_classes, in_channels, width, shortcut)


@MODELS.register("resnet56")
def resnet56(num_classes: int, in_channels: int, *, width: PositiveInt = 16, shortcut: Shortcut = "A") -> nn.Module:
    """CIFAR ResNet-56 (He et al. 2016): 3 stages of 9 basic blocks, widths 16/32/64 x width/16."""
    return CifarResNet(56, num_classes, in_channels, width, shortcut)


@MODELS.register("resnet110")
def resnet110(num_classes: int, in_channels: int, *, width: PositiveInt = 16, shortcut: Shortcut = "A") -> nn.Module:
    """CIFAR ResNet-110 (He et al. 2016): 3 stages of 18 basic blocks, widths 16/32/64 x width/16."""
    return CifarResNet(110, num_classes, in_channels, width, shortcut)
