"""The results store: one DuckDB file fed from run records (``runs/*/record.json``).

Only one process may write a DuckDB file at a time, so runs never write the database: they
write record files, and whoever holds the store ingests them. Ingestion replaces a run's rows
in one transaction, so ingesting the same record twice changes nothing.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from specs.published import PublishedTable
from specs.record import RunRecord, record_files

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    spec_name VARCHAR, track VARCHAR, task VARCHAR, dataset VARCHAR, model VARCHAR, method VARCHAR,
    seed INTEGER, status VARCHAR, error VARCHAR, started_at TIMESTAMPTZ, duration_s DOUBLE,
    device VARCHAR, git_commit VARCHAR, spec_json VARCHAR, env_json VARCHAR, info_json VARCHAR,
    record_mtime DOUBLE
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id VARCHAR, split VARCHAR, metric VARCHAR, value DOUBLE,
    PRIMARY KEY (run_id, split, metric)
);
CREATE TABLE IF NOT EXISTS metric_info (metric VARCHAR PRIMARY KEY, higher_is_better BOOLEAN);
CREATE TABLE IF NOT EXISTS cases (run_id VARCHAR, case_id INTEGER, metric VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS published (
    source VARCHAR, track VARCHAR, task VARCHAR, dataset VARCHAR, model VARCHAR, setting VARCHAR,
    metric VARCHAR, value DOUBLE, higher_is_better BOOLEAN, citation VARCHAR
);
"""


class StoreLocked(RuntimeError):
    """Another process holds the database file."""


class Store:
    """An open connection to ``podium.duckdb`` with the schema in place; use as a context manager."""

    def __init__(self, path: str | Path, read_only: bool = False, wait_s: float = 10.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        read_only = read_only and self.path.exists()  # before connecting: a writable connection creates the file
        self.con = _connect(self.path, read_only, wait_s)
        if not read_only:
            self.con.execute(SCHEMA)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def ingest(self, records: Iterable[tuple[RunRecord, float]]) -> int:
        """Insert or replace each (record, file mtime); returns how many were written."""
        count = 0
        self.con.execute("BEGIN TRANSACTION")
        try:
            for record, mtime in records:
                self._ingest_one(record, mtime)
                count += 1
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return count

    def _ingest_one(self, record: RunRecord, mtime: float) -> None:
        self.con.execute("DELETE FROM metrics WHERE run_id = ?", [record.run_id])
        self.con.execute("DELETE FROM cases WHERE run_id = ?", [record.run_id])
        self.con.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.run_id, record.spec_name, record.track, record.task, record.dataset, record.model,
                record.method, record.seed, record.status, record.error, record.started_at, record.duration_s,
                record.device, record.git_commit, json.dumps(record.spec, sort_keys=True),
                json.dumps(record.provenance, sort_keys=True), json.dumps(record.info, sort_keys=True), mtime,
            ],
        )
        rows = [(record.run_id, split, metric, value) for split, values in record.metrics.items() for metric, value in values.items()]
        if rows:
            self.con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?)", rows)
        if record.cases:  # per-test-case values, for challenge rankings
            import pandas as pd

            frame = pd.DataFrame([(record.run_id, i, metric, v) for metric, values in record.cases.items() for i, v in enumerate(values)],
                                 columns=["run_id", "case_id", "metric", "value"])
            self.con.register("new_cases", frame)
            self.con.execute("INSERT INTO cases SELECT * FROM new_cases")
            self.con.unregister("new_cases")
        for metric, higher in record.higher_is_better.items():
            self.con.execute("INSERT OR REPLACE INTO metric_info VALUES (?, ?)", [metric, higher])

    def ingest_published(self, table: PublishedTable, source: str) -> int:
        """Replace the published rows that came from ``source`` (a file path) with ``table``'s."""
        rows = [
            (source, table.track, r.task, r.dataset, r.model, r.setting, r.metric, r.value, r.higher_is_better, table.citation)
            for r in table.rows
        ]
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute("DELETE FROM published WHERE source = ?", [source])
            self.con.executemany("INSERT INTO published VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        return len(rows)

    def sync(self, results_dir: str | Path, on_invalid: Callable[[str], None] | None = None) -> int:
        """Ingest every record under ``results_dir/runs`` that is new or changed since last time.

        An unreadable record raises ``ValueError`` naming its file; with ``on_invalid`` it is
        reported there instead and skipped, so one bad file does not hide the other results."""
        known = dict(self.con.execute("SELECT run_id, record_mtime FROM runs").fetchall())
        pending = []
        for path in record_files(results_dir):
            mtime = path.stat().st_mtime
            if known.get(path.parent.name) == mtime:
                continue
            try:
                record = RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
            except ValueError as err:
                message = f"{path}: not a valid run record: {str(err).splitlines()[0]}"
                if on_invalid is None:
                    raise ValueError(message) from None
                on_invalid(message)
                continue
            pending.append((record, mtime))
        return self.ingest(pending) if pending else 0

    def query(self, sql: str, params: list | None = None):
        """A pandas DataFrame of ``sql``."""
        return self.con.execute(sql, params or []).df()


def _connect(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Connect, waiting up to ``wait_s`` while another process holds the file's lock."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower():
                raise
            if time.monotonic() > deadline:
                raise StoreLocked(f"{path} is in use by another process: {str(err).splitlines()[0]}") from None
            time.sleep(0.2)
