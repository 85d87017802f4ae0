"""Shared fixtures of the leaderboard tests: hand-made run records and a store in a temporary folder."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from leaderboard.store import Store
from specs.hashing import stable_hash
from specs.record import RunRecord


def make_record(
    model: str, method: str | None, seed: int, status: str = "ok",
    metrics: dict[str, dict[str, float]] | None = None, *, track: str = "kd", task: str = "distillation",
    dataset: str = "digits", higher_is_better: dict[str, bool] | None = None, error: str | None = None,
    started_at: str | None = None, run_id: str | None = None, provenance: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None, spec_name: str | None = None, reference: bool | None = None,
    bounds: dict[str, tuple[float | None, float | None]] | None = None, dataset_spec: dict[str, Any] | None = None,
) -> RunRecord:
    """A record as a runner would write it; the run id is derived from the entry and the seed, the
    configuration from its spec (name, dataset, model with ``params``, task with the method).
    Every metric is higher-is-better except ``loss``, unless ``higher_is_better`` says otherwise;
    a ``teacher`` is a reference. ``dataset_spec`` is the dataset as the spec names it, when its
    board label differs (``{"name": "glue", "params": {"task": "mrpc"}}`` is filed as ``glue-mrpc``)."""
    if metrics is None:
        metrics = {}
    spec_name = spec_name or f"{track}-{dataset}"
    spec = {
        "name": spec_name, "track": track, "dataset": dataset_spec or {"name": dataset, "params": {}}, "model": {"name": model, "params": params or {}},
        "task": {"name": task, "params": {"method": method} if method else {}}, "seeds": [seed],
    }
    return RunRecord(
        run_id=run_id or f"{track}-{task}-{dataset}-{model}-{method}-{stable_hash([spec_name, params or {}], 6)}-{seed}",
        spec_name=spec_name, track=track, task=task, dataset=dataset, model=model, method=method,
        seed=seed, reference=method == "teacher" if reference is None else reference, bounds=bounds or {}, status=status, error=error if error is not None or status == "ok" else "RuntimeError: boom",
        started_at=started_at or f"2024-05-01T12:00:{seed:02d}+00:00", duration_s=1.5 + seed,
        device="cpu", spec=spec,
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
