"""The estimator the ``survey_stats`` task summarises survey answers with: Wilson score intervals for
shares and percentile-bootstrap intervals for medians (both as scipy computes them)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import PositiveInt
from scipy import stats

from registry.core import MODELS
from registry.params import ConfidenceLevel


@dataclass(frozen=True)
class SurveyEstimator:
    """Point estimates with intervals at ``level``; the bootstrap uses ``resamples`` draws."""

    level: float
    resamples: int

    def share(self, count: int, total: int) -> tuple[float, float, float]:
        """count / total with its Wilson score interval (Wilson 1927), as scipy's binomtest gives it."""
        interval = stats.binomtest(count, total).proportion_ci(confidence_level=self.level, method="wilson")
        return count / total, float(interval.low), float(interval.high)

    def median(self, values: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
        """The median with a percentile-bootstrap interval (one value: the interval is that value)."""
        values = np.asarray(values, dtype=float)
        if len(values) < 2:
            return float(values[0]), float(values[0]), float(values[0])
        result = stats.bootstrap((values,), np.median, n_resamples=self.resamples, confidence_level=self.level, method="percentile", random_state=rng)
        return float(np.median(values)), float(result.confidence_interval.low), float(result.confidence_interval.high)


@MODELS.register("survey_estimator", output={"responses"})
def survey_estimator(*, level: ConfidenceLevel = 0.95, resamples: PositiveInt = 2000) -> SurveyEstimator:
    """Wilson intervals for shares, percentile-bootstrap intervals for medians, at confidence ``level``."""
    return SurveyEstimator(level, resamples)
