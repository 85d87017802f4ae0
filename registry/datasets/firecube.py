"""FireCube (Prapas et al. 2021; Kondylatos et al. 2022): next-day wildfire danger in Greece from a
daily spatio-temporal datacube, sampled as LOADE (Eddin et al. 2022) describes
(../shared/papers/firecube_loade.md):

- a sample is a day ``t`` and a pixel: the ``window`` days t-window+1..t of 10 dynamic variables and
  the 5 static variables plus 10 land-cover fractions over a ``patch`` x ``patch`` neighbourhood; the
  label is ignition at the centre pixel on day t+1;
- splits by the year of ``t``: train before ``val_year``, validation ``val_year``, test ``test_years``;
- training keeps every positive and ``negative_ratio`` negatives per positive, drawn stratified by
  the centre pixel's dominant land cover (each stratum in proportion to its share of candidate
  negatives); evaluation keeps every negative unless ``eval_negative_ratio`` says otherwise;
- min-max scaling per variable with the training samples' minimum and maximum (evaluation values
  clipped to that range), then missing values set to 0.

Centres lie at least ``patch // 2`` pixels inside the grid (no padding). Extraction is one
vectorised read per variable, and the extracted arrays are cached under the results' data cache,
keyed by the cube file and every sampling parameter, so a second run does not rescan the cube.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class FireCubeData(TensorData):
    """Samples as ``Fields(dynamic (N, T, Cd, P, P), static (N, Cs, P, P), doy (N,))`` with 0/1 labels.

    ``samples[split]`` holds each sample's (time index, y index, x index) in the cube."""

    samples: dict[str, np.ndarray] | None = None
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


def choose_samples(
    fires: np.ndarray, shape: tuple[int, int, int], years: np.ndarray, strata: np.ndarray,
    split_years: dict[str, list[int]], window: int, patch: int, negative_ratio: dict[str, float | None], seed: int,
) -> dict[str, np.ndarray]:
    """(t, y, x) of every sample per split, sorted. ``fires`` holds (day, y, x) of each ignition, so
    sample (t, y, x) is positive when (t + 1, y, x) is among them; t needs ``window`` days of history."""
    rng = np.random.default_rng(seed)
    n_time, n_y, n_x = shape
    half = patch // 2
    inside = np.zeros((n_y, n_x), dtype=bool)
    inside[half:n_y - half, half:n_x - half] = True
    fire_keys = set(((fires[:, 0] - 1) * n_y * n_x + fires[:, 1] * n_x + fires[:, 2]).tolist())  # as sample keys
    chosen = {}
    for split in SPLITS:
        days = np.flatnonzero(np.isin(years, split_years[split]))
        days = days[(days >= window - 1) & (days + 1 < n_time)]
        t = fires[:, 0] - 1
        keep = np.isin(t, days) & inside[fires[:, 1], fires[:, 2]]
        positives = np.stack([t[keep], fires[keep, 1], fires[keep, 2]], axis=1)
        negatives = _negatives(days, inside, strata, negative_ratio[split], len(positives), fire_keys, rng)
        samples = np.unique(np.concatenate([positives, negatives]).astype(np.int64), axis=0)  # sorted by t, y, x
        chosen[split] = samples
    return chosen


def _negatives(days, inside, strata, ratio, n_positive, fire_keys, rng) -> np.ndarray:
    """Negatives of one split: every one (``ratio`` None), or ``ratio`` per positive, stratified by
    land cover with each stratum in proportion to its share of candidate pixels."""
    n_y, n_x = inside.shape
    if ratio is None:
        pixels = np.flatnonzero(inside)
        keys = (days[:, None] * n_y * n_x + pixels[None, :]).ravel()
        keys = keys[~np.isin(keys, np.fromiter(fire_keys, dtype=np.int64, count=len(fire_keys)))]
        return np.stack([keys // (n_y * n_x), keys % (n_y * n_x) // n_x, keys % n_x], axis=1)
    wanted = int(round(ratio * n_positive))
    pixels_by_stratum = [np.flatnonzero((strata == s) & inside) for s in range(int(strata.max()) + 1)]
    sizes = np.array([len(p) for p in pixels_by_stratum], dtype=float)
    quota = np.floor(wanted * sizes / sizes.sum()).astype(int)
    quota[np.argsort(-sizes, kind="stable")[: wanted - quota.sum()]] += 1  # the largest strata take the remainder
    picks: list[int] = []
    for pixels, k in zip(pixels_by_stratum, quota):
        taken: set[int] = set()
        while len(taken) < k:  # reject fire days and repeats; fires are rare, so this takes few rounds
            draw = max(2 * (k - len(taken)), 16)
            keys = days[rng.integers(0, len(days), draw)] * n_y * n_x + pixels[rng.integers(0, len(pixels), draw)]
            for key in keys.tolist():
                if len(taken) < k and key not in fire_keys:
                    taken.add(key)
        picks += sorted(taken)
    keys = np.array(picks, dtype=np.int64)
    return np.stack([keys // (n_y * n_x), keys % (n_y * n_x) // n_x, keys % n_x], axis=1)


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
    dates = cube["time"].values[samples[:, 0]].astype("datetime64[D]")
    doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64) + 1
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
    negative_ratio: float, eval_negative_ratio: float | None, sampling_seed: int,
) -> FireCubeData:
    """Samples of a datacube, from the cache when these exact settings were extracted before."""
    path = Path(path)
    stat = path.stat() if path.exists() else None
    key = stable_hash({
        "cube": str(path.resolve()), "mtime": stat.st_mtime if stat else None, "window": window, "patch": patch,
        "val_year": val_year, "test_years": test_years, "negative_ratio": negative_ratio,
        "eval_negative_ratio": eval_negative_ratio, "sampling_seed": sampling_seed,
    })
    cached = cache_dir / "firecube" / f"{key}.npz" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        with np.load(cached) as stored:
            flat = {name: stored[name] for name in stored.files}
    else:
        flat = _extract_all(open_cube(path), window, patch, val_year, test_years, negative_ratio, eval_negative_ratio, sampling_seed)
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
    return FireCubeData(splits["train"], splits["val"], splits["test"], 2, ("no_fire", "fire"), samples, window, patch)


def _extract_all(cube, window, patch, val_year, test_years, negative_ratio, eval_negative_ratio, sampling_seed) -> dict[str, np.ndarray]:
    missing = [name for name in (*DYNAMIC, *STATIC, *LANDCOVER, LABEL) if name not in cube.variables]
    if missing:
        raise DatasetUnavailable(f"the datacube lacks variable(s): {', '.join(repr(m) for m in missing)}")
    years = cube["time"].values.astype("datetime64[Y]").astype(int) + 1970
    split_years = {
        "train": [int(y) for y in np.unique(years) if y < val_year], "val": [val_year], "test": [int(y) for y in test_years],
    }
    fires = fire_points(cube)
    shape = (cube.sizes["time"], cube.sizes["y"], cube.sizes["x"])
    ratios = {"train": negative_ratio, "val": eval_negative_ratio, "test": eval_negative_ratio}
    samples = choose_samples(fires, shape, years, dominant_landcover(cube), split_years, window, patch, ratios, sampling_seed)
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
    return flat


@DATASETS.register("firecube", target=lambda p: Target("classes", 2))
def firecube(
    cache_dir: Path | None = None, *, path: DataPath, window: PositiveInt = 10, patch: OddInt = 25, val_year: int = 2019,
    test_years: NonEmptyTuple[int] = (2020, 2021), negative_ratio: PositiveFloat = 2.0, eval_negative_ratio: PositiveFloat | None = None,
    sampling_seed: Seed = 0,
) -> FireCubeData:
    """FireCube datacube (zarr or netCDF, via xarray): 10-day windows, 25x25 patches, next-day ignition."""
    if patch % 2 == 0:
        raise ValueError(f"patch must be odd so the label pixel is its centre, got {patch}")
    return load_firecube(
        path, cache_dir, window=window, patch=patch, val_year=val_year, test_years=test_years,
        negative_ratio=negative_ratio, eval_negative_ratio=eval_negative_ratio, sampling_seed=sampling_seed,
    )
