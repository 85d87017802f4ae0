"""Power-law scaling fits (Cherti et al. 2023, "Reproducible scaling laws for contrastive
language-image learning"; ../shared/papers/clip_scaling.md): E = beta * C^alpha fitted by least
squares on log10 E against log10 C, the paper's compute-efficient frontier, the form with an
irreducible error E = beta * C^alpha + E_inf, bootstrap intervals and leave-last-out extrapolation.

Numpy and scipy only; the ``scaling_fit`` task (not yet written) is meant to call these.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit


@dataclass(frozen=True)
class PowerLaw:
    """E = beta * C^alpha (+ e_inf), with the fit's R^2 in log-log space and the points used."""

    alpha: float
    beta: float
    r2: float
    n: int
    e_inf: float = 0.0

    def predict(self, compute: np.ndarray | float) -> np.ndarray:
        return self.beta * np.asarray(compute, dtype=float) ** self.alpha + self.e_inf


def fit_log_log(compute: np.ndarray, error: np.ndarray) -> PowerLaw:
    """Least squares of log10 E = log10 beta + alpha log10 C (the paper's fit)."""
    x, y = np.log10(np.asarray(compute, float)), np.log10(np.asarray(error, float))
    if len(x) < 2 or np.ptp(x) == 0:
        raise ValueError("a power-law fit needs at least two distinct compute values")
    alpha, intercept = np.polyfit(x, y, 1)
    residual = y - (intercept + alpha * x)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1 - (residual ** 2).sum() / total if total > 0 else 1.0
    return PowerLaw(float(alpha), float(10 ** intercept), float(r2), len(x))


def frontier(compute: np.ndarray, error: np.ndarray, bins: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """The compute-efficient frontier as the paper selects it: X = log10 C split into ``bins`` equal
    bins over [min X, max X + 0.1]; each non-empty bin gives (10^centre, the bin's minimum error)."""
    x, y = np.log10(np.asarray(compute, float)), np.log10(np.asarray(error, float))
    edges = np.linspace(x.min(), x.max() + 0.1, bins + 1)
    which = np.clip(np.digitize(x, edges) - 1, 0, bins - 1)
    centres, minima = [], []
    for b in range(bins):
        inside = which == b
        if inside.any():
            centres.append((edges[b] + edges[b + 1]) / 2)
            minima.append(y[inside].min())
    return 10 ** np.array(centres), 10 ** np.array(minima)


def fit_with_floor(compute: np.ndarray, error: np.ndarray) -> PowerLaw:
    """E = beta * C^alpha + E_inf by nonlinear least squares (scipy), started from the log-log fit
    and with 0 <= E_inf < min E, so the floor stays below every observed error."""
    c, e = np.asarray(compute, float), np.asarray(error, float)
    start = fit_log_log(c, e)
    scale = c.min()  # fit in units of the smallest compute: better conditioned

    def model(u: np.ndarray, log_beta: float, alpha: float, e_inf: float) -> np.ndarray:
        return np.exp(log_beta) * u ** alpha + e_inf

    p0 = [np.log(start.beta * scale ** start.alpha), start.alpha, 0.5 * e.min()]
    (log_beta, alpha, e_inf), _ = curve_fit(model, c / scale, e, p0=p0, bounds=([-np.inf, -10, 0], [np.inf, 10, e.min()]), maxfev=20000)
    beta = float(np.exp(log_beta) / scale ** alpha)
    fitted = model(c / scale, log_beta, alpha, e_inf)
    residual = np.log10(e) - np.log10(fitted)
    total = ((np.log10(e) - np.log10(e).mean()) ** 2).sum()
    return PowerLaw(float(alpha), beta, float(1 - (residual ** 2).sum() / total) if total > 0 else 1.0, len(c), float(e_inf))


def bootstrap_fits(compute: np.ndarray, error: np.ndarray, resamples: int = 10_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, log10 beta) of the log-log fit on each resample of the points (drawn with
    replacement), all fitted at once: closed-form least squares vectorised over resamples."""
    x, y = np.log10(np.asarray(compute, float)), np.log10(np.asarray(error, float))
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(x), size=(resamples, len(x)))
    xs, ys = x[index], y[index]
    xm, ym = xs.mean(axis=1, keepdims=True), ys.mean(axis=1, keepdims=True)
    sxx = ((xs - xm) ** 2).sum(axis=1)
    ok = np.ptp(xs, axis=1) > 0  # a resample that drew one compute value only has no slope (exact test: sxx has rounding)
    alpha = ((xs - xm) * (ys - ym)).sum(axis=1)[ok] / sxx[ok]
    return alpha, ym[ok, 0] - alpha * xm[ok, 0]


def bootstrap_band(compute: np.ndarray, error: np.ndarray, at: np.ndarray, resamples: int = 10_000, seed: int = 0, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise percentile band of the fitted line at the compute values ``at``."""
    alpha, log_beta = bootstrap_fits(compute, error, resamples, seed)
    lines = 10 ** (log_beta[:, None] + alpha[:, None] * np.log10(np.asarray(at, float))[None, :])
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(lines, [tail, 100 - tail], axis=0)
    return low, high


def bootstrap_intervals(compute: np.ndarray, error: np.ndarray, resamples: int = 10_000, seed: int = 0, level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Percentile intervals of alpha and beta over bootstrap resamples of the points."""
    alpha, log_beta = bootstrap_fits(compute, error, resamples, seed)
    tail = 100 * (1 - level) / 2
    a_lo, a_hi = np.percentile(alpha, [tail, 100 - tail])
    b_lo, b_hi = np.percentile(10 ** log_beta, [tail, 100 - tail])
    return {"alpha": (float(a_lo), float(a_hi)), "beta": (float(b_lo), float(b_hi))}


def leave_last_out_error(compute: np.ndarray, error: np.ndarray, held: int = 1) -> float:
    """Mean absolute relative error on the ``held`` largest-compute points of a fit on the others:
    a real law extrapolates, a curve fit does not."""
    c, e = np.asarray(compute, float), np.asarray(error, float)
    order = np.argsort(c)
    train, test = order[:-held], order[-held:]
    law = fit_log_log(c[train], e[train])
    return float(np.mean(np.abs(law.predict(c[test]) - e[test]) / e[test]))
