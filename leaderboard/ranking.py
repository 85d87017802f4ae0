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


BOOTSTRAP_BYTES = 2**30  # the most memory one bootstrap may take: 1 GiB
CHUNK_VALUES = 2**22  # resampled values ranked at once (32 MB): the chunk of resamples is as long as this allows


class BootstrapTooLarge(ValueError):
    """More resamples than ``BOOTSTRAP_BYTES`` of memory hold for this many algorithms and cases."""


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
    most = max(0, (BOOTSTRAP_BYTES // 8 - chunk * cells) // max(1, n_cases + n_algorithms))
    if most < chunk:  # fewer resamples than a chunk: they are ranked all at once
        most = BOOTSTRAP_BYTES // 8 // max(1, n_cases + n_algorithms + cells)
    return most


def bootstrap(values: np.ndarray, higher_is_better: bool, method: Method = "mean", resamples: int = 1000, seed: int = 0) -> Stability:
    """Rank stability by resampling cases with replacement (seeded). mean, median and rank_then_mean
    are vectorised over resamples in chunks (of ``CHUNK_VALUES`` values); the test-based method
    reruns its tests per resample. ``BootstrapTooLarge`` when it would take more than
    ``BOOTSTRAP_BYTES`` (``bootstrap_bytes``); ``ValueError`` for fewer than one resample or a negative seed."""
    filled = fill_missing(values, higher_is_better)
    n_algorithms, n_cases = filled.shape
    if resamples < 1:
        raise ValueError(f"{resamples} resamples: expected at least 1")
    if seed < 0:
        raise ValueError(f"seed {seed}: expected a non-negative integer")
    needed = bootstrap_bytes(n_algorithms, n_cases, resamples)
    if needed > BOOTSTRAP_BYTES:
        raise BootstrapTooLarge(
            f"{n_algorithms} algorithms x {n_cases} cases x {resamples} resamples would take {needed / 2**30:.3g} GiB; "
            f"the bound is {BOOTSTRAP_BYTES / 2**30:g} GiB, {most_resamples(n_algorithms, n_cases)} resamples here"
        )
    chunk = _chunk(n_algorithms, n_cases, resamples)
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


def consensus(rankings: list[np.ndarray]) -> np.ndarray:
    """One ranking from several (tasks, metrics): rank the algorithms' mean rank."""
    return _rank_best_first(np.mean(np.stack(rankings), axis=0), higher_is_better=False)
