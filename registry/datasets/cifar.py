"""CIFAR-10 and CIFAR-100 from the Hugging Face hub, or from local parquet files in the hub's schema.

Hub datasets ``uoft-cs/cifar10`` (columns ``img``, ``label``) and ``uoft-cs/cifar100`` (``img``,
``fine_label``, ``coarse_label``), splits ``train`` (50,000) and ``test`` (10,000); ``img`` holds
PNG bytes (``{"bytes": ..., "path": ...}``). The validation split is carved from the training
split, stratified and fixed by ``split_seed``, so every run of a sweep sees the same split.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import PositiveInt

from registry.core import DATASETS
from registry.datasets import DatasetUnavailable
from registry.datasets.images import ImageClassificationData
from registry.datasets.tensors import normalised_splits, stratified_split
from registry.params import Fraction, Seed
from registry.paths import DataPath
from registry.targets import Target


def _decode(image: Any) -> np.ndarray:
    """One image as (H, W, 3) uint8, from a PIL image or the hub's ``{"bytes", "path"}`` struct."""
    from PIL import Image

    if isinstance(image, dict):
        image = Image.open(io.BytesIO(image["bytes"]))
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _parquet_files(path: Path, split: str) -> list[str]:
    files = sorted(str(p) for p in path.rglob(f"{split}*.parquet"))
    if not files:
        raise DatasetUnavailable(f"no {split}*.parquet under {path} (expected the hub layout, e.g. plain_text/{split}-00000-of-00001.parquet)")
    return files


def _load_split(hub_name: str, path: str | None, split: str):
    import datasets

    try:
        if path is not None:
            return datasets.load_dataset("parquet", data_files={split: _parquet_files(Path(path), split)}, split=split)
        return datasets.load_dataset(hub_name, split=split)
    except DatasetUnavailable:
        raise
    except Exception as err:  # hub errors come in many types (ConnectionError, HfHubHTTPError, ...)
        where = f"local parquet files under {path}" if path else f"hub dataset {hub_name!r}"
        raise DatasetUnavailable(
            f"cannot load {where} ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
            "without network, download the parquet files once and pass dataset.params.path"
        ) from None


def load_cifar(
    hub_name: str, label_column: str, num_classes: int, path: str | None, val_fraction: float,
    split_seed: int, augment: bool, train_limit: int | None,
) -> ImageClassificationData:
    """Shared body of the CIFAR-10/100 entries."""
    arrays: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for split in ("train", "test"):
        table = _load_split(hub_name, path, split)
        if "img" not in table.column_names or label_column not in table.column_names:
            raise DatasetUnavailable(
                f"{hub_name}: expected columns 'img' and {label_column!r}, found {', '.join(table.column_names)}"
            )
        arrays[split] = np.stack([_decode(image) for image in table["img"]]).transpose(0, 3, 1, 2)
        labels[split] = np.asarray(table[label_column], dtype=np.int64)
    if train_limit is not None and train_limit < len(labels["train"]):  # a stratified subset, for quick runs
        _, keep = stratified_split(labels["train"], train_limit, split_seed)  # a count: k / n * n can round up to k + 1
        arrays["train"], labels["train"] = arrays["train"][keep], labels["train"][keep]
    train, val = stratified_split(labels["train"], val_fraction, split_seed)
    splits = normalised_splits(
        {"train": arrays["train"][train], "val": arrays["train"][val], "test": arrays["test"]},
        {"train": labels["train"][train], "val": labels["train"][val], "test": labels["test"]},
    )
    return ImageClassificationData(
        splits["train"], splits["val"], splits["test"], num_classes=num_classes, crop_padding=4 if augment else 0
    )


@DATASETS.register("cifar10", target=lambda p: Target("classes", 10))
def cifar10(
    *, path: DataPath | None = None, hub_name: str = "uoft-cs/cifar10", val_fraction: Fraction = 0.1,
    split_seed: Seed = 0, augment: bool = True, train_limit: PositiveInt | None = None,
) -> ImageClassificationData:
    """CIFAR-10 (32x32 colour, 10 classes): hub or local parquet; crop+flip augmentation on train."""
    return load_cifar(hub_name, "label", 10, path, val_fraction, split_seed, augment, train_limit)


@DATASETS.register("cifar100", target=lambda p: Target("classes", 100))
def cifar100(
    *, path: DataPath | None = None, hub_name: str = "uoft-cs/cifar100", val_fraction: Fraction = 0.1,
    split_seed: Seed = 0, augment: bool = True, train_limit: PositiveInt | None = None,
) -> ImageClassificationData:
    """CIFAR-100 (32x32 colour, 100 fine classes): hub or local parquet; crop+flip augmentation on train."""
    return load_cifar(hub_name, "fine_label", 100, path, val_fraction, split_seed, augment, train_limit)
