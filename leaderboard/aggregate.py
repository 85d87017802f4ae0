"""Leaderboards: per (track, task, dataset, model, method, metric) the mean over seeds, its
standard deviation, n, a 95% Student-t confidence interval, and the rank within its board."""
from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from leaderboard.benchmarks import glue_average_values
from leaderboard.store import Store

GROUP = ["track", "task", "dataset", "model", "method"]
BOARD = ["track", "task", "dataset", "metric"]
LEADERBOARD_COLUMNS = [*GROUP, "metric", "mean", "std", "n", "ci_low", "ci_high", "rank", "higher_is_better", "failed", "citation"]


def leaderboard(store: Store, track: str | None = None, split: str = "test", confidence: float = 0.95) -> pd.DataFrame:
    """The leaderboard of ``split`` as a DataFrame with ``LEADERBOARD_COLUMNS``, each board best first.

    Failed runs are left out of every statistic; ``failed`` counts them per entry. Published
    reference rows (test split only) stand beside the runs with method ``published``, their
    citation, no n and no rank: they are never part of the runs' statistics."""
    where, params = ("AND r.track = ?", [split, track]) if track else ("", [split])
    values = store.query(
        f"""
        SELECT r.track, r.task, r.dataset, r.model, coalesce(r.method, '') AS method, m.metric,
               avg(m.value) AS mean, stddev_samp(m.value) AS std, count(*) AS n,
               coalesce(bool_and(i.higher_is_better), true) AS higher_is_better
        FROM runs r JOIN metrics m USING (run_id) LEFT JOIN metric_info i USING (metric)
        WHERE r.status = 'ok' AND m.split = ? {where}
        GROUP BY ALL
        """,
        params,
    )
    glue = glue_average_values(store, split, track)
    if not glue.empty:
        averaged = glue.groupby(["track", "task", "dataset", "model", "method", "metric"], as_index=False)["value"].agg(
            mean="mean", std=lambda v: v.std(ddof=1), n="count"
        )
        averaged["higher_is_better"] = True
        values = pd.concat([values, averaged], ignore_index=True)
    failed = store.query(
        f"""
        SELECT r.track, r.task, r.dataset, r.model, coalesce(r.method, '') AS method, count(*) AS failed
        FROM runs r WHERE r.status = 'failed' {where}
        GROUP BY ALL
        """,
        [track] if track else [],
    )
    board = values.merge(failed, on=GROUP, how="left")
    board["failed"] = board["failed"].fillna(0).astype(int)
    board["n"] = board["n"].astype(int)
    half = [_half_width(s, n, confidence) for s, n in zip(board["std"], board["n"])]
    board["ci_low"] = board["mean"] - half
    board["ci_high"] = board["mean"] + half
    board["rank"] = _ranks(board).astype("Int64")
    board["citation"] = None
    if split == "test":  # papers report test numbers
        board = pd.concat([board, _published(store, track)], ignore_index=True) if not board.empty else _published(store, track)
    signed = board["mean"].where(board["higher_is_better"].astype(bool), -board["mean"])
    order = board.assign(_signed=-signed).sort_values([*BOARD, "_signed", "model", "method"])
    return order.reset_index(drop=True)[LEADERBOARD_COLUMNS]


def _published(store: Store, track: str | None) -> pd.DataFrame:
    """Published reference rows as leaderboard rows: method ``published``, no n, no interval, no rank."""
    where, params = ("WHERE track = ?", [track]) if track else ("", [])
    rows = store.query(
        f"""
        SELECT track, task, dataset,
               CASE WHEN setting IS NULL THEN model ELSE model || ' (' || setting || ')' END AS model,
               'published' AS method, metric, value AS mean, higher_is_better, citation
        FROM published {where}
        """,
        params,
    )
    rows["std"] = rows["ci_low"] = rows["ci_high"] = float("nan")
    rows["n"] = 0
    rows["failed"] = 0
    rows["rank"] = pd.Series([pd.NA] * len(rows), dtype="Int64")
    return rows[LEADERBOARD_COLUMNS]


def failed_only(store: Store, track: str | None = None) -> pd.DataFrame:
    """Entries whose every run failed (they have no row on the leaderboard), with their last error."""
    where, params = ("AND track = ?", [track]) if track else ("", [])
    return store.query(
        f"""
        SELECT track, task, dataset, model, coalesce(method, '') AS method, count(*) AS failed,
               arg_max(error, started_at) AS last_error
        FROM runs GROUP BY ALL
        HAVING bool_and(status = 'failed') {where}
        ORDER BY ALL
        """,
        params,
    )


def _half_width(std: float, n: int, confidence: float) -> float:
    """Half the Student-t interval of a mean over ``n`` seeds (NaN with one seed: no interval)."""
    if n < 2 or std is None or math.isnan(std):
        return math.nan
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n))


def _ranks(board: pd.DataFrame) -> pd.Series:
    """Rank 1 is the best mean in each board, following the metric's direction; ties share the best rank."""
    signed = board["mean"].where(board["higher_is_better"], -board["mean"])
    return signed.groupby([board[c] for c in BOARD]).rank(method="min", ascending=False).astype(int)
