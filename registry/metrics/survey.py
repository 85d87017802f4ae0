"""What the ``survey_stats`` task reports, as metric entries a spec names (``metrics: [share, median,
response_rate]``): answer shares, medians of numeric answers, and response rates per challenge.

Computed by the task from the responses, not from predictions. Each is stored under its questions
(``share/deep_learning``, ``share/incentives/prize_money``, ``median/hours_spent``,
``response_rate/median``); the intervals and counts go into the run's info.
"""
from __future__ import annotations

import numpy as np

from registry.core import METRICS
from registry.metrics import Metric
from registry.targets import Accepts


class SurveyStatistic(Metric):
    """A statistic of survey responses, named by its registry entry; the survey_stats task fills it in."""

    accepts = Accepts({"responses"})

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        raise TypeError(f"{self.name} summarises survey responses; only the survey_stats task computes it")


@METRICS.register("share")
class Share(SurveyStatistic):
    """Share of respondents answering yes (yes/no questions) or naming each option (choice and multi-choice), Wilson interval."""

    bounds = (0.0, 1.0)


@METRICS.register("median")
class Median(SurveyStatistic):
    """Median of a numeric answer (hours spent), percentile-bootstrap interval."""


@METRICS.register("response_rate")
class ResponseRate(SurveyStatistic):
    """Share of a challenge's participants who answered, per challenge and their median over challenges."""

    bounds = (0.0, 1.0)
