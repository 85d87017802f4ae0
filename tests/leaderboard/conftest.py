"""Shared fixtures of the leaderboard tests: hand-made run records and a store in a temporary folder."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from leaderboard.store import Store
from specs.record import RunRecord


def make_record(
    model: str, method: str | None, seed: int, status: str = "ok",
    metrics: dict[str, dict[str, float]] | None = None, *, track: str = "kd", task: str = "distillation",
    dataset: str = "digits", higher_is_better: dict[str, bool] | None = None, error: str | None = None,
    started_at: str | None = None, run_id: str | None = None, provenance: dict[str, Any] | None = None,
) -> RunRecord:
    """A record as a runner would write it; the run id is derived from the entry and the seed.
    Every metric is higher-is-better except ``loss``, unless ``higher_is_better`` says otherwise."""
    if metrics is None:
        metrics = {}
    return RunRecord(
        run_id=run_id or f"{track}-{task}-{dataset}-{model}-{method}-{seed}",
        spec_name=f"{track}-{dataset}", track=track, task=task, dataset=dataset, model=model, method=method,
        seed=seed, status=status, error=error if error is not None or status == "ok" else "RuntimeError: boom",
        started_at=started_at or f"2024-05-01T12:00:{seed:02d}+00:00", duration_s=1.5 + seed,
        device="cpu", spec={"model": {"name": model}, "seed": seed},
        metrics=metrics, higher_is_better=higher_is_better if higher_is_better is not None else {m: m != "loss" for s in metrics.values() for m in s},
        provenance=provenance if provenance is not None else {"git_commit": "abc123", "torch": "2.13.0", "device_name": "cpu"},
    )


@pytest.fixture
def record() -> Callable[..., RunRecord]:
    """``record(model, method, seed, status="ok", metrics=None, **fields)``: one hand-made RunRecord."""
    return make_record


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "podium.duckdb") as opened:
        yield opened
