"""Fitting scaling laws to a results table (Cherti et al. 2023; ../shared/papers/clip_scaling.md).

Per group of rows (e.g. downstream task x training distribution): the error E (1 - score, or the
value itself), optionally the paper's compute-efficient frontier, the law named by the spec's
model, bootstrap intervals of alpha and beta, R^2, the points used, leave-last-out extrapolation
error and predictions at named compute values. Each number is stored as ``<stat>/<group>``
(``alpha/imagenet1k/LAION``), so the leaderboard lists the groups' exponents side by side; the
points and fitted lines go into the run's info for the report's plots.
"""
from __future__ import annotations

import math

import numpy as np
from pydantic import PositiveFloat, PositiveInt

from registry.context import RunContext, TaskResult
from registry.core import TASKS
from registry.metrics.scaling import FitStatistic
from registry.params import NonEmptyList
from registry.targets import Accepts
from registry.tasks.power_law import bootstrap_band, bootstrap_intervals, frontier, leave_last_out_error


def _matches(row: dict, wanted: dict[str, list[str]]) -> bool:
    return all(str(row[column]) in [str(v) for v in values] for column, values in wanted.items())


@TASKS.register("scaling_fit", accepts=Accepts({"table"}))
def scaling_fit(
    ctx: RunContext,
    *,
    x: str = "gmacs_total",
    y: str = "score",
    error: bool = True,
    where: dict[str, NonEmptyList[str]] | None = None,
    group_by: list[str] | None = None,
    frontier_bins: PositiveInt | None = None,
    frontier_when: dict[str, NonEmptyList[str]] | None = None,
    resamples: PositiveInt = 10_000,
    held_out: PositiveInt = 1,
    predict_at: list[PositiveFloat] | None = None,
) -> TaskResult:
    """Fit the spec's law per group of the table: alpha, beta (with bootstrap intervals), R^2, extrapolation.

    ``where`` keeps rows whose columns take the listed values; ``frontier_bins`` selects the
    compute-efficient frontier (for the groups matching ``frontier_when``, all when empty). The
    intervals and the plotted band come from bootstrapping the log-log fit, whichever law is fitted."""
    assert ctx.build_model is not None
    law = ctx.build_model(ctx.model)
    where, group_by, frontier_when, predict_at = where or {}, group_by or [], frontier_when or {}, predict_at or []
    frame = ctx.data.frame
    for column, values in where.items():
        frame = frame[frame[column].astype(str).isin([str(v) for v in values])]
    if frame.empty:
        raise ValueError(f"no rows left after where={where}")
    wanted = {m.name for m in ctx.metrics if isinstance(m, FitStatistic)}
    values: dict[str, float] = {}
    groups: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    for key, rows in (frame.groupby(group_by, sort=True) if group_by else [((), frame)]):
        key = key if isinstance(key, tuple) else (key,)
        label = "/".join(str(k) for k in key)
        suffix = f"/{label}" if label else ""
        rows = rows[[x, y]].dropna()
        compute = rows[x].to_numpy(float)
        err = 1 - rows[y].to_numpy(float) if error else rows[y].to_numpy(float)
        use_frontier = frontier_bins is not None and _matches(dict(zip(group_by, key)), frontier_when)
        fit_c, fit_e = frontier(compute, err, frontier_bins) if use_frontier else (compute, err)
        if len(np.unique(fit_c)) < 2:  # e.g. a teacher that exists at one width only
            skipped[label or "all"] = f"{len(np.unique(fit_c))} distinct {x} value(s); a law needs two"
            continue
        fitted = law.fit(fit_c, fit_e)
        intervals = bootstrap_intervals(fit_c, fit_e, resamples, seed=ctx.seed)
        extrapolation = leave_last_out_error(fit_c, fit_e, held_out) if len(fit_c) > held_out + 1 else math.nan
        stats = {"alpha": fitted.alpha, "beta": fitted.beta, "r2": fitted.r2, "e_inf": fitted.e_inf, "extrapolation_error": extrapolation}
        for name in wanted:
            values[f"{name}{suffix}"] = stats[name]
        for name in ("alpha", "beta"):
            if name in wanted:
                values[f"{name}_ci_low{suffix}"], values[f"{name}_ci_high{suffix}"] = intervals[name]
        values[f"n_points{suffix}"] = float(fitted.n)
        for c in predict_at:
            values[f"predicted_error@{c:g}{suffix}"] = float(fitted.predict(c))
        line = np.logspace(np.log10(compute.min()), np.log10(max(compute.max(), *predict_at) if predict_at else compute.max()), 50)
        groups[label or "all"] = {
            "x": compute.tolist(), "y": err.tolist(), "fit_x": fit_c.tolist(), "fit_y": fit_e.tolist(), "frontier": use_frontier,
            "line_x": line.tolist(), "line_y": fitted.predict(line).tolist(), "band": [b.tolist() for b in bootstrap_band(fit_c, fit_e, line, resamples, ctx.seed)],
            "alpha": fitted.alpha, "beta": fitted.beta,
            "alpha_ci": intervals["alpha"], "e_inf": fitted.e_inf,
        }
    if not groups:
        raise ValueError(f"no group has two distinct {x} values to fit ({skipped})")
    directions = {name: not name.startswith(("alpha", "beta", "e_inf", "extrapolation", "predicted")) for name in values}
    info = {"law": law.name, "x": x, "y": y, "error": error, "group_by": group_by, "groups": groups, "skipped": skipped}
    return TaskResult({"test": values}, info, higher_is_better=directions)
