"""The `leaderboard` dataset: a track's own runs as a table, x taken from each run's spec or record."""
from __future__ import annotations

import pytest

from registry.datasets.leaderboard_results import leaderboard_results
from runners.records import ResultsDir
from specs.record import RunRecord


def record(run_id: str, width: int, accuracy: float, status: str = "ok", track: str = "kd", method: str = "vanilla_kd") -> RunRecord:
    return RunRecord(
        run_id=run_id, spec_name="s", track=track, task="distillation", dataset="digits", model="small_cnn", method=method, seed=0,
        status=status, started_at="2026-01-01T00:00:00+00:00", duration_s=float(width), device="cpu",
        spec={"model": {"name": "small_cnn", "params": {"width": width}}}, metrics={"test": {"accuracy": accuracy}} if status == "ok" else {},
        info={"flops": width * 1e6},
    )


@pytest.fixture
def results(tmp_path):
    folder = ResultsDir(tmp_path)
    for i, (width, acc) in enumerate([(2, 0.5), (4, 0.7), (8, 0.8)]):
        folder.write(record(f"r{i}", width, acc))
    folder.write(record("failed", 16, 0.0, status="failed"))
    folder.write(record("other", 16, 0.9, track="mtneuro"))
    return tmp_path


def test_one_row_per_successful_run_of_the_track(results):
    table = leaderboard_results(results, track="kd", metric="accuracy", x="model.params.width")
    frame = table.frame.sort_values("model.params.width")
    assert frame["model.params.width"].tolist() == [2, 4, 8] and frame["accuracy"].tolist() == [0.5, 0.7, 0.8]
    assert set(frame["method"]) == {"vanilla_kd"} and table.name == "leaderboard-kd-accuracy"


def test_x_from_what_the_run_recorded(results):
    assert sorted(leaderboard_results(results, track="kd", metric="accuracy", x="info.flops").frame["info.flops"]) == [2e6, 4e6, 8e6]
    assert sorted(leaderboard_results(results, track="kd", metric="accuracy", x="duration_s").frame["duration_s"]) == [2, 4, 8]


def test_clear_errors(results, tmp_path):
    with pytest.raises(ValueError, match="no successful kd runs with metric 'macro_f1'"):
        leaderboard_results(results, track="kd", metric="macro_f1", x="model.params.width")
    with pytest.raises(FileNotFoundError, match="no runs under"):
        leaderboard_results(tmp_path / "empty", track="kd", metric="accuracy", x="model.params.width")
