"""A small convolutional network suited to 8x8 digit images (and other tiny inputs)."""
from __future__ import annotations

from pydantic import PositiveInt
from torch import nn

from registry.core import MODELS
from registry.params import Dropout


@MODELS.register("small_cnn")
def small_cnn(num_classes: int, in_channels: int, *, width: PositiveInt = 16, dropout: Dropout = 0.0) -> nn.Module:
    """Three 3x3 conv layers (width, 2*width, 2*width channels), one 2x2 pooling, global average pooling, linear head; ~14k params at width 16."""
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width, num_classes),
    )
