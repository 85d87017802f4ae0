"""MTNeuro (Quesada et al., NeurIPS 2022 Datasets & Benchmarks): X-ray microtomography of a mouse
thalamocortical section on BossDB, cut into the benchmark's region classification and pixel
segmentation tasks exactly as the paper's task configurations describe (facts below from the
paper and its published task configs; see ../shared/papers/mtneuro.md).

Four 256x256 xy cutouts, one per brain region, over z 110..471; splits by z (end exclusive):
train 110-379, val 380-409, test 420-470. A 2D sample is one slice of a tile, a 3D sample a stack
of 8 consecutive slices (only whole stacks inside a split: the reference code's last train stack
runs into the next region's slab, which is not kept here). The real loader reads the cutouts once
through ``intern`` and keeps them as arrays under the results' data cache.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from registry.core import DATASETS
from registry.datasets import DatasetUnavailable
from registry.datasets.tensors import SegmentationData, TensorData, normalised_splits
from registry.targets import Target
from specs.hashing import stable_hash

IMAGE_URI = "bossdb://prasad/prasad2020/image"
ROI_URI = "bossdb://prasad/prasad_analysis/roi_labels"
PIXEL_URI = "bossdb://prasad/prasad_analysis/pixel_labels"

Z_RANGE = (110, 471)
SPLITS = {"train": (110, 379), "val": (380, 409), "test": (420, 470)}
# region -> ((x0, x1), (y0, y1)) of its 256 x 256 cutout
CUTOUTS = {
    "CTX": ((4600, 4856), (900, 1156)),  # cortex
    "STR": ((3700, 3956), (500, 756)),  # striatum
    "VP": ((3063, 3319), (850, 1106)),  # ventral posterior thalamus
    "ZI": ((1543, 1799), (650, 906)),  # zona incerta
}
TILE = 256
STACK = 8  # slices per 3D sample
# task 1: the mode of roi_labels over a tile, grouped {0,1}->0, {2,8}->1, {3,4}->2, {5,6,7}->3
ROI_GROUPS = {0: 0, 1: 0, 2: 1, 8: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 3}
REGION_CLASSES = ("roi_0_1", "roi_2_8", "roi_3_4", "roi_5_6_7")
PIXEL_CLASSES = ("background", "vessel", "cell", "axon")

Task = Literal["region", "segmentation_4class", "segmentation_3class"]


@dataclass(frozen=True)
class Cutout:
    """One region's volume over ``Z_RANGE``: image and label channels as (z, y, x) uint8 arrays."""

    region: str
    image: np.ndarray
    roi: np.ndarray | None = None
    pixels: np.ndarray | None = None


def pixel_classes(task: str) -> tuple[str, ...]:
    """A segmentation task's pixel classes: all four, or three with axons merged into background."""
    return PIXEL_CLASSES if task == "segmentation_4class" else PIXEL_CLASSES[:3]


def task_target(task: str) -> Target:
    """What a task's labels are: one of 4 region classes per tile, or a mask of its pixel classes."""
    return Target("classes", len(REGION_CLASSES)) if task == "region" else Target("masks", len(pixel_classes(task)))


def regions_for(task: str) -> list[str]:
    """The 4-class segmentation task leaves the ZI cutout out (its config sets noZI); the others use all four."""
    return [r for r in CUTOUTS if not (task == "segmentation_4class" and r == "ZI")]


def sample_starts(split: str, dims: int, z_step: int = 1) -> np.ndarray:
    """First slice (absolute z) of every sample of a split: each slice in 2D, whole 8-slice stacks in 3D.
    ``z_step`` > 1 keeps every k-th sample (the synthetic data's quick mode)."""
    z0, z1 = SPLITS[split]
    size = 1 if dims == 2 else STACK
    return np.arange(z0, z1 - size + 1, size)[::z_step]


def region_labels(roi_tiles: np.ndarray) -> np.ndarray:
    """Task-1 class of each tile: the most frequent roi label (ties: the smallest), then grouped."""
    flat = roi_tiles.reshape(len(roi_tiles), -1).astype(np.int64)
    top = int(flat.max(initial=0)) + 1
    counts = np.bincount((np.arange(len(flat))[:, None] * top + flat).ravel(), minlength=len(flat) * top)
    mode = counts.reshape(len(flat), top).argmax(axis=1)
    unknown = sorted(set(mode.tolist()) - set(ROI_GROUPS))
    if unknown:
        raise ValueError(f"roi label(s) {unknown} have no region class (known: {sorted(ROI_GROUPS)})")
    return np.vectorize(ROI_GROUPS.__getitem__, otypes=[np.int64])(mode)


def build(cutouts: dict[str, Cutout], task: str, dims: int, tile: int = TILE, z_step: int = 1) -> TensorData:
    """Samples of every split from the regions' cutouts, normalised with training statistics."""
    images: dict[str, np.ndarray] = {}
    targets: dict[str, np.ndarray] = {}
    depth = 1 if dims == 2 else STACK
    for split in SPLITS:
        xs, ys = [], []
        for region in regions_for(task):
            cutout = cutouts[region]
            for start in sample_starts(split, dims, z_step):
                z = start - Z_RANGE[0]
                for y0 in range(0, cutout.image.shape[1] - tile + 1, tile):
                    for x0 in range(0, cutout.image.shape[2] - tile + 1, tile):
                        window = (slice(z, z + depth), slice(y0, y0 + tile), slice(x0, x0 + tile))
                        xs.append(cutout.image[window])
                        ys.append(cutout.roi[window] if task == "region" else cutout.pixels[window])
        x = np.stack(xs)[:, None]  # (N, 1, depth, tile, tile)
        y = np.stack(ys)
        if dims == 2:
            x, y = x[:, :, 0], y[:, 0]
        if task == "region":
            y = region_labels(y)
        elif task == "segmentation_3class":
            y = np.where(y == 3, 0, y)  # axons merged into background
        images[split], targets[split] = x, y
    splits = normalised_splits(images, targets)
    if task == "region":
        return TensorData(splits["train"], splits["val"], splits["test"], 4, REGION_CLASSES)
    classes = pixel_classes(task)
    return SegmentationData(splits["train"], splits["val"], splits["test"], len(classes), classes)


def open_array(uri: str) -> Any:
    """An ``intern`` array for a BossDB channel URI (anonymous, read-only access)."""
    try:
        from intern import array
    except ImportError:
        raise DatasetUnavailable("the mtneuro dataset reads BossDB through intern: pip install 'podium[mtneuro]'") from None
    return array(uri)


def read_cutout(uri: str, region: str, cache_dir: Path | None) -> np.ndarray:
    """One channel of one region's cutout as uint8, from the cache or else from BossDB (then cached)."""
    (x0, x1), (y0, y1) = CUTOUTS[region]
    z0, z1 = Z_RANGE
    path = None
    if cache_dir is not None:
        path = cache_dir / "mtneuro" / f"{region}-{stable_hash([uri, z0, z1, y0, y1, x0, x1])}.npy"
        if path.is_file():
            return np.load(path)
    where = f"{uri} [{z0}:{z1}, {y0}:{y1}, {x0}:{x1}]"
    try:
        data = np.asarray(open_array(uri)[z0:z1, y0:y1, x0:x1])
    except DatasetUnavailable:
        raise
    except Exception as err:  # intern raises requests' HTTP errors, timeouts, auth errors...
        raise DatasetUnavailable(f"cannot read {where} from BossDB: {type(err).__name__}: {err}") from None
    if data.shape != (z1 - z0, y1 - y0, x1 - x0):
        raise DatasetUnavailable(f"{where} returned shape {data.shape}")
    if data.max(initial=0) > 255:
        raise DatasetUnavailable(f"{where} has values above 255; expected uint8 image or small label codes")
    data = data.astype(np.uint8)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.save(handle, data)
        os.replace(tmp, path)
    return data


def _label(params: dict[str, Any]) -> str:
    return f"mtneuro-{params['task']}-{params['dims']}d"


@DATASETS.register("mtneuro", label=_label, target=lambda p: task_target(p["task"]))
def mtneuro(
    cache_dir: Path | None = None, *, task: Task = "region", dims: Literal[2, 3] = 2,
    image_uri: str = IMAGE_URI, roi_uri: str = ROI_URI, pixel_uri: str = PIXEL_URI,
) -> TensorData:
    """MTNeuro X-ray cutouts from BossDB: region classification or 4/3-class segmentation, 2D or 3D."""
    label_uri = roi_uri if task == "region" else pixel_uri
    cutouts = {}
    for region in regions_for(task):
        image = read_cutout(image_uri, region, cache_dir)
        labels = read_cutout(label_uri, region, cache_dir)
        cutouts[region] = Cutout(region, image, roi=labels if task == "region" else None, pixels=None if task == "region" else labels)
    return build(cutouts, task, dims)
