"""The results store: one DuckDB file derived from the records of a results folder.

Only one process may write a DuckDB file at a time, so runs never write the database: they write
record files (``runs/<run_id>/record.json``), and whoever holds the store ingests them. The store
follows the folder: ``sync`` ingests new and changed records, drops runs whose record folder is
gone, and reads each run's tags (``runs/<run_id>/tags.json``) and the published results a sweep
kept (``published/*.json``). Everything in it can be rebuilt from those files, so a database of an
older schema, or one that cannot be opened, is rebuilt rather than being fatal.
"""
from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import pandas as pd

from specs.identity import config_labels
from specs.published import PublishedTable
from specs.record import TAGS_FILE, RunRecord, read_tags, record_files

SCHEMA_VERSION = 2  # 2: configurations, references, metric bounds, tags
SCHEMA = """
CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, config_id VARCHAR,
    spec_name VARCHAR, track VARCHAR, task VARCHAR, dataset VARCHAR, model VARCHAR, method VARCHAR,
    seed INTEGER, reference BOOLEAN, status VARCHAR, error VARCHAR, started_at TIMESTAMPTZ, duration_s DOUBLE,
    device VARCHAR, git_commit VARCHAR, spec_json VARCHAR, env_json VARCHAR, info_json VARCHAR,
    record_mtime DOUBLE, tags_mtime DOUBLE
);
CREATE TABLE IF NOT EXISTS configs (config_id VARCHAR PRIMARY KEY, track VARCHAR, spec_name VARCHAR, reference BOOLEAN, label VARCHAR);
CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR, split VARCHAR, metric VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS metric_info (metric VARCHAR PRIMARY KEY, higher_is_better BOOLEAN, lower DOUBLE, upper DOUBLE);
CREATE TABLE IF NOT EXISTS cases (run_id VARCHAR, case_id INTEGER, metric VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS tags (run_id VARCHAR, tag VARCHAR);
CREATE TABLE IF NOT EXISTS published (
    source VARCHAR, track VARCHAR, task VARCHAR, dataset VARCHAR, model VARCHAR, setting VARCHAR,
    metric VARCHAR, value DOUBLE, higher_is_better BOOLEAN, citation VARCHAR
);
"""
RUN_COLUMNS = [
    "run_id", "config_id", "spec_name", "track", "task", "dataset", "model", "method", "seed", "reference", "status", "error",
    "started_at", "duration_s", "device", "git_commit", "spec_json", "env_json", "info_json", "record_mtime", "tags_mtime",
]
PUBLISHED_FOLDER = "published"


class StoreLocked(RuntimeError):
    """Another process holds the database file."""


class Store:
    """An open connection to ``podium.duckdb`` with the current schema in place; use as a context manager.

    ``rebuilt`` says the file was of an older schema or unreadable and was started afresh: the
    caller's ``sync`` fills it again from the records."""

    def __init__(self, path: str | Path, read_only: bool = False, wait_s: float = 10.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        read_only = read_only and self.path.exists()  # before connecting: a writable connection creates the file
        self.rebuilt = False
        self.con: duckdb.DuckDBPyConnection | None = None
        try:
            self.con = _connect(self.path, read_only, wait_s)
            current = self._schema_version()
        except duckdb.Error:  # not a database this DuckDB can read (damaged, or written by a newer one)
            current = -1
        if current not in (None, SCHEMA_VERSION) and not read_only:
            self._start_afresh()
        if not read_only:
            self.con.execute(SCHEMA)
            self.con.execute("INSERT OR REPLACE INTO store_info VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def _schema_version(self) -> int | None:
        """The file's schema version; None for a new, empty file; 1 for files from before versions were kept."""
        tables = {row[0] for row in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if not tables:
            return None
        if "store_info" not in tables:
            return 1
        row = self.con.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 1

    def _start_afresh(self) -> None:
        if self.con is not None:
            with contextlib.suppress(duckdb.Error):
                self.con.close()
        for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
            leftover.unlink(missing_ok=True)
        self.con = _connect(self.path, False, 0)
        self.rebuilt = True

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # ------------------------------------------------------------------ writing
    def ingest(self, records: Iterable[tuple[RunRecord, float]], tags: dict[str, tuple[list[str], float | None]] | None = None) -> int:
        """Insert or replace each (record, record file mtime) in one transaction; returns how many.
        ``tags`` (run id -> (tags, tags file mtime)) replaces those runs' tags."""
        batch = list({record.run_id: (record, mtime) for record, mtime in records}.values())  # a run listed twice: the last
        if not batch:
            return 0
        tags = tags or {}
        runs = pd.DataFrame([_run_row(record, mtime, tags.get(record.run_id, ([], None))[1]) for record, mtime in batch], columns=RUN_COLUMNS)
        runs["started_at"] = pd.to_datetime(runs["started_at"], utc=True, format="ISO8601")
        metrics = pd.DataFrame(
            [(r.run_id, split, metric, value) for r, _ in batch for split, values in r.metrics.items() for metric, value in values.items()],
            columns=["run_id", "split", "metric", "value"],
        )
        cases = pd.DataFrame(
            [(r.run_id, i, metric, v) for r, _ in batch for metric, values in r.cases.items() for i, v in enumerate(values)],
            columns=["run_id", "case_id", "metric", "value"],
        )
        info: dict[str, tuple[bool, float | None, float | None]] = {}
        for record, _ in batch:
            for metric, higher in record.higher_is_better.items():
                lower, upper = record.bounds.get(metric, (None, None))
                info[metric] = (higher, lower, upper)
        metric_info = pd.DataFrame([(m, *v) for m, v in info.items()], columns=["metric", "higher_is_better", "lower", "upper"])
        tag_rows = pd.DataFrame([(run, tag) for run, (names, _) in tags.items() for tag in names], columns=["run_id", "tag"])
        frames = {"new_runs": runs, "new_metrics": metrics, "new_cases": cases, "new_info": metric_info, "new_tags": tag_rows}
        for name, frame in frames.items():
            self.con.register(name, frame)
        try:
            with self._transaction():
                for table in ("metrics", "cases", "runs"):
                    self.con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT run_id FROM new_runs)")
                self.con.execute("DELETE FROM tags WHERE run_id IN (SELECT run_id FROM new_runs)")
                self.con.execute(f"INSERT INTO runs SELECT {', '.join(RUN_COLUMNS)} FROM new_runs")
                self.con.execute("INSERT INTO metrics SELECT run_id, split, metric, value FROM new_metrics")
                self.con.execute("INSERT INTO cases SELECT run_id, case_id, metric, value FROM new_cases")
                self.con.execute("INSERT OR REPLACE INTO metric_info SELECT metric, higher_is_better, lower, upper FROM new_info")
                self.con.execute("INSERT INTO tags SELECT run_id, tag FROM new_tags")
                self._relabel(runs[["track", "spec_name", "reference"]].drop_duplicates().itertuples(index=False))
        finally:
            for name in frames:
                self.con.unregister(name)
        return len(batch)

    def remove(self, run_ids: Iterable[str]) -> int:
        """Drop runs (their metrics, cases and tags) from the store; returns how many were there."""
        gone = pd.DataFrame({"run_id": sorted(set(run_ids))})
        if gone.empty:
            return 0
        self.con.register("gone", gone)
        try:
            with self._transaction():
                groups = self.con.execute(
                    "SELECT DISTINCT track, spec_name, reference FROM runs WHERE run_id IN (SELECT run_id FROM gone)"
                ).fetchall()
                count = self.con.execute("SELECT count(*) FROM runs WHERE run_id IN (SELECT run_id FROM gone)").fetchone()[0]
                for table in ("metrics", "cases", "tags", "runs"):
                    self.con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT run_id FROM gone)")
                self._relabel(groups)
        finally:
            self.con.unregister("gone")
        return int(count)

    def set_tags(self, run_id: str, tags: list[str], mtime: float | None) -> None:
        """Replace one run's tags (the caller has written them to its ``tags.json``)."""
        with self._transaction():
            self.con.execute("DELETE FROM tags WHERE run_id = ?", [run_id])
            if tags:
                self.con.executemany("INSERT INTO tags VALUES (?, ?)", [(run_id, tag) for tag in tags])
            self.con.execute("UPDATE runs SET tags_mtime = ? WHERE run_id = ?", [mtime, run_id])

    def _relabel(self, groups: Iterable[tuple[str, str, bool]]) -> None:
        """Recompute the labels of every configuration in the given (track, spec name, reference)
        groups: a label names what distinguishes a configuration from its siblings."""
        for track, spec_name, reference in groups:
            rows = self.con.execute(
                "SELECT config_id, any_value(spec_json) FROM runs WHERE track = ? AND spec_name = ? AND reference = ? GROUP BY config_id",
                [track, spec_name, bool(reference)],
            ).fetchall()
            self.con.execute("DELETE FROM configs WHERE track = ? AND spec_name = ? AND reference = ?", [track, spec_name, bool(reference)])
            labels = config_labels(spec_name, {config: json.loads(spec) for config, spec in rows})
            if labels:
                self.con.executemany(
                    "INSERT OR REPLACE INTO configs VALUES (?, ?, ?, ?, ?)",
                    [(config, track, spec_name, bool(reference), label) for config, label in labels.items()],
                )

    def ingest_published(self, table: PublishedTable, source: str) -> int:
        """Replace the published rows that came from ``source`` (a file path) with ``table``'s."""
        rows = [
            (source, table.track, r.task, r.dataset, r.model, r.setting, r.metric, r.value, r.higher_is_better, table.citation)
            for r in table.rows
        ]
        with self._transaction():
            self.con.execute("DELETE FROM published WHERE source = ?", [source])
            self.con.executemany("INSERT INTO published VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def sync(self, results_dir: str | Path, on_invalid: Callable[[str], None] | None = None) -> int:
        """Make the store match the folder: ingest every record that is new or changed since last
        time (or whose tags changed), drop runs whose record is gone, reload the kept published
        results. Returns how many records were ingested.

        An unreadable record raises ``ValueError`` naming its file; with ``on_invalid`` it is
        reported there instead and skipped (its earlier rows, if any, stay), so one bad file does
        not hide the other results."""
        known = {run: (mtime, tags) for run, mtime, tags in self.con.execute("SELECT run_id, record_mtime, tags_mtime FROM runs").fetchall()}
        pending: list[tuple[RunRecord, float]] = []
        tags: dict[str, tuple[list[str], float | None]] = {}
        present: set[str] = set()
        for path in record_files(results_dir):
            run = path.parent.name
            present.add(run)
            mtime = path.stat().st_mtime
            tags_path = path.parent / TAGS_FILE
            tags_mtime = tags_path.stat().st_mtime if tags_path.is_file() else None
            if known.get(run) == (mtime, tags_mtime):
                continue
            try:
                record = RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
                names = read_tags(path.parent)
            except ValueError as err:
                message = f"{path}: not a valid run record: {str(err).splitlines()[0]}"
                if on_invalid is None:
                    raise ValueError(message) from None
                on_invalid(message)
                continue
            pending.append((record, mtime))
            tags[record.run_id] = (names, tags_mtime)
        self.remove(set(known) - present)
        self._sync_published(Path(results_dir) / PUBLISHED_FOLDER, on_invalid)
        return self.ingest(pending, tags)

    def _sync_published(self, folder: Path, on_invalid: Callable[[str], None] | None) -> None:
        """Load the published tables a sweep kept in the results folder (see ``keep_published``)."""
        sources = set()
        for path in sorted(folder.glob("*.json")):
            try:
                kept = json.loads(path.read_text(encoding="utf-8"))
                table = PublishedTable.model_validate(kept["table"])
                source = str(kept["source"])
            except (ValueError, KeyError, TypeError) as err:
                message = f"{path}: not a kept published table: {str(err).splitlines()[0]}"
                if on_invalid is None:
                    raise ValueError(message) from None
                on_invalid(message)
                continue
            sources.add(source)
            self.ingest_published(table, source)
        stale = [row[0] for row in self.con.execute("SELECT DISTINCT source FROM published").fetchall() if row[0] not in sources]
        if stale:
            with self._transaction():
                self.con.executemany("DELETE FROM published WHERE source = ?", [[s] for s in stale])

    # ------------------------------------------------------------------ reading
    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """A pandas DataFrame of ``sql``."""
        return self.con.execute(sql, params or []).df()

    def _transaction(self):
        return _Transaction(self.con)


def keep_published(results_dir: str | Path, table: PublishedTable, source: str) -> Path:
    """Keep a published table in the results folder (``published/<hash>.json``), so that a store
    rebuilt from the folder shows it again."""
    from specs.hashing import stable_hash

    folder = Path(results_dir) / PUBLISHED_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stable_hash(source)}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"source": source, "table": table.model_dump(mode="json")}, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


def _run_row(record: RunRecord, mtime: float, tags_mtime: float | None) -> list:
    return [
        record.run_id, record.config_id, record.spec_name, record.track, record.task, record.dataset, record.model,
        record.method, record.seed, record.reference, record.status, record.error, record.started_at, record.duration_s,
        record.device, record.git_commit, json.dumps(record.spec, sort_keys=True), json.dumps(record.provenance, sort_keys=True),
        json.dumps(record.info, sort_keys=True), mtime, tags_mtime,
    ]


class _Transaction:
    """BEGIN ... COMMIT, or ROLLBACK when the block raises."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def __enter__(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, kind, *exc: object) -> None:
        self.con.execute("ROLLBACK" if kind is not None else "COMMIT")


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
