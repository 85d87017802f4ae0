"""``firecube-synthetic``: a small datacube written offline with FireCube's variable names,
dimensions (time, y, x), coordinates and dtypes, where ignition follows a known function of the
weather, vegetation and land cover, then read back by the real ``firecube`` loader.

Weather follows a seasonal cycle plus spatially smooth day-to-day anomalies; the chance of an
ignition on day t+1 rises with the last three days' heat and dryness (an interaction: hot *and*
dry), vegetation, fuel-rich land cover in the neighbourhood and closeness to roads, plus noise.
So a model that sees the window and the patch can beat one that sees a single pixel linearly.
"""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import PositiveFloat, PositiveInt
from scipy.ndimage import gaussian_filter, uniform_filter

from registry.core import DATASETS
from registry.datasets.firecube import DYNAMIC, LABEL, LANDCOVER, POOL_RATIO, STATIC, FireCubeData, Pool, load_firecube, protocol_label
from registry.params import Fraction, NonEmptyTuple, OddInt, Seed
from registry.targets import Target
from specs.hashing import stable_hash

FUEL_CLASSES = (2, 3, 4)  # land-cover groups that burn easily in this synthetic world (forest, shrub, grass)


def _smooth(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Spatially smooth unit-variance noise over the last two axes. Filtered on a grid padded by
    3 sigma and cropped, so the edges are as variable as the middle (a reflecting border is not)."""
    pad = int(3 * sigma) + 1
    padded = rng.normal(size=(*shape[:-2], shape[-2] + 2 * pad, shape[-1] + 2 * pad))
    sigmas = (0,) * (len(shape) - 2) + (sigma, sigma)
    field = gaussian_filter(padded, sigma=sigmas)[..., pad:-pad, pad:-pad]
    return (field - field.mean()) / (field.std() + 1e-9)


def _z(values: np.ndarray) -> np.ndarray:
    return (values - np.nanmean(values)) / (np.nanstd(values) + 1e-9)


def synthetic_cube(first_year: int, last_year: int, size: int, fire_rate: float, seed: int):
    """The cube as an xarray Dataset (in memory)."""
    import xarray as xr

    rng = np.random.default_rng(seed)
    time = np.arange(f"{first_year}-01-01", f"{last_year + 1}-01-01", dtype="datetime64[D]")
    n_t = len(time)
    doy = (time - time.astype("datetime64[Y]")).astype(int) + 1
    season = np.sin(2 * np.pi * (doy - 110) / 365.25)[:, None, None]  # +1 in high summer

    logits = np.stack([_smooth(rng, (size, size), 3) * 1.5 for _ in LANDCOVER])
    landcover = np.exp(logits) / np.exp(logits).sum(axis=0)
    dem = 600 + 400 * _smooth(rng, (size, size), 4)
    slope = np.hypot(*np.gradient(dem)) / 10
    roads = np.abs(_smooth(rng, (size, size), 2)) * 5
    water = np.abs(_smooth(rng, (size, size), 3)) * 8
    population = np.exp(1 + _smooth(rng, (size, size), 2))

    anomaly = np.zeros((n_t, size, size))
    shocks = _smooth(rng, (n_t, size, size), 4) * 1.5
    for t in range(1, n_t):  # AR(1) weather, a few days' memory
        anomaly[t] = 0.8 * anomaly[t - 1] + shocks[t]
    t2m = 288 + 10 * season - 0.0065 * dem[None] + anomaly
    rh_weather = -1.5 * anomaly + 5 * rng.normal(size=anomaly.shape)  # humidity's day-to-day part
    rh = np.clip(55 - 20 * season + rh_weather, 5, 100)
    rain = (rng.random(anomaly.shape) < 0.08 * (1.2 - season)) * rng.exponential(0.004, anomaly.shape)
    smi = np.zeros_like(anomaly)
    for t in range(1, n_t):  # soil moisture: filled by rain, dried by heat
        smi[t] = np.clip(0.97 * smi[t - 1] + 40 * rain[t] - 0.002 * np.maximum(t2m[t] - 290, 0), 0, 1)
    vegetation = landcover[list(FUEL_CLASSES)].sum(axis=0)
    ndvi_daily = 0.3 + 0.4 * vegetation[None] * (0.6 + 0.4 * np.sin(2 * np.pi * (doy - 60) / 365.25))[:, None, None]
    ndvi = np.repeat(ndvi_daily[::16], 16, axis=0)[:n_t]  # a 16-day product: constant over 16 days
    dynamic = {
        "1 km 16 days NDVI": ndvi,
        "LST_Day_1km": t2m + 6 + rng.normal(0, 1.5, anomaly.shape),
        "LST_Night_1km": t2m - 8 + rng.normal(0, 1.5, anomaly.shape),
        "era5_max_d2m": t2m - (100 - rh) / 5,
        "era5_max_t2m": t2m,
        "era5_max_sp": 101325 - 12 * dem[None] + 200 * rng.normal(size=anomaly.shape),
        "era5_max_tp": rain,
        "sminx": smi,
        "era5_max_wind_speed": rng.gamma(2.0, 2.0, anomaly.shape),
        "era5_min_rh": rh,
    }
    for name in ("LST_Day_1km", "LST_Night_1km"):  # clouds: missing land-surface temperatures
        dynamic[name][rng.random(anomaly.shape) < 0.03] = np.nan

    # ignition on day t+1 from days t-2..t (the chance shifts one day forward)
    # the weather, not the season: anomalies of heat and dryness over the last three days
    heat = _z(uniform_filter(anomaly, size=(3, 1, 1), origin=(1, 0, 0)))
    dry = _z(uniform_filter(-rh_weather, size=(3, 1, 1), origin=(1, 0, 0)))
    fuel_nearby = _z(uniform_filter(vegetation, size=7))  # fuel around the pixel, not only under it
    relu = lambda v: np.maximum(v, 0)
    logit = (1.5 * relu(heat) * relu(dry) + 0.8 * relu(fuel_nearby)[None] * relu(dry)
             + 0.5 * np.exp(-roads / 1.5)[None] + rng.normal(0, 0.7, anomaly.shape))
    base = np.quantile(logit, 1 - fire_rate)  # the intercept that gives the requested ignition rate
    ignition = np.zeros(anomaly.shape, dtype=np.float32)
    ignition[1:] = rng.random(logit[:-1].shape) < 1 / (1 + np.exp(-(logit[:-1] - base) * 2))

    coords = {"time": time.astype("datetime64[ns]"), "y": 41.0 - 0.01 * np.arange(size), "x": 20.0 + 0.01 * np.arange(size)}
    data = {name: (("time", "y", "x"), values.astype(np.float32)) for name, values in dynamic.items()}
    data.update({name: (("y", "x"), values.astype(np.float32)) for name, values in zip(STATIC, (dem, slope, roads, water, population))})
    data.update({name: (("y", "x"), landcover[i].astype(np.float32)) for i, name in enumerate(LANDCOVER)})
    data[LABEL] = (("time", "y", "x"), ignition)
    assert set(data) == {*DYNAMIC, *STATIC, *LANDCOVER, LABEL}
    return xr.Dataset(data, coords=coords, attrs={"title": "podium firecube-synthetic", "seed": seed})


def write_cube(path: Path, fmt: Literal["zarr", "netcdf"], **settings) -> Path:
    """Write the synthetic cube to ``path`` (atomically: written beside, then renamed)."""
    cube = synthetic_cube(**settings)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "zarr":
        with warnings.catch_warnings():  # zarr 3 notes that consolidated metadata is not in its spec yet
            warnings.simplefilter("ignore")
            cube.to_zarr(tmp, mode="w")
    else:
        cube.to_netcdf(tmp)
    if path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    os.replace(tmp, path)
    return path


@DATASETS.register("firecube-synthetic", label=lambda p: protocol_label("firecube-synthetic", p), target=lambda p: Target("classes", 2))
def firecube_synthetic(
    cache_dir: Path | None = None, *, first_year: int = 2016, last_year: int = 2020, size: PositiveInt = 24,
    fire_rate: Fraction = 0.002, cube_seed: Seed = 0, format: Literal["zarr", "netcdf"] = "zarr",
    window: PositiveInt = 10, patch: OddInt = 9, val_year: int = 2019, test_years: NonEmptyTuple[int] = (2020,),
    negative_ratio: PositiveFloat = 2.0, pool_ratio: PositiveFloat | None = POOL_RATIO, pool: Pool = "landcover",
    eval_negative_ratio: PositiveFloat | None = None, sampling_seed: Seed = 0,
) -> FireCubeData:
    """A small synthetic FireCube-format cube (written once), sampled by the real firecube loader."""
    import tempfile

    settings = {"first_year": first_year, "last_year": last_year, "size": size, "fire_rate": fire_rate, "seed": cube_seed}
    root = cache_dir if cache_dir is not None else Path(tempfile.gettempdir()) / "podium"
    path = root / "firecube-synthetic" / f"{stable_hash(settings)}.{'zarr' if format == 'zarr' else 'nc'}"
    if not path.exists():
        write_cube(path, format, **settings)
    return load_firecube(
        path, cache_dir, window=window, patch=patch, val_year=val_year, test_years=test_years, negative_ratio=negative_ratio,
        eval_negative_ratio=eval_negative_ratio, sampling_seed=sampling_seed, pool_ratio=pool_ratio, pool=pool,
    )
