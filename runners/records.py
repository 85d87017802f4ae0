"""Run records on disk: ``<results>/runs/<run_id>/record.json`` (written atomically) and the run's tags beside it."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

from specs.record import RunRecord
from specs.record_files import TAGS_FILE


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")  # a run's folder name: a plain name, never a path


class ResultsDir:
    """The layout of a results folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def database(self) -> Path:
        return self.root / "podium.duckdb"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def run_dir(self, run_id: str) -> Path:
        """``runs/<run_id>``; ``ValueError`` for an id that is not a plain name (``..``, a path), which
        would put a run's files outside the folder (a bundle or a record can carry any text)."""
        if not RUN_ID.fullmatch(run_id):
            raise ValueError(f"run id {run_id[:60]!r} is not a plain name (letters, digits, '.', '_' and '-')")
        return self.root / "runs" / run_id

    def record_path(self, run_id: str) -> Path:
        return self.run_dir(run_id) / "record.json"

    def read(self, run_id: str) -> RunRecord | None:
        """The stored record of a run, or None (also for an unreadable record, which then reruns)."""
        path = self.record_path(run_id)
        try:
            return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write(self, record: RunRecord) -> Path:
        """Write then rename, so a reader (or a killed sweep) never sees half a record."""
        path = self.record_path(record.run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".record.json.{os.getpid()}.tmp")
        tmp.write_text(record_json(record), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def remove(self, run_id: str) -> bool:
        """Delete a run's folder (record, error, tags, artifacts); whether there was one."""
        folder = self.run_dir(run_id)
        if not folder.is_dir():
            return False
        shutil.rmtree(folder)
        return True

    def write_tags(self, run_id: str, tags: list[str]) -> float | None:
        """Write a run's tags beside its record (no file when there are none); returns the file's mtime."""
        path = self.run_dir(run_id) / TAGS_FILE
        if not tags:
            path.unlink(missing_ok=True)
            return None
        tmp = path.with_name(f".{TAGS_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sorted(set(tags))), encoding="utf-8")
        os.replace(tmp, path)
        return path.stat().st_mtime


def record_json(record: RunRecord) -> str:
    """A record as JSON text. NaN elsewhere is written as null (metrics are finite; info is free-form),
    but a missing per-case value is NaN, which a list of numbers cannot hold as null: per-case values
    with a NaN are written as JSON's NaN token, which the record's reader (and Python's) accepts."""
    text = record.model_dump_json(indent=1)
    if not any(math.isnan(v) for values in record.cases.values() for v in values):
        return text
    data = json.loads(text)
    data["cases"] = record.cases
    return json.dumps(data, indent=1, allow_nan=True)

