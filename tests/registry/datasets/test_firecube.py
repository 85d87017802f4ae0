"""The FireCube loader on small cubes it writes in zarr and netCDF, checked against direct indexing, and its
sampling protocol (HakamShams/LOAN FireCube_dataloader.py, train.py, test.py) on small arrays the tests make."""
from __future__ import annotations

import datetime
import math
import sys

import numpy as np
import pytest
import xarray as xr

from registry import DATASETS, load_all
from registry.datasets import firecube as loader
from registry.datasets.firecube import (
    DYNAMIC, LABEL, LANDCOVER, POOL_RATIO, STATIC, DatasetUnavailable, choose_samples, day_of_year, dominant_landcover, firecube,
)
from registry.datasets.firecube_synthetic import write_cube

WINDOW, PATCH, HALF = 4, 5, 2
SETTINGS = {"first_year": 2017, "last_year": 2020, "size": 14, "fire_rate": 0.01, "seed": 3}
YEARS = {"train": {2017, 2018}, "val": {2019}, "test": {2020}}


@pytest.fixture(scope="module", params=["zarr", "netcdf"])
def cube_path(request, tmp_path_factory):
    suffix = "zarr" if request.param == "zarr" else "nc"
    return write_cube(tmp_path_factory.mktemp("cube") / f"cube.{suffix}", request.param, **SETTINGS)


def load(path, cache_dir=None, **overrides):
    params = dict(path=str(path), window=WINDOW, patch=PATCH, val_year=2019, test_years=[2020], negative_ratio=2.0, eval_negative_ratio=None)
    return firecube(cache_dir, **{**params, **overrides})


@pytest.fixture(scope="module")
def loaded(cube_path):
    return load(cube_path), xr.open_zarr(cube_path) if cube_path.suffix == ".zarr" else xr.open_dataset(cube_path)


def raw_window(cube, name, t, y, x):
    return cube[name].values[t - WINDOW + 1:t + 1, y - HALF:y + HALF + 1, x - HALF:x + HALF + 1]


def test_samples_respect_years_history_and_borders(loaded):
    data, cube = loaded
    years = cube["time"].values.astype("datetime64[Y]").astype(int) + 1970
    n_time, n_y, n_x = cube.sizes["time"], cube.sizes["y"], cube.sizes["x"]
    for split, allowed in YEARS.items():
        t, y, x = data.samples[split].T
        assert set(years[t].tolist()) <= allowed
        assert t.min() >= WINDOW - 1 and t.max() + 1 < n_time
        assert y.min() >= HALF and y.max() < n_y - HALF and x.min() >= HALF and x.max() < n_x - HALF
        assert len(np.unique(data.samples[split], axis=0)) == len(t)


def test_labels_are_next_day_ignition_at_the_centre(loaded):
    data, cube = loaded
    ignition = cube[LABEL].values > 0
    for split in YEARS:
        t, y, x = data.samples[split].T
        assert np.array_equal(getattr(data, split).y.numpy(), ignition[t + 1, y, x].astype(int))


def positives_by_year(cube, split):
    """{year: number of positives} of a split, counted on the cube directly."""
    ignition = cube[LABEL].values > 0
    years = cube["time"].values.astype("datetime64[Y]").astype(int) + 1970
    return {year: int(ignition[[d + 1 for d in range(WINDOW - 1, len(years) - 1) if years[d] == year]][:, HALF:-HALF, HALF:-HALF].sum())
            for year in sorted(YEARS[split])}


def test_every_positive_is_kept_training_draws_two_per_positive_evaluation_keeps_the_pool(loaded):
    data, cube = loaded
    for split in YEARS:
        per_year = positives_by_year(cube, split)
        labels = getattr(data, split).y.numpy()
        assert labels.sum() == sum(per_year.values()) > 0
        pool = data.pool[split]
        assert len(pool) == sum(math.ceil(POOL_RATIO * n) for n in per_year.values())  # 10 per positive, year by year
        negatives = data.samples[split][labels == 0]
        if split == "train":
            assert len(negatives) == 2 * labels.sum()
            assert set(map(tuple, negatives)) <= set(map(tuple, pool))
        else:  # validation and test keep every negative of the pool
            assert np.array_equal(negatives, pool)


def test_the_pool_is_stratified_by_land_cover(loaded):
    data, cube = loaded
    strata = dominant_landcover(cube)
    inside = np.zeros_like(strata, dtype=bool)
    inside[HALF:-HALF, HALF:-HALF] = True
    share = np.bincount(strata[inside], minlength=len(LANDCOVER)) / inside.sum()
    years = cube["time"].values.astype("datetime64[Y]").astype(int) + 1970
    for split in YEARS:
        for year in YEARS[split]:
            t, y, x = data.pool[split][years[data.pool[split][:, 0]] == year].T
            counts = np.bincount(strata[y, x], minlength=len(LANDCOVER))
            assert np.all(np.abs(counts - share * len(t)) <= 1)  # each stratum's quota, rounded


def test_pool_ratio_null_keeps_every_negative(tmp_path):
    path = write_cube(tmp_path / "cube.zarr", "zarr", **SETTINGS)
    data = load(path, patch=13, pool_ratio=None)  # a 13x13 patch leaves 2x2 centres: a small "every pixel-day"
    cube = xr.open_zarr(path)
    ignition = cube[LABEL].values > 0
    years = cube["time"].values.astype("datetime64[Y]").astype(int) + 1970
    for split in ("val", "test"):
        days = np.array([d for d in range(WINDOW - 1, len(years) - 1) if years[d] in YEARS[split]])
        interior = ignition[days + 1][:, 6:-6, 6:-6]
        labels = getattr(data, split).y.numpy()
        assert labels.sum() == interior.sum() and (labels == 0).sum() == interior.size - interior.sum()


def test_windows_patches_and_scaling_match_direct_indexing(loaded):
    data, cube = loaded
    train = data.samples["train"]
    raw = {name: np.stack([raw_window(cube, name, *s) for s in train]) for name in DYNAMIC}
    static_raw = {name: np.stack([cube[name].values[y - HALF:y + HALF + 1, x - HALF:x + HALF + 1] for _, y, x in train]) for name in STATIC}
    for split in YEARS:
        fields = getattr(data, split).x
        for i in np.random.default_rng(0).choice(len(data.samples[split]), size=8, replace=False):
            t, y, x = data.samples[split][i]
            for c, name in enumerate(DYNAMIC):
                low, high = np.nanmin(raw[name]), np.nanmax(raw[name])
                expected = np.nan_to_num(np.clip((raw_window(cube, name, t, y, x) - low) / (high - low), 0, 1), nan=0.0)
                np.testing.assert_allclose(fields["dynamic"][i, :, c].numpy(), expected, rtol=1e-5, atol=1e-6)
            for c, name in enumerate(STATIC):
                low, high = static_raw[name].min(), static_raw[name].max()
                patch = cube[name].values[y - HALF:y + HALF + 1, x - HALF:x + HALF + 1]
                np.testing.assert_allclose(fields["static"][i, c].numpy(), np.clip((patch - low) / (high - low), 0, 1), rtol=1e-5, atol=1e-6)
            for c, name in enumerate(LANDCOVER):
                patch = cube[name].values[y - HALF:y + HALF + 1, x - HALF:x + HALF + 1]
                np.testing.assert_allclose(fields["static"][i, len(STATIC) + c].numpy(), patch, rtol=1e-6)
            day = cube["time"].values[t].astype("datetime64[D]").item()  # a datetime.date
            assert fields["doy"][i].item() == datetime.date(2000, day.month, day.day).timetuple().tm_yday  # leap-year count
    assert float(data.train.x["dynamic"].min()) == 0.0 and float(data.train.x["dynamic"].max()) == 1.0
    assert not np.isnan(data.test.x["dynamic"].numpy()).any()  # missing land-surface temperatures -> 0


def test_zarr_and_netcdf_give_the_same_samples(tmp_path):
    zarr = load(write_cube(tmp_path / "a.zarr", "zarr", **SETTINGS))
    netcdf = load(write_cube(tmp_path / "a.nc", "netcdf", **SETTINGS))
    for split in YEARS:
        assert np.array_equal(zarr.samples[split], netcdf.samples[split]) and np.array_equal(zarr.pool[split], netcdf.pool[split])
        assert np.array_equal(getattr(zarr, split).x["dynamic"].numpy(), getattr(netcdf, split).x["dynamic"].numpy())


def test_second_load_does_not_rescan_the_cube(cube_path, tmp_path, monkeypatch):
    first = load(cube_path, tmp_path, eval_negative_ratio=3.0)
    monkeypatch.setattr(loader, "open_cube", lambda path: pytest.fail("the cube was opened again"))
    again = load(cube_path, tmp_path, eval_negative_ratio=3.0)
    assert np.array_equal(first.samples["val"], again.samples["val"]) and np.array_equal(first.pool["val"], again.pool["val"])
    assert np.array_equal(first.val.x["static"].numpy(), again.val.x["static"].numpy())
    assert (again.val.y == 0).sum() == 3 * again.val.y.sum()  # the evaluation ratio when one is given, drawn from the pool
    assert set(map(tuple, again.samples["val"][again.val.y.numpy() == 0])) <= set(map(tuple, again.pool["val"]))


def test_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(DatasetUnavailable, match="no datacube at"):
        load(tmp_path / "missing.zarr")
    cube = xr.Dataset({"era5_max_t2m": (("time", "y", "x"), np.zeros((3, 4, 4), np.float32))},
                      coords={"time": np.arange("2019-01-01", "2019-01-04", dtype="datetime64[D]"), "y": np.arange(4.0), "x": np.arange(4.0)})
    cube.to_netcdf(tmp_path / "thin.nc")
    with pytest.raises(DatasetUnavailable, match="lacks variable\\(s\\): '1 km 16 days NDVI'"):
        load(tmp_path / "thin.nc")
    with pytest.raises(ValueError, match="patch must be odd"):
        load(tmp_path / "thin.nc", patch=4)
    monkeypatch.setitem(sys.modules, "xarray", None)
    with pytest.raises(DatasetUnavailable, match=r"pip install 'podium\[firecube\]'"):
        loader.open_cube(tmp_path / "thin.nc")


# ---------------------------------------------------------------- the sampling protocol, on arrays the tests make

DAYS_PER_YEAR, SIDE, PROTOCOL_PATCH = 60, 12, 3  # 3 "years" of 60 days on a 12 x 12 grid; 10 x 10 centres
PROTOCOL_YEARS = {"train": [2017], "val": [2018], "test": [2019]}
OFFICIAL = {"negative_ratio": 2.0, "pool_ratio": POOL_RATIO, "eval_negative_ratio": None}


@pytest.fixture(scope="module")
def world():
    """Fires on 2% of pixel-days; land cover: stratum 3 left of column 8 (70 of the centres), stratum 7 right of it (30)."""
    rng = np.random.default_rng(7)
    shape = (3 * DAYS_PER_YEAR, SIDE, SIDE)
    years = np.repeat([2017, 2018, 2019], DAYS_PER_YEAR)
    fires = np.argwhere(rng.random(shape) < 0.02)
    strata = np.full((SIDE, SIDE), 3)
    strata[:, 8:] = 7
    return fires, shape, years, strata


def sample(world, seed=0, **protocol):
    fires, shape, years, strata = world
    return choose_samples(fires, shape, years, strata, PROTOCOL_YEARS, 2, PROTOCOL_PATCH, seed=seed, **{**OFFICIAL, **protocol})


def is_fire(world, rows):
    fires, shape, _, _ = world
    fire_set = set(map(tuple, fires))
    return np.array([(t + 1, y, x) in fire_set for t, y, x in rows], dtype=bool)


def test_protocol_world_has_the_strata_it_says(world):
    strata = world[3]
    assert np.bincount(strata[1:-1, 1:-1].ravel(), minlength=8)[[3, 7]].tolist() == [70, 30]


def test_pool_of_each_year_is_stratified_by_land_cover(world):
    samples, pools = sample(world)
    strata = world[3]
    for split in PROTOCOL_YEARS:
        positives = int(is_fire(world, samples[split]).sum())
        pool = pools[split]
        assert len(pool) == math.ceil(POOL_RATIO * positives) > 0
        counts = np.bincount(strata[pool[:, 1], pool[:, 2]], minlength=8)
        assert abs(counts[3] - 0.7 * len(pool)) <= 1 and abs(counts[7] - 0.3 * len(pool)) <= 1 and counts.sum() == counts[[3, 7]].sum()


def test_pool_holds_only_candidate_negatives(world):
    _, pools = sample(world)
    years = world[2]
    for split, allowed in PROTOCOL_YEARS.items():
        pool = pools[split]
        assert not is_fire(world, pool).any()  # no ignition on the next day
        assert set(years[pool[:, 0]].tolist()) <= set(allowed) and pool[:, 0].min() >= 1 and pool[:, 0].max() + 1 < len(years)
        assert pool[:, 1:].min() >= 1 and pool[:, 1:].max() <= SIDE - 2  # centres inside the grid
        assert len(np.unique(pool, axis=0)) == len(pool)


def test_validation_and_test_keep_all_of_the_pool(world):
    samples, pools = sample(world)
    for split in ("val", "test"):
        negatives = samples[split][~is_fire(world, samples[split])]
        assert np.array_equal(negatives, pools[split])


def test_training_draws_two_per_positive_from_its_pool_without_replacement(world):
    samples, pools = sample(world)
    fire = is_fire(world, samples["train"])
    negatives = samples["train"][~fire]
    assert len(negatives) == 2 * fire.sum() and len(np.unique(negatives, axis=0)) == len(negatives)
    assert set(map(tuple, negatives)) <= set(map(tuple, pools["train"]))


def test_an_evaluation_ratio_draws_from_the_pool(world):
    samples, pools = sample(world, eval_negative_ratio=3.0)
    for split in ("val", "test"):
        fire = is_fire(world, samples[split])
        negatives = samples[split][~fire]
        assert len(negatives) == 3 * fire.sum() and set(map(tuple, negatives)) <= set(map(tuple, pools[split]))
    official, _ = sample(world)
    assert np.array_equal(samples["train"], official["train"])  # training does not depend on the evaluation protocol


def test_a_random_pool_ignores_land_cover(world):
    fires, shape, years, strata = world
    _, random = sample(world, pool="random")
    _, flat = choose_samples(fires, shape, years, np.zeros_like(strata), PROTOCOL_YEARS, 2, PROTOCOL_PATCH, seed=0, **OFFICIAL)
    for split in PROTOCOL_YEARS:
        assert np.array_equal(random[split], flat[split])


def test_pool_ratio_null_puts_every_candidate_in_the_pool(world):
    samples, pools = sample(world, pool_ratio=None)
    years = world[2]
    for split in ("val", "test"):
        days = [d for d in range(1, len(years) - 1) if years[d] in PROTOCOL_YEARS[split]]
        every = np.array([(d, y, x) for d in days for y in range(1, SIDE - 1) for x in range(1, SIDE - 1)])
        every = every[~is_fire(world, every)]
        assert np.array_equal(pools[split], every)
        assert np.array_equal(samples[split][~is_fire(world, samples[split])], every)


def test_the_pool_follows_the_sampling_seed(world):
    first, pools = sample(world, seed=3)
    again, pools_again = sample(world, seed=3)
    other, pools_other = sample(world, seed=4)
    for split in PROTOCOL_YEARS:
        assert np.array_equal(pools[split], pools_again[split]) and np.array_equal(first[split], again[split])
        assert not np.array_equal(pools[split], pools_other[split])


def test_a_ratio_the_pool_cannot_hold_is_refused(world):
    with pytest.raises(DatasetUnavailable, match="train: .* negatives wanted \\(3 per positive\\) but the pool"):
        sample(world, negative_ratio=3.0, pool_ratio=2.0)
    with pytest.raises(DatasetUnavailable, match="val: .* negatives wanted \\(12 per positive\\)"):
        sample(world, eval_negative_ratio=12.0)
    with pytest.raises(DatasetUnavailable, match="only .* qualify: lower pool_ratio"):
        sample(world, pool_ratio=400.0)  # more negatives than a year's pixel-days
    sample(world, negative_ratio=2.5, pool_ratio=2.5, eval_negative_ratio=2.5)  # rounding never makes an equal ratio overflow


def test_day_of_year_counts_on_a_leap_year_calendar():
    dates = np.array(["2019-01-01", "2019-02-28", "2019-03-01", "2019-12-31", "2020-02-29", "2020-03-01", "2020-12-31"],
                     dtype="datetime64[D]")
    assert day_of_year(dates).tolist() == [1, 59, 61, 366, 60, 61, 366]  # FireCube_dataloader.py: month offsets of a leap year
    every = np.arange("2019-01-01", "2021-01-01", dtype="datetime64[D]")
    expected = [datetime.date(2000, d.month, d.day).timetuple().tm_yday for d in every.tolist()]
    assert day_of_year(every).tolist() == expected


def test_board_label_names_a_protocol_other_than_the_official_one():
    load_all()
    entry = DATASETS.get("firecube")
    base = {"path": "cube.zarr"}
    assert entry.label(base) == "firecube"
    assert entry.label({**base, "negative_ratio": 1.0, "sampling_seed": 3}) == "firecube"  # training choices share the board
    assert entry.label({**base, "eval_negative_ratio": 10.0}) == "firecube-eval_10x"
    assert entry.label({**base, "pool": "random"}) == "firecube-pool_random"
    assert entry.label({**base, "pool_ratio": 5.0, "eval_negative_ratio": 2.5}) == "firecube-pool_5x-eval_2.5x"
    assert entry.label({**base, "pool_ratio": None, "pool": "random"}) == "firecube-pool_every_pixel"
    synthetic = DATASETS.get("firecube-synthetic")
    assert synthetic.label({}) == "firecube-synthetic" and synthetic.label({"pool": "random"}) == "firecube-synthetic-pool_random"
