"""scikit-learn's ``load_digits``: 1,797 real 8x8 handwritten digits that ship with the package."""
from __future__ import annotations

from registry.core import DATASETS
from registry.datasets.images import ImageClassificationData
from registry.datasets.tensors import normalised_splits, stratified_split
from registry.params import Fraction, Seed
from registry.targets import Target


@DATASETS.register("digits", target=lambda p: Target("classes", 10))
def digits(*, test_fraction: Fraction = 0.2, val_fraction: Fraction = 0.15, split_seed: Seed = 0) -> ImageClassificationData:
    """Handwritten digits 0-9 (8x8, one channel), offline; fixed stratified train/val/test split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images[:, None, :, :] / 16.0  # pixel values are 0..16
    labels = bunch.target
    rest, test = stratified_split(labels, test_fraction, split_seed)
    train_idx, val_idx = stratified_split(labels[rest], val_fraction, split_seed)
    train, val = rest[train_idx], rest[val_idx]
    splits = normalised_splits(
        {"train": images[train], "val": images[val], "test": images[test]},
        {"train": labels[train], "val": labels[val], "test": labels[test]},
    )
    return ImageClassificationData(splits["train"], splits["val"], splits["test"], num_classes=10)
