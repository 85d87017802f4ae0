"""Challenge rankings over the store: per-case values of a track's runs as (algorithm x case)
matrices, ranked with their bootstrap stability (see ``leaderboard.ranking``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from leaderboard.ranking import Method, Stability, bootstrap, consensus
from leaderboard.store import Store


@dataclass(frozen=True)
class Board:
    """One (task, dataset) of a track: its algorithms, their per-case values and the ranking's stability."""

    task: str
    dataset: str
    algorithms: list[tuple[str, str]]  # (model, method)
    values: np.ndarray  # (A, K), mean over seeds per case
    higher_is_better: bool
    stability: Stability

    def table(self) -> pd.DataFrame:
        """Rank, mean value, the bootstrap rank distribution (median, 95% interval, share ranked first)."""
        boot = self.stability.bootstrap_ranks
        low, median, high = np.percentile(boot, [2.5, 50, 97.5], axis=0)
        frame = pd.DataFrame({
            "rank": self.stability.ranks, "model": [a[0] for a in self.algorithms], "method": [a[1] for a in self.algorithms],
            "mean": np.nanmean(self.values, axis=1), "bootstrap median rank": median,
            "95% rank interval": [f"[{lo:g}, {hi:g}]" for lo, hi in zip(low, high)], "P(first)": (boot == 1).mean(axis=0),
        })
        return frame.sort_values(["rank", "model", "method"]).reset_index(drop=True)


def challenge_boards(store: Store, track: str, metric: str, method: Method = "mean", resamples: int = 1000, seed: int = 0) -> list[Board]:
    """Every (task, dataset) of ``track`` whose runs stored per-case ``metric`` values, ranked."""
    cases = store.query(
        """
        SELECT r.task, r.dataset, r.model, coalesce(r.method, '') AS method, c.case_id, avg(c.value) AS value
        FROM runs r JOIN cases c USING (run_id)
        WHERE r.status = 'ok' AND r.track = ? AND c.metric = ?
        GROUP BY ALL
        """,
        [track, metric],
    )
    direction = store.con.execute("SELECT higher_is_better FROM metric_info WHERE metric = ?", [metric]).fetchone()
    higher = True if direction is None else bool(direction[0])
    boards = []
    for (task, dataset), rows in cases.groupby(["task", "dataset"], sort=True):
        matrix = rows.pivot_table(index=["model", "method"], columns="case_id", values="value")  # missing cases -> NaN
        if len(matrix) < 2:
            continue
        values = matrix.to_numpy(float)
        stability = bootstrap(values, higher, method, resamples=resamples, seed=seed)
        boards.append(Board(task, dataset, list(matrix.index), values, higher, stability))
    return boards


def consensus_table(boards: list[tuple[str, Board]]) -> pd.DataFrame:
    """One ranking from several (metric, board) rankings: each algorithm's mean rank over them,
    ranked (a consensus, as challengeR merges tasks); an algorithm absent from a board takes that
    board's worst rank plus one, as a missing result counts worst."""
    algorithms = sorted({a for _, board in boards for a in board.algorithms})
    rankings, columns = [], {}
    for metric, board in boards:
        position = dict(zip(board.algorithms, board.stability.ranks))
        worst = len(board.algorithms) + 1
        ranks = np.array([position.get(a, worst) for a in algorithms], dtype=float)
        rankings.append(ranks)
        columns[f"{board.task}/{board.dataset}/{metric}"] = ranks.astype(int)
    frame = pd.DataFrame({"rank": consensus(rankings), "model": [a[0] for a in algorithms], "method": [a[1] for a in algorithms],
                          "mean rank": np.mean(rankings, axis=0), **columns})
    return frame.sort_values(["rank", "model", "method"]).reset_index(drop=True)
