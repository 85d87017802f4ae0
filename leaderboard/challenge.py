"""Challenge rankings over the store: per-case values of a track's runs as (algorithm x case)
matrices, ranked with their bootstrap stability (see ``leaderboard.ranking``).

An algorithm is one configuration (the runs whose resolved specs differ only in the seed), its
per-case values averaged over its seeds, shown by its label, model and method. References (a
distillation teacher) are not participants and are left out. Pooling configurations into coarser
algorithms (``group_by=["model", "method"]``) is something a caller asks for by name; such a
board says so (``Board.pooled``), and each algorithm how many configurations it holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from leaderboard.aggregate import GROUPINGS, check_grouping, entry_sql, name_pooled
from leaderboard.filters import Filters
from leaderboard.ranking import ONE_CASE, PODIUM, Method, MissingValues, Rules, Stability, TooFewCases, bootstrap, consensus, rank, tidy
from leaderboard.store import Store


class Algorithm(NamedTuple):
    """A ranked entry: a configuration (``entry`` is its config id) or a pooled row (``pooled:<hash>``)."""

    label: str
    model: str
    method: str
    entry: str
    configs: int = 1  # configurations it holds: 1, or more when pooled


@dataclass(frozen=True)
class Board:
    """One (task, dataset) of a track: its algorithms, their per-case values and the ranking's stability."""

    task: str
    dataset: str
    algorithms: list[Algorithm]
    values: np.ndarray  # (A, K), mean over seeds per case
    higher_is_better: bool
    stability: Stability
    pooled: tuple[str, ...] = ()  # the group_by fields when configurations were pooled on purpose; () per configuration
    ranked_by: str = "mean"  # the ranking method
    rules: Rules = PODIUM  # the rules it was ranked under

    @property
    def note(self) -> str:
        """What an algorithm is on this board, in one line."""
        if self.pooled:
            counts = [a.configs for a in self.algorithms]
            return (f"pooled by {','.join(self.pooled)}: each algorithm pools the configurations sharing its "
                    f"{' and '.join(self.pooled)} ({min(counts)} to {max(counts)} per algorithm); references left out")
        return "each algorithm is one configuration, its per-case values averaged over its seeds; references left out"

    def table(self) -> pd.DataFrame:
        """Rank, label, model, method (configs when pooled), mean value, the bootstrap rank distribution
        (median, 95% interval, share ranked first)."""
        frame = pd.DataFrame({
            "rank": self.stability.ranks, "label": [a.label for a in self.algorithms],
            "model": [a.model for a in self.algorithms], "method": [a.method for a in self.algorithms],
            **({"configs": [a.configs for a in self.algorithms]} if self.pooled else {}),
            "mean": _present_mean(self.values), **bootstrap_columns(self.stability),
        })
        return frame.sort_values(["rank", "label", "model", "method"]).reset_index(drop=True)


def _present_mean(values: np.ndarray) -> np.ndarray:
    """Each algorithm's mean over the cases it has (NaN when it has none)."""
    present = ~np.isnan(values)
    total = np.where(present, values, 0.0).sum(axis=1)
    count = present.sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def bootstrap_columns(stability: Stability) -> dict[str, object]:
    """The bootstrap rank distribution of each algorithm: median, 95% interval, how often first
    (alone or tied); "-" where the ranking was not resampled."""
    if not stability.resampled:
        blank = ["-"] * len(stability.ranks)
        return {"bootstrap median rank": blank, "95% rank interval": blank, "P(first)": blank}
    boot = stability.bootstrap_ranks
    low, median, high = np.percentile(boot, [2.5, 50, 97.5], axis=0)
    return {"bootstrap median rank": median, "95% rank interval": [f"[{lo:g}, {hi:g}]" for lo, hi in zip(low, high)],
            "P(first)": stability.first_share()}


def stability_of(values: np.ndarray, higher_is_better: bool, method: Method, resamples: int, seed: int, rules: Rules) -> Stability:
    """The ranking and its bootstrap; a single case is ranked but not resampled (challengeR refuses
    to bootstrap one case too)."""
    try:
        return bootstrap(values, higher_is_better, method, resamples=resamples, seed=seed, rules=rules)
    except TooFewCases:
        return Stability.unresampled(rank(values, higher_is_better, method, rules), ONE_CASE)


def challenge_boards(
    store: Store, track: str, metric: str, method: Method = "mean", resamples: int = 1000, seed: int = 0, *,
    group_by: Sequence[str] | None = None, rules: Rules = PODIUM,
) -> list[Board]:
    """Every (task, dataset) of ``track`` whose competing runs stored per-case ``metric`` values for
    two or more algorithms, ranked under ``rules``. ``group_by`` (fields of ``leaderboard.aggregate.GROUPINGS``:
    spec, model, method) pools configurations; ``GroupingError`` names an unknown field;
    ``MissingValues`` when a board has missing results the rules refuse."""
    fields = check_grouping(group_by)
    cases = case_values(store, Filters(track=track, metrics=(metric,)), fields)
    entries = cases.entries[cases.entries["metric"] == metric]  # not its per-class parts
    direction = store.value("SELECT higher_is_better FROM metric_info WHERE metric = ?", [metric])
    higher = True if direction is None else bool(direction)
    boards = []
    for (task, dataset), rows in entries.groupby(["task", "dataset"], sort=True):
        if len(rows) < 2:
            continue
        rows = rows.assign(label=rows["label"].fillna(rows["entry"])).sort_values("entry")
        algorithms = [Algorithm(str(a.label), str(a.model), str(a.method), str(a.entry), int(a.configs)) for a in rows.itertuples(index=False)]
        values = cases.matrix(rows["id"])
        try:
            stability = stability_of(values, higher, method, resamples, seed, rules)
        except MissingValues as err:
            raise MissingValues(f"{task} / {dataset} / {metric}: {err}") from None
        boards.append(Board(task, dataset, algorithms, values, higher, stability, tuple(fields), method, rules))
    return boards


@dataclass(frozen=True)
class CaseValues:
    """The per-case values of a store's competing entries. ``entries``: one row per (track, task,
    dataset, metric, entry) with the entry's label, model, method, spec_name, configs and ``id``;
    ``ids``, ``cases``, ``values``: one per (entry, case), sorted by id then case, the value the
    mean over the entry's runs (its seeds; every pooled run of a pooled row)."""

    entries: pd.DataFrame
    ids: np.ndarray
    cases: np.ndarray
    values: np.ndarray

    def matrix(self, ids: Sequence[int]) -> np.ndarray:
        """The (len(ids) x cases) values of these entries, over the cases any of them has; NaN where one lacks a case."""
        wanted = np.asarray(ids, dtype=np.int64)
        starts, ends = np.searchsorted(self.ids, wanted, "left"), np.searchsorted(self.ids, wanted, "right")
        take = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)]) if len(wanted) else np.empty(0, dtype=np.int64)
        case_ids, column = np.unique(self.cases[take], return_inverse=True)
        matrix = np.full((len(wanted), len(case_ids)), np.nan)
        matrix[np.repeat(np.arange(len(wanted)), ends - starts), column] = self.values[take]
        return matrix


def case_values(store: Store, filters: Filters, fields: Sequence[str] = ()) -> CaseValues:
    """The per-case values of the competing runs ``filters`` keep (successful, not references), per
    entry as ``leaderboard.aggregate.entry_sql`` makes them (``fields``: pooled). Challenge rankings
    and the significance of board ties read the store here.

    Two queries: the entries (small), and the values as numbers only, each run numbered by the same
    dense rank of (track, task, dataset, metric, entry key) as its entry, so no text is fetched or
    grouped per case."""
    fields = list(fields)
    where, params = filters.runs_sql()
    metrics, metric_params = filters.metrics_sql("k.metric")
    keys = ["entry"] if not fields else ["spec_name" if f == "spec" else f for f in fields]
    key_order = "r.config_id" if not fields else ", ".join(f"coalesce(r.{GROUPINGS[f]}, '')" for f in fields)  # the keys, per run
    order = ", ".join(["track", "task", "dataset", "metric", *keys])
    runs = f"r.status = 'ok' AND NOT coalesce(r.reference, false) {where}"
    entries = store.query(
        f"""
        SELECT *, dense_rank() OVER (ORDER BY {order}) - 1 AS id FROM (
            SELECT r.track, r.task, r.dataset, k.metric, {entry_sql(fields)}, count(DISTINCT r.config_id) AS configs
            FROM runs r JOIN (SELECT DISTINCT run_id, metric FROM cases k WHERE true {metrics}) k USING (run_id)
            LEFT JOIN configs c USING (config_id)
            WHERE {runs}
            GROUP BY ALL
        ) ORDER BY id
        """,
        [*metric_params, *params],
    )
    values = store.con.execute(
        f"""
        WITH kept AS (
            SELECT r.*, k.metric FROM runs r JOIN (SELECT DISTINCT run_id, metric FROM cases k WHERE true {metrics}) k USING (run_id)
            WHERE {runs}
        ), numbered AS (
            SELECT run_id, metric, dense_rank() OVER (ORDER BY track, task, dataset, metric, {key_order}) - 1 AS id FROM kept r
        )
        SELECT n.id, k.case_id, avg(k.value) AS value FROM cases k JOIN numbered n USING (run_id, metric)
        GROUP BY ALL ORDER BY ALL
        """,
        [*metric_params, *params],
    ).fetchnumpy()
    if fields and not entries.empty:
        name_pooled(entries, fields)
    return CaseValues(entries, np.asarray(values["id"], dtype=np.int64), np.asarray(values["case_id"], dtype=np.int64),
                      np.asarray(values["value"], dtype=float))


def consensus_table(boards: list[tuple[str, Board]]) -> pd.DataFrame:
    """One ranking from several (metric, board) rankings: each algorithm's mean rank over them,
    ranked (a consensus, as challengeR merges tasks); an algorithm absent from a board takes that
    board's worst rank plus one, as a missing result counts worst.

    Algorithms are matched by their entry: a configuration is the same on every metric of its task
    and dataset (a dataset is part of a configuration, so another dataset holds other ones); a
    pooled algorithm is the same wherever its pooled values are (one model and method across datasets)."""
    known: dict[str, Algorithm] = {}
    for _, board in boards:
        for algorithm in board.algorithms:
            known.setdefault(algorithm.entry, algorithm)
    algorithms = sorted(known.values())
    rankings, columns = [], {}
    for metric, board in boards:
        position = {a.entry: r for a, r in zip(board.algorithms, board.stability.ranks)}
        worst = len(board.algorithms) + 1
        ranks = np.array([position.get(a.entry, worst) for a in algorithms], dtype=float)
        rankings.append(ranks)
        columns[f"{board.task}/{board.dataset}/{metric}"] = tidy(ranks)
    frame = pd.DataFrame({"rank": consensus(rankings), "label": [a.label for a in algorithms], "model": [a.model for a in algorithms],
                          "method": [a.method for a in algorithms], "mean rank": np.mean(rankings, axis=0), **columns})
    return frame.sort_values(["rank", "label", "model", "method"]).reset_index(drop=True)
