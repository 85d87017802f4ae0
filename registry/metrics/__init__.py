"""Metrics: each knows whether higher is better, and maps (scores, labels) to one number.

``scores`` is an (N, C) array of class scores (logits or probabilities) and ``labels`` an (N,)
array of integer classes; a metric returns a float. Register a class with ``METRICS.register``.
A metric's ``accepts`` says which dataset targets it scores (``registry.targets``; None: unchecked).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from registry.targets import Accepts
from specs.schema import EvaluateMetric, MetricRef


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
