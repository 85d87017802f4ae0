"""The run record: what one run leaves behind (``runs/<run_id>/record.json``) and the store ingests.

It is the contract between ``runners`` (which write it) and ``leaderboard`` (which reads it),
so it lives here, beside the spec it embeds.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from specs.identity import config_identity
from specs.record_files import record_files

RECORD_VERSION = 2  # 2: config_id, reference and bounds (a version-1 record gets them derived on reading)
Bound = tuple[float | None, float | None]  # (lowest, highest) value a metric can take; None: unbounded


class RunRecord(BaseModel):
    """One run's outcome: resolved spec, metrics per split, status, timing and provenance."""

    model_config = ConfigDict(extra="forbid")

    record_version: int = RECORD_VERSION
    run_id: str
    config_id: str = ""  # the configuration: what runs differing only in their seed share (a board entry)
    spec_name: str
    track: str
    task: str
    dataset: str
    model: str
    method: str | None = None
    seed: int
    reference: bool = False  # a reference shown beside the competitors, never ranked (a distillation teacher)
    status: Literal["ok", "failed"]
    error: str | None = None
    started_at: str  # ISO 8601, UTC
    duration_s: float
    device: str
    spec: dict[str, Any]  # the resolved spec of this one run (matrix expanded)
    metrics: dict[str, dict[str, float]] = Field(default_factory=dict)  # split -> metric -> value
    higher_is_better: dict[str, bool] = Field(default_factory=dict)  # metric -> direction
    bounds: dict[str, Bound] = Field(default_factory=dict)  # metric -> the range its values lie in
    provenance: dict[str, Any] = Field(default_factory=dict)  # versions, commit, host, device name
    info: dict[str, Any] = Field(default_factory=dict)  # task-specific extras (best epoch, teacher id)
    cases: dict[str, list[float]] = Field(default_factory=dict)  # metric -> value per test case, in the split's order

    @model_validator(mode="after")
    def _derived(self) -> RunRecord:
        """Fill in what a version-1 record did not store: its configuration (from its resolved spec)
        and whether it is a reference (version 1 had one kind: the distillation teacher)."""
        if not self.config_id:
            self.config_id = config_identity(self.spec)
        if self.record_version < 2 and self.method == "teacher":
            self.reference = True
        return self

    @property
    def git_commit(self) -> str | None:
        return self.provenance.get("git_commit")


def read_records(results_dir: str | Path) -> Iterator[RunRecord]:
    """Every run record of a results folder, in run-id order (a malformed one raises ValueError)."""
    for path in record_files(results_dir):
        yield RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
