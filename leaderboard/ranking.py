"""Challenge rankings and their stability (Maier-Hein et al. 2018; Wiesenfarth et al. 2021,
challengeR; ../shared/papers/survey_and_ranking.md), over an (algorithm x case) matrix of values
(NaN: a missing result).

Rank 1 is the best. How the statistics are made is a set of named rules (``Rules``), each with
Podium's default and a ``challengeR`` preset that reproduces that package's defaults:

- ``ties``: how algorithms with equal scores share a final rank (``min``: the best of the tied
  places, 1, 1, 3; ``mean``: their mean, 1.5, 1.5, 3; ``max``: the worst, 2, 2, 3);
- ``case_ties``: the same within a case, for rank-then-aggregate (Podium ``mean``, challengeR ``min``);
- ``p_adjust``: the multiple-testing adjustment of the test-based ranking over all ordered pairs,
  as R's ``p.adjust`` (Podium ``holm``, challengeR ``none``);
- ``wilcoxon``: the one-sided Wilcoxon signed-rank p-value (``exact``: the exact permutation
  distribution of the statistic given its ranks, ties included; ``approx``: R's normal approximation
  with the tie-corrected variance and continuity correction, ``wilcox.test(exact = FALSE)``;
  ``auto``: R's own default, exact below 50 non-zero differences without ties or zeros, approximate
  otherwise; Podium ``auto``, challengeR ``approx``); zero differences are dropped, as R and scipy
  do by default;
- ``alpha``: the significance level (0.05 for both);
- ``missing``: what a missing result counts as: ``worst`` (its case's worst observed value),
  ``last`` (per-case ranking: below its case's worst, as challengeR's rankNA2; methods that need a
  value refuse missing values, as challengeR does without ``na.treat``), ``remove`` (left out: means
  over the cases present, pairs over the cases both have), ``error`` (refused), or a number. By
  default Podium ranks a missing result last in per-case ranking and gives it its case's worst
  value in aggregate and test-based rankings;
- ``duplicates``: how the bootstrap treats a case drawn more than once: ``separate`` (each draw is
  a case of its own, the textbook case bootstrap; Podium) or ``merged`` (as challengeR's bootstrap
  computes it: rank-then-aggregate ranks all copies of a case together, in one group, and the
  test-based ranking tests each drawn case once; challengeR). Aggregate-then-rank is the same
  either way.

numpy and scipy's rank and normal-distribution functions only; the tests, the p-value adjustments and
the rank rules are written here against R's definitions.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields, replace
from typing import Literal

import numpy as np
from scipy import special  # scipy.stats (rankdata) is imported where ranks are made: the leaderboard's tests need only special

from specs.rules import (
    ADJUSTMENTS, DUPLICATES, MISSING_NAMES, PRESET_RULES, PRESETS, TIE_RULES, WILCOXON_METHODS, Missing, parse_missing, preset_missing,
)

Method = Literal["mean", "median", "rank_then_mean", "test"]
METHODS: tuple[str, ...] = ("mean", "median", "rank_then_mean", "test")
EXACT_BELOW = 50  # ``auto`` uses the exact distribution below this many non-zero differences (R's wilcox.test default)
_SCIPY_TIES = {"min": "min", "mean": "average", "max": "max"}


class MissingValues(ValueError):
    """Missing results that the rules do not allow for this method (``missing: error``, or ``last``
    where a method needs a value)."""


# ---------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Rules:
    """How a ranking is made; ``Rules()`` is Podium's, ``Rules.preset("challengeR")`` challengeR's."""

    preset: str = "podium"
    ties: str = "min"
    case_ties: str = "mean"
    p_adjust: str = "holm"
    wilcoxon: str = "auto"
    alpha: float = 0.05
    missing: Missing | None = None  # None: the preset's rule for each method (``specs.rules.preset_missing``)
    duplicates: str = "separate"

    def __post_init__(self) -> None:
        for name, allowed in (("preset", PRESETS), ("ties", TIE_RULES), ("case_ties", TIE_RULES),
                              ("p_adjust", ADJUSTMENTS), ("wilcoxon", WILCOXON_METHODS), ("duplicates", DUPLICATES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} {getattr(self, name)!r}: expected one of {', '.join(allowed)}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not 0 < self.alpha < 1:
            raise ValueError(f"alpha {self.alpha!r}: expected a number between 0 and 1")
        if self.missing is not None:
            object.__setattr__(self, "missing", parse_missing(self.missing))

    @classmethod
    def of(cls, preset: str = "podium", **given: object) -> "Rules":
        """The preset's rules with ``given`` ones (not None) over them; ``ValueError`` for an unknown name or value."""
        if preset not in PRESETS:
            raise ValueError(f"preset {preset!r}: expected one of {', '.join(PRESETS)}")
        known = {f.name for f in fields(cls)} - {"preset"}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"unknown rule {unknown[0]!r}: expected one of {', '.join(sorted(known))}")
        base = {key: value for key, value in PRESET_RULES[preset].items()}
        base.update({key: value for key, value in given.items() if value is not None})
        return cls(preset=preset, **base)  # type: ignore[arg-type]

    def with_(self, **given: object) -> "Rules":
        """These rules with ``given`` ones (not None) replaced."""
        return replace(self, **{key: value for key, value in given.items() if value is not None})

    def missing_for(self, method: str) -> Missing:
        """The missing-value rule ``method`` uses."""
        return self.missing if self.missing is not None else preset_missing(self.preset, method)

    def describe(self, method: str) -> str:
        """The rules that matter to ``method``, in one line."""
        parts = []
        if method == "rank_then_mean":
            parts.append(f"ties within a case: {self.case_ties}")
        if method == "test":
            adjusted = "p-values not adjusted" if self.p_adjust == "none" else f"p-values adjusted by {self.p_adjust} over all ordered pairs"
            parts.append(f"one-sided Wilcoxon signed-rank, {_WILCOXON_WORDS[self.wilcoxon]}, {adjusted}, alpha {self.alpha:g}")
        parts.append(f"ties: {self.ties}")
        parts.append(f"missing: {_missing_words(self.missing_for(method), method)}")
        if method in ("rank_then_mean", "test") and self.duplicates == "merged":
            parts.append("bootstrap: a case drawn more than once " + ("is ranked once among its copies" if method == "rank_then_mean" else "is tested once"))
        return f"{self.preset} rules: " + "; ".join(parts)


PODIUM = Rules()
CHALLENGER = Rules.of("challengeR")

_WILCOXON_WORDS = {
    "auto": f"exact below {EXACT_BELOW} non-zero differences without ties or zeros, normal approximation otherwise",
    "exact": "exact",
    "approx": "normal approximation with continuity correction",
}


def _missing_words(rule: Missing, method: str) -> str:
    if rule == "worst":
        return "its case's worst value"
    if rule == "last":
        return "ranked below its case's worst" if method == "rank_then_mean" else "refused (this method needs a value)"
    if rule == "remove":
        return "left out"
    if rule == "error":
        return "refused"
    return f"counts as {rule:g}"


# ---------------------------------------------------------------- ranks and missing values


def fill_missing(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """(A, K) values with each missing entry replaced by the worst value of its case (a case with
    no value at all stays missing)."""
    values = np.array(values, dtype=float)
    missing = np.isnan(values)
    if not missing.any():
        return values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing case has no worst value
        worst = np.nanmin(values, axis=0) if higher_is_better else np.nanmax(values, axis=0)
    values[missing] = np.broadcast_to(worst, values.shape)[missing]
    return values


def treat_missing(values: np.ndarray, higher_is_better: bool, method: str, rules: Rules = PODIUM) -> np.ndarray:
    """``values`` as ``method`` sees them under ``rules.missing``: filled (``worst``, a number), or
    with their missing entries kept for ``remove`` and for ``last`` in a per-case ranking.
    ``MissingValues`` when the rule refuses them. A case no algorithm has a value for carries no
    information and is dropped (before any rule but ``error``)."""
    values = np.array(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"expected an (algorithms x cases) matrix, got shape {values.shape}")
    missing = np.isnan(values)
    if not missing.any():
        return values
    rule = rules.missing_for(method)
    count = int(missing.sum())
    what = f"{count} missing result{'s' if count != 1 else ''}"
    if rule == "error":
        raise MissingValues(f"{what}; choose what a missing result counts as (missing: worst, last, remove or a number)")
    if rule == "last" and method != "rank_then_mean":
        raise MissingValues(f"{what}: method {method} needs a value for each (missing: worst, remove or a number); "
                            "'last' ranks a missing result below its case's worst only in a per-case ranking (rank_then_mean)")
    values = values[:, ~missing.all(axis=0)]
    if rule == "worst":
        return fill_missing(values, higher_is_better)
    if rule in ("remove", "last"):
        return values
    values[np.isnan(values)] = float(rule)  # type: ignore[arg-type]
    return values


def rank_scores(scores: np.ndarray, higher_is_better: bool, ties: str = "min", axis: int = 0) -> np.ndarray:
    """Ranks (1 = best) of ``scores`` along ``axis`` by the tie rule; missing scores (NaN) rank
    below every present one, sharing the places after the worst present rank as the tie rule
    says (challengeR's rankNA2: the worst present rank + 1 for ``min``, + the mean of 1..m for m
    missing ones for ``mean``, + m for ``max``). Floats; see ``tidy``."""
    scores = np.asarray(scores, dtype=float)
    if ties not in _SCIPY_TIES:
        raise ValueError(f"ties {ties!r}: expected one of {', '.join(TIE_RULES)}")
    signed = -scores if higher_is_better else scores
    missing = np.isnan(scores)
    if scores.size == 0:
        return scores.copy()
    from scipy import stats

    if not missing.any():
        return stats.rankdata(signed, method=_SCIPY_TIES[ties], axis=axis).astype(float)
    ranks = stats.rankdata(signed, method=_SCIPY_TIES[ties], axis=axis, nan_policy="omit").astype(float)
    worst = np.where(missing, 0.0, ranks).max(axis=axis, keepdims=True)  # 0 when nothing is present
    m = missing.sum(axis=axis, keepdims=True).astype(float)
    below = {"min": 1.0, "mean": (m + 1) / 2, "max": m}[ties]
    return np.where(missing, worst + below, ranks)


def tidy(ranks: np.ndarray) -> np.ndarray:
    """Whole ranks as integers; ranks with halves (``mean`` ties) stay floats."""
    ranks = np.asarray(ranks, dtype=float)
    if np.all(np.isfinite(ranks)) and np.all(ranks == np.floor(ranks)):
        return ranks.astype(int)
    return ranks


def case_ranks(values: np.ndarray, higher_is_better: bool, rules: Rules = PODIUM) -> np.ndarray:
    """(A, K) ranks of the algorithms within each case by ``rules.case_ties``, after the missing rule
    of rank-then-aggregate: ``last`` ranks a missing result below the case's worst, ``remove``
    leaves it NaN (out of the algorithm's mean), a value fills it."""
    treated = treat_missing(values, higher_is_better, "rank_then_mean", rules)
    ranks = rank_scores(treated, higher_is_better, rules.case_ties, axis=0)
    if rules.missing_for("rank_then_mean") == "remove":
        ranks[np.isnan(treated)] = np.nan
    return ranks


def merged_case_ranks(values: np.ndarray, higher_is_better: bool, rules: Rules = PODIUM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-case ranks as challengeR's bootstrap makes them when a case is drawn c times: its c
    copies of every algorithm's row are ranked together, as one case of c x A rows (ties by
    ``rules.case_ties``, missing ones by rankNA2 when ``missing: last``), and each algorithm's mean
    rank is over all its rows. Such a rank is c * slope + intercept; returns (slope, intercept,
    weight), each (A, K), weight 0 where a result is left out (``missing: remove``)."""
    from scipy import stats

    treated = treat_missing(values, higher_is_better, "rank_then_mean", rules)
    signed = -treated if higher_is_better else treated
    present = ~np.isnan(treated)
    low = stats.rankdata(signed, method="min", axis=0, nan_policy="omit")
    high = stats.rankdata(signed, method="max", axis=0, nan_policy="omit")
    better, tied = low - 1, high - low + 1  # strictly better present algorithms, tied ones (itself included)
    slope = {"min": better, "mean": better + tied / 2, "max": better + tied}[rules.case_ties]
    intercept = np.full(treated.shape, {"min": 1.0, "mean": 0.5, "max": 0.0}[rules.case_ties])
    weight = present.astype(float)
    if (~present).any() and rules.missing_for("rank_then_mean") == "last":
        count = present.sum(axis=0).astype(float)
        absent = treated.shape[0] - count
        worst_better = np.where(present, better, -1.0).max(axis=0)  # of the worst present group
        worst_tied = count - worst_better
        worst_slope = {"min": worst_better, "mean": worst_better + worst_tied / 2, "max": count}[rules.case_ties]
        worst_intercept = {"min": 1.0, "mean": 0.5, "max": 0.0}[rules.case_ties]
        worst_slope = np.where(count > 0, worst_slope, 0.0)  # nothing present: the worst rank is 0, as in rankNA2
        worst_intercept = np.where(count > 0, worst_intercept, 0.0)
        below_slope = {"min": 0.0, "mean": absent / 2, "max": absent}[rules.case_ties]
        below_intercept = {"min": 1.0, "mean": 0.5, "max": 0.0}[rules.case_ties]
        slope = np.where(present, slope, worst_slope + below_slope)
        intercept = np.where(present, intercept, worst_intercept + below_intercept)
        weight[:] = 1.0
    return np.where(weight > 0, slope, 0.0), np.where(weight > 0, intercept, 0.0), weight


def _check_how(how: str) -> None:
    if how not in ("mean", "median"):
        raise ValueError(f"aggregate {how!r}: expected mean or median")


def _nan_aggregate(values: np.ndarray, how: str, axis: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an algorithm with no value left: NaN, ranked last
        return np.nanmean(values, axis=axis) if how == "mean" else np.nanmedian(values, axis=axis)


def _aggregate(values: np.ndarray, how: str, axis: int) -> np.ndarray:
    if np.isnan(values).any():
        return _nan_aggregate(values, how, axis)
    return values.mean(axis=axis) if how == "mean" else np.median(values, axis=axis)


def aggregate_then_rank(values: np.ndarray, higher_is_better: bool, how: Literal["mean", "median"] = "mean", rules: Rules = PODIUM) -> np.ndarray:
    """Aggregate each algorithm over cases (mean or median), then rank the aggregates."""
    _check_how(how)
    treated = treat_missing(values, higher_is_better, how, rules)
    return tidy(rank_scores(_aggregate(treated, how, axis=1), higher_is_better, rules.ties))


def rank_then_aggregate(values: np.ndarray, higher_is_better: bool, rules: Rules = PODIUM, how: Literal["mean", "median"] = "mean") -> np.ndarray:
    """Rank the algorithms within each case (``rules.case_ties``), then rank their mean (or median) rank."""
    _check_how(how)
    per_case = case_ranks(values, higher_is_better, rules)
    return tidy(rank_scores(_aggregate(per_case, how, axis=1), False, rules.ties))


# ---------------------------------------------------------------- the test-based ranking


def adjust_p(p: np.ndarray, method: str) -> np.ndarray:
    """p-values adjusted for multiple testing as R's ``p.adjust(p, method)`` defines them (all of
    ``p`` one family): ``none``, ``bonferroni`` (min(1, m p)), ``holm`` (step-down: the running
    maximum of (m - i + 1) p_(i)), ``hochberg`` (step-up: the running minimum from the top of
    (m - i + 1) p_(i)), ``BH`` (Benjamini-Hochberg: of m / i p_(i)) and ``BY``
    (Benjamini-Yekutieli: of q m / i p_(i), q = sum 1/k), each capped at 1."""
    p = np.asarray(p, dtype=float)
    m = p.size
    if method not in ADJUSTMENTS:
        raise ValueError(f"p_adjust {method!r}: expected one of {', '.join(ADJUSTMENTS)}")
    if method == "none" or m <= 1:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    out = np.empty(m)
    if method == "holm":
        order = np.argsort(p, kind="stable")
        i = np.arange(1, m + 1)
        out[order] = np.minimum(1.0, np.maximum.accumulate((m + 1 - i) * p[order]))
        return out
    order = np.argsort(-p, kind="stable")  # decreasing, as R's order(p, decreasing = TRUE)
    i = np.arange(m, 0, -1)
    if method == "hochberg":
        scaled = (m + 1 - i) * p[order]
    elif method == "BH":
        scaled = m / i * p[order]
    else:  # BY
        q = math.fsum(1.0 / k for k in range(1, m + 1))
        scaled = q * m / i * p[order]
    out[order] = np.minimum(1.0, np.minimum.accumulate(scaled))
    return out


EXACT_BLOCK = 2**22  # distribution cells computed at once by the exact test (32 MB)
SIGNED_RANK_BLOCK = 2**20  # differences ranked at once (8 MB a copy): blocks of rows stay in cache


def _exact_tails(doubled: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``doubled`` (twice the mid-ranks of its non-zero differences, 0 padding): P(S <=
    s) and P(S >= s) at s = ``observed``, S the sum of the row's values that a random sign (+ or -,
    each with probability 1/2) keeps: the exact null distribution of twice the signed-rank statistic
    given its ranks. One distribution per distinct row, built by adding one rank at a time, for as
    many rows at once as ``EXACT_BLOCK`` cells hold."""
    at_most, at_least = np.ones(len(doubled)), np.ones(len(doubled))
    if doubled.size == 0 or not doubled.any():
        return at_most, at_least
    unique, inverse = np.unique(doubled, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    totals = unique.sum(axis=1)
    order = np.argsort(totals, kind="stable")
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and (stop - start + 1) * (int(totals[order[stop]]) + 1) <= EXACT_BLOCK:
            stop += 1
        block = order[start:stop]
        width = int(totals[block].max()) + 1
        dist = np.zeros((len(block), width))
        dist[:, 0] = 1.0
        for step in unique[block].T:  # each row adds its next rank; a rank of 0 (padding) leaves a row as it is
            previous = dist.copy()
            dist *= 0.5
            for shift in np.unique(step[step > 0]):  # rows that add the same rank: one shifted slice
                rows = slice(None) if (step == shift).all() else np.flatnonzero(step == shift)
                dist[rows, shift:] += 0.5 * previous[rows, :width - shift]
            dist[step == 0] = previous[step == 0]
        below = np.minimum(1.0, np.cumsum(dist, axis=1))
        above = np.minimum(1.0, np.cumsum(dist[:, ::-1], axis=1)[:, ::-1])
        position = np.full(len(unique), -1)
        position[block] = np.arange(len(block))
        members = np.flatnonzero(position[inverse] >= 0)
        at_most[members] = below[position[inverse[members]], observed[members]]
        at_least[members] = above[position[inverse[members]], observed[members]]
        start = stop
    return at_most, at_least


def _signed_ranks(d: np.ndarray, ranks: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The signed-rank statistic of each row of ``d`` (zeros and NaN dropped): (n, V, the sum over
    tied groups of t^3 - t, and with ``ranks`` twice the mid-ranks of the kept differences in
    ascending order, 0 for the dropped ones).

    One sort per row instead of three ``rankdata`` calls: a non-negative float orders as its bits,
    so each |d| becomes an unsigned key with the difference's sign in its lowest bit; in the sorted
    keys each run of equal |d| is a tie group, whose members share the mid-rank start + (t + 1) / 2."""
    keep = ~np.isnan(d) & (d != 0)
    bits = np.abs(np.where(keep, d, 0.0)).view(np.uint64)
    key = (bits << np.uint64(1)) | (d > 0).astype(np.uint64)
    dropped = np.iinfo(np.uint64).max
    key[~keep] = dropped  # dropped ones sort last, in a group of their own
    key.sort(axis=1)
    rows, width = d.shape
    flat = key.ravel()
    value = flat >> np.uint64(1)
    first = np.ones(flat.shape, dtype=bool)
    first[1:] = value[1:] != value[:-1]
    first[::width] = True  # every row starts a group
    n = keep.sum(axis=1).astype(float)
    if not ranks and (first | (flat == dropped)).all():  # no ties: the ranks are 1, 2, ... in order
        positive = ((flat & np.uint64(1)) == 1) & (flat != dropped)
        return n, (positive.reshape(rows, width) * np.arange(1.0, width + 1)).sum(axis=1), np.zeros(rows), None
    starts = np.flatnonzero(first)
    size = np.diff(np.append(starts, flat.size))
    positive = np.add.reduceat((flat & np.uint64(1)).astype(np.int64), starts)
    kept = flat[starts] != dropped
    row, place = np.divmod(starts, width)
    doubled = 2 * place + size + 1  # twice the group's mid-rank
    v = np.bincount(row[kept], weights=(positive * doubled)[kept], minlength=rows) / 2
    t = size.astype(float)
    tied = np.bincount(row[kept], weights=(t**3 - t)[kept], minlength=rows)
    if not ranks:
        return n, v, tied, None
    return n, v, tied, np.repeat(np.where(kept, doubled, 0), size).reshape(rows, width)


def signed_rank_p(differences: np.ndarray, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """One-sided p-values of the Wilcoxon signed-rank test of each row of paired ``differences``
    (x - y; NaN: a case the pair does not share): (greater, less), the alternatives that x tends to
    be larger or smaller than y.

    As R's ``wilcox.test(x, y, paired = TRUE)``: zero differences are dropped, the rest ranked by
    their absolute value (ties: mean rank), V the sum of the positive ones' ranks. ``approx``:
    z = (V - n(n+1)/4 -+ 1/2) / sqrt(n(n+1)(2n+1)/24 - sum(t^3 - t)/48) (t: the sizes of the tied
    groups; the 1/2 is R's continuity correction toward the alternative), p from the normal
    distribution; no non-zero difference gives 1, as R does. ``exact``: the exact distribution of
    V given those ranks, ties included (R's psignrank when there are none); its cost grows with the
    cube of the differences. ``auto``: R's own default, exact below ``EXACT_BELOW`` non-zero
    differences when there are no ties or zeros, approx otherwise."""
    if method not in WILCOXON_METHODS:
        raise ValueError(f"wilcoxon {method!r}: expected one of {', '.join(WILCOXON_METHODS)}")
    d = np.atleast_2d(np.asarray(differences, dtype=float))
    if d.shape[1] == 0:
        return np.ones(len(d)), np.ones(len(d))
    n, v, tied = np.empty(len(d)), np.empty(len(d)), np.empty(len(d))
    exact = np.zeros(len(d), dtype=bool)
    exact_ranks = []  # the sorted doubled ranks of the rows that take the exact distribution
    step = max(1, SIGNED_RANK_BLOCK // d.shape[1])
    for start in range(0, len(d), step):
        rows = slice(start, start + step)
        n[rows], v[rows], tied[rows], _ = _signed_ranks(d[rows])
        if method == "exact":
            exact[rows] = True
        elif method == "auto":  # R's wilcox.test(exact = NULL): exact below 50 non-zero differences, without ties or zeros
            exact[rows] = (n[rows] < EXACT_BELOW) & (tied[rows] == 0) & ~(d[rows] == 0).any(axis=1)
        if exact[rows].any():
            doubled = _signed_ranks(d[rows][exact[rows]], ranks=True)[3]
            exact_ranks.append(np.sort(doubled, axis=1))
    greater, less = np.ones(len(d)), np.ones(len(d))
    if (~exact).any():
        rows = ~exact
        nn = n[rows]
        sigma = np.sqrt(nn * (nn + 1) * (2 * nn + 1) / 24 - tied[rows] / 48)
        centred = v[rows] - nn * (nn + 1) / 4
        with np.errstate(divide="ignore", invalid="ignore"):  # no non-zero difference: sigma 0, z -+inf, p 1
            greater[rows] = special.ndtr(-(centred - 0.5) / sigma)
            less[rows] = special.ndtr((centred + 0.5) / sigma)
    if exact.any():
        at_most, at_least = _exact_tails(np.concatenate(exact_ranks), np.rint(2 * v[exact]).astype(np.int64))
        less[exact], greater[exact] = at_most, at_least
    return greater, less


def pairwise_p(values: np.ndarray, higher_is_better: bool, rules: Rules = PODIUM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every ordered pair (i, j), i != j: the one-sided Wilcoxon signed-rank p-value that i is
    better than j over the cases both have (``rules.wilcoxon``), unadjusted. Returns (i, j, p)."""
    treated = treat_missing(values, higher_is_better, "test", rules)
    first, second = np.triu_indices(len(treated), k=1)
    greater, less = signed_rank_p(treated[first] - treated[second], rules.wilcoxon)
    forward, backward = (greater, less) if higher_is_better else (less, greater)
    return np.concatenate([first, second]), np.concatenate([second, first]), np.concatenate([forward, backward])


def significant_wins(values: np.ndarray, higher_is_better: bool, level: float | None = None, rules: Rules = PODIUM) -> np.ndarray:
    """For each algorithm, how many others it beats: one-sided Wilcoxon signed-rank tests over the
    cases for every ordered pair, the p-values adjusted by ``rules.p_adjust`` over all of them, a win
    where the adjusted p-value is at most ``level`` (``rules.alpha`` unless given), as challengeR's
    ``decision.challenge`` decides."""
    alpha = rules.alpha if level is None else level
    n = np.asarray(values).shape[0]
    winners, _, p = pairwise_p(values, higher_is_better, rules)
    significant = adjust_p(p, rules.p_adjust) <= alpha
    return np.bincount(winners[significant], minlength=n).astype(int)


def scores(values: np.ndarray, higher_is_better: bool, method: Method = "mean", rules: Rules = PODIUM) -> np.ndarray:
    """What ``method`` ranks, per algorithm (challengeR's aggregate column): the mean or median value
    (``value_mean``), the mean rank per case (``rank_mean``), or the share of the other algorithms
    it significantly beats (``prop_significance``: wins / (A - 1)); NaN for an algorithm with nothing left."""
    if method in ("mean", "median"):
        return _aggregate(treat_missing(values, higher_is_better, method, rules), method, axis=1)
    if method == "rank_then_mean":
        return _aggregate(case_ranks(values, higher_is_better, rules), "mean", axis=1)
    if method == "test":
        wins = significant_wins(values, higher_is_better, rules=rules)
        return wins / max(1, len(wins) - 1)
    raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")


def rank(values: np.ndarray, higher_is_better: bool, method: Method = "mean", rules: Rules = PODIUM) -> np.ndarray:
    """Ranks (1 = best) of the algorithms by ``method`` under ``rules``."""
    if method in ("mean", "median"):
        return aggregate_then_rank(values, higher_is_better, method, rules)
    if method == "rank_then_mean":
        return rank_then_aggregate(values, higher_is_better, rules)
    if method == "test":
        return tidy(rank_scores(significant_wins(values, higher_is_better, rules=rules).astype(float), True, rules.ties))
    raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")


# ---------------------------------------------------------------- stability


@dataclass(frozen=True)
class Stability:
    """A ranking and how it moves when the cases are resampled."""

    ranks: np.ndarray  # (A,) on all cases
    bootstrap_ranks: np.ndarray  # (resamples, A); no rows when not resampled
    kendall_tau: np.ndarray  # (resamples,) between the full ranking and each bootstrap ranking
    note: str = ""  # why it was not resampled, when it was not

    @classmethod
    def unresampled(cls, ranks: np.ndarray, note: str) -> "Stability":
        """A ranking that was not bootstrapped (``note`` says why)."""
        return cls(tidy(ranks), np.empty((0, len(ranks))), np.empty(0), note)

    @property
    def resampled(self) -> bool:
        return len(self.bootstrap_ranks) > 0

    def first_share(self) -> np.ndarray:
        """How often each algorithm was ranked first (alone or tied) across the resamples."""
        if not self.resampled:
            return np.full(self.bootstrap_ranks.shape[1], np.nan)
        boot = self.bootstrap_ranks
        return (boot == boot.min(axis=1, keepdims=True)).mean(axis=0)

    def tau_text(self) -> str:
        """The tau summary as a reader sees it."""
        if not self.resampled:
            return f"not resampled ({self.note})" if self.note else "not resampled"
        median, low, high = self.tau_summary()
        if math.isnan(median):
            return "undefined (the full ranking ties every entry)"
        return f"median {median:.3f} [{low:.3f}, {high:.3f}]"

    def tau_summary(self, level: float = 0.95) -> tuple[float, float, float]:
        """Median Kendall's tau and its percentile interval; nan when undefined (every ranking tied throughout)."""
        if not self.resampled or np.all(np.isnan(self.kendall_tau)):
            return math.nan, math.nan, math.nan
        tail = 100 * (1 - level) / 2
        low, median, high = np.nanpercentile(self.kendall_tau, [tail, 50, 100 - tail])
        return float(median), float(low), float(high)


BOOTSTRAP_BYTES = 2**30  # the most memory one bootstrap may take: 1 GiB
CHUNK_VALUES = 2**22  # resampled values ranked at once (32 MB): the chunk of resamples is as long as this allows
ONE_CASE = "only 1 test case: bootstrapping with 1 test case is not sensible"  # challengeR's Bootstrap.R stops so


class BootstrapTooLarge(ValueError):
    """More resamples than ``BOOTSTRAP_BYTES`` of memory hold for this many algorithms and cases."""


class TooFewCases(ValueError):
    """A bootstrap over a single test case (challengeR refuses it too)."""


def _chunk(n_algorithms: int, n_cases: int, resamples: int) -> int:
    """Resamples ranked at once: as many as ``CHUNK_VALUES`` values hold (at least one)."""
    return max(1, min(resamples, CHUNK_VALUES // max(1, n_algorithms * n_cases)))


def bootstrap_bytes(n_algorithms: int, n_cases: int, resamples: int) -> int:
    """The memory a bootstrap takes: the resampled case indices (resamples x K) and the ranks
    (resamples x A) it keeps, and one chunk of resampled values (A x chunk x K), 8 bytes each."""
    return 8 * (resamples * (n_cases + n_algorithms) + _chunk(n_algorithms, n_cases, resamples) * n_algorithms * n_cases)


def most_resamples(n_algorithms: int, n_cases: int) -> int:
    """The most resamples ``BOOTSTRAP_BYTES`` hold for this many algorithms and cases."""
    cells = n_algorithms * n_cases
    chunk = max(1, CHUNK_VALUES // max(1, cells))
    # with at least a chunk of resamples the chunk's values are a fixed cost; fewer than a chunk fit only
    # when one chunk's values nearly fill the bound (2**27 cells), where this gives 0 or 1 too few
    return max(0, (BOOTSTRAP_BYTES // 8 - chunk * cells) // (n_cases + n_algorithms))


def bootstrap(values: np.ndarray, higher_is_better: bool, method: Method = "mean", resamples: int = 1000, seed: int = 0,
              rules: Rules = PODIUM) -> Stability:
    """Rank stability by resampling cases with replacement (seeded), each resample ranked by
    ``method`` under ``rules`` as the full data is. mean, median and rank_then_mean are vectorised over
    resamples in chunks (of ``CHUNK_VALUES`` values); the test-based method reruns its tests per
    resample. ``BootstrapTooLarge`` when it would take more than ``BOOTSTRAP_BYTES``
    (``bootstrap_bytes``); ``TooFewCases`` for a single case; ``ValueError`` for fewer than one
    resample or a negative seed; ``MissingValues`` as ``rank``."""
    if method not in METHODS:
        raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    if resamples < 1:
        raise ValueError(f"{resamples} resamples: expected at least 1")
    if seed < 0:
        raise ValueError(f"seed {seed}: expected a non-negative integer")
    full = rank(values, higher_is_better, method, rules)  # refuses missing values the rules refuse
    how = "rank_then_mean" if method == "rank_then_mean" else method
    treated = treat_missing(values, higher_is_better, how, rules)
    n_algorithms, n_cases = treated.shape
    if n_cases < 2:
        raise TooFewCases(ONE_CASE)
    needed = bootstrap_bytes(n_algorithms, n_cases, resamples)
    if needed > BOOTSTRAP_BYTES:
        raise BootstrapTooLarge(
            f"{n_algorithms} algorithms x {n_cases} cases x {resamples} resamples would take {needed / 2**30:.3g} GiB; "
            f"the bound is {BOOTSTRAP_BYTES / 2**30:g} GiB, {most_resamples(n_algorithms, n_cases)} resamples here"
        )
    chunk = _chunk(n_algorithms, n_cases, resamples)
    rng = np.random.default_rng(seed)
    cases = rng.integers(0, n_cases, size=(resamples, n_cases))
    out = np.empty((resamples, n_algorithms))
    merged = rules.duplicates == "merged"
    if method == "test":
        for r in range(resamples):
            drawn = np.unique(cases[r]) if merged else cases[r]  # merged: each drawn case tested once, as challengeR's intersect()
            wins = significant_wins(treated[:, drawn], higher_is_better, rules=rules)
            out[r] = rank_scores(wins.astype(float), True, rules.ties)
    elif method == "rank_then_mean" and merged:
        slope, intercept, weight = merged_case_ranks(values, higher_is_better, rules)
        for start in range(0, resamples, chunk):
            index = cases[start:start + chunk]
            rows = np.arange(len(index))[:, None] * n_cases
            copies = np.bincount((rows + index).ravel(), minlength=len(index) * n_cases).reshape(len(index), n_cases).astype(float)
            total = (copies**2) @ (slope * weight).T + copies @ (intercept * weight).T  # (c, A): the sum of each algorithm's row ranks
            count = copies @ weight.T
            with np.errstate(invalid="ignore", divide="ignore"):
                score = np.where(count > 0, total / count, np.nan)
            out[start:start + chunk] = rank_scores(score, False, rules.ties, axis=1)
    else:
        per_case = case_ranks(values, higher_is_better, rules) if method == "rank_then_mean" else None
        for start in range(0, resamples, chunk):
            index = cases[start:start + chunk]  # (c, K)
            if per_case is not None:
                score, better_high = _aggregate(per_case[:, index], "mean", axis=2), False
            else:
                score, better_high = _aggregate(treated[:, index], method, axis=2), higher_is_better  # (A, c)
            out[start:start + chunk] = rank_scores(score, better_high, rules.ties, axis=0).T
    out = tidy(out)
    return Stability(full, out, kendall_tau_b(full, out))


def kendall_tau_b(full: np.ndarray, rankings: np.ndarray) -> np.ndarray:
    """Kendall's tau-b between ``full`` (A,) and each row of ``rankings`` (R, A), as
    ``scipy.stats.kendalltau`` gives it (NaN where either side ties everything), vectorised over
    the rows: sum(sx * sy) / sqrt(sum(sx^2) * sum(sy^2)) over the pairs i < j, s the sign of a difference."""
    first, second = np.triu_indices(len(full), k=1)
    sx = np.sign(full[first] - full[second]).astype(np.int8)
    taus = np.empty(len(rankings))
    step = max(1, 2**22 // max(1, len(first)))  # rows per block: a few MB of pair signs at a time
    with np.errstate(invalid="ignore", divide="ignore"):
        for start in range(0, len(rankings), step):
            block = rankings[start:start + step]
            sy = np.sign(block[:, first] - block[:, second]).astype(np.int8)
            numerator = sy.astype(np.int64) @ sx.astype(np.int64)
            denominator = np.sqrt(float(np.abs(sx).sum()) * np.abs(sy).sum(axis=1, dtype=np.int64))
            taus[start:start + step] = np.where(denominator > 0, numerator / denominator, np.nan)
    return taus


def consensus(rankings: list[np.ndarray], ties: str = "min") -> np.ndarray:
    """One ranking from several (tasks, metrics): rank the algorithms' mean rank."""
    return tidy(rank_scores(np.mean(np.stack(rankings), axis=0), False, ties))


__all__ = [
    "BOOTSTRAP_BYTES", "CHALLENGER", "METHODS", "MISSING_NAMES", "PODIUM", "BootstrapTooLarge", "Method", "MissingValues", "Rules",
    "ONE_CASE", "Stability", "TooFewCases", "adjust_p", "aggregate_then_rank", "bootstrap", "case_ranks", "consensus", "fill_missing",
    "kendall_tau_b", "merged_case_ranks", "pairwise_p", "rank", "rank_scores", "rank_then_aggregate", "scores", "signed_rank_p", "significant_wins",
    "tidy",
    "treat_missing",
]
