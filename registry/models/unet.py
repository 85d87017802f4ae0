"""U-Nets for MTNeuro's pixel-level segmentation: a 2D U-Net on a ResNet-18 encoder, and a plain 3D U-Net.

``unet_resnet18`` (Ronneberger et al. 2015 decoder on the ResNet-18 of ``resnet18.py``): the encoder is
ResNet-18's stem, max-pool and four stages (the same modules, built by ``resnet18_trunk``). Skips
come from the stem (stride 2), stages 1-3 (strides 4, 8, 16) and, at full resolution, the input
itself; stage 4 (stride 32) is the bottleneck. Each decoder level is a 2x2 stride-2 transposed conv
(the "up-convolution", which also reduces the channels), concatenation with the skip, and two 3x3
conv-BN-ReLU. Decoder channels are 4w, 2w, w, w, w/2 from stride 16 to full resolution, for
``width`` w (64 is ResNet-18's own). A 1x1 conv gives (N, num_classes, H, W) logits; H and W must
be divisible by 32.

``unet3d`` (Cicek et al. 2016, "3D U-Net"): ``depth`` levels of two 3x3x3 conv-BN-ReLU ('same'
padding) with ``start_filters * 2**level`` channels, max-pooling between levels. MTNeuro's reference
configuration is 4 levels, 32 start filters, batch norm, ReLU, 'same' convs: the defaults. The
stacks are thin (D=8), so pooling is decided per axis at run time: an axis is halved only while it
has at least 2 voxels, never pooled below 1 (D=8 at depth 4: 8 -> 4 -> 2 -> 1; at depth 5 the last
pool leaves D=1 and halves only H and W). Because the pooling factors depend on the input, the
decoder upsamples by resize-convolution (Odena et al. 2016): a 1x1x1 conv reducing the channels,
then trilinear interpolation to the skip's exact size, concatenation, two 3x3x3 conv-BN-ReLU. So
any D, H, W >= 1 works.
"""
from __future__ import annotations

import torch
from pydantic import PositiveInt
from torch import nn
from torch.nn import functional as F

from registry.core import MODELS
from registry.models.resnet18 import check_input, init_weights, layer_classes, resnet18_trunk


class DoubleConv(nn.Sequential):
    """Two 3x3 (3x3x3) 'same' conv-BN-ReLU layers."""

    def __init__(self, in_channels: int, out_channels: int, dims: int):
        conv, norm, _ = layer_classes(dims)
        super().__init__(
            conv(in_channels, out_channels, 3, padding=1, bias=False), norm(out_channels), nn.ReLU(inplace=True),
            conv(out_channels, out_channels, 3, padding=1, bias=False), norm(out_channels), nn.ReLU(inplace=True),
        )


class UpBlock(nn.Module):
    """One decoder level: upsample to the skip's size (reducing channels), concatenate the skip, two conv-BN-ReLU."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, dims: int, resize: bool):
        super().__init__()
        self.resize = resize
        if resize:  # a 1x1 conv commutes with linear interpolation, so it runs first, at the low resolution
            self.up: nn.Module = layer_classes(dims)[0](in_channels, out_channels, 1)
        else:
            transposed = nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose3d
            self.up = transposed(in_channels, out_channels, 2, stride=2)
        self.convs = DoubleConv(out_channels + skip_channels, out_channels, dims)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        if self.resize:
            mode = "bilinear" if x.dim() == 4 else "trilinear"
            x = F.interpolate(x, size=skip.shape[2:], mode=mode, align_corners=False)
        return self.convs(torch.cat([x, skip], dim=1))


class UNetResNet18(nn.Module):
    """2D U-Net whose encoder is ResNet-18 (``encoder``: stem, maxpool, layer1..layer4)."""

    def __init__(self, num_classes: int, in_channels: int, width: int = 64):
        super().__init__()
        self.encoder = nn.ModuleDict(resnet18_trunk(in_channels, width, dims=2))
        w = width
        # (channels from below, skip channels, output channels), from stride 16 up to stride 1
        levels = [
            (8 * w, 4 * w, 4 * w), (4 * w, 2 * w, 2 * w), (2 * w, w, w), (w, w, w), (w, in_channels, max(w // 2, 1)),
        ]
        self.decoder = nn.ModuleList(UpBlock(below, skip, out, dims=2, resize=False) for below, skip, out in levels)
        self.classifier = nn.Conv2d(levels[-1][2], num_classes, 1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, 2, "unet_resnet18")
        if x.shape[2] % 32 or x.shape[3] % 32:
            raise ValueError(f"unet_resnet18 needs H and W divisible by 32, got shape {tuple(x.shape)}")
        enc = self.encoder
        stem = enc["stem"](x)
        s4 = enc["layer1"](enc["maxpool"](stem))
        s8 = enc["layer2"](s4)
        s16 = enc["layer3"](s8)
        out = enc["layer4"](s16)
        for block, skip in zip(self.decoder, (s16, s8, s4, stem, x)):
            out = block(out, skip)
        return self.classifier(out)


class UNet3D(nn.Module):
    """3D U-Net: ``depth`` levels of two conv-BN-ReLU, max-pooling that stops at 1 voxel per axis, resize-conv decoder."""

    def __init__(self, num_classes: int, in_channels: int, depth: int = 4, start_filters: int = 32):
        super().__init__()
        if depth < 1 or start_filters < 1:
            raise ValueError(f"depth and start_filters must be positive, got {depth} and {start_filters}")
        channels = [start_filters * 2**level for level in range(depth)]
        self.down = nn.ModuleList(DoubleConv(c_in, c_out, dims=3) for c_in, c_out in zip([in_channels, *channels], channels))
        self.up = nn.ModuleList(
            UpBlock(channels[level + 1], channels[level], channels[level], dims=3, resize=True)
            for level in reversed(range(depth - 1))
        )
        self.classifier = nn.Conv3d(start_filters, num_classes, 1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, 3, "unet3d")
        skips = []
        for level, block in enumerate(self.down):
            if level:
                kernel = tuple(2 if size >= 2 else 1 for size in x.shape[2:])
                x = F.max_pool3d(x, kernel, kernel)
            x = block(x)
            skips.append(x)
        skips.pop()  # the bottleneck
        for block in self.up:
            x = block(x, skips.pop())
        return self.classifier(x)


@MODELS.register("unet_resnet18", output={"masks"})
def unet_resnet18(num_classes: int, in_channels: int, *, width: PositiveInt = 64) -> nn.Module:
    """2D U-Net with a ResNet-18 encoder: skips from stem and stages, transposed-conv decoder to full resolution (H, W divisible by 32)."""
    return UNetResNet18(num_classes, in_channels, width)


@MODELS.register("unet3d", output={"masks"})
def unet3d(num_classes: int, in_channels: int, *, depth: PositiveInt = 4, start_filters: PositiveInt = 32) -> nn.Module:
    """3D U-Net (Cicek et al. 2016) for (N, C, D, H, W) stacks: depth levels of two 3x3x3 conv-BN-ReLU, start_filters doubling per level."""
    return UNet3D(num_classes, in_channels, depth, start_filters)
