"""FireCube (Prapas et al. 2021; Kondylatos et al. 2022): next-day wildfire danger in Greece from a
daily spatio-temporal datacube, sampled as the LOADE paper's official code does (Eddin et al. 2022,
HakamShams/LOAN; ../shared/papers/firecube_loade.md):

- a sample is a day ``t`` and a pixel: the ``window`` days t-window+1..t of 10 dynamic variables and
  the 5 static variables plus 10 land-cover fractions over a ``patch`` x ``patch`` neighbourhood; the
  label is ignition at the centre pixel on day t+1; ``doy`` is t's day of year counted on a leap-year
  calendar as the official loader does (``FireCube_dataloader.py``, ``__getitem__``: the days before the
  month in a leap year plus the day of the month, so March 1 is day 61 in every year; the official loader
  takes the date from a sample's file name, and whether that is day t or the ignition day t+1 is not
  visible in the official code: Podium uses t);
- splits by the year of ``t``: train before ``val_year``, validation ``val_year``, test ``test_years``;
- every positive is kept. Negatives come from a **pool**, as the official loader's come from the
  pre-extracted ``negatives_clc`` folder of the published samples (``FireCube_dataloader.py``,
  ``__getpath``): the pool of each year holds ``pool_ratio`` negatives per positive of that year (rounded
  up), pixel-days without an ignition on the next day, drawn stratified by the centre pixel's dominant
  land cover, each stratum in proportion to its share of the candidate pixels (``pool: random`` draws
  them uniformly, the official ``negative='random'``, whose folder the official loader does not filter
  by year; here every split keeps to its years); ``pool_ratio: null`` puts every candidate pixel-day in
  the pool (small cubes only);
- training draws ``negative_ratio`` negatives per positive uniformly without replacement from the
  training years' pool (the official ``neg_pos_ratio=2`` with ``np.random.choice(..., replace=False)``;
  the pool must hold that many, as the official loader asserts);
- evaluation keeps **all of the pool** of its years: validation (``train.py``: ``neg_pos_ratio_val=None``)
  and test (``test.py`` builds the loader in its validation mode with ``val_year=test_year`` and
  ``neg_pos_ratio_val=None``, one year per run; here ``test_years`` may name several years, whose pools
  are joined). ``eval_negative_ratio`` = k instead draws k per positive from that pool (the official
  ``neg_pos_ratio_val=k``);
- min-max scaling per variable with the training samples' minimum and maximum (evaluation values
  clipped to that range), then missing values set to 0 (the official loader scales with the published
  training statistics, ``mean_std_train.json``, unclipped).

The pool's size in the published samples is not stated in the official code (it is whatever the
extraction on Zenodo holds: at least 2 per positive, since the official training draw of 2 per positive
must fit in it); ``pool_ratio`` = 10 is Podium's choice, not a number from the paper. Base-rate metrics
(precision, F1, IoU, accuracy, AUPRC) depend on it; AUROC does not, in expectation. So the board label
of a dataset sampled any other way than the defaults (``pool``, ``pool_ratio``, ``eval_negative_ratio``)
names the difference (``firecube-eval_3x``, ``firecube-pool_random``, ``firecube-pool_5x``,
``firecube-pool_every_pixel``) and its results are filed apart; the training ratio is a training choice
and does not change the board.

Centres lie at least ``patch // 2`` pixels inside the grid (no padding). Extraction is one
vectorised read per variable, and the extracted arrays are cached under the results' data cache,
keyed by the cube file and every sampling parameter, so a second run does not rescan the cube.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import PositiveFloat, PositiveInt

from registry.core import DATASETS
from registry.datasets import DatasetUnavailable
from registry.datasets.tensors import Fields, Split, TensorData
from registry.params import NonEmptyTuple, OddInt, Seed
from registry.paths import DataPath
from registry.targets import Target
from specs.hashing import stable_hash

DYNAMIC = (
    "1 km 16 days NDVI", "LST_Day_1km", "LST_Night_1km", "era5_max_d2m", "era5_max_t2m",
    "era5_max_sp", "era5_max_tp", "sminx", "era5_max_wind_speed", "era5_min_rh",
)
STATIC = ("dem_mean", "slope_mean", "roads_distance", "waterway_distance", "population_density")
LANDCOVER = tuple(f"CLC_2018_{i}" for i in range(10))  # fraction of each CORINE group per pixel
LABEL = "ignition_points"
SPLITS = ("train", "val", "test")
POOL_RATIO = 10.0  # Podium's default pool size, negatives per positive per year (not a number from the paper)
Pool = Literal["landcover", "random"]
LEAP_MONTH_STARTS = np.array([0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335])  # days before each month of a
# leap year: the official loader's day-of-year table (HakamShams/LOAN FireCube_dataloader.py, __leap_year)
SAMPLING_VERSION = 2  # part of the cache key: 2 = the pool protocol and the leap-year day of year


@dataclass(frozen=True)
class FireCubeData(TensorData):
    """Samples as ``Fields(dynamic (N, T, Cd, P, P), static (N, Cs, P, P), doy (N,))`` with 0/1 labels.

    ``samples[split]`` holds each sample's (time index, y index, x index) in the cube, sorted;
    ``pool[split]`` the negative pool of the split's years the negatives were taken from (same layout)."""

    samples: dict[str, np.ndarray] | None = None
    pool: dict[str, np.ndarray] | None = None
    window: int = 10
    patch: int = 25

    @property
    def model_args(self) -> dict[str, int]:
        return {
            "num_classes": 2, "dynamic_channels": len(DYNAMIC), "static_channels": len(STATIC) + len(LANDCOVER),
            "window": self.window, "patch": self.patch,
        }


def open_cube(path: str | Path) -> Any:
    """The datacube as a lazy xarray Dataset (zarr store or netCDF file)."""
    try:
        import xarray as xr
    except ImportError:
        raise DatasetUnavailable("the firecube dataset reads datacubes with xarray: pip install 'podium[firecube]'") from None
    path = Path(path)
    if not path.exists():
        raise DatasetUnavailable(f"no datacube at {path} (give dataset.params.path: a .zarr store or a netCDF file)")
    try:
        if path.is_dir() or path.suffix == ".zarr":
            return xr.open_zarr(path, consolidated=None)
        return xr.open_dataset(path)
    except Exception as err:  # the backends raise many kinds
        raise DatasetUnavailable(f"cannot open datacube {path}: {type(err).__name__}: {err}") from None


def dominant_landcover(cube: Any) -> np.ndarray:
    """(y, x) index of each pixel's largest land-cover fraction (the sampling strata)."""
    fractions = np.stack([np.nan_to_num(cube[name].values.astype(np.float32)) for name in LANDCOVER])
    return fractions.argmax(axis=0)


def fire_points(cube: Any, block_days: int = 64) -> np.ndarray:
    """(day, y, x) of every ignition in the cube, read in blocks of days so memory stays bounded."""
    label = cube[LABEL]
    found = []
    for start in range(0, label.sizes["time"], block_days):
        block = np.nan_to_num(label.isel(time=slice(start, start + block_days)).values) > 0
        d, y, x = np.nonzero(block)
        found.append(np.stack([d + start, y, x], axis=1))
    return np.concatenate(found).astype(np.int64) if found else np.zeros((0, 3), dtype=np.int64)


def day_of_year(dates: np.ndarray) -> np.ndarray:
    """Day of year 1..366 on a leap-year calendar, as the official loader counts it (FireCube_dataloader.py):
    the days before the month in a leap year plus the day of the month (March 1 is 61 in every year)."""
    dates = np.asarray(dates).astype("datetime64[D]")
    month = (dates.astype("datetime64[M]") - dates.astype("datetime64[Y]")).astype(np.int64)
    day = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    return LEAP_MONTH_STARTS[month] + day


def choose_samples(
    fires: np.ndarray, shape: tuple[int, int, int], years: np.ndarray, strata: np.ndarray,
    split_years: dict[str, list[int]], window: int, patch: int, *, negative_ratio: float, pool_ratio: float | None,
    eval_negative_ratio: float | None, seed: int, pool: Pool = "landcover",
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(samples, pools): the (t, y, x) of every sample of each split, and of the negative pool of each
    split's years, sorted. ``fires`` holds (day, y, x) of each ignition, so sample (t, y, x) is positive
    when (t + 1, y, x) is among them; t needs ``window`` days of history and a next day in the cube."""
    rng = np.random.default_rng(seed)
    n_time, n_y, n_x = shape
    half = patch // 2
    inside = np.zeros((n_y, n_x), dtype=bool)
    inside[half:n_y - half, half:n_x - half] = True
    fire_keys = np.unique((fires[:, 0] - 1) * n_y * n_x + fires[:, 1] * n_x + fires[:, 2])  # as sample keys
    if pool == "random":
        strata = np.zeros_like(strata)
    chosen, pools = {}, {}
    for split in SPLITS:
        days = np.flatnonzero(np.isin(years, split_years[split]))
        days = days[(days >= window - 1) & (days + 1 < n_time)]
        t = fires[:, 0] - 1
        keep = np.isin(t, days) & inside[fires[:, 1], fires[:, 2]]
        positives = np.stack([t[keep], fires[keep, 1], fires[keep, 2]], axis=1)
        parts = []
        for year in split_years[split]:  # the pool is drawn year by year, in proportion to the year's positives
            year_days = days[years[days] == year]
            n_positive = int(np.sum(years[positives[:, 0]] == year))
            wanted = None if pool_ratio is None else int(np.ceil(pool_ratio * n_positive - 1e-9))
            parts.append(_pool_keys(year_days, inside, strata, wanted, fire_keys, rng))
        pool_keys = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *parts]))  # sorted: by t, then y, then x
        ratio = negative_ratio if split == "train" else eval_negative_ratio
        if ratio is None:
            negative_keys = pool_keys
        else:
            wanted = int(round(ratio * len(positives)))
            if wanted > len(pool_keys):
                raise DatasetUnavailable(
                    f"{split}: {wanted} negatives wanted ({ratio:g} per positive) but the pool of years {split_years[split]} "
                    f"holds {len(pool_keys)}: raise pool_ratio or lower the ratio"
                )
            negative_keys = pool_keys[rng.choice(len(pool_keys), wanted, replace=False)]
        negatives = _unkey(negative_keys, n_y, n_x)
        chosen[split] = np.unique(np.concatenate([positives, negatives]).astype(np.int64), axis=0)  # sorted by t, y, x
        pools[split] = _unkey(pool_keys, n_y, n_x)
    return chosen, pools


def _unkey(keys: np.ndarray, n_y: int, n_x: int) -> np.ndarray:
    keys = np.asarray(keys, dtype=np.int64)
    return np.stack([keys // (n_y * n_x), keys % (n_y * n_x) // n_x, keys % n_x], axis=1).reshape(-1, 3)


def _pool_keys(days, inside, strata, wanted, fire_keys, rng) -> np.ndarray:
    """Sample keys (t * n_y * n_x + y * n_x + x) of one year's pool: every candidate (``wanted`` None), or
    ``wanted`` of them drawn stratified by land cover, each stratum's quota in proportion to its share of
    the candidate pixels (the largest strata take the remainder of the rounding)."""
    n_y, n_x = inside.shape
    if wanted is None:
        keys = (days[:, None] * n_y * n_x + np.flatnonzero(inside)[None, :]).ravel()
        return keys[~np.isin(keys, fire_keys)]
    pixels_by_stratum = [np.flatnonzero((strata == s) & inside) for s in range(int(strata.max()) + 1)]
    sizes = np.array([len(p) for p in pixels_by_stratum], dtype=float)
    if wanted == 0 or len(days) == 0 or sizes.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    quota = np.floor(wanted * sizes / sizes.sum()).astype(int)
    quota[np.argsort(-sizes, kind="stable")[: wanted - quota.sum()]] += 1
    picks = [_draw_pixel_days(days, pixels, k, fire_keys, rng, n_y * n_x) for pixels, k in zip(pixels_by_stratum, quota) if k]
    return np.concatenate(picks) if picks else np.zeros(0, dtype=np.int64)


def _draw_pixel_days(days, pixels, k, fire_keys, rng, plane, enumerate_below: int = 1_000_000) -> np.ndarray:
    """``k`` distinct sample keys over ``days`` x ``pixels`` with no ignition on the next day, uniformly."""
    capacity = len(days) * len(pixels)
    if capacity <= max(enumerate_below, 4 * k):  # small: enumerate the candidates and choose among them
        keys = (days[:, None] * plane + pixels[None, :]).ravel()
        keys = keys[~np.isin(keys, fire_keys)]
        if len(keys) < k:
            raise DatasetUnavailable(f"the negative pool needs {k} pixel-days of one land-cover stratum, only {len(keys)} qualify: lower pool_ratio")
        return np.sort(rng.choice(keys, k, replace=False))
    fires = set(fire_keys.tolist())
    taken: set[int] = set()
    while len(taken) < k:  # large: reject fire days and repeats; both are rare, so this takes few rounds
        draw = max(2 * (k - len(taken)), 16)
        keys = days[rng.integers(0, len(days), draw)] * plane + pixels[rng.integers(0, len(pixels), draw)]
        for key in keys.tolist():
            if len(taken) < k and key not in fires:
                taken.add(key)
    return np.array(sorted(taken), dtype=np.int64)


def extract(cube: Any, samples: np.ndarray, window: int, patch: int, batch: int = 2048) -> dict[str, np.ndarray]:
    """Raw (unscaled) arrays of the samples (sorted by day): per variable one vectorised read per
    batch of samples, so each read spans few days (zarr reads only the chunks it needs)."""
    parts = [_extract_batch(cube, samples[i:i + batch], window, patch) for i in range(0, len(samples), batch)]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _extract_batch(cube: Any, samples: np.ndarray, window: int, patch: int) -> dict[str, np.ndarray]:
    import xarray as xr

    half = patch // 2
    lags, offsets = np.arange(-window + 1, 1), np.arange(-half, half + 1)
    # pointwise (vectorised) indexers; xarray broadcasts them over (sample, lag, py, px)
    t = xr.DataArray(samples[:, 0, None] + lags[None, :], dims=("sample", "lag"))
    y = xr.DataArray(samples[:, 1, None] + offsets[None, :], dims=("sample", "py"))
    x = xr.DataArray(samples[:, 2, None] + offsets[None, :], dims=("sample", "px"))
    day = xr.DataArray(samples[:, 0], dims=("sample",))
    dynamic = np.stack([
        cube[name].isel(time=t, y=y, x=x).transpose("sample", "lag", "py", "px").values.astype(np.float32) for name in DYNAMIC
    ], axis=2)
    static = []
    for name in STATIC + LANDCOVER:
        variable = cube[name]
        index = {"y": y, "x": x, **({"time": day} if "time" in variable.dims else {})}  # maps that vary by year
        static.append(variable.isel(**index).transpose("sample", "py", "px").values.astype(np.float32))
    doy = day_of_year(cube["time"].values[samples[:, 0]])
    return {"dynamic": dynamic, "static": np.stack(static, axis=1), "doy": doy.astype(np.float32)}


def minmax_scale(arrays: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
    """Scale each variable to [0, 1] with the training samples' min and max; missing values -> 0.
    Land-cover fractions are already in [0, 1] and kept as they are."""
    train = arrays["train"]
    dyn_axes = (0, 1, 3, 4)
    dyn_min, dyn_max = np.nanmin(train["dynamic"], axis=dyn_axes, keepdims=True), np.nanmax(train["dynamic"], axis=dyn_axes, keepdims=True)
    n_static = len(STATIC)
    st_min = np.nanmin(train["static"][:, :n_static], axis=(0, 2, 3), keepdims=True)
    st_max = np.nanmax(train["static"][:, :n_static], axis=(0, 2, 3), keepdims=True)

    def scale(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        span = np.where(high > low, high - low, 1.0)
        return np.nan_to_num(np.clip((values - low) / span, 0.0, 1.0), nan=0.0).astype(np.float32)

    scaled = {}
    for split, parts in arrays.items():
        static = parts["static"].copy()
        static[:, :n_static] = scale(static[:, :n_static], st_min, st_max)
        static[:, n_static:] = np.nan_to_num(static[:, n_static:], nan=0.0)
        scaled[split] = {"dynamic": scale(parts["dynamic"], dyn_min, dyn_max), "static": static, "doy": parts["doy"]}
    return scaled


def load_firecube(
    path: str | Path, cache_dir: Path | None, *, window: int, patch: int, val_year: int, test_years: tuple[int, ...] | list[int],
    negative_ratio: float, eval_negative_ratio: float | None, sampling_seed: int, pool_ratio: float | None = POOL_RATIO,
    pool: Pool = "landcover",
) -> FireCubeData:
    """Samples of a datacube, from the cache when these exact settings were extracted before."""
    path = Path(path)
    stat = path.stat() if path.exists() else None
    protocol = {"negative_ratio": negative_ratio, "pool_ratio": pool_ratio, "pool": pool, "eval_negative_ratio": eval_negative_ratio}
    key = stable_hash({
        "cube": str(path.resolve()), "mtime": stat.st_mtime if stat else None, "window": window, "patch": patch,
        "val_year": val_year, "test_years": test_years, "sampling_seed": sampling_seed, "version": SAMPLING_VERSION, **protocol,
    })
    cached = cache_dir / "firecube" / f"{key}.npz" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        with np.load(cached) as stored:
            flat = {name: stored[name] for name in stored.files}
    else:
        flat = _extract_all(open_cube(path), window, patch, val_year, test_years, sampling_seed, protocol)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f".{cached.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **flat)
            os.replace(tmp, cached)
    splits = {
        split: Split(
            Fields(**{part: torch.from_numpy(flat[f"{split}/{part}"]) for part in ("dynamic", "static", "doy")}),
            torch.from_numpy(flat[f"{split}/label"]),
        )
        for split in SPLITS
    }
    samples = {split: flat[f"{split}/samples"] for split in SPLITS}
    pools = {split: flat[f"{split}/pool"] for split in SPLITS}
    return FireCubeData(splits["train"], splits["val"], splits["test"], 2, ("no_fire", "fire"), samples, pools, window, patch)


def _extract_all(cube, window, patch, val_year, test_years, sampling_seed, protocol) -> dict[str, np.ndarray]:
    missing = [name for name in (*DYNAMIC, *STATIC, *LANDCOVER, LABEL) if name not in cube.variables]
    if missing:
        raise DatasetUnavailable(f"the datacube lacks variable(s): {', '.join(repr(m) for m in missing)}")
    years = cube["time"].values.astype("datetime64[Y]").astype(int) + 1970
    split_years = {
        "train": [int(y) for y in np.unique(years) if y < val_year], "val": [val_year], "test": [int(y) for y in test_years],
    }
    fires = fire_points(cube)
    shape = (cube.sizes["time"], cube.sizes["y"], cube.sizes["x"])
    samples, pools = choose_samples(
        fires, shape, years, dominant_landcover(cube), split_years, window, patch, seed=sampling_seed, **protocol,
    )
    for split, chosen in samples.items():
        if len(chosen) == 0:
            raise DatasetUnavailable(
                f"no {split} samples: no ignition at least {patch // 2} pixels inside the grid, with {window} days of history, "
                f"in years {split_years[split]}"
            )
    raw = {split: extract(cube, chosen, window, patch) for split, chosen in samples.items()}
    scaled = minmax_scale(raw)
    flat: dict[str, np.ndarray] = {}
    for split in SPLITS:
        for part, values in scaled[split].items():
            flat[f"{split}/{part}"] = values
        chosen = samples[split]
        fire_keys = (fires[:, 0] - 1) * shape[1] * shape[2] + fires[:, 1] * shape[2] + fires[:, 2]
        keys = chosen[:, 0] * shape[1] * shape[2] + chosen[:, 1] * shape[2] + chosen[:, 2]
        flat[f"{split}/label"] = np.isin(keys, fire_keys).astype(np.int64)
        flat[f"{split}/samples"] = chosen
        flat[f"{split}/pool"] = pools[split]
    return flat


def protocol_label(name: str, params: dict[str, Any]) -> str:
    """The board a FireCube dataset's results are filed under: ``name`` under the official protocol at
    Podium's default pool, else ``name`` and what differs (base-rate metrics are comparable only within
    one protocol): ``-pool_random``, ``-pool_<r>x`` or ``-pool_every_pixel``, ``-eval_<k>x``."""
    parts = [name]
    if params["pool_ratio"] is None:
        parts.append("pool_every_pixel")  # nothing is drawn, so the pool's strata do not matter
    else:
        if params["pool"] != "landcover":
            parts.append(f"pool_{params['pool']}")
        if params["pool_ratio"] != POOL_RATIO:
            parts.append(f"pool_{params['pool_ratio']:g}x")
    if params["eval_negative_ratio"] is not None:
        parts.append(f"eval_{params['eval_negative_ratio']:g}x")
    return "-".join(parts)


@DATASETS.register("firecube", label=lambda p: protocol_label("firecube", p), target=lambda p: Target("classes", 2))
def firecube(
    cache_dir: Path | None = None, *, path: DataPath, window: PositiveInt = 10, patch: OddInt = 25, val_year: int = 2019,
    test_years: NonEmptyTuple[int] = (2020, 2021), negative_ratio: PositiveFloat = 2.0, pool_ratio: PositiveFloat | None = POOL_RATIO,
    pool: Pool = "landcover", eval_negative_ratio: PositiveFloat | None = None, sampling_seed: Seed = 0,
) -> FireCubeData:
    """FireCube datacube (zarr or netCDF, via xarray): 10-day windows, 25x25 patches, next-day ignition, negatives from a land-cover-stratified pool."""
    if patch % 2 == 0:
        raise ValueError(f"patch must be odd so the label pixel is its centre, got {patch}")
    return load_firecube(
        path, cache_dir, window=window, patch=patch, val_year=val_year, test_years=test_years, negative_ratio=negative_ratio,
        eval_negative_ratio=eval_negative_ratio, sampling_seed=sampling_seed, pool_ratio=pool_ratio, pool=pool,
    )
