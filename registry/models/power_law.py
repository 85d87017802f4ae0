"""Scaling laws as models the ``scaling_fit`` task fits: E = beta * C^alpha, and the same with an
irreducible error E_inf (Cherti et al. 2023 fit the first; the second is the usual alternative)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from registry.core import MODELS
from registry.tasks.power_law import PowerLaw, fit_log_log, fit_with_floor


@dataclass(frozen=True)
class LawForm:
    """A law's name and the function that fits it to (compute, error) points."""

    name: str
    fit: Callable[[np.ndarray, np.ndarray], PowerLaw]


@MODELS.register("power_law", output={"table"})
def power_law() -> LawForm:
    """E = beta * C^alpha, least squares on log10 E against log10 C."""
    return LawForm("power_law", fit_log_log)


@MODELS.register("power_law_floor", output={"table"})
def power_law_floor() -> LawForm:
    """E = beta * C^alpha + E_inf, nonlinear least squares (scipy) with 0 <= E_inf < min E."""
    return LawForm("power_law_floor", fit_with_floor)
