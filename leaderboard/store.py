"""The results store: one DuckDB file derived from the records of a results folder.

Only one process may write a DuckDB file at a time, so runs never write the database: they write
record files (``runs/<run_id>/record.json``), and whoever holds the store ingests them. The store
follows the folder: ``sync`` ingests new and changed records, drops runs whose record folder is
gone, and reads each run's tags (``runs/<run_id>/tags.json``) and the published results a sweep
kept (``published/*.json``). Everything in it can be rebuilt from those files, so a database that
is of another schema, cannot be opened, is damaged (empty, truncated, a failed checksum, a crash's
WAL that does not match it) or is a folder is moved aside (``podium.duckdb.broken-<time>``) and
rebuilt, rather than being fatal; a lock held by another process is ``StoreLocked``, never a rebuild.

A record the store cannot hold (a value outside a column's range, a non-finite metric, text that is
not JSON) is refused on its own: it is reported, and every other record of the batch is stored.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import duckdb
import pandas as pd

from specs.identity import config_labels
from specs.record_files import TAGS_FILE, read_tags, record_files

if TYPE_CHECKING:  # the models (pydantic) are imported where a file is read: a store that is up to date opens without them
    from specs.published import PublishedTable
    from specs.record import RunRecord

SCHEMA_VERSION = 3  # 2: configurations, references, metric bounds, tags; 3: 64-bit seeds and case ids
SCHEMA = """
CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, config_id VARCHAR,
    spec_name VARCHAR, track VARCHAR, task VARCHAR, dataset VARCHAR, model VARCHAR, method VARCHAR,
    seed BIGINT, reference BOOLEAN, status VARCHAR, error VARCHAR, started_at TIMESTAMPTZ, duration_s DOUBLE,
    device VARCHAR, git_commit VARCHAR, spec_json VARCHAR, env_json VARCHAR, info_json VARCHAR,
    record_mtime DOUBLE, tags_mtime DOUBLE
);
CREATE TABLE IF NOT EXISTS configs (config_id VARCHAR PRIMARY KEY, track VARCHAR, spec_name VARCHAR, reference BOOLEAN, label VARCHAR);
CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR, split VARCHAR, metric VARCHAR, value DOUBLE);
CREATE TABLE IF NOT EXISTS metric_info (metric VARCHAR PRIMARY KEY, higher_is_better BOOLEAN, lower DOUBLE, upper DOUBLE);
CREATE TABLE IF NOT EXISTS cases (run_id VARCHAR, case_id BIGINT, metric VARCHAR, value DOUBLE);
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
INT64 = (-(2**63), 2**63 - 1)  # what a BIGINT column holds (seeds)
DAMAGE = ("corrupt", "checksum", "could not read enough bytes", "invalidated", "not a valid duckdb database")


class StoreLocked(RuntimeError):
    """Another process holds the database file."""


class StoreUnusable(RuntimeError):
    """The database file cannot be used and cannot be rebuilt here (opened read-only, or it cannot be moved aside)."""


class Unstorable(ValueError):
    """A record (or a published table) holds a value the store cannot hold; the message says which."""


class Store:
    """An open connection to ``podium.duckdb`` with the current schema in place; use as a context manager.

    ``rebuilt`` says the file was unusable (another schema, unreadable, damaged, a folder) and was
    moved aside and started afresh; ``notice`` is the one line that says so, for the caller to show.
    The caller's ``sync`` fills a rebuilt store again from the records."""

    def __init__(self, path: str | Path, read_only: bool = False, wait_s: float = 10.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        read_only = read_only and self.path.is_file()  # before connecting: a writable connection creates the file
        self.rebuilt = False
        self.notice: str | None = None
        self.moved_aside: list[Path] = []
        self.con: duckdb.DuckDBPyConnection | None = None
        self._wait_s = wait_s
        problem = self._open(read_only, wait_s)
        if problem is not None:
            label, reason = problem
            if read_only:
                self._close_quietly()
                raise StoreUnusable(f"{self.path} {reason}; open it writable to rebuild it from the records")
            self._start_afresh(label, reason)
        if not read_only:
            self._create_schema()

    @property
    def wal(self) -> Path:
        """DuckDB's write-ahead log beside the database (left behind by a process that was killed)."""
        return self.path.with_name(self.path.name + ".wal")

    def _open(self, read_only: bool, wait_s: float) -> tuple[str, str] | None:
        """Connect and check the file; None when it is usable (or new), else (label, why not)."""
        for path in (self.path, self.wal):
            if path.exists() and not path.is_file():
                return "broken", f"is not a database file ({path.name} is a folder or another kind of file)"
        try:
            self.con = _connect(self.path, read_only, wait_s)  # a lock held elsewhere raises StoreLocked
        except duckdb.Error as err:
            return "broken", f"cannot be opened ({_first_line(err)})"
        try:
            current = self._schema_version()
            if current is None:
                return None
            if current != SCHEMA_VERSION:
                return f"schema{current}", f"holds schema version {current} (this Podium writes version {SCHEMA_VERSION})"
            self._check_tables()
        except (duckdb.Error, ValueError) as err:
            return "broken", f"is damaged ({_first_line(err)})"
        return None

    def _schema_version(self) -> int | None:
        """The file's schema version; None for a new, empty file; 1 for files from before versions were kept."""
        tables = {row[0] for row in self.con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
        if not tables:
            return None
        if "store_info" not in tables:
            return 1
        version = self.value("SELECT value FROM store_info WHERE key = 'schema_version'")
        return int(version) if version is not None else 1

    def _check_tables(self) -> None:
        """Every table has the columns this schema gives it, and every row of it reads back: DuckDB
        checks a block's checksum only when it reads the block, so damage inside a table would
        otherwise surface in the middle of a later command. ``ValueError`` or ``duckdb.Error`` says what is wrong."""
        found: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind in self.con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() ORDER BY table_name, column_index"
        ).fetchall():
            found.setdefault(table, []).append((column, kind))
        for table, columns in _expected_columns().items():
            if found.get(table) != columns:
                raise ValueError(f"its table {table} does not have the columns of schema version {SCHEMA_VERSION}")
            self.con.execute(f"SELECT bit_xor(hash(t)) FROM {table} t").fetchall()

    def _create_schema(self) -> None:
        self.con.execute(SCHEMA)
        self.con.execute("INSERT OR REPLACE INTO store_info VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def _close_quietly(self) -> None:
        if self.con is not None:
            with contextlib.suppress(duckdb.Error):
                self.con.close()
            self.con = None

    def _start_afresh(self, label: str, reason: str) -> None:
        """Move the unusable file (and its WAL) aside and start an empty database in its place."""
        self._close_quietly()
        aside = _free_name(self.path, label)
        for source, target in ((self.path, aside), (self.wal, aside.with_name(aside.name + ".wal"))):
            try:
                os.rename(source, target)
            except FileNotFoundError:
                continue
            except OSError as err:
                raise StoreUnusable(f"{self.path} {reason}, and {source} cannot be moved aside: {err.strerror or err}") from None
            self.moved_aside.append(target)
        self.con = _connect(self.path, False, self._wait_s)
        self.rebuilt = True
        where = f"moved aside to {', '.join(p.name for p in self.moved_aside)}" if self.moved_aside else "started afresh"
        self.notice = f"note: {self.path} {reason}; the store is derived from the record files, so it was {where} and is rebuilt from them"

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.con is not None:
            self.con.close()

    # ------------------------------------------------------------------ writing
    def ingest(
        self, records: Iterable[tuple[RunRecord, float]], tags: dict[str, tuple[list[str], float | None]] | None = None,
        on_invalid: Callable[[str], None] | None = None, files: dict[str, Path] | None = None,
    ) -> int:
        """Insert or replace each (record, record file mtime); returns how many were stored.
        ``tags`` (run id -> (tags, tags file mtime)) replaces those runs' tags.

        A record the store cannot hold (``prepare``) is left out: ``on_invalid`` gets one line naming
        its file (``files``: run id -> record file) and the others are stored; without ``on_invalid``
        it raises ``Unstorable`` before anything is written. The batch is one transaction; should the
        database still refuse it, each record is stored in a transaction of its own, so one record
        the database refuses does not drop the others."""
        batch = list({record.run_id: (record, mtime) for record, mtime in records}.values())  # a run listed twice: the last
        tags = tags or {}
        files = files or {}
        refused: list[str] = []

        def refuse(record: RunRecord, reason: str) -> None:
            where = files.get(record.run_id) or f"run {record.run_id}"
            message = f"{where}: cannot be stored: {reason}"
            if on_invalid is None:
                raise Unstorable(message)
            refused.append(message)
            on_invalid(message)

        rows = []
        for record, mtime in batch:
            try:
                rows.append((record, prepare(record, mtime, tags.get(record.run_id, ([], None))[1])))
            except Unstorable as err:
                refuse(record, str(err))
        if not rows:
            return 0
        try:
            self._write(rows, tags)
            return len(rows)
        except Exception as err:  # noqa: BLE001 - which record the database refused is found below
            if _damaged(err):
                raise
            if len(rows) == 1:
                refuse(rows[0][0], f"the database refused it ({_first_line(err)})")
                return 0
        stored = 0
        for row in rows:  # one at a time: the others are stored whichever one is refused
            try:
                self._write([row], tags)
                stored += 1
            except Exception as err:  # noqa: BLE001
                if _damaged(err):
                    raise
                refuse(row[0], f"the database refused it ({_first_line(err)})")
        return stored

    def _write(self, rows: list[tuple[RunRecord, list]], tags: dict[str, tuple[list[str], float | None]]) -> None:
        """Replace these runs' rows in one transaction (rows: (record, its prepared runs row))."""
        batch = [record for record, _ in rows]
        ids = {record.run_id for record in batch}
        runs = pd.DataFrame([row for _, row in rows], columns=RUN_COLUMNS)
        runs["seed"] = runs["seed"].astype("int64")
        metrics = pd.DataFrame(
            [(r.run_id, split, metric, value) for r in batch for split, values in r.metrics.items() for metric, value in values.items()],
            columns=["run_id", "split", "metric", "value"],
        )
        cases = pd.DataFrame(
            [(r.run_id, i, metric, v) for r in batch for metric, values in r.cases.items() for i, v in enumerate(values)],
            columns=["run_id", "case_id", "metric", "value"],
        )
        info: dict[str, tuple[bool, float | None, float | None]] = {}
        for record in batch:
            for metric, higher in record.higher_is_better.items():
                lower, upper = record.bounds.get(metric, (None, None))
                info[metric] = (higher, lower, upper)
        metric_info = pd.DataFrame([(m, *v) for m, v in info.items()], columns=["metric", "higher_is_better", "lower", "upper"])
        tag_rows = pd.DataFrame([(run, tag) for run, (names, _) in tags.items() if run in ids for tag in names], columns=["run_id", "tag"])
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
                count = self.value("SELECT count(*) FROM runs WHERE run_id IN (SELECT run_id FROM gone)")
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
        """Replace the published rows that came from ``source`` (a file path) with ``table``'s;
        ``Unstorable`` for a table with a value the store cannot hold (nothing is replaced)."""
        rows = [
            (source, table.track, r.task, r.dataset, r.model, r.setting, r.metric, r.value, r.higher_is_better, table.citation)
            for r in table.rows
        ]
        for row in rows:
            if not math.isfinite(row[7]):
                raise Unstorable(f"{row[6]} of {row[4]} is {row[7]}: published values must be finite numbers")
            for text in (source, *(value for value in row if isinstance(value, str))):
                _text(text, "published text")
        with self._transaction():
            self.con.execute("DELETE FROM published WHERE source = ?", [source])
            self.con.executemany("INSERT INTO published VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def sync(self, results_dir: str | Path, on_invalid: Callable[[str], None] | None = None) -> int:
        """Make the store match the folder: ingest every record that is new or changed since last
        time (or whose tags changed), drop runs whose record is gone, reload the kept published
        results. Returns how many records were ingested.

        A record that cannot be read (not JSON, not a run record, a ``run_id`` that is not its
        folder's name) or cannot be stored raises ``ValueError`` naming its file; with ``on_invalid``
        it is reported there instead and skipped (its earlier rows, if any, stay), so one bad file
        does not hide the other results. A tags file that cannot be read is reported too, and its
        run stored without tags. Should the database turn out damaged while it is brought up to
        date, it is moved aside and rebuilt (``rebuilt``, ``notice``)."""
        try:
            return self._sync(results_dir, on_invalid)
        except duckdb.Error as err:
            if not _damaged(err):
                raise
            self._start_afresh("broken", f"is damaged ({_first_line(err)})")
            self._create_schema()
            return self._sync(results_dir, on_invalid)

    def _sync(self, results_dir: str | Path, on_invalid: Callable[[str], None] | None) -> int:
        def report(message: str) -> None:
            if on_invalid is None:
                raise ValueError(message)
            on_invalid(message)

        known = {run: (mtime, tags) for run, mtime, tags in self.con.execute("SELECT run_id, record_mtime, tags_mtime FROM runs").fetchall()}
        pending: list[tuple[RunRecord, float]] = []
        tags: dict[str, tuple[list[str], float | None]] = {}
        files: dict[str, Path] = {}
        present: set[str] = set()
        for path in record_files(results_dir):
            run = path.parent.name
            present.add(run)
            tags_path = path.parent / TAGS_FILE
            try:
                mtime = path.stat().st_mtime
                tags_mtime = tags_path.stat().st_mtime if tags_path.is_file() else None
                if known.get(run) == (mtime, tags_mtime):
                    continue
                from specs.record import RunRecord

                record = RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                report(f"{path}: not a valid run record: {_first_line(err)}")
                continue
            if record.run_id != run:  # stored, it would stand for (or replace) another run
                report(f"{path}: not a valid run record: its run_id {record.run_id!r} is not the name of its folder {run!r}")
                continue
            try:
                names = read_tags(path.parent)
            except (OSError, ValueError) as err:
                report(f"{tags_path}: not a list of tag names ({_first_line(err)}); run {run} is stored without tags")
                names, tags_mtime = [], None  # None: read again next time, and reported again until it is fixed
            pending.append((record, mtime))
            tags[record.run_id] = (names, tags_mtime)
            files[record.run_id] = path
        self.remove(set(known) - present)
        self._sync_published(Path(results_dir) / PUBLISHED_FOLDER, report)
        return self.ingest(pending, tags, on_invalid=report, files=files)

    def _sync_published(self, folder: Path, report: Callable[[str], None]) -> None:
        """Load the published tables a sweep kept in the results folder (see ``keep_published``)."""
        sources = set()
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            from specs.published import PublishedTable

            try:
                kept = json.loads(path.read_text(encoding="utf-8"))
                table = PublishedTable.model_validate(kept["table"])
                source = str(kept["source"])
            except (OSError, ValueError, KeyError, TypeError) as err:
                report(f"{path}: not a kept published table: {_first_line(err)}")
                continue
            try:
                self.ingest_published(table, source)
            except Unstorable as err:
                report(f"{path}: cannot be stored: {err}")
                continue
            sources.add(source)
        stale = [row[0] for row in self.con.execute("SELECT DISTINCT source FROM published").fetchall() if row[0] not in sources]
        if stale:
            with self._transaction():
                self.con.executemany("DELETE FROM published WHERE source = ?", [[s] for s in stale])

    # ------------------------------------------------------------------ reading
    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """A pandas DataFrame of ``sql``."""
        return self.con.execute(sql, params or []).df()

    def value(self, sql: str, params: list | None = None) -> object:
        """The first column of ``sql``'s first row (None when it has no row). Reads the whole result:
        DuckDB keeps a result that ``fetchone`` left unfinished open on the connection, and the next
        transaction (an ingest) is then refused."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

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




def prepare(record: RunRecord, mtime: float = 0.0, tags_mtime: float | None = None) -> list:
    """The ``runs`` row of a record, checked against what each column can hold; ``Unstorable`` says
    what cannot be held. Every value a ``RunRecord`` admits is checked, since a record file may have
    been written by hand or by another program:

    - the seed fits a BIGINT; the start time is an ISO 8601 time; the duration is a finite number;
    - metrics are finite (a run drops an undefined metric and notes it in ``info``), bounds are not
      NaN and low <= high, per-case values are numbers or NaN (a missing case) but not infinite;
    - text is valid Unicode; the spec, provenance and info are JSON (no NaN or infinity, which JSON
      lacks, and which the queries over them cannot read); the git commit is text."""
    if not record.run_id:
        raise Unstorable("its run_id is empty")
    if not INT64[0] <= record.seed <= INT64[1]:
        raise Unstorable(f"seed {record.seed} is outside the range the store holds (a 64-bit integer)")
    try:
        started = pd.to_datetime(record.started_at, utc=True, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        raise Unstorable(f"started_at {record.started_at[:40]!r} is not an ISO 8601 time") from None
    if not math.isfinite(record.duration_s):
        raise Unstorable(f"duration_s is {record.duration_s}: expected a finite number of seconds")
    for split, values in record.metrics.items():
        for metric, value in values.items():
            if not math.isfinite(value):
                raise Unstorable(f"metric {split}/{metric} is {value}: stored metrics are finite (a run leaves an undefined one out)")
    for metric, (lower, upper) in record.bounds.items():
        if any(b is not None and math.isnan(b) for b in (lower, upper)) or (lower is not None and upper is not None and lower > upper):
            raise Unstorable(f"bounds of {metric} are ({lower}, {upper}): expected low <= high, or None for no bound")
    for metric, values in record.cases.items():
        if any(math.isinf(v) for v in values):
            raise Unstorable(f"per-case values of {metric} hold an infinity (a missing case is NaN)")
    commit = record.git_commit
    if commit is not None and not isinstance(commit, str):
        raise Unstorable(f"provenance.git_commit is {type(commit).__name__}: expected text")
    texts = [record.run_id, record.config_id, record.spec_name, record.track, record.task, record.dataset, record.model, record.method,
             record.error, record.device, commit, *(name for values in record.metrics.values() for name in values), *record.metrics,
             *record.cases, *record.higher_is_better, *record.bounds]
    for text in texts:
        _text(text, "a text field")
    documents = []
    for name in ("spec", "provenance", "info"):
        try:
            documents.append(json.dumps(getattr(record, name), sort_keys=True, allow_nan=False))
        except (ValueError, TypeError, RecursionError) as err:
            raise Unstorable(f"{name} is not JSON the store can hold ({_first_line(err)})") from None
    return [
        record.run_id, record.config_id, record.spec_name, record.track, record.task, record.dataset, record.model,
        record.method, record.seed, record.reference, record.status, record.error, started, record.duration_s,
        record.device, commit, *documents, mtime, tags_mtime,
    ]



def _text(text: str | None, what: str) -> None:
    if text is None:
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Unstorable(f"{what} holds text that is not valid Unicode: {text[:40]!r}") from None


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _damaged(err: BaseException) -> bool:
    """Whether a DuckDB error says the database itself is damaged (rather than refusing a value)."""
    if isinstance(err, (duckdb.InternalException, duckdb.FatalException)):
        return True
    return isinstance(err, duckdb.Error) and any(sign in str(err).lower() for sign in DAMAGE)


def _free_name(path: Path, label: str) -> Path:
    """``<name>.<label>-<UTC time>`` beside ``path``, with a counter when that (or its WAL) exists."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.{label}-{stamp}")
    count = 1
    while candidate.exists() or candidate.with_name(candidate.name + ".wal").exists():
        count += 1
        candidate = path.with_name(f"{path.name}.{label}-{stamp}-{count}")
    return candidate


_EXPECTED: dict[str, list[tuple[str, str]]] = {}


def _expected_columns() -> dict[str, list[tuple[str, str]]]:
    """Each table's (column, type) as this schema makes them (read from an in-memory database once)."""
    if not _EXPECTED:
        con = duckdb.connect()
        try:
            con.execute(SCHEMA)
            for table, column, kind in con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() ORDER BY table_name, column_index"
            ).fetchall():
                _EXPECTED.setdefault(table, []).append((column, kind))
        finally:
            con.close()
    return _EXPECTED


class _Transaction:
    """BEGIN ... COMMIT, or ROLLBACK when the block raises."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def __enter__(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, kind, *exc: object) -> None:
        if kind is None:
            self.con.execute("COMMIT")
        else:
            with contextlib.suppress(duckdb.Error):  # a damaged database may refuse the rollback too; the error that got here matters
                self.con.execute("ROLLBACK")


LOCKED = ("could not set lock", "conflicting lock")  # DuckDB's words for a lock held elsewhere ("block" is not one)


def _connect(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    """Connect, waiting up to ``wait_s`` while another process holds the file's lock."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as err:
            if not any(word in str(err).lower() for word in LOCKED):
                raise
            if time.monotonic() > deadline:
                raise StoreLocked(f"{path} is in use by another process: {str(err).splitlines()[0]}") from None
            time.sleep(0.2)
