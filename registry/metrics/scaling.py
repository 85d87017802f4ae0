"""What a scaling-law fit reports, as metric entries a spec can name (``metrics: [alpha, beta, r2]``).

They are computed by the ``scaling_fit`` task from the fitted law, not from predictions, so they
cannot be called on scores. Directions: a more negative exponent (faster improvement) ranks first.
"""
from __future__ import annotations

import numpy as np

from registry.core import METRICS
from registry.metrics import Metric
from registry.targets import Accepts


class FitStatistic(Metric):
    """A statistic of a fitted law, named by its registry entry; the scaling_fit task fills it in."""

    accepts = Accepts({"table"})

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        raise TypeError(f"{self.name} describes a fitted scaling law; only the scaling_fit task computes it")


def _register(name: str, higher_is_better: bool, description: str) -> None:
    statistic = type(f"FitStatistic_{name}", (FitStatistic,), {"higher_is_better": higher_is_better, "__doc__": description})
    METRICS.register(name)(statistic)


for _name, _higher, _description in (
    ("alpha", False, "Exponent of E = beta * C^alpha (more negative: error falls faster with compute)."),
    ("beta", False, "Scale of E = beta * C^alpha."),
    ("r2", True, "Coefficient of determination of the fit in log-log space."),
    ("e_inf", False, "Irreducible error of E = beta * C^alpha + E_inf (the floor form)."),
    ("extrapolation_error", False, "Relative error on the largest-compute points of a fit on the others (leave-last-out)."),
):
    _register(_name, _higher, _description)
