"""Challenge rankings and their stability (Maier-Hein et al. 2018; Wiesenfarth et al. 2021,
challengeR; ../shared/papers/survey_and_ranking.md), over an (algorithm x case) matrix of values.

Rank 1 is the best; tied algorithms share the best rank of their group ("min" ranking). A
missing result (NaN) takes the worst value observed for that case. numpy and scipy only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Method = Literal["mean", "median", "rank_then_mean", "test"]


def fill_missing(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """(A, K) values with each missing entry replaced by the worst value of its case."""
    values = np.array(values, dtype=float)
    worst = np.nanmin(values, axis=0) if higher_is_better else np.nanmax(values, axis=0)
    missing = np.isnan(values)
    values[missing] = np.broadcast_to(worst, values.shape)[missing]
    return values


def _rank_best_first(scores: np.ndarray, higher_is_better: bool, axis: int = 0) -> np.ndarray:
    signed = -scores if higher_is_better else scores
    return stats.rankdata(signed, method="min", axis=axis).astype(int)


def aggregate_then_rank(values: np.ndarray, higher_is_better: bool, how: Literal["mean", "median"] = "mean") -> np.ndarray:
    """Aggregate each algorithm over cases (mean or median), then rank the aggregates."""
    filled = fill_missing(values, higher_is_better)
    aggregate = filled.mean(axis=1) if how == "mean" else np.median(filled, axis=1)
    return _rank_best_first(aggregate, higher_is_better)


def rank_then_aggregate(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Rank the algorithms within each case (ties: the mean of the tied ranks), then rank their mean rank."""
    filled = fill_missing(values, higher_is_better)
    per_case = stats.rankdata(-filled if higher_is_better else filled, method="average", axis=0)
    return _rank_best_first(per_case.mean(axis=1), higher_is_better=False)


def significant_wins(values: np.ndarray, higher_is_better: bool, level: float = 0.05) -> np.ndarray:
    """For each algorithm, how many others it beats in a one-sided Wilcoxon signed-rank test over
    cases, with Holm's correction across all ordered pairs."""
    filled = fill_missing(values, higher_is_better)
    n = len(filled)
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    alternative = "greater" if higher_is_better else "less"
    p = []
    for i, j in pairs:
        difference = filled[i] - filled[j]
        p.append(1.0 if np.all(difference == 0) else stats.wilcoxon(filled[i], filled[j], alternative=alternative).pvalue)
    order = np.argsort(p)
    rejected = np.zeros(len(p), dtype=bool)
    for step, index in enumerate(order):  # Holm: compare the k-th smallest p with level / (m - k)
        if p[index] > level / (len(p) - step):
            break
        rejected[index] = True
    wins = np.zeros(n, dtype=int)
    for (i, _), significant in zip(pairs, rejected):
        wins[i] += significant
    return wins


def rank(values: np.ndarray, higher_is_better: bool, method: Method = "mean") -> np.ndarray:
    """Ranks (1 = best) of the algorithms by ``method``."""
    if method in ("mean", "median"):
        return aggregate_then_rank(values, higher_is_better, method)
    if method == "rank_then_mean":
        return rank_then_aggregate(values, higher_is_better)
    return _rank_best_first(significant_wins(values, higher_is_better).astype(float), higher_is_better=True)


@dataclass(frozen=True)
class Stability:
    """A ranking and how it moves when the cases are resampled."""

    ranks: np.ndarray  # (A,) on all cases
    bootstrap_ranks: np.ndarray  # (resamples, A)
    kendall_tau: np.ndarray  # (resamples,) between the full ranking and each bootstrap ranking

    def tau_text(self) -> str:
        """The tau summary as a reader sees it."""
        median, low, high = self.tau_summary()
        if math.isnan(median):
            return "undefined (the full ranking ties every entry)"
        return f"median {median:.3f} [{low:.3f}, {high:.3f}]"

    def tau_summary(self, level: float = 0.95) -> tuple[float, float, float]:
        """Median Kendall's tau and its percentile interval; nan when undefined (every ranking tied throughout)."""
        if np.all(np.isnan(self.kendall_tau)):
            return math.nan, math.nan, math.nan
        tail = 100 * (1 - level) / 2
        low, median, high = np.nanpercentile(self.kendall_tau, [tail, 50, 100 - tail])
        return float(median), float(low), float(high)


def bootstrap(values: np.ndarray, higher_is_better: bool, method: Method = "mean", resamples: int = 1000, seed: int = 0, chunk: int = 64) -> Stability:
    """Rank stability by resampling cases with replacement (seeded). mean, median and rank_then_mean
    are vectorised over resamples in chunks (memory: A x chunk x K values); the test-based method
    reruns its tests per resample."""
    filled = fill_missing(values, higher_is_better)
    n_algorithms, n_cases = filled.shape
    rng = np.random.default_rng(seed)
    cases = rng.integers(0, n_cases, size=(resamples, n_cases))
    full = rank(filled, higher_is_better, method)
    out = np.empty((resamples, n_algorithms), dtype=int)
    if method == "test":
        for r in range(resamples):
            out[r] = rank(filled[:, cases[r]], higher_is_better, "test")
    else:
        per_case = stats.rankdata(-filled if higher_is_better else filled, method="average", axis=0) if method == "rank_then_mean" else None
        for start in range(0, resamples, chunk):
            index = cases[start:start + chunk]  # (c, K)
            if method == "rank_then_mean":
                score, better_high = per_case[:, index].mean(axis=2), False
            else:
                sample = filled[:, index]  # (A, c, K)
                score = sample.mean(axis=2) if method == "mean" else np.median(sample, axis=2)
                better_high = higher_is_better
            out[start:start + chunk] = _rank_best_first(score, better_high, axis=0).T
    taus = np.array([stats.kendalltau(full, row).statistic for row in out])
    return Stability(full, out, taus)


def consensus(rankings: list[np.ndarray]) -> np.ndarray:
    """One ranking from several (tasks, metrics): rank the algorithms' mean rank."""
    return _rank_best_first(np.mean(np.stack(rankings), axis=0), higher_is_better=False)
