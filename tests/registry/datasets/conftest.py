"""Shared fixtures of the dataset tests: small CIFAR parquet files in the Hugging Face hub's layout
(``plain_text/{train,test}-00000-of-00001.parquet``), written once per session."""
from __future__ import annotations

import os

# No test may touch the network; the hub libraries read these when they are first imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from tests.registry.datasets.cifar_parquet import TEST_ID_OFFSET, TEST_PER_CLASS, TRAIN_PER_CLASS, RawSplit, hf_dataset, make_split  # noqa: E402


@dataclass(frozen=True)
class CifarFiles:
    root: Path
    train: RawSplit
    test: RawSplit
    train_dataset: object  # the datasets.Dataset written as the train parquet
    test_dataset: object


def _write(root: Path, train_ds, test_ds) -> None:
    (root / "plain_text").mkdir(parents=True)
    train_ds.to_parquet(str(root / "plain_text" / "train-00000-of-00001.parquet"))
    test_ds.to_parquet(str(root / "plain_text" / "test-00000-of-00001.parquet"))


@pytest.fixture(scope="session", autouse=True)
def hf_cache(tmp_path_factory):
    """Keep the `datasets` cache of these tests out of the user's home (session scope, so it is in
    place before any module-scoped fixture loads data)."""
    import datasets

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path_factory.mktemp("hf_datasets_cache")))
        yield


@pytest.fixture(scope="session")
def cifar10_files(tmp_path_factory) -> CifarFiles:
    """CIFAR-10 in the hub's layout: 10 per class in train (100), 2 per class in test (20)."""
    root = tmp_path_factory.mktemp("cifar10-hub")
    train = make_split(list(range(10)), TRAIN_PER_CLASS, 0)
    test = make_split(list(range(10)), TEST_PER_CLASS, TEST_ID_OFFSET)
    train_ds = hf_dataset(train, {"label": (train.labels, 10)})
    test_ds = hf_dataset(test, {"label": (test.labels, 10)})
    _write(root, train_ds, test_ds)
    return CifarFiles(root, train, test, train_ds, test_ds)


@pytest.fixture(scope="session")
def cifar100_files(tmp_path_factory) -> CifarFiles:
    """CIFAR-100 in the hub's layout, with 5 of the 100 fine classes present (10 per class in train);
    ``coarse_label`` differs from ``fine_label`` so a loader reading the wrong column is caught."""
    root = tmp_path_factory.mktemp("cifar100-hub")
    fine = [3, 17, 42, 77, 99]
    train = make_split(fine, TRAIN_PER_CLASS, 0)
    test = make_split(fine, TEST_PER_CLASS, TEST_ID_OFFSET)

    def columns(raw: RawSplit) -> dict[str, tuple[np.ndarray, int]]:
        return {"fine_label": (raw.labels, 100), "coarse_label": (raw.labels // 5, 20)}

    train_ds = hf_dataset(train, columns(train))
    test_ds = hf_dataset(test, columns(test))
    _write(root, train_ds, test_ds)
    return CifarFiles(root, train, test, train_ds, test_ds)
