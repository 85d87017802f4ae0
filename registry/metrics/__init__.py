"""Metrics: each knows whether higher is better, and maps (scores, labels) to one number.

``scores`` is an (N, C) array of class scores (logits or probabilities) and ``labels`` an (N,)
array of integer classes; a metric returns a float. Register a class with ``METRICS.register``.
A metric's ``accepts`` says which dataset targets it scores (``registry.targets``; None: unchecked).

Inputs a metric cannot score raise ``MetricInputError`` (a ``ValueError``), the same type from every
metric: no samples, a wrong shape, labels that are not the scores' classes, and scores that cannot
be ranked. Every metric of class scores checks them with ``class_scores``, one rule for all: a case
whose scores hold NaN or +inf, or no finite entry, is an error, never taken as a class (NumPy's
argmax returns a NaN's index, so a diverged model would otherwise score as correct). -inf alone is
a class of probability 0 (a ``log_softmax`` head) and is ranked below every finite score.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from registry.targets import Accepts
from specs.schema import EvaluateMetric, MetricRef


class MetricInputError(ValueError):
    """Scores or labels a metric cannot score; the message says what is wrong with them."""


def require_samples(n: int, shape: tuple[int, ...] | None = None) -> None:
    """Raise ``MetricInputError`` when there are no samples to evaluate (an empty split)."""
    if n == 0:
        shown = f" (scores of shape {shape})" if shape is not None else ""
        raise MetricInputError(f"no samples to evaluate{shown}: an empty evaluation split has no score")


def unrankable(scores: np.ndarray) -> np.ndarray:
    """Per case, whether its class scores (axis 1 of (N, C, *spatial) scores) cannot be ranked: a NaN
    or +inf entry, or no finite entry at all. Shape (N, *spatial)."""
    with np.errstate(invalid="ignore"):
        return (np.isnan(scores) | (scores == np.inf)).any(axis=1) | ~np.isfinite(scores).any(axis=1)


def unrankable_message(bad: int, total: int, first: object, cases: str = "cases") -> str:
    """The error for ``bad`` of ``total`` cases whose scores cannot be ranked, ``first`` the first one's index."""
    return (f"class scores must be finite (-inf alone is allowed), but {bad} of {total} {cases} have NaN or +inf "
            f"scores or no finite one, the first at index {first}: a model that diverged has no score")


def check_rankable(scores: np.ndarray) -> None:
    """Raise ``MetricInputError`` when a case's class scores (axis 1) cannot be ranked (``unrankable``)."""
    bad = unrankable(scores)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise MetricInputError(unrankable_message(int(bad.sum()), bad.size, first[0] if len(first) == 1 else first))


def class_scores(scores: np.ndarray, labels: np.ndarray, spatial: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The checked inputs of a metric of class scores: float scores (N, C) and int64 labels (N,) in
    0..C-1; with ``spatial``, scores (N, C, *spatial) and labels (N, *spatial) (a segmentation map).

    Raises ``MetricInputError`` for scores that are not real numbers or have another shape, labels of
    another shape or length, labels that are not integer classes 0..C-1, no samples or no classes,
    and cases whose scores cannot be ranked (NaN, +inf, or no finite entry; see ``unrankable``)."""
    scores, labels = np.asarray(scores), np.asarray(labels)
    if not (np.issubdtype(scores.dtype, np.number) or scores.dtype == bool) or np.iscomplexobj(scores):
        raise MetricInputError(f"scores must be real numbers; got dtype {scores.dtype}")
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    if spatial:
        if scores.ndim < 3 or labels.shape != scores.shape[:1] + scores.shape[2:]:
            raise MetricInputError(f"scores (N, C, *spatial) and labels (N, *spatial) expected; got {scores.shape} and {labels.shape}")
    else:
        if scores.ndim != 2:
            raise MetricInputError(f"class scores must have shape (N, C); got shape {scores.shape}")
        if labels.ndim != 1:
            raise MetricInputError(f"labels must have shape (N,); got {labels.shape}")
        if len(labels) != len(scores):
            raise MetricInputError(f"{len(labels)} labels for {len(scores)} scores")
    require_samples(labels.size, scores.shape)
    classes = scores.shape[1]
    if classes == 0:
        raise MetricInputError(f"scores have no classes (shape {scores.shape})")
    labels = _integer_labels(labels, classes)
    check_rankable(scores)
    return scores, labels


def _integer_labels(labels: np.ndarray, classes: int) -> np.ndarray:
    """``labels`` as int64 classes, checked to lie in 0..classes-1 (floats holding whole numbers pass)."""
    if labels.dtype == bool or np.issubdtype(labels.dtype, np.integer):
        whole = True
    elif np.issubdtype(labels.dtype, np.floating):
        whole = bool(np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)))
    else:
        whole = False
    if not whole:
        raise MetricInputError(f"labels must be integer classes; got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= classes:
        raise MetricInputError(f"labels must be classes 0..{classes - 1} of the scores' {classes}; got {low if low < 0 else high}")
    return labels


class Metric:
    """Base of every metric entry."""

    name: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    bounds: ClassVar[tuple[float | None, float | None] | None] = None  # (lowest, highest) value; intervals stay inside
    accepts: ClassVar[Accepts | None] = None  # the dataset targets it scores; None: not checked

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        raise NotImplementedError

    def per_case(self, scores: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
        """The metric's value for each case (for challenge rankings), when it has one; else None."""
        return None


def build_metric(ref: MetricRef) -> Metric:
    """The metric object a spec's ``metrics`` entry names (a registry name or an evaluate module)."""
    from registry import METRICS, load_all

    load_all()
    if isinstance(ref, EvaluateMetric):
        from registry.metrics.hf_evaluate import EvaluateModuleMetric

        return EvaluateModuleMetric(ref)
    metric = METRICS.get(ref).obj()
    metric.name = ref
    return metric
