"""Segmentation metrics computed in numpy, exactly as the MTNeuro reference code computes them.

Source: MTNeuro (Quesada et al., NeurIPS 2022 Datasets & Benchmarks), ``scripts/task2_main.py``.
The reference counts, per test image and class, true/false positives/negatives with
segmentation_models_pytorch's ``smp.metrics.get_stats(pred, target, mode="multiclass")``, stacks the
counts of all batches, computes each metric per image and class (``reduction=None``; F1 and IoU with
smp's default ``zero_division=1.0``), takes the mean over images for each class, and reports:

- "Avg. F1-score" and "Avg. IoU-score": the mean of the per-class values over ALL classes, background
  included (``seg_f1``, ``seg_iou``);
- "Balanced accuracy (No background)": the mean over classes 1..C-1 of the per-class accuracy
  ``(tp + tn) / (tp + fp + fn + tn)`` (``seg_balanced_accuracy``).

(The script also prints "new" variants computed from counts averaged over images first; the values
here are the per-image ones it prints first, as "old".) Class index 0 is background.

A metric maps confusion counts to a dict with ``from_stats`` (class average under the metric's name,
one ``name/class`` entry per class); called as ``metric(scores, labels)`` with scores (N, C, *spatial)
and labels (N, *spatial) it returns the class average of the argmax prediction, after the check every
metric of class scores shares (``registry.metrics.class_scores``: no pixels, labels outside 0..C-1, or a
pixel whose scores hold NaN or +inf raise ``MetricInputError``, as do the other input errors here).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np

from registry.core import METRICS
from registry.metrics import Metric, MetricInputError, class_scores
from registry.targets import Accepts

# smp.metrics.f1_score / iou_score default: a 0/0 value (class absent from prediction and label in
# that image) counts as 1.0.
ZERO_DIVISION = 1.0

_FIELDS = ("tp", "fp", "fn", "tn")


@dataclass(frozen=True, eq=False)
class ConfusionStats:
    """Per image and class counts of pixels (voxels): each an int64 array of shape (N images, C classes).

    tp: predicted c and labelled c; fp: predicted c, labelled other; fn: labelled c, predicted other;
    tn: the rest. The arrays are read-only copies. Compare with ``np.array_equal`` field by field.
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray

    def __post_init__(self) -> None:
        arrays = [np.array(getattr(self, field), dtype=np.int64) for field in _FIELDS]  # always a copy
        shape = arrays[0].shape
        if len(shape) != 2 or any(a.shape != shape for a in arrays):
            shapes = ", ".join(f"{f}{a.shape}" for f, a in zip(_FIELDS, arrays))
            raise MetricInputError(f"tp, fp, fn, tn must share one (images, classes) shape; got {shapes}")
        for field, array in zip(_FIELDS, arrays):
            array.setflags(write=False)
            object.__setattr__(self, field, array)

    @property
    def num_images(self) -> int:
        return self.tp.shape[0]

    @property
    def num_classes(self) -> int:
        return self.tp.shape[1]

    @classmethod
    def concat(cls, parts: Sequence[ConfusionStats]) -> ConfusionStats:
        """The stats of several batches as one: images stacked in order (the reference's ``torch.vstack``)."""
        parts = list(parts)
        if not parts:
            raise MetricInputError("ConfusionStats.concat needs at least one part")
        classes = {part.num_classes for part in parts}
        if len(classes) > 1:
            raise MetricInputError(f"cannot concatenate stats with different numbers of classes: {sorted(classes)}")
        return cls(*(np.concatenate([getattr(part, field) for part in parts], axis=0) for field in _FIELDS))


def confusion_stats(predicted: np.ndarray, target: np.ndarray, num_classes: int) -> ConfusionStats:
    """Per image and class tp/fp/fn/tn of integer class maps ``predicted`` and ``target``, shape (N, *spatial).

    The same counts as ``smp.metrics.get_stats(predicted, target, mode="multiclass", num_classes=C)``
    (no ignore index): every pixel (voxel, for 3D maps) of an image counts once in each class's table.
    """
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape:
        raise MetricInputError(f"predicted {predicted.shape} and target {target.shape} must have the same shape")
    if predicted.ndim < 2:
        raise MetricInputError(f"class maps must have shape (N, *spatial); got {predicted.shape}")
    if num_classes < 1:
        raise MetricInputError(f"num_classes must be positive; got {num_classes}")
    for what, array in (("predicted", predicted), ("target", target)):
        if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
            raise MetricInputError(f"{what} must hold integer class indices; got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= num_classes):
            raise MetricInputError(f"{what} has class indices outside 0..{num_classes - 1}")
    n = predicted.shape[0]
    pixels = int(np.prod(predicted.shape[1:]))
    c = num_classes
    # One bin per (image, target class, predicted class): index = image*C*C + target*C + predicted.
    index = target.reshape(n, pixels).astype(np.int64)  # a copy, updated in place below
    index *= c
    np.add(index, predicted.reshape(n, pixels), out=index, casting="unsafe")  # values checked in range above
    index += (np.arange(n, dtype=np.int64) * (c * c))[:, None]
    confusion = np.bincount(index.ravel(), minlength=n * c * c).reshape(n, c, c)  # [image, target, predicted]
    tp = np.diagonal(confusion, axis1=1, axis2=2)
    fp = confusion.sum(axis=1) - tp  # predicted c, labelled something else
    fn = confusion.sum(axis=2) - tp  # labelled c, predicted something else
    tn = pixels - tp - fp - fn
    return ConfusionStats(tp, fp, fn, tn)


def _ratio(numerator: np.ndarray, denominator: np.ndarray, zero_division: float) -> np.ndarray:
    """numerator / denominator elementwise in float64, ``zero_division`` where the denominator is 0."""
    out = np.full(numerator.shape, zero_division, dtype=np.float64)
    return np.divide(numerator, denominator, out=out, where=denominator != 0, dtype=np.float64)


class SegmentationMetric(Metric):
    """Base of the per-image segmentation metrics: a value per image and class, averaged over images."""

    higher_is_better: ClassVar[bool] = True
    accepts: ClassVar[Accepts] = Accepts({"masks"})
    bounds = (0.0, 1.0)  # a share of samples (pixels, pairs): board intervals stay in [0, 1]
    # whether the class average and the per-class entries include class 0 (background)
    include_background: ClassVar[bool] = True

    def per_image(self, stats: ConfusionStats) -> np.ndarray:
        """The metric per image and class, a float (N, C) array (the reference's ``reduction=None``)."""
        raise NotImplementedError

    def classes(self, num_classes: int) -> list[int]:
        """The class indices the metric reports and averages over."""
        return list(range(0 if self.include_background else 1, num_classes))

    def per_class(self, stats: ConfusionStats) -> np.ndarray:
        """The per-image values averaged over images, one per class (all C classes)."""
        if stats.num_images == 0:
            raise MetricInputError(f"{self.name or type(self).__name__}: no images to average over")
        return self.per_image(stats).mean(axis=0)

    def average(self, stats: ConfusionStats) -> float:
        """The class average: the mean of ``per_class`` over ``classes``."""
        kept = self.classes(stats.num_classes)
        if not kept:
            raise MetricInputError(f"{self.name or type(self).__name__}: no class to average over (C = {stats.num_classes})")
        return float(self.per_class(stats)[kept].mean())

    def per_image_average(self, stats: ConfusionStats) -> np.ndarray:
        """Each image's class average (N,): the per-case values of challenge rankings."""
        return self.per_image(stats)[:, self.classes(stats.num_classes)].mean(axis=1)

    def from_stats(self, stats: ConfusionStats, class_names: Sequence[str]) -> dict[str, float]:
        """``{name: class average, f"{name}/{class}": per-class value, ...}`` from confusion counts."""
        if len(class_names) != stats.num_classes:
            raise MetricInputError(f"{len(class_names)} class names for {stats.num_classes} classes")
        kept = self.classes(stats.num_classes)
        per_class = self.per_class(stats)
        values = {self.name: self.average(stats)}
        values.update({f"{self.name}/{class_names[c]}": float(per_class[c]) for c in kept})
        return values

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        scores, labels = class_scores(scores, labels, spatial=True)  # the check every metric of class scores shares
        stats = confusion_stats(np.argmax(scores, axis=1), labels, scores.shape[1])
        return self.average(stats)


@METRICS.register("seg_f1")
class SegF1(SegmentationMetric):
    """F1 (Dice) per image and class, averaged over images, then over all classes (MTNeuro).

    MTNeuro's "Avg. F1-score": ``smp.metrics.f1_score(tp, fp, fn, tn, reduction=None)`` =
    2tp / (2tp + fp + fn) per image and class, 1.0 where the class is absent from both prediction and
    label (smp's ``zero_division=1.0``); the mean over images per class; the mean over all classes,
    background included."""

    name = "seg_f1"

    def per_image(self, stats: ConfusionStats) -> np.ndarray:
        return _ratio(2 * stats.tp, 2 * stats.tp + stats.fp + stats.fn, ZERO_DIVISION)


@METRICS.register("seg_iou")
class SegIoU(SegmentationMetric):
    """IoU (Jaccard) per image and class, averaged over images, then over all classes (MTNeuro).

    MTNeuro's "Avg. IoU-score": ``smp.metrics.iou_score(tp, fp, fn, tn, reduction=None)`` =
    tp / (tp + fp + fn) per image and class, 1.0 where the class is absent from both prediction and
    label (smp's ``zero_division=1.0``); the mean over images per class; the mean over all classes,
    background included."""

    name = "seg_iou"

    def per_image(self, stats: ConfusionStats) -> np.ndarray:
        return _ratio(stats.tp, stats.tp + stats.fp + stats.fn, ZERO_DIVISION)


@METRICS.register("seg_balanced_accuracy")
class SegBalancedAccuracy(SegmentationMetric):
    """Pixel accuracy per image and class, averaged over images, then over non-background classes (MTNeuro).

    MTNeuro's "Balanced accuracy (No background)": ``smp.metrics.accuracy(tp, fp, fn, tn,
    reduction="none")`` = (tp + tn) / (tp + fp + fn + tn) per image and class (the image's share of
    pixels classified correctly as c or as not c); the mean over images per class; the mean over
    classes 1..C-1. Per-class entries are reported for the non-background classes only."""

    name = "seg_balanced_accuracy"
    include_background = False

    def per_image(self, stats: ConfusionStats) -> np.ndarray:
        total = stats.tp + stats.fp + stats.fn + stats.tn  # pixels per image; 0 only for an empty image
        return _ratio(stats.tp + stats.tn, total, ZERO_DIVISION)
