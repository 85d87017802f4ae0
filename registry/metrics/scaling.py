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


@METRICS.register("alpha")
class Alpha(FitStatistic):
    """Exponent of E = beta * C^alpha (more negative: error falls faster with compute)."""

    higher_is_better = False


@METRICS.register("beta")
class Beta(FitStatistic):
    """Scale of E = beta * C^alpha."""

    higher_is_better = False


@METRICS.register("r2")
class R2(FitStatistic):
    """Coefficient of determination of the fit in log-log space."""

    higher_is_better = True
    bounds = (None, 1.0)


@METRICS.register("e_inf")
class EInf(FitStatistic):
    """Irreducible error of E = beta * C^alpha + E_inf (the floor form)."""

    higher_is_better = False
    bounds = (0.0, None)


@METRICS.register("extrapolation_error")
class ExtrapolationError(FitStatistic):
    """Relative error on the largest-compute points of a fit on the others (leave-last-out)."""

    higher_is_better = False
    bounds = (0.0, None)
