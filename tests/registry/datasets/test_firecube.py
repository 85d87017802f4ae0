"""The FireCube loader on small cubes it writes in zarr and netCDF, checked against direct indexing."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import xarray as xr

from registry.datasets import firecube as loader
from registry.datasets.firecube import DYNAMIC, LABEL, LANDCOVER, STATIC, DatasetUnavailable, dominant_landcover, firecube
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


def test_every_positive_is_kept_and_training_has_two_negatives_per_positive(loaded):
    data, cube = loaded
    ignition = cube[LABEL].values > 0
    years = cube["time"].values.astype("datetime64[Y]").astype(int) + 1970
    for split, allowed in YEARS.items():
        days = np.array([d for d in range(WINDOW - 1, len(years) - 1) if years[d] in allowed])
        interior = ignition[days + 1][:, HALF:-HALF, HALF:-HALF]
        positives = int(interior.sum())
        labels = getattr(data, split).y.numpy()
        assert labels.sum() == positives > 0
        if split == "train":
            assert (labels == 0).sum() == 2 * positives
        else:  # evaluation keeps every negative
            assert (labels == 0).sum() == interior.size - positives


def test_training_negatives_are_stratified_by_land_cover(loaded):
    data, cube = loaded
    strata = dominant_landcover(cube)
    inside = np.zeros_like(strata, dtype=bool)
    inside[HALF:-HALF, HALF:-HALF] = True
    labels = data.train.y.numpy()
    t, y, x = data.samples["train"][labels == 0].T
    counts = np.bincount(strata[y, x], minlength=len(LANDCOVER))
    share = np.bincount(strata[inside], minlength=len(LANDCOVER)) / inside.sum()
    assert np.all(np.abs(counts - share * len(t)) <= 1)  # each stratum's quota, rounded


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
            day = cube["time"].values[t].astype("datetime64[D]")
            assert fields["doy"][i].item() == (day - day.astype("datetime64[Y]")).astype(int) + 1
    assert float(data.train.x["dynamic"].min()) == 0.0 and float(data.train.x["dynamic"].max()) == 1.0
    assert not np.isnan(data.test.x["dynamic"].numpy()).any()  # missing land-surface temperatures -> 0


def test_zarr_and_netcdf_give_the_same_samples(tmp_path):
    zarr = load(write_cube(tmp_path / "a.zarr", "zarr", **SETTINGS))
    netcdf = load(write_cube(tmp_path / "a.nc", "netcdf", **SETTINGS))
    for split in YEARS:
        assert np.array_equal(zarr.samples[split], netcdf.samples[split])
        assert np.array_equal(getattr(zarr, split).x["dynamic"].numpy(), getattr(netcdf, split).x["dynamic"].numpy())


def test_second_load_does_not_rescan_the_cube(cube_path, tmp_path, monkeypatch):
    first = load(cube_path, tmp_path, eval_negative_ratio=3.0)
    monkeypatch.setattr(loader, "open_cube", lambda path: pytest.fail("the cube was opened again"))
    again = load(cube_path, tmp_path, eval_negative_ratio=3.0)
    assert np.array_equal(first.samples["val"], again.samples["val"])
    assert np.array_equal(first.val.x["static"].numpy(), again.val.x["static"].numpy())
    assert (again.val.y == 0).sum() == 3 * again.val.y.sum()  # the evaluation ratio when one is given


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
