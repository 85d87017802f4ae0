"""The ``digits`` dataset: scikit-learn's 1,797 real 8x8 digits, split train/val/test."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import registry
from registry.datasets.digits import digits

SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def data():
    return digits()


@pytest.fixture(scope="module")
def bunch():
    return load_digits()


def _raw(data, split: str) -> np.ndarray:
    """The split's images back on the file's 0..16 integer scale, as (N, 64).

    Normalisation is one affine map for every split; the darkest pixel anywhere is 0 and the
    brightest 16, so the map is recovered from the extremes over all splits."""
    low = min(float(getattr(data, s).x.min()) for s in SPLITS)
    high = max(float(getattr(data, s).x.max()) for s in SPLITS)
    x = getattr(data, split).x.double().numpy().reshape(len(getattr(data, split)), -1)
    raw = (x - low) / (high - low) * 16
    assert np.abs(raw - np.rint(raw)).max() < 1e-3
    return np.rint(raw).astype(np.int64)


def test_split_sizes_add_up_to_the_whole_dataset(data):
    sizes = {s: len(getattr(data, s)) for s in SPLITS}
    assert sum(sizes.values()) == 1797
    assert sizes["test"] == pytest.approx(0.2 * 1797, abs=1)
    assert sizes["val"] == pytest.approx(0.15 * (1797 - sizes["test"]), abs=1)  # carved from the rest


def test_shapes_dtypes_classes_and_model_args(data):
    for split in SPLITS:
        part = getattr(data, split)
        assert part.x.shape == (len(part), 1, 8, 8)
        assert part.x.dtype == torch.float32 and part.y.dtype == torch.int64
    assert data.num_classes == 10
    assert data.model_args == {"num_classes": 10, "in_channels": 1}
    assert data.crop_padding == 0  # no CIFAR crop on 8x8 digits


def test_splits_partition_the_real_data_with_labels_kept(data, bunch):
    """Every (image, label) of load_digits is in exactly one split (duplicate images counted as such)."""
    def pairs(images: np.ndarray, labels: np.ndarray) -> Counter:
        return Counter((image.tobytes(), int(label)) for image, label in zip(images, labels))

    original = pairs(bunch.data.astype(np.int64), bunch.target)
    seen = Counter()
    for split in SPLITS:
        seen += pairs(_raw(data, split), getattr(data, split).y.numpy())
    assert seen == original


def test_splits_are_stratified(data, bunch):
    overall = np.bincount(bunch.target, minlength=10) / len(bunch.target)
    for split in SPLITS:
        counts = np.bincount(getattr(data, split).y.numpy(), minlength=10)
        assert (counts > 0).all(), f"{split} lacks a class"
        np.testing.assert_allclose(counts / counts.sum(), overall, atol=0.01)


def test_normalised_with_training_statistics(data):
    x = data.train.x.double()
    assert float(x.mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(x.std(unbiased=False)) == pytest.approx(1.0, abs=1e-5)


def test_split_is_deterministic_and_follows_split_seed(data):
    again = digits()
    other = digits(split_seed=1)
    for split in SPLITS:
        assert torch.equal(getattr(data, split).x, getattr(again, split).x)
        assert torch.equal(getattr(data, split).y, getattr(again, split).y)
    assert len(other.test) == len(data.test)
    assert not torch.equal(other.test.y, data.test.y)


def test_fractions_are_parameters_of_the_registry_entry():
    registry.load_all()
    data = registry.DATASETS.get("digits").build(params={"test_fraction": 0.5, "val_fraction": 0.2})
    assert len(data.train) + len(data.val) + len(data.test) == 1797
    assert len(data.test) == pytest.approx(1797 / 2, abs=1)
    assert len(data.val) == pytest.approx(0.2 * (1797 - len(data.test)), abs=1)


def test_an_empty_validation_split_is_a_spec_problem():
    """Training keeps the best-on-validation epoch: with no validation samples every epoch scores NaN
    and the untrained weights would be kept, so val_fraction 0 is refused before anything runs."""
    registry.load_all()
    [problem] = registry.DATASETS.get("digits").validate_params({"val_fraction": 0.0}, "dataset.params", "spec.yaml")
    assert problem.path == "dataset.params.val_fraction" and "greater than 0" in problem.message
