"""Leaderboards: per board (track, task, dataset, metric) and entry, the mean over seeds, its standard
deviation, n, a 95% interval and the rank. Which entries a test cannot tell apart (``tied``,
``tied_with``) is ``leaderboard.significance``'s, over these rows.

An entry is one configuration: the runs whose resolved specs differ only in the seed (``config_id``).
Pooling configurations into coarser rows (``group_by=["model", "method"]``) is something a caller
asks for by name; each such row says how many configurations it pooled.

The interval is Student's t over seeds, clipped to the metric's range (an accuracy's [0, 1]): the
mean of a bounded metric lies inside its bounds, so cutting the part of the interval outside them
keeps its coverage and keeps it centred on the mean it reports; no transformation is needed, so a
seed at the bound (accuracy 1.0) needs no special case. References (a distillation teacher,
published rows) stand on their boards unranked and are never a board's leader.

The statistics come from one DuckDB query per call; intervals and ranks are vectorised over its
result.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from leaderboard.benchmarks import glue_average_values
from leaderboard.filters import Filters
from leaderboard.store import Store
from specs.hashing import stable_hash

BOARD = ["track", "task", "dataset", "metric"]
LEADERBOARD_COLUMNS = [
    *BOARD, "entry", "label", "spec_name", "model", "method", "reference", "configs", "mean", "std", "n", "ci_low", "ci_high",
    "rank", "higher_is_better", "failed", "citation",
]
INTERVAL = "95% CI: Student t over seeds, clipped to the metric's range"
GROUPINGS = {"spec": "spec_name", "model": "model", "method": "method"}  # --group-by fields -> run columns


class GroupingError(ValueError):
    """An unknown ``--group-by`` field."""


def check_grouping(group_by: Sequence[str] | None) -> list[str]:
    """The grouping fields, or ``GroupingError`` naming an unknown one."""
    fields = list(group_by or [])
    unknown = [f for f in fields if f not in GROUPINGS]
    if unknown:
        raise GroupingError(f"--group-by {','.join(fields)}: unknown field {unknown[0]!r} (expected some of: {', '.join(GROUPINGS)})")
    return fields


def leaderboard(
    store: Store, track: str | None = None, split: str = "test", confidence: float = 0.95, *,
    filters: Filters | None = None, group_by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The leaderboard of ``split`` as a DataFrame with ``LEADERBOARD_COLUMNS``: each board's
    competitors best first, then its references.

    Failed runs are left out of every statistic; ``failed`` counts them per entry. Published
    reference rows (test split only) stand beside the runs with method ``published`` and their
    citation; they never enter the runs' statistics."""
    filters = filters or Filters(track=track)
    fields = check_grouping(group_by)
    where, params = filters.runs_sql()
    keys = entry_sql(fields)
    values = store.query(
        f"""
        SELECT r.track, r.task, r.dataset, m.metric, {keys}, r.reference,
               count(DISTINCT r.config_id) AS configs, avg(m.value) AS mean, stddev_samp(m.value) AS std, count(*) AS n,
               coalesce(bool_and(i.higher_is_better), true) AS higher_is_better, any_value(i.lower) AS lower, any_value(i.upper) AS upper
        FROM runs r JOIN metrics m USING (run_id) LEFT JOIN metric_info i USING (metric) LEFT JOIN configs c USING (config_id)
        WHERE r.status = 'ok' AND m.split = ? {where}
        GROUP BY ALL
        """,
        [split, *params],
    )
    glue = _glue_rows(glue_average_values(store, split, filters), fields)
    if not glue.empty:
        values = pd.concat([values, glue], ignore_index=True) if not values.empty else glue
    values = values[filters.keeps_metric(values["metric"])] if not values.empty else values
    failed = store.query(
        f"""
        SELECT r.track, r.task, r.dataset, {keys}, r.reference, count(*) AS failed
        FROM runs r LEFT JOIN configs c USING (config_id)
        WHERE r.status = 'failed' {where}
        GROUP BY ALL
        """,
        params,
    )
    board = _entries(values, failed, fields)
    board = _intervals(board, confidence)
    board["citation"] = None
    if split == "test":  # papers report test numbers
        published = _published(store, filters)
        board = pd.concat([board, published], ignore_index=True) if not board.empty else published
    board = _ranked(board)
    return _ordered(board)[LEADERBOARD_COLUMNS]


def entry_sql(fields: list[str]) -> str:
    """SELECT expressions of an entry's identity columns (entry, label, model, method, spec_name) over
    runs ``r`` joined to configs ``c``: the configuration, or the pooled fields (``*`` where a pooled
    row mixes values of a field it is not grouped by). Pooled rows get their entry and label from
    ``name_pooled``. Group the query with ``GROUP BY ALL``."""
    if not fields:
        return "r.config_id AS entry, any_value(c.label) AS label, any_value(r.model) AS model, coalesce(any_value(r.method), '') AS method, any_value(r.spec_name) AS spec_name"
    chosen = {name: f"coalesce(r.{column}, '')" for name, column in GROUPINGS.items() if name in fields}
    others = {name: f"CASE WHEN count(DISTINCT coalesce(r.{column}, '')) = 1 THEN any_value(coalesce(r.{column}, '')) ELSE '*' END"
              for name, column in GROUPINGS.items() if name not in fields}
    columns = [f"{expr} AS {name if name != 'spec' else 'spec_name'}" for name, expr in {**chosen, **others}.items()]
    return "NULL AS entry, NULL AS label, " + ", ".join(columns)


def _entries(values: pd.DataFrame, failed: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """Join the failed counts to the value rows; pooled rows get an id and a label from their fields."""
    by = ["track", "task", "dataset", "reference", *(["entry"] if not fields else ["spec_name" if f == "spec" else f for f in fields])]
    if fields:
        for frame in (values, failed):
            name_pooled(frame, fields)
    board = values.merge(failed[[*by, "failed"]], on=by, how="left") if not values.empty else values.assign(failed=0)
    board["failed"] = board["failed"].fillna(0).astype(int)
    board["n"] = board["n"].astype(int)
    board["configs"] = board["configs"].astype(int)
    return board


def name_pooled(frame: pd.DataFrame, fields: list[str]) -> None:
    """Give pooled rows (``fields`` of ``GROUPINGS``) their entry, ``pooled:<hash of the field values>``
    (the same wherever those values are, e.g. one model and method on several datasets), and their
    label, the values joined by spaces."""
    names = list(zip(*(frame["spec_name" if f == "spec" else f].astype(str) for f in fields)))
    hashed = {parts: "pooled:" + stable_hash(list(parts), 12) for parts in set(names)}  # once per row of values, not per row
    frame["label"] = [" ".join(parts) for parts in names]
    frame["entry"] = [hashed[parts] for parts in names]


def _intervals(board: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Student-t intervals over seeds (none with one seed), clipped to each metric's bounds."""
    from scipy import special  # here, not at import; scipy.special (stats.t.ppf's own function) spares loading scipy.stats

    n = board["n"].to_numpy(dtype=float)
    std = board["std"].to_numpy(dtype=float)
    quantile = np.full(len(board), np.nan)
    several = n >= 2
    quantile[several] = special.stdtrit(n[several] - 1, 0.5 + confidence / 2)
    with np.errstate(invalid="ignore"):
        half = quantile * std / np.sqrt(n)
    mean = board["mean"].to_numpy(dtype=float)
    lower = board["lower"].to_numpy(dtype=float) if "lower" in board else np.full(len(board), np.nan)
    upper = board["upper"].to_numpy(dtype=float) if "upper" in board else np.full(len(board), np.nan)
    low, high = mean - half, mean + half
    board["ci_low"] = np.where(np.isnan(lower), low, np.maximum(low, lower))  # NaN (no interval) stays NaN
    board["ci_high"] = np.where(np.isnan(upper), high, np.minimum(high, upper))
    return board


def _ranked(board: pd.DataFrame) -> pd.DataFrame:
    """Rank 1 is the best competitor of each board, following the metric's direction (ties share the
    best rank); references get no rank."""
    board["reference"] = board["reference"].fillna(False).astype(bool)
    board["higher_is_better"] = board["higher_is_better"].astype(bool)
    signed = board["mean"].where(board["higher_is_better"], -board["mean"])
    competing = ~board["reference"]
    ranks = signed[competing].groupby([board.loc[competing, c] for c in BOARD]).rank(method="min", ascending=False)
    board["rank"] = pd.Series(pd.NA, index=board.index, dtype="Int64")
    board.loc[competing, "rank"] = ranks.astype(int)
    return board


def _ordered(board: pd.DataFrame) -> pd.DataFrame:
    """Boards in name order; in each, competitors by rank then label, then references best first."""
    signed = board["mean"].where(board["higher_is_better"], -board["mean"])
    order = board.assign(_ref=board["reference"].astype(int), _signed=-signed, _label=board["label"].fillna(""))
    return order.sort_values([*BOARD, "_ref", "_signed", "_label", "model", "method"], kind="stable").reset_index(drop=True)


def _glue_rows(per_seed: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """GLUE scores per seed aggregated like the query's rows (by configuration, or pooled)."""
    if per_seed.empty:
        return pd.DataFrame()
    by = ["track", "task", "dataset", "metric", "reference", *(["entry", "label", "model", "method", "spec_name"] if not fields else
                                                               ["spec_name" if f == "spec" else f for f in fields])]
    rows = per_seed.groupby(by, as_index=False, dropna=False).agg(
        mean=("value", "mean"), std=("value", lambda v: v.std(ddof=1)), n=("value", "count"), configs=("entry", "nunique"),
    )
    rows["higher_is_better"] = True
    rows["lower"], rows["upper"] = -1.0, 1.0  # a mean of accuracies, F1s and correlations
    for name, column in GROUPINGS.items():
        if column not in rows:
            rows[column] = "*"
    if fields:
        rows["entry"] = rows["label"] = None
    return rows


def _published(store: Store, filters: Filters) -> pd.DataFrame:
    """Published reference rows as leaderboard rows: method ``published``, no n, no interval, no rank."""
    conditions, params = [], []
    if filters.track is not None:
        conditions.append("track = ?")
        params.append(filters.track)
    for column, values in (("dataset", filters.datasets), ("model", filters.models)):
        if values:
            conditions.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += list(values)
    if filters.methods and "published" not in filters.methods or filters.tags or filters.specs:
        conditions.append("false")  # published rows carry no method but 'published', no tags, no spec
    where = "WHERE " + " AND ".join(conditions) if conditions else ""
    rows = store.query(
        f"""
        SELECT track, task, dataset, metric, source,
               CASE WHEN setting IS NULL THEN model ELSE model || ' (' || setting || ')' END AS model,
               'published' AS method, value AS mean, higher_is_better, citation
        FROM published {where}
        """,
        params,
    )
    rows = rows[filters.keeps_metric(rows["metric"])] if not rows.empty else rows
    rows["entry"] = ["published:" + stable_hash([s, m], 12) for s, m in zip(rows["source"], rows["model"])]
    rows["label"] = rows["model"]
    rows["spec_name"] = None
    rows["reference"] = True
    rows["configs"] = 0
    rows["std"] = rows["ci_low"] = rows["ci_high"] = float("nan")
    rows["n"] = 0
    rows["failed"] = 0
    return rows.drop(columns=["source"])


def failed_only(store: Store, track: str | None = None, filters: Filters | None = None) -> pd.DataFrame:
    """Configurations whose every run failed (they have no row on the leaderboard), with their last error."""
    filters = filters or Filters(track=track)
    where, params = filters.runs_sql()
    return store.query(
        f"""
        SELECT r.track, r.task, r.dataset, r.config_id AS entry, any_value(c.label) AS label, any_value(r.model) AS model,
               coalesce(any_value(r.method), '') AS method, count(*) AS failed, arg_max(r.error, r.started_at) AS last_error
        FROM runs r LEFT JOIN configs c USING (config_id)
        WHERE true {where}
        GROUP BY r.track, r.task, r.dataset, r.config_id
        HAVING bool_and(r.status = 'failed')
        ORDER BY ALL
        """,
        params,
    )
