"""Datasets held as tensors: train/val/test splits that fit in memory (and on a GPU, on the device).

Small benchmark datasets (digits, CIFAR, the MTNeuro cutouts) are indexed directly by the
training loop instead of going through a data loader that could starve the GPU.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from sklearn.model_selection import train_test_split


class Fields:
    """Several named input tensors that share their first (sample) dimension, indexed together.

    ``fields["dynamic"]`` is one tensor; ``fields[index]`` selects the same samples from all of
    them. Models with several inputs (FireCube's dynamic window, static maps, day of year) take it
    where single-input models take a tensor."""

    def __init__(self, **tensors: torch.Tensor):
        lengths = {name: int(t.shape[0]) for name, t in tensors.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"fields differ in length: {lengths}")
        self.tensors = tensors

    def __getitem__(self, key: str | torch.Tensor | slice) -> "torch.Tensor | Fields":
        if isinstance(key, str):
            return self.tensors[key]
        return Fields(**{name: t[key] for name, t in self.tensors.items()})

    def __len__(self) -> int:
        return int(next(iter(self.tensors.values())).shape[0])

    @property
    def device(self) -> torch.device:
        return next(iter(self.tensors.values())).device

    def to(self, device: torch.device, non_blocking: bool = False) -> "Fields":
        return Fields(**{name: t.to(device, non_blocking=non_blocking) for name, t in self.tensors.items()})

    def keys(self) -> list[str]:
        return list(self.tensors)


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (N, C, *spatial, float, normalised, or ``Fields`` of several such tensors) and
    integer targets ``y`` (N,) or (N, *spatial) (or ``Fields`` of targets, e.g. labels and a teacher's logits)."""

    x: torch.Tensor | Fields
    y: torch.Tensor | Fields

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device: torch.device) -> "Split":
        return Split(self.x.to(device, non_blocking=True), self.y.to(device, non_blocking=True))


@dataclass(frozen=True)
class TensorData:
    """Train/val/test splits plus what a model needs to know about them."""

    train: Split
    val: Split
    test: Split
    num_classes: int
    class_names: tuple[str, ...] = ()

    @property
    def model_args(self) -> dict[str, int]:
        """Positional arguments every model takes from its data."""
        return {"num_classes": self.num_classes, "in_channels": int(self.train.x.shape[1])}

    @property
    def names(self) -> tuple[str, ...]:
        """Class names (their indices as text when the dataset has none)."""
        return self.class_names or tuple(str(i) for i in range(self.num_classes))

    def to(self, device: torch.device) -> "TensorData":
        return replace(self, train=self.train.to(device), val=self.val.to(device), test=self.test.to(device))

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Training-time augmentation of one batch of inputs (none by default)."""
        return x


@dataclass(frozen=True)
class SegmentationData(TensorData):
    """Dense labelling: ``y`` holds one class per pixel (or voxel), shaped like ``x`` without channels."""


def stratified_split(labels: np.ndarray, fraction: float | int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) with ``fraction`` of each class held out, fixed by ``seed``;
    an int ``fraction`` holds out exactly that many in all."""
    index = np.arange(len(labels))
    if fraction <= 0:
        return index, index[:0]
    kept, held = train_test_split(index, test_size=fraction, stratify=labels, random_state=seed)
    return np.sort(kept), np.sort(held)


def normalised_splits(images: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> dict[str, Split]:
    """Float tensors normalised per channel with the training split's mean and std.

    ``images[split]`` is (N, C, *spatial) of any numeric dtype."""
    train = images["train"].astype(np.float32)
    axes = tuple(i for i in range(train.ndim) if i != 1)
    mean = train.mean(axis=axes, keepdims=True)
    std = train.std(axis=axes, keepdims=True) + 1e-8
    return {
        name: Split(
            torch.from_numpy((array.astype(np.float32) - mean) / std),
            torch.from_numpy(labels[name].astype(np.int64)),
        )
        for name, array in images.items()
    }
