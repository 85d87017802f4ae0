"""The MTNeuro loader against an object with intern's array interface, at the real shapes."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from registry import DATASETS, load_all
from registry.datasets import mtneuro as loader
from registry.datasets.mtneuro import (
    CUTOUTS, IMAGE_URI, PIXEL_URI, ROI_URI, Z_RANGE, DatasetUnavailable, mtneuro, region_labels,
)

# roi code each fake region reports, chosen to exercise every group of the mapping
ROI_CODE = {"CTX": 1, "STR": 8, "VP": 3, "ZI": 7}
GROUP = {"CTX": 0, "STR": 1, "VP": 2, "ZI": 3}


class FakeBossArray:
    """Serves any (z, y, x) box of one channel, recording what was asked for."""

    def __init__(self, uri: str, log: list):
        self.uri, self.log = uri, log

    def __getitem__(self, key):
        z, y, x = key
        self.log.append((self.uri, (z.start, z.stop), (y.start, y.stop), (x.start, x.stop)))
        shape = (z.stop - z.start, y.stop - y.start, x.stop - x.start)
        region = next(r for r, (xs, ys) in CUTOUTS.items() if xs == (x.start, x.stop) and ys == (y.start, y.stop))
        rng = np.random.default_rng(abs(hash((self.uri, region))) % 2**32)
        if self.uri == ROI_URI:  # a region's code, with a minority of other codes (uint64, as BossDB annotations)
            data = np.full(shape, ROI_CODE[region], dtype=np.uint64)
            data[:, :40, :] = 5
            return data
        if self.uri == PIXEL_URI:
            return rng.integers(0, 4, size=shape, dtype=np.uint64)
        # the image encodes its absolute z (low byte at pixel [0, 0], high byte at [0, 1]) so tests
        # can see which slices were taken
        data = rng.integers(0, 256, size=shape, dtype=np.uint64)
        depth = np.arange(z.start, z.stop)
        data[:, 0, 0], data[:, 0, 1] = depth % 256, depth // 256
        return data


@pytest.fixture
def boss(monkeypatch):
    log: list = []
    monkeypatch.setattr(loader, "open_array", lambda uri: FakeBossArray(uri, log))
    return log


def requested(log):
    return sorted({(uri, z, y, x) for uri, z, y, x in log})


def expected_requests(uris, regions):
    return sorted((uri, Z_RANGE, CUTOUTS[r][1], CUTOUTS[r][0]) for uri in uris for r in regions)


def test_region_2d_counts_labels_and_requests(boss, tmp_path):
    data = mtneuro(tmp_path, task="region", dims=2)
    assert (len(data.train), len(data.val), len(data.test)) == (1076, 116, 200)
    assert tuple(data.train.x.shape[1:]) == (1, 256, 256)
    assert requested(boss) == expected_requests([IMAGE_URI, ROI_URI], CUTOUTS)
    # regions come in CUTOUTS order, each a block of its slices; every tile's class is its region's group
    per_region = {"train": 269, "val": 29, "test": 50}
    for split, n in per_region.items():
        labels = getattr(data, split).y.numpy()
        assert labels.tolist() == [GROUP[r] for r in CUTOUTS for _ in range(n)]
    assert data.num_classes == 4 and np.isclose(float(data.train.x.mean()), 0, atol=1e-3)


def test_region_2d_takes_the_published_z_slices(boss, tmp_path):
    data = mtneuro(tmp_path, task="region", dims=2)
    # undo the normalisation through the z values encoded in the fake image
    # normalisation is one increasing affine map, so the (high, low) byte order survives it
    corners = {split: getattr(data, split).x[:, 0, 0, :2].numpy() for split in ("train", "val", "test")}
    levels = {v: i for i, v in enumerate(np.unique(np.concatenate([c.ravel() for c in corners.values()])))}
    raw_z = {split: [levels[h] * 1000 + levels[l] for l, h in c] for split, c in corners.items()}
    everything = sorted(set(sum(raw_z.values(), [])))
    rank = {v: i for i, v in enumerate(everything)}
    # slices 110..378, 380..408, 420..469: 348 distinct z values shared by the four regions
    assert len(everything) == 269 + 29 + 50
    for split, (z0, z1) in {"train": (110, 379), "val": (380, 409), "test": (420, 470)}.items():
        first_region = [rank[v] for v in raw_z[split][: z1 - z0]]
        assert first_region == sorted(first_region) and len(set(first_region)) == z1 - z0
        assert raw_z[split][: z1 - z0] * 4 == raw_z[split]  # every region takes the same slices


def test_region_3d_uses_whole_stacks_of_eight(boss, tmp_path):
    data = mtneuro(tmp_path, task="region", dims=3)
    assert (len(data.train), len(data.val), len(data.test)) == (4 * 33, 4 * 3, 4 * 6)
    assert tuple(data.train.x.shape[1:]) == (1, 8, 256, 256)


def test_segmentation_4class_leaves_zi_out_and_3class_merges_axons(boss, tmp_path):
    four = mtneuro(tmp_path, task="segmentation_4class", dims=2)
    assert (len(four.train), len(four.val), len(four.test)) == (807, 87, 150)
    assert requested(boss) == expected_requests([IMAGE_URI, PIXEL_URI], ["CTX", "STR", "VP"])
    assert four.class_names == ("background", "vessel", "cell", "axon")
    assert set(torch.unique(four.train.y).tolist()) == {0, 1, 2, 3}
    three = mtneuro(tmp_path, task="segmentation_3class", dims=2)
    assert (len(three.train), len(three.val), len(three.test)) == (1076, 116, 200)
    assert set(torch.unique(three.train.y).tolist()) == {0, 1, 2}
    # the same pixels: axons (3) of the 4-class labels are background in the 3-class ones
    assert torch.equal(three.train.y[:807], torch.where(four.train.y == 3, 0, four.train.y))


def test_second_load_reads_the_cache_not_bossdb(boss, tmp_path, monkeypatch):
    first = mtneuro(tmp_path, task="region", dims=2)

    def offline(uri):
        raise AssertionError(f"BossDB was asked for {uri}")

    monkeypatch.setattr(loader, "open_array", offline)
    again = mtneuro(tmp_path, task="region", dims=2)
    assert torch.equal(first.test.x, again.test.x) and torch.equal(first.test.y, again.test.y)
    assert len(list((tmp_path / "mtneuro").glob("*.npy"))) == 8  # 4 regions x (image, roi)


def test_unreachable_bossdb_names_the_uri_and_box(monkeypatch, tmp_path):
    def failing(uri):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(loader, "open_array", failing)
    with pytest.raises(DatasetUnavailable, match=r"bossdb://prasad/prasad2020/image \[110:471, 900:1156, 4600:4856\].*ConnectionError"):
        mtneuro(tmp_path, task="region")


def test_missing_intern_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "intern", None)  # makes `import intern` fail
    with pytest.raises(DatasetUnavailable, match=r"pip install 'podium\[mtneuro\]'"):
        loader.open_array(IMAGE_URI)


def test_region_label_is_the_grouped_mode():
    tiles = np.zeros((4, 2, 3), dtype=np.uint8)
    tiles[0] = [[1, 1, 0], [2, 1, 5]]  # mode 1 -> group 0
    tiles[1] = [[8, 8, 2], [2, 8, 0]]  # mode 8 -> group 1
    tiles[2] = [[4, 4, 3], [3, 6, 7]]  # tie 3/4 -> the smaller, 3 -> group 2
    tiles[3] = [[7, 6, 5], [7, 5, 7]]  # mode 7 -> group 3
    assert region_labels(tiles).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"roi label\(s\) \[9\]"):
        region_labels(np.full((1, 2, 2), 9, dtype=np.uint8))


def test_each_variant_files_results_under_its_own_board():
    load_all()
    entry = DATASETS.get("mtneuro")
    assert entry.label({"task": "segmentation_3class", "dims": 3}) == "mtneuro-segmentation_3class-3d"
    assert entry.label({}) == "mtneuro-region-2d"
    assert DATASETS.get("mtneuro-synthetic").label({}) == "mtneuro-synthetic-region-2d"
