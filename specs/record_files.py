"""Where a run's files lie in a results folder: ``runs/<run_id>/record.json`` and its tags beside
it. Kept apart from the record's model so that a store that is up to date syncs without pydantic."""
from __future__ import annotations

import json
from pathlib import Path

TAGS_FILE = "tags.json"  # beside a record: the run's tags, a JSON list (kept apart so the record stays as written)


def record_files(results_dir: str | Path) -> list[Path]:
    """The record files of a results folder (``runs/<run_id>/record.json``), in run-id order."""
    return sorted(Path(results_dir, "runs").glob("*/record.json"))


def read_tags(run_dir: Path) -> list[str]:
    """A run's tags from ``tags.json`` beside its record (none when there is no file)."""
    path = run_dir / TAGS_FILE
    if not path.is_file():
        return []
    names = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{path}: expected a JSON list of tag names")
    return sorted(set(names))
