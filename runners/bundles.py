"""Results bundles: a results folder's runs as one parquet file, to move them between machines or
collect them from CI jobs (``podium export`` / ``podium import``).

A bundle has one row per run: its record exactly as written (JSON text), the SHA-256 of that text,
the traceback of a failed run, its tags, and a few columns for reading the file with any parquet
tool (run_id, config_id, track, spec_name, model, method, seed, status). Runs are addressed by their
run id, a hash of what they measure (resolved spec and seed), so importing skips every run the
folder already has and a bundle can be imported twice without effect. A row whose record does not
match its digest or its run id is refused with a warning; the rest are imported.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from leaderboard.store import prepare
from runners.records import ResultsDir
from specs.record import RunRecord
from specs.record_files import TAGS_FILE, read_tags, record_files

BUNDLE_FORMAT = "1"
COLUMNS = ["run_id", "config_id", "track", "spec_name", "model", "method", "seed", "status", "record_json", "sha256", "error_details", "tags"]


class BundleError(ValueError):
    """A file that is not a Podium results bundle (or cannot be read or written)."""


@dataclass
class ImportOutcome:
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one message per refused row


def export_bundle(
    results: ResultsDir, out: str | Path, keep: Callable[[RunRecord], bool] = lambda record: True,
    on_invalid: Callable[[str], None] = lambda message: None,
) -> int:
    """Write the runs of ``results`` that ``keep`` accepts to the parquet bundle ``out``; returns how many.
    A record that cannot be read or stored does not travel: ``on_invalid`` gets a line naming it."""
    rows = []
    for path in record_files(results.root):
        try:
            text = path.read_text(encoding="utf-8")
            record = RunRecord.model_validate_json(text)
            if record.run_id != path.parent.name:
                raise ValueError(f"its run_id {record.run_id!r} is not the name of its folder")
            prepare(record)  # what no store can hold (a seed beyond 64 bits) no bundle holds either
        except (OSError, ValueError) as err:
            on_invalid(f"{path}: {str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}")
            continue
        if not keep(record):
            continue
        details = path.parent / "error.txt"
        try:
            tags = read_tags(path.parent)
        except (OSError, ValueError) as err:
            on_invalid(f"{path.parent / TAGS_FILE}: not a list of tag names ({str(err).strip().splitlines()[0]}); run {record.run_id} travels without tags")
            tags = []
        try:
            error_details = details.read_text(encoding="utf-8", errors="replace") if details.is_file() else None
        except OSError:
            error_details = None
        rows.append([
            record.run_id, record.config_id, record.track, record.spec_name, record.model, record.method, record.seed, record.status,
            text, _digest(text), error_details, tags,
        ])
    frame = pd.DataFrame(rows, columns=COLUMNS)
    target = Path(out)
    if not target.name or target.is_dir():
        raise BundleError(f"{out or '(empty)'}: a folder; give the bundle's file name (FILE.parquet)")
    above = next((folder for folder in target.parents if folder.exists()), None)
    if above is not None and not above.is_dir():
        raise BundleError(f"{target}: cannot write the bundle: {above} is a file, not a folder")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"podium_bundle": BUNDLE_FORMAT.encode()})
        pq.write_table(table, tmp)
        os.replace(tmp, target)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise BundleError(f"{target}: cannot write the bundle: {err.strerror or err}") from None
    return len(rows)


def import_bundle(results: ResultsDir, path: str | Path) -> ImportOutcome:
    """Add the bundle's runs that ``results`` does not have yet (record, error details, tags)."""
    frame = read_bundle(path)
    outcome = ImportOutcome()
    for row in frame.itertuples(index=False):
        text = row.record_json
        if not isinstance(text, str) or _digest(text) != row.sha256:
            outcome.refused.append(f"{path}: run {row.run_id}: its record does not match its sha256 (damaged or edited)")
            continue
        try:
            record = RunRecord.model_validate_json(text)
        except ValueError as err:
            outcome.refused.append(f"{path}: run {row.run_id}: not a valid run record: {str(err).splitlines()[0]}")
            continue
        if record.run_id != row.run_id:
            outcome.refused.append(f"{path}: run {row.run_id}: the record inside is run {record.run_id}")
            continue
        try:
            results.run_dir(record.run_id)
            prepare(record)
        except ValueError as err:  # a path for an id, a value no store can hold
            outcome.refused.append(f"{path}: run {str(row.run_id)[:60]}: {err}")
            continue
        if results.record_path(record.run_id).is_file():
            outcome.present.append(record.run_id)
            continue
        folder = results.run_dir(record.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(row.error_details, str):
            (folder / "error.txt").write_text(row.error_details, encoding="utf-8", errors="replace")
        given = [row.tags] if isinstance(row.tags, str) else row.tags if row.tags is not None else []
        tags = [str(t) for t in given if str(t).strip() and "," not in str(t)]
        if tags:
            results.write_tags(record.run_id, tags)
        tmp = folder / f".record.json.{os.getpid()}.tmp"
        tmp.write_text(text, encoding="utf-8")  # as written, so its digest still holds
        os.replace(tmp, results.record_path(record.run_id))
        outcome.added.append(record.run_id)
    return outcome


def read_bundle(path: str | Path) -> pd.DataFrame:
    """The rows of a bundle file; ``BundleError`` when it is missing or not a Podium bundle."""
    source = Path(path)
    if not source.is_file():
        raise BundleError(f"{source}: no such bundle file")
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(source)
    except Exception as err:  # pyarrow raises its own error types for a file that is not parquet (empty, truncated)
        raise BundleError(f"{source}: not a parquet file: {_first_line(err)}") from None
    metadata = table.schema.metadata or {}
    missing = [c for c in COLUMNS if c not in table.column_names]
    if metadata.get(b"podium_bundle") is None or missing:
        raise BundleError(f"{source}: not a Podium results bundle (write one with `podium export --out FILE.parquet`)")
    version = metadata[b"podium_bundle"].decode()
    if version != BUNDLE_FORMAT:
        raise BundleError(f"{source}: bundle format {version}; this Podium reads format {BUNDLE_FORMAT}")
    try:
        return table.to_pandas()[COLUMNS]
    except Exception as err:  # columns of types a bundle never has
        raise BundleError(f"{source}: not a Podium results bundle: {_first_line(err)}") from None


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
