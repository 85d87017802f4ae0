"""Image-classification data held as tensors, and the augmentation that runs on the device.

Small image datasets (digits, CIFAR) fit in memory, and on a GPU whole on the device, so the
training loop indexes tensors instead of running a data loader that could starve the GPU.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from sklearn.model_selection import train_test_split


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (N, C, H, W float, normalised) and integer labels ``y`` (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device: torch.device) -> "Split":
        return Split(self.x.to(device, non_blocking=True), self.y.to(device, non_blocking=True))


@dataclass(frozen=True)
class ImageClassificationData:
    """Train/val/test splits plus what a model needs to know about them."""

    train: Split
    val: Split
    test: Split
    num_classes: int
    crop_padding: int = 0  # > 0: random crop with this zero padding + horizontal flip on training batches

    @property
    def model_args(self) -> dict[str, int]:
        """Positional arguments every image model takes from its data."""
        return {"num_classes": self.num_classes, "in_channels": int(self.train.x.shape[1])}

    def to(self, device: torch.device) -> "ImageClassificationData":
        return replace(self, train=self.train.to(device), val=self.val.to(device), test=self.test.to(device))

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Training-time augmentation of one batch (identity when ``crop_padding`` is 0)."""
        if self.crop_padding <= 0:
            return x
        return random_crop_flip(x, self.crop_padding, generator)


def random_crop_flip(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """The standard CIFAR augmentation (He et al. 2016, sec. 4.2): zero-pad by ``padding``, take a
    random crop of the original size, flip horizontally with probability 1/2. Vectorised over the
    batch; the random draws come from ``generator`` on the CPU, so results do not depend on device."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    rows = dy[:, None] + torch.arange(h, device=x.device)[None, :]  # (n, h)
    cols = dx[:, None] + torch.arange(w, device=x.device)[None, :]  # (n, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def stratified_split(
    labels: np.ndarray, fraction: float | int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) with ``fraction`` of each class held out, fixed by ``seed``;
    an int ``fraction`` holds out exactly that many in all."""
    index = np.arange(len(labels))
    if fraction <= 0:
        return index, index[:0]
    kept, held = train_test_split(index, test_size=fraction, stratify=labels, random_state=seed)
    return np.sort(kept), np.sort(held)


def normalised_splits(
    images: dict[str, np.ndarray], labels: dict[str, np.ndarray]
) -> dict[str, Split]:
    """Float tensors normalised per channel with the training split's mean and std.

    ``images[split]`` is (N, C, H, W) of any numeric dtype."""
    train = images["train"].astype(np.float32)
    mean = train.mean(axis=(0, 2, 3), keepdims=True)
    std = train.std(axis=(0, 2, 3), keepdims=True) + 1e-8
    return {
        name: Split(
            torch.from_numpy((array.astype(np.float32) - mean) / std),
            torch.from_numpy(labels[name].astype(np.int64)),
        )
        for name, array in images.items()
    }
