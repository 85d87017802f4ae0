"""Planning the regression gate's seeds (``podium plan``): per row of a baseline, the smallest change
``podium check`` detects with the seeds it has, and how many seeds a given change needs.

The plan speaks about the gate's own rules (``leaderboard.regression``, one function chooses them
for both). A row the gate judges by a fixed tolerance (``--tolerance``, the spec's ``check:``, fewer
than two seeds, no seed variance (planned as the baseline's: on one CPU a rerun repeats it),
timings) has no test to plan: the tolerance decides whatever the seeds, and the plan says which
change fails. A row the gate tests gets the power of its one-sided
Welch t-test:

- the seeds' standard deviation is the baseline row's (ddof 1), pooled with the current results'
  when they are read, and assumed on both sides;
- the power is that of Welch's test itself, exact for normal seeds of that sd: its df is estimated
  from the seeds' variances, as the gate does, and the power integrates over them (``welch_power``, derived
  in the comment above it). With few seeds that is less than the noncentral t of Student's test promises
  (``student_power``): at the difference for which Student's gives 0.8, Welch's power is 0.74 with 3
  seeds a side, 0.79 with 5 and 0.80 with 10 at level 0.05; 0.62, 0.76 and 0.79 at level 0.05/6 (the
  shipped kd baseline's). So its detectable differences are larger, and it asks for more seeds;
- the level is alpha / m, m the rows the gate tests. The gate adjusts their p-values together
  (Benjamini-Hochberg): a row that regresses while the others did not change is rejected only when
  its p-value is at most alpha / m (it is the one rejection, rank 1 of m), and when several rows
  regress together the threshold rises toward alpha. So a difference the plan names is detected
  even when its row is the only one that moved, and more easily when others moved too.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from tabulate import tabulate

from leaderboard.markup import md_frame
from leaderboard.regression import (
    DEFAULT_ALPHA, DURATION, SHOWN, Baseline, BaselineRow, Key, Snapshot, ToleranceError, allowance, beyond, rule_for, rule_text,
)
from specs.schema import Tolerance

DEFAULT_POWER = 0.8
MOST_SEEDS = 10**6  # seeds per side beyond which the plan says "more than"
Sides = Literal[1, 2]


class PlanError(ValueError):
    """An option of the plan that cannot be used (``--difference``, ``--power``)."""


# ---------------------------------------------------------------- the t-test's power
#
# Welch's statistic is T = (mean2 - mean1) / SE with SE^2 = s1^2/n1 + s2^2/n2, and it is compared with
# the t quantile at the Welch-Satterthwaite df of the sample variances. For normal seeds the difference of
# the means is N(D, tau^2), tau^2 = sd1^2/n1 + sd2^2/n2, independent of the sample variances
# s_i^2 = sd_i^2 U_i / k_i, U_i ~ chi2(k_i), k_i = n_i - 1. Both U_i are gammas of scale 2, so
# S = U1 + U2 ~ chi2(k1 + k2) and B = U1 / S ~ Beta(k1/2, k2/2) are independent. With
# a_i = sd_i^2 / (n_i k_i) and g(B) = a1 B + a2 (1 - B), SE^2 = S g(B), and the df depends on B alone
# (it does not change when both variances are scaled). Given B the test rejects when
#   (Z + D / tau) / sqrt(S / nu) > c(B) sqrt(nu g(B)) / tau,   Z ~ N(0, 1), nu = k1 + k2,
# the left side a noncentral t(nu, D / tau): the power is E_B[nct.sf(c(B) sqrt(nu g(B)) / tau, nu, D / tau)],
# one integral over B. It is taken over the log-odds L = log(B / (1 - B)), whose density
# exp(k1/2 L) / (1 + e^L)^((k1 + k2)/2) / Beta(k1/2, k2/2) is smooth and falls exponentially on both sides:
# the trapezoidal rule converges exponentially there (1e-9 with 257 points, checked against
# a two-dimensional integration over the chi-squares and simulations of the test).

LEFT_OUT = 1e-13  # the probability of B the integration leaves out on each side
POINTS = 257  # of the trapezoidal rule


def welch_df(n1: int, n2: int, sd1: float = 1.0, sd2: float = 1.0) -> float:
    """Welch-Satterthwaite degrees of freedom of two samples of n1 and n2 values with sds sd1 and sd2
    (one common sd by default: 2(n - 1) with n a side)."""
    a, b = sd1 * sd1 / n1, sd2 * sd2 / n2
    return (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))


@functools.lru_cache(maxsize=4096)
def _log_odds(n1: int, n2: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """B and 1 - B at the trapezoidal rule's points over the log-odds of B ~ Beta((n1 - 1)/2, (n2 - 1)/2), and their weights."""
    shape1, shape2 = (n1 - 1) / 2, (n2 - 1) / 2
    low, high = stats.beta.ppf(LEFT_OUT, shape1, shape2), stats.beta.ppf(LEFT_OUT, shape2, shape1)  # of B and of 1 - B
    odds = np.linspace(math.log(low) - math.log1p(-low), math.log1p(-high) - math.log(high), POINTS)
    density = shape1 * odds - (shape1 + shape2) * np.logaddexp(0.0, odds)
    weights = np.exp(density - density.max())
    return special.expit(odds), special.expit(-odds), weights / weights.sum()


def welch_power(difference: float, n1: int, n2: int, level: float, sides: Sides = 1, sd1: float = 1.0, sd2: float = 1.0) -> float:
    """The probability that Welch's t-test at ``level`` rejects, for normal seeds: n1 of sd sd1 and n2 of
    sd sd2 whose means differ by ``difference`` (with the default sds of 1, Cohen's d). One-sided: it
    rejects when the difference goes the way tested; two-sided: either way at level / 2 a side."""
    k1, k2 = n1 - 1, n2 - 1
    share, rest, weights = _log_odds(n1, n2)
    var1, var2 = sd1 * sd1 / (n1 * k1) * share, sd2 * sd2 / (n2 * k2) * rest  # SE^2's parts over S
    squared = var1 + var2
    df = squared * squared / (var1 * var1 / k1 + var2 * var2 / k2)
    tau = math.sqrt(sd1 * sd1 / n1 + sd2 * sd2 / n2)
    critical = stats.t.isf(level / sides, df) * np.sqrt((k1 + k2) * squared) / tau
    rejected = stats.nct.sf(critical, k1 + k2, difference / tau)
    if sides == 2:
        rejected = rejected + stats.nct.cdf(-critical, k1 + k2, difference / tau)
    return float(weights @ rejected)


def student_power(effect: float, n1: int, n2: int, level: float, sides: Sides = 1) -> float:
    """The power of Student's t-test (one sd pooled over both samples, df n1 + n2 - 2) when the means
    differ by ``effect`` standard deviations: the noncentral t beyond the critical value. Not the gate's
    test: with few seeds it promises more than Welch's delivers."""
    df = n1 + n2 - 2
    shift = effect / math.sqrt(1 / n1 + 1 / n2)
    critical = stats.t.isf(level / sides, df)
    rejected = stats.nct.sf(critical, df, shift)
    if sides == 2:
        rejected += stats.nct.cdf(-critical, df, shift)
    return float(rejected)


def _check(level: float, target: float, *counts: int) -> None:
    if not 0 < level < 1 or not 0 < target < 1:
        raise ValueError(f"level {level:g} and power {target:g}: expected numbers between 0 and 1")
    if target <= level:
        raise ValueError(f"power {target:g}: expected more than the level {level:g} (no difference at all is rejected that often)")
    if any(n < 2 for n in counts):
        raise ValueError(f"{min(counts)} seeds: a t-test needs at least 2 a side")


def detectable(n1: int, n2: int, level: float, target: float = DEFAULT_POWER, sides: Sides = 1) -> float:
    """The smallest difference, in standard deviations (one sd on both sides), that Welch's t-test at
    ``level`` detects with probability ``target`` with n1 and n2 seeds (the minimal detectable effect)."""
    _check(level, target, n1, n2)

    def short(effect: float) -> float:
        return welch_power(effect, n1, n2, level, sides) - target

    if short(0.0) >= 0:  # very unequal seeds: Welch's test rejects more often than its level when nothing changed
        return 0.0
    high = 1.0
    while short(high) < 0:
        high *= 2
    return float(optimize.brentq(short, 0.0, high, xtol=1e-10, rtol=1e-10))


def seeds_for(effect: float, level: float, target: float = DEFAULT_POWER, sides: Sides = 1, most: int = MOST_SEEDS) -> int | None:
    """The fewest seeds per side (at least 2) with which Welch's t-test at ``level`` detects a difference
    of ``effect`` standard deviations (one sd on both sides) with probability ``target``; None when more than ``most``."""
    _check(level, target)
    if not effect > 0:
        raise ValueError(f"effect {effect:g}: expected a positive difference")

    def enough(n: int) -> bool:
        return welch_power(effect, n, n, level, sides) >= target

    low, high = 1, 2  # not enough at low (a t-test needs 2), to be found at high
    while not enough(high):
        if high >= most:
            return None
        low, high = high, min(2 * high, most)
    while high - low > 1:  # the power grows with the seeds: bisect
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


# ---------------------------------------------------------------- the plan of a baseline


@dataclass(frozen=True)
class Difference:
    """A change to plan for (``--difference``): an absolute amount, or a fraction of the baseline mean's magnitude."""

    amount: float
    relative: bool = False

    def of(self, mean: float) -> float:
        """The absolute change for a row of this baseline mean."""
        return self.amount * abs(mean) if self.relative else self.amount

    def __str__(self) -> str:
        return f"rel:{self.amount:g}" if self.relative else f"{self.amount:g}"


def parse_difference(text: str) -> Difference:
    """``D`` (absolute) or ``rel:R`` (a fraction of the baseline mean), positive and finite."""
    relative = text.startswith("rel:")
    try:
        amount = float(text.removeprefix("rel:"))
    except ValueError:
        amount = math.nan
    if not (math.isfinite(amount) and amount > 0):
        raise PlanError(f"--difference {text!r}: expected a positive number D (absolute) or rel:R (a fraction of the baseline mean)")
    return Difference(amount, relative)


@dataclass(frozen=True)
class RowPlan:
    """One row: what the gate does with it and, for a tested row, what its seeds can detect."""

    key: Key
    shown: tuple[str, str, str]
    higher_is_better: bool
    mean: float  # of the baseline's seeds
    sd: float  # of the seeds (ddof 1): the baseline's, pooled with the current ones when read; NaN with one seed
    seeds: tuple[int, int]  # baseline, current (the baseline's when no results were read)
    rule: str  # "welch", or the tolerance as `podium check` writes it, or why the gate compares nothing
    allowed: float | None  # a tolerance row: how much worse the mean may get before the gate fails
    detectable: float | None  # a tested row: the smallest worsening of the mean detected with the plan's power
    difference: float | None  # the change asked about (``--difference``), absolute
    needed: int | None  # a tested row: seeds per side that detect ``difference`` with the power; None: more than MOST_SEEDS

    @property
    def tested(self) -> bool:
        return self.rule == "welch"

    def fails(self) -> bool | None:
        """A tolerance row: whether a worsening by ``difference`` fails the gate (None without one)."""
        if self.allowed is None or self.difference is None:
            return None
        return beyond(self.difference, self.allowed, abs(self.mean))


@dataclass(frozen=True)
class Plan:
    """Every planned row, and the test's settings."""

    rows: list[RowPlan]
    alpha: float
    power: float
    tested: int  # m: rows the gate tests together
    difference: Difference | None
    pooled: bool = False  # whether the sd is pooled with current results

    @property
    def level(self) -> float:
        """The level each tested row is planned at: alpha / m (see the module's docstring)."""
        return self.alpha / max(1, self.tested)


def plan(
    baseline: Baseline, current: Snapshot | None = None, *, tolerances: dict[str, Tolerance] | None = None, alpha: float = DEFAULT_ALPHA,
    target: float = DEFAULT_POWER, difference: Difference | None = None, timings: bool = False, track: str | None = None,
) -> Plan:
    """The plan of every baseline row (of ``track``; timings only when asked) under the gate's rules;
    ``current`` (the results a check would read) gives the seeds and spec tolerances, else the
    baseline's seeds stand on both sides and only ``tolerances`` apply."""
    if not 0 < alpha < 1:
        raise ToleranceError(f"--alpha {alpha}: expected a level between 0 and 1")
    if not alpha < target < 1:
        raise PlanError(f"--power {target}: expected a probability between the level alpha ({alpha:g}) and 1")
    tolerances = tolerances or {}
    rows = [row for row in baseline.rows if (track is None or row.track == track) and (timings or row.metric != DURATION)]
    chosen: list[tuple[BaselineRow, BaselineRow | None, Tolerance | None, str]] = []
    for old in rows:
        new = old if current is None else current.rows.get(old.key)
        if new is None:
            chosen.append((old, None, None, "missing: not in the results, nothing to compare"))
            continue
        tolerance, source = rule_for(old, new, {} if current is None else current.checks, tolerances)
        chosen.append((old, new, tolerance, "welch" if tolerance is None else rule_text(tolerance, source)))
    tested = sum(rule == "welch" for *_, rule in chosen)
    level = alpha / max(1, tested)
    planned = [_row(old, new, tolerance, rule, level, target, difference) for old, new, tolerance, rule in chosen]
    planned.sort(key=lambda row: (*row.key[:3], *row.shown, row.key[3], row.key[4]))  # as `podium check` orders its rows
    return Plan(planned, alpha, target, tested, difference, pooled=current is not None)


def _row(old: BaselineRow, new: BaselineRow | None, tolerance: Tolerance | None, rule: str, level: float, target: float,
         difference: Difference | None) -> RowPlan:
    values = np.array([old.values[seed] for seed in sorted(old.values)])
    mean = float(values.mean())
    seeds = (len(values), len(new.values) if new is not None else 0)
    sd = _sd(values, None if new is None or new is old else np.array(list(new.values.values())))
    change = None if difference is None else difference.of(mean)
    allowed = detected = needed = None
    if tolerance is not None:
        allowed = allowance(tolerance, mean)
    elif rule == "welch":
        detected = sd * detectable(*seeds, level, target)
        if change is not None and change > 0:
            needed = seeds_for(change / sd, level, target)
    return RowPlan(old.key, (new or old).shown, old.higher_is_better, mean, sd, seeds, rule, allowed, detected, change, needed)


def _sd(baseline: np.ndarray, current: np.ndarray | None) -> float:
    """The seeds' sd to plan with: the baseline's, or pooled with the current results' when there are any (NaN with one seed)."""
    sides = [side for side in (baseline, current) if side is not None and len(side) > 1]
    if not sides:
        return math.nan
    squares = sum(float(np.sum((side - side.mean()) ** 2)) for side in sides)
    return math.sqrt(squares / sum(len(side) - 1 for side in sides))


# ---------------------------------------------------------------- rendering


def render(result: Plan, fmt: Literal["table", "md", "json"] = "table") -> str:
    """The plan as a terminal table, markdown (a pull-request comment) or JSON, with what its numbers mean."""
    if fmt == "json":
        return json.dumps(_json(result), indent=1)
    table = pd.DataFrame([_cells(row, result) for row in result.rows], columns=_columns(result))
    summary = _summary(result)
    if fmt == "md":
        body = tabulate(md_frame(table), headers="keys", tablefmt="github", showindex=False, disable_numparse=True)
        return "\n\n".join(["### Podium plan", *summary, body])
    body = tabulate(table, headers="keys", tablefmt="simple", showindex=False, disable_numparse=True)
    return "\n".join([body, "", *summary])


def _columns(result: Plan) -> list[str]:
    asked = ["difference", "seeds needed"] if result.difference is not None else []
    return ["track", "task", "dataset", *SHOWN, "metric", "mean", "sd", "n", "better", "gate", "detectable", *asked]


def _cells(row: RowPlan, result: Plan) -> dict[str, str]:
    track, task, dataset, _, metric = row.key
    cells = {"track": track, "task": task, "dataset": dataset, **dict(zip(SHOWN, row.shown)), "metric": metric,
             "mean": f"{row.mean:.4g}", "sd": "" if math.isnan(row.sd) else f"{row.sd:.3g}", "n": "/".join(map(str, row.seeds)),
             "better": "higher" if row.higher_is_better else "lower"}
    if row.tested:
        cells["gate"] = f"welch at {result.alpha:g}/{result.tested}" if result.tested > 1 else f"welch at {result.alpha:g}"
        cells["detectable"] = f"{row.detectable:.3g}"
    else:
        cells["gate"] = row.rule
        cells["detectable"] = "" if row.allowed is None else f"no test: worse by > {row.allowed:.3g} fails"
    if result.difference is not None:
        cells["difference"] = f"{row.difference:.3g}"
        if row.tested and not row.difference:
            cells["seeds needed"] = "no change to detect"  # rel:R of a zero mean
        elif row.tested:
            cells["seeds needed"] = f"> {MOST_SEEDS}" if row.needed is None else str(row.needed)
        elif row.allowed is not None:
            cells["seeds needed"] = "no test: " + ("fails" if row.fails() else "passes")
        else:
            cells["seeds needed"] = ""
    return cells


def _summary(result: Plan) -> list[str]:
    lines = [
        f"{result.tested} of {len(result.rows)} rows are tested by one-sided Welch t-tests; planned at level "
        f"{result.alpha:g}/{max(1, result.tested)} = {result.level:.3g} (the gate adjusts them together, Benjamini-Hochberg: "
        "the level a row that regresses alone must reach; it is easier when several regress) with power "
        f"{result.power:g} and, on both sides, the seed sd {'pooled over baseline and results' if result.pooled else 'of the baseline'}.",
        f"detectable: the smallest worsening of the mean the test catches with probability {result.power:g} with the seeds n "
        "(baseline/current): the power of Welch's test itself, its df estimated from the seeds as the gate does, for normal "
        "seeds of that sd (itself estimated from the seeds); rows with a tolerance are not tested: the tolerance decides "
        "whatever the seeds.",
    ]
    if result.difference is not None:
        lines.append(f"seeds needed: seeds per side (baseline and current) that catch a worsening of {result.difference} "
                     f"with probability {result.power:g}.")
    return lines


def _json(result: Plan) -> dict[str, object]:
    def number(value: float | None) -> float | None:
        return None if value is None or math.isnan(value) else value

    rows = []
    for row in result.rows:
        track, task, dataset, config_id, metric = row.key
        rows.append({
            "track": track, "task": task, "dataset": dataset, "config_id": config_id, **dict(zip(SHOWN, row.shown)), "metric": metric,
            "higher_is_better": row.higher_is_better, "mean": row.mean, "sd": number(row.sd),
            "seeds": {"baseline": row.seeds[0], "current": row.seeds[1]}, "tested": row.tested, "rule": row.rule,
            "level": result.level if row.tested else None, "detectable": number(row.detectable), "allowed": number(row.allowed),
            "difference": number(row.difference), "seeds_needed": row.needed, "fails": row.fails(),
        })
        if row.tested and row.difference and row.needed is None:
            rows[-1]["seeds_needed_more_than"] = MOST_SEEDS
    return {"alpha": result.alpha, "power": result.power, "tested": result.tested, "level": result.level,
            "difference": None if result.difference is None else str(result.difference), "most_seeds": MOST_SEEDS, "rows": rows}
