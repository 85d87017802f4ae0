"""``mtneuro-synthetic``: volumes with MTNeuro's geometry and label semantics, made offline.

Every region's cutout spans the real z range (110..471) and, by default, the real 256 x 256 xy
size, so the same sample extraction and splits as the real data apply. In it: cells are
ellipsoidal blobs (bright), vessels tubes running through the stack (dark), axons thin fibres
lying in the section plane (darker than the tissue); the four regions differ in tissue texture,
brightness and in how dense each structure is, so a model can learn both tasks. Region label
codes follow the real ``roi_labels`` grouping, with a little label noise so the tile mode matters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import PositiveInt
from scipy.ndimage import gaussian_filter

from registry.core import DATASETS
from registry.datasets.mtneuro import CUTOUTS, Z_RANGE, Cutout, Task, TensorData, build, sample_starts, task_target
from registry.params import Seed


@dataclass(frozen=True)
class RegionStyle:
    roi_code: int  # a roi_labels value of this region's group
    brightness: float
    texture_sigma: float  # smoothness of the tissue background, in pixels
    cells_per_mvox: float  # cell centres per million voxels
    vessels: int  # tubes through the cutout
    axons_per_slice: float


STYLES = {
    "CTX": RegionStyle(roi_code=1, brightness=125, texture_sigma=1.0, cells_per_mvox=60, vessels=4, axons_per_slice=0.5),
    "STR": RegionStyle(roi_code=2, brightness=110, texture_sigma=2.5, cells_per_mvox=35, vessels=3, axons_per_slice=3.0),
    "VP": RegionStyle(roi_code=4, brightness=135, texture_sigma=4.0, cells_per_mvox=40, vessels=5, axons_per_slice=1.5),
    "ZI": RegionStyle(roi_code=6, brightness=100, texture_sigma=1.5, cells_per_mvox=20, vessels=2, axons_per_slice=2.5),
}
BACKGROUND, VESSEL, CELL, AXON = 0, 1, 2, 3


def synthetic_cutout(region: str, size: int, slices: np.ndarray, rng: np.random.Generator) -> Cutout:
    """One region's volume, rendered only at the absolute z positions in ``slices``.

    Structures are defined in continuous 3D coordinates (scaled with ``size`` / 256), so the slices
    kept are sections of one consistent volume whichever subset is rendered."""
    style = STYLES[region]
    scale = size / 256
    z_lo, z_hi = Z_RANGE
    depth = len(slices)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    pixels = np.zeros((depth, size, size), dtype=np.uint8)

    n_cells = rng.poisson(style.cells_per_mvox * (z_hi - z_lo) * 256 * 256 / 1e6)
    centres = rng.uniform([z_lo, 0, 0], [z_hi, size, size], size=(n_cells, 3))
    radii = rng.uniform(3.0, 6.0, size=n_cells) * max(scale, 0.5)
    vessel_start = rng.uniform(0, size, size=(style.vessels, 2))
    vessel_drift = rng.normal(0, 0.15, size=(style.vessels, 2)) * scale  # xy shift per slice
    vessel_radius = rng.uniform(5.0, 9.0, size=style.vessels) * max(scale, 0.5)

    for i, z in enumerate(slices):
        section = pixels[i]
        for (cz, cy, cx), r in zip(centres, radii):
            if abs(z - cz) >= r:
                continue
            rr = np.sqrt(r * r - (z - cz) ** 2)
            y0, y1, x0, x1 = (max(int(v), 0) for v in (cy - rr, cy + rr + 1, cx - rr, cx + rr + 1))
            disc = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 < rr * rr
            section[y0:y1, x0:x1][disc] = CELL
        for n_axons in [rng.poisson(style.axons_per_slice)]:
            for _ in range(n_axons):  # a fibre in the section plane: a thin line across the tile
                angle, offset = rng.uniform(0, np.pi), rng.uniform(-size / 2, size / 2)
                distance = np.abs((xx - size / 2) * np.sin(angle) - (yy - size / 2) * np.cos(angle) - offset)
                section[(distance < 0.8 * max(scale, 0.75)) & (section == BACKGROUND)] = AXON
        for (sy, sx), (dy, dx), r in zip(vessel_start, vessel_drift, vessel_radius):
            cy, cx = sy + dy * (z - z_lo), sx + dx * (z - z_lo)
            section[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = VESSEL  # vessels cut through everything

    tissue = gaussian_filter(rng.normal(0, 1, size=(depth, size, size)).astype(np.float32), sigma=(0, style.texture_sigma, style.texture_sigma))
    tissue *= 25 / (tissue.std() + 1e-6)
    offsets = np.array([0, -70, 55, -35], dtype=np.float32)  # background, vessel, cell, axon
    image = style.brightness + tissue + offsets[pixels] + rng.normal(0, 8, size=pixels.shape)
    roi = np.full(pixels.shape, style.roi_code, dtype=np.uint8)
    noise = rng.random(pixels.shape) < 0.05
    roi[noise] = rng.choice([0, 3, 5, 8], size=int(noise.sum()))
    return Cutout(region, np.clip(image, 0, 255).astype(np.uint8), roi=roi, pixels=pixels)


def _label(params: dict[str, Any]) -> str:
    return f"mtneuro-synthetic-{params['task']}-{params['dims']}d"


@DATASETS.register("mtneuro-synthetic", label=_label, target=lambda p: task_target(p["task"]))
def mtneuro_synthetic(
    *, task: Task = "region", dims: Literal[2, 3] = 2, size: PositiveInt = 256, z_step: PositiveInt = 1, seed: Seed = 0,
) -> TensorData:
    """Synthetic volumes with MTNeuro's shapes and label semantics (offline; never the real benchmark).

    ``size`` < 256 shrinks the xy cutouts; ``z_step`` > 1 keeps every k-th sample of each split."""
    rng = np.random.default_rng(seed)
    depth = 1 if dims == 2 else 8
    needed = np.unique(np.concatenate([
        start + np.arange(depth) for split in ("train", "val", "test") for start in sample_starts(split, dims, z_step)
    ]))
    cutouts = {}
    for region in CUTOUTS:
        partial = synthetic_cutout(region, size, needed, rng)
        cutouts[region] = _embed(partial, needed, size)
    return build(cutouts, task, dims, tile=size, z_step=z_step)


def _embed(partial: Cutout, slices: np.ndarray, size: int) -> Cutout:
    """Place the rendered slices at their z positions in a full-range volume (others stay empty)."""
    full = (Z_RANGE[1] - Z_RANGE[0], size, size)
    arrays = []
    for array in (partial.image, partial.roi, partial.pixels):
        volume = np.zeros(full, dtype=np.uint8)
        volume[slices - Z_RANGE[0]] = array
        arrays.append(volume)
    return Cutout(partial.region, *arrays)
