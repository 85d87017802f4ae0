"""The CIFAR loader on small parquet files in the Hugging Face hub's schema and layout.

The files are written by ``conftest.py``; each image carries its label and id in its pixels, so
``decode`` tells which written image a normalised tensor is.
"""
from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from tests.registry.datasets.cifar_parquet import TEST_PER_CLASS, TRAIN_PER_CLASS, decode, make_split
from PIL import Image

import registry
from registry.datasets.cifar import DatasetUnavailable, cifar10, cifar100
from registry.datasets.images import ImageClassificationData, random_crop_flip


@pytest.fixture(scope="module")
def data(cifar10_files) -> ImageClassificationData:
    return cifar10(path=str(cifar10_files.root))


def test_shapes_dtypes_and_model_args(data):
    assert data.train.x.shape == (90, 3, 32, 32)  # 100 training images, a tenth held out for val
    assert data.val.x.shape == (10, 3, 32, 32)
    assert data.test.x.shape == (20, 3, 32, 32)
    for split in (data.train, data.val, data.test):
        assert split.x.dtype == torch.float32
        assert split.y.dtype == torch.int64
        assert split.y.shape == (split.x.shape[0],)
    assert data.num_classes == 10
    assert data.model_args == {"num_classes": 10, "in_channels": 3}


def test_labels_stay_with_their_images(data, cifar10_files):
    written = {}
    for raw in (cifar10_files.train, cifar10_files.test):
        written.update({int(i): (image, int(c)) for i, image, c in zip(raw.ids, raw.images, raw.labels)})
    for split in (data.train, data.val, data.test):
        images, colour_labels, ids, _ = decode(split.x)
        np.testing.assert_array_equal(split.y.numpy(), colour_labels)
        for image, image_id, label in zip(images, ids, split.y.tolist()):
            original, original_label = written[int(image_id)]
            assert label == original_label
            np.testing.assert_array_equal(image, original.transpose(2, 0, 1))  # (H, W, C) -> (C, H, W), exact
    _, _, test_ids, _ = decode(data.test.x)
    assert sorted(test_ids) == sorted(cifar10_files.test.ids)  # the test split is the hub's test file, whole


@pytest.mark.parametrize("val_fraction, per_class", [(0.1, 1), (0.2, 2), (0.5, 5)])
def test_val_is_carved_from_train_stratified_and_disjoint(cifar10_files, val_fraction, per_class):
    data = cifar10(path=str(cifar10_files.root), val_fraction=val_fraction)
    train_ids = set(decode(data.train.x)[2])
    val_ids = set(decode(data.val.x)[2])
    assert not train_ids & val_ids
    assert train_ids | val_ids == set(cifar10_files.train.ids.tolist())
    assert len(train_ids) == len(data.train) and len(val_ids) == len(data.val)  # no image twice
    assert Counter(data.val.y.tolist()) == {c: per_class for c in range(10)}
    assert Counter(data.train.y.tolist()) == {c: TRAIN_PER_CLASS - per_class for c in range(10)}


def test_split_is_fixed_by_split_seed(cifar10_files, data):
    again = cifar10(path=str(cifar10_files.root))
    for name in ("train", "val", "test"):
        assert torch.equal(getattr(data, name).x, getattr(again, name).x)
        assert torch.equal(getattr(data, name).y, getattr(again, name).y)
    other = cifar10(path=str(cifar10_files.root), split_seed=1)
    assert set(decode(other.val.x)[2]) != set(decode(data.val.x)[2])
    assert torch.equal(cifar10(path=str(cifar10_files.root), split_seed=1).val.x, other.val.x)


def test_normalisation_uses_training_statistics(data, cifar10_files):
    x = data.train.x.double()
    np.testing.assert_allclose(x.mean(dim=(0, 2, 3)).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(x.std(dim=(0, 2, 3), unbiased=False).numpy(), 1.0, atol=1e-4)
    # the statistics are those of the training images as written (val held out), per channel
    train_ids = decode(data.train.x)[2]
    raw = cifar10_files.train.images[np.isin(cifar10_files.train.ids, train_ids)].astype(np.float64)
    expected = np.stack([raw.mean(axis=(0, 1, 2)), raw.std(axis=(0, 1, 2))])
    for split in (data.train, data.val, data.test):
        np.testing.assert_allclose(decode(split.x)[3], expected, rtol=1e-4)
    # so val and test are not themselves centred
    assert abs(float(data.test.x[:, 1].mean())) > 0.5  # the green channel holds ids, higher in test


def test_crop_padding_follows_augment(cifar10_files, data):
    assert data.crop_padding == 4
    plain = cifar10(path=str(cifar10_files.root), augment=False)
    assert plain.crop_padding == 0
    batch = plain.train.x[:8]
    assert plain.augment(batch, torch.Generator().manual_seed(0)) is batch
    assert not torch.equal(data.augment(batch, torch.Generator().manual_seed(0)), batch)
    assert torch.equal(plain.train.x, data.train.x)  # the flag changes augmentation only


@pytest.mark.parametrize("limit", [50, 55, 70])
def test_train_limit_takes_a_stratified_subset_before_the_val_split(cifar10_files, limit):
    data = cifar10(path=str(cifar10_files.root), train_limit=limit, val_fraction=0.2)
    assert len(data.train) + len(data.val) == limit
    assert set(data.train.y.tolist()) == set(range(10)) == set(data.val.y.tolist())
    ids = set(decode(data.train.x)[2]) | set(decode(data.val.x)[2])
    assert len(ids) == limit and ids <= set(cifar10_files.train.ids.tolist())
    assert len(data.test) == 10 * TEST_PER_CLASS  # the test split is never limited


def test_train_limit_at_or_above_the_training_size_keeps_everything(cifar10_files, data):
    full = cifar10(path=str(cifar10_files.root), train_limit=100)
    assert torch.equal(full.train.x, data.train.x) and torch.equal(full.val.x, data.val.x)


def test_missing_directory_names_the_path(tmp_path):
    missing = tmp_path / "no" / "cifar"
    with pytest.raises(DatasetUnavailable, match="no train") as err:
        cifar10(path=str(missing))
    assert str(missing) in str(err.value)


def test_missing_test_file_names_the_split_and_path(tmp_path, cifar10_files):
    (tmp_path / "plain_text").mkdir()
    source = cifar10_files.root / "plain_text" / "train-00000-of-00001.parquet"
    (tmp_path / "plain_text" / source.name).write_bytes(source.read_bytes())
    with pytest.raises(DatasetUnavailable, match=r"test\*\.parquet") as err:
        cifar10(path=str(tmp_path))
    assert str(tmp_path) in str(err.value)


def test_files_without_the_label_column_are_refused(cifar100_files):
    # CIFAR-100 files have fine_label/coarse_label, not label: loading them as CIFAR-10 must not guess
    with pytest.raises(DatasetUnavailable, match="'label'") as err:
        cifar10(path=str(cifar100_files.root))
    assert "fine_label" in str(err.value)


def test_cifar100_uses_fine_labels_and_has_100_classes(cifar100_files):
    data = cifar100(path=str(cifar100_files.root))
    assert data.num_classes == 100
    assert data.model_args == {"num_classes": 100, "in_channels": 3}
    assert data.train.x.shape[1:] == (3, 32, 32)
    assert len(data.train) + len(data.val) == 50 and len(data.test) == 10
    for split in (data.train, data.val, data.test):
        np.testing.assert_array_equal(split.y.numpy(), decode(split.x)[1])  # the fine label, not the coarse
    assert set(data.test.y.tolist()) == {3, 17, 42, 77, 99}


def test_plain_parquet_without_hugging_face_metadata_loads(tmp_path):
    """A file written by pyarrow alone: ``img`` a struct holding PNG bytes, no ``huggingface`` schema metadata."""
    def write(split: str, raw) -> None:
        images = []
        for image in raw.images:
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="PNG")
            images.append({"bytes": buffer.getvalue()})
        table = pa.table({"img": pa.array(images, type=pa.struct([("bytes", pa.binary())])), "label": raw.labels})
        assert table.schema.metadata is None
        pq.write_table(table, tmp_path / f"{split}-00000-of-00001.parquet")

    train, test = make_split(list(range(10)), 4, 0), make_split(list(range(10)), 1, 150)
    write("train", train)
    write("test", test)
    data = cifar10(path=str(tmp_path), val_fraction=0.25)
    assert data.train.x.shape == (30, 3, 32, 32) and data.val.x.shape == (10, 3, 32, 32)
    images, labels, ids, _ = decode(data.test.x)
    np.testing.assert_array_equal(data.test.y.numpy(), labels)
    by_id = dict(zip(test.ids.tolist(), test.images))
    for image, image_id in zip(images, ids):
        np.testing.assert_array_equal(image, by_id[int(image_id)].transpose(2, 0, 1))


def test_registry_entry_builds_from_spec_params(cifar10_files):
    registry.load_all()
    data = registry.DATASETS.get("cifar10").build(params={"path": str(cifar10_files.root), "val_fraction": 0.2})
    assert isinstance(data, ImageClassificationData) and len(data.val) == 20


@pytest.mark.parametrize("loader, hub_name", [(cifar10, "uoft-cs/cifar10"), (cifar100, "uoft-cs/cifar100")])
def test_hub_dataset_is_loaded_by_name_without_path(monkeypatch, cifar10_files, cifar100_files, loader, hub_name):
    import datasets

    files = cifar10_files if loader is cifar10 else cifar100_files
    calls = []

    def load_dataset(*args, **kwargs):
        calls.append((args, kwargs))
        return {"train": files.train_dataset, "test": files.test_dataset}[kwargs["split"]]

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    data = loader()
    assert calls == [((hub_name,), {"split": "train"}), ((hub_name,), {"split": "test"})]
    assert len(data.train) + len(data.val) == len(files.train.ids)
    np.testing.assert_array_equal(data.test.y.numpy(), decode(data.test.x)[1])


def test_hub_failure_becomes_dataset_unavailable(monkeypatch):
    import datasets

    def unreachable(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'uoft-cs/cifar10' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(DatasetUnavailable) as err:
        cifar10()
    message = str(err.value)
    assert "'uoft-cs/cifar10'" in message and "ConnectionError" in message
    assert "dataset.params.path" in message  # says what to do without network
    assert err.value.__cause__ is None and err.value.__suppress_context__  # one clear error, no chained traceback


def test_offline_hub_load_fails_fast_with_dataset_unavailable():
    """The real path, no monkeypatching: HF_HUB_OFFLINE is set, so the hub is not tried."""
    with pytest.raises(DatasetUnavailable, match="podium-tests/no-such-cifar"):
        cifar10(hub_name="podium-tests/no-such-cifar")


# --- random_crop_flip ------------------------------------------------------------------------


def _reference_crops(x: np.ndarray, padding: int, i: int) -> dict[tuple[int, int, bool], np.ndarray]:
    """Every crop of image ``i`` of ``x`` zero-padded by ``padding``: (dy, dx, flipped) -> (C, H, W)."""
    _, _, h, w = x.shape
    padded = np.pad(x[i], ((0, 0), (padding, padding), (padding, padding)))
    crops = {}
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            crop = padded[:, dy : dy + h, dx : dx + w]
            crops[(dy, dx, False)] = crop
            crops[(dy, dx, True)] = crop[:, :, ::-1]
    return crops


def test_random_crop_flip_is_a_padded_crop_of_each_image_flipped_when_chosen():
    padding = 2
    x = torch.rand(64, 3, 6, 5, generator=torch.Generator().manual_seed(1)) + 0.5  # > 0, so padding shows
    out = random_crop_flip(x, padding, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    chosen = []
    for i in range(len(x)):
        matches = [k for k, crop in _reference_crops(x.numpy(), padding, i).items() if np.array_equal(out[i].numpy(), crop)]
        assert len(matches) == 1, f"image {i} is not one crop of its padded input"
        chosen.append(matches[0])
    dys, dxs, flips = zip(*chosen)
    assert set(dys) == set(dxs) == set(range(2 * padding + 1))  # every offset is drawn
    assert 0.25 < np.mean(flips) < 0.75  # flipped about half the time
    assert (out == 0).any()  # some crops reach into the zero padding


def test_random_crop_flip_is_fixed_by_the_generator_seed():
    x = torch.rand(16, 3, 8, 8)
    before = x.clone()
    first = random_crop_flip(x, 4, torch.Generator().manual_seed(7))
    assert torch.equal(first, random_crop_flip(x, 4, torch.Generator().manual_seed(7)))
    assert not torch.equal(first, random_crop_flip(x, 4, torch.Generator().manual_seed(8)))
    assert torch.equal(x, before)  # the input is not modified
