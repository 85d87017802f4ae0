"""The runs of a store, one row each, for ``podium runs``: listing with filters, and finding runs by
an id or a unique prefix of one."""
from __future__ import annotations

import pandas as pd

from leaderboard.filters import Filters
from leaderboard.store import Store

RUN_LIST_COLUMNS = ["run_id", "status", "track", "spec_name", "label", "model", "method", "seed", "reference", "started_at", "duration_s", "tags", "error"]


class RunNotFound(LookupError):
    """An id (or prefix) that matches no run, or more than one."""


def list_runs(store: Store, filters: Filters | None = None, status: str | None = None, seeds: tuple[int, ...] = ()) -> pd.DataFrame:
    """Runs passing the filters (and status and seeds), newest first, with their configuration's label and tags."""
    where, params = (filters or Filters()).runs_sql()
    if status is not None:
        where += " AND r.status = ?"
        params.append(status)
    if seeds:
        where += f" AND r.seed IN ({', '.join('?' * len(seeds))})"
        params += list(seeds)
    return store.query(
        f"""
        SELECT r.run_id, r.status, r.track, r.spec_name, c.label, r.model, coalesce(r.method, '') AS method, r.seed, r.reference,
               r.started_at, r.duration_s, coalesce((SELECT string_agg(t.tag, ',' ORDER BY t.tag) FROM tags t WHERE t.run_id = r.run_id), '') AS tags,
               r.error
        FROM runs r LEFT JOIN configs c USING (config_id)
        WHERE true {where}
        ORDER BY r.started_at DESC, r.run_id
        """,
        params,
    )[RUN_LIST_COLUMNS]


def find_run(store: Store, text: str) -> str:
    """The run id that ``text`` is, or uniquely begins (as git takes a short hash)."""
    matches = [row[0] for row in store.con.execute("SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY 1", [text]).fetchall()]
    if text in matches:
        return text
    if not matches:
        raise RunNotFound(f"no run {text!r} in this results folder (`podium runs` lists them)")
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise RunNotFound(f"{text!r} is the start of {len(matches)} run ids ({shown}): give more of it")
    return matches[0]
