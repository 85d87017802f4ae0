"""Executing runs: bit-identical on the CPU, failures stored as data, teachers trained once."""
import json

import pytest

from runners.sweep import run_sweep
from runners.progress import SweepReporter
from runners.records import ResultsDir
from specs.loader import expand
from specs.record import read_records
from tests.runners.conftest import digits_spec, write_spec


def sweep(tmp_path, spec, results="results", **kwargs):
    runs = expand(write_spec(tmp_path, spec))
    return run_sweep(runs, ResultsDir(tmp_path / results), reporter=SweepReporter(live=False), **kwargs)


def test_same_spec_and_seed_give_identical_metrics_on_cpu(tmp_path):
    first = sweep(tmp_path, digits_spec(), "a").ran[0]
    second = sweep(tmp_path, digits_spec(), "b").ran[0]
    assert first.status == second.status == "ok"
    assert first.run_id == second.run_id
    assert first.metrics == second.metrics  # exact float equality: bit for bit
    assert first.info["history"] == second.info["history"]
    other_seed = sweep(tmp_path, {**digits_spec(), "seeds": [1]}, "c").ran[0]
    assert other_seed.info["history"] != first.info["history"]


def test_record_holds_spec_metrics_and_provenance(tmp_path):
    record = sweep(tmp_path, digits_spec()).ran[0]
    stored = json.loads((tmp_path / "results" / "runs" / record.run_id / "record.json").read_text())
    assert stored["status"] == "ok" and stored["error"] is None
    assert set(stored["metrics"]) == {"val", "test"}
    assert set(stored["metrics"]["test"]) == {"accuracy", "macro_f1"}
    assert stored["spec"]["task"]["params"]["epochs"] == 2 and stored["spec"]["seeds"] == [0]
    assert stored["higher_is_better"] == {"accuracy": True, "macro_f1": True}
    prov = stored["provenance"]
    for key in ("python", "torch", "cuda", "host", "device_name", "podium_version", "git_commit", "packages"):
        assert key in prov
    assert {"torch", "duckdb", "pydantic"} <= set(prov["packages"])
    assert stored["device"] == "cpu" and stored["duration_s"] > 0


def test_a_raising_run_is_stored_as_failed_and_the_sweep_goes_on(tmp_path, misbehaving_tasks):
    spec = digits_spec()
    spec["task"] = {"name": "test_raises", "params": {"message": "the reason"}}
    spec["seeds"] = [0, 1]
    outcome = sweep(tmp_path, spec)
    assert [r.status for r in outcome.ran] == ["failed", "failed"]
    assert outcome.ran[0].error == "RuntimeError: the reason"
    error_file = tmp_path / "results" / "runs" / outcome.ran[0].run_id / "error.txt"
    assert "Traceback" in error_file.read_text()


def test_non_finite_loss_fails_the_run(tmp_path, misbehaving_tasks):
    spec = digits_spec()
    spec["task"] = {"name": "test_nan_loss", "params": {}}
    record = sweep(tmp_path, spec).ran[0]
    assert record.status == "failed" and record.error.startswith("NonFiniteLoss")


@pytest.mark.parametrize("cooperative", [True, False])
def test_timeout_fails_the_run(tmp_path, misbehaving_tasks, cooperative):
    spec = digits_spec()
    spec["task"] = {"name": "test_sleeps", "params": {"seconds": 5.0, "cooperative": cooperative}}
    spec["timeout_s"] = 0.3
    record = sweep(tmp_path, spec).ran[0]
    assert record.status == "failed" and record.error.startswith("RunTimeout")
    assert record.duration_s < 3


def test_a_failed_run_is_retried_and_an_ok_run_is_cached(tmp_path, misbehaving_tasks):
    spec = digits_spec()
    spec["task"] = {"name": "test_sleeps", "params": {"seconds": 0.05}}
    spec["timeout_s"] = 0.01
    assert sweep(tmp_path, spec).ran[0].status == "failed"
    spec["timeout_s"] = 30  # not part of the identity: the same run, now with time to finish
    retried = sweep(tmp_path, spec)
    assert [r.status for r in retried.ran] == ["ok"]
    again = sweep(tmp_path, spec)
    assert again.ran == [] and again.cached == [retried.ran[0].run_id]
    forced = sweep(tmp_path, spec, force=True)
    assert len(forced.ran) == 1


def test_teacher_is_trained_once_and_recorded(tmp_path):
    spec = digits_spec(teacher={"name": "small_cnn", "params": {"width": 8}}, teacher_epochs=2, t_max=2, psi_ramp=1)  # a schedule 2 epochs hold
    spec["matrix"] = {"task.params.method": ["vanilla_kd", "continuation_kd"]}
    outcome = sweep(tmp_path, spec)
    assert [r.status for r in outcome.ran] == ["ok", "ok"]
    teacher_ids = {r.info["teacher_run_id"] for r in outcome.ran}
    assert len(teacher_ids) == 1
    (teacher_id,) = teacher_ids
    teacher = ResultsDir(tmp_path / "results").read(teacher_id)
    assert teacher.method == "teacher" and teacher.model == "small_cnn"
    assert teacher.spec["model"]["params"] == {"width": 8}
    assert set(teacher.metrics["test"]) == {"accuracy", "macro_f1"}
    cached = list((tmp_path / "results" / "cache" / "teachers").iterdir())
    assert [p.name for p in cached] == [teacher_id]


def test_methods_differ_but_share_the_teacher(tmp_path):
    spec = digits_spec(teacher={"name": "small_cnn", "params": {"width": 8}}, teacher_epochs=2, epochs=3, t_max=2, psi_ramp=2)
    spec["matrix"] = {"task.params.method": ["student_only", "vanilla_kd", "annealing_kd", "continuation_kd"]}
    outcome = sweep(tmp_path, spec)
    histories = [tuple(h["loss"] for h in r.info["history"]) for r in outcome.ran]
    assert len(set(histories)) == 4
    assert "teacher_run_id" not in outcome.ran[0].info  # the student alone needs no teacher


# --- data paths: relative to the spec file ---------------------------------------------------------


def survey_spec(name: str, path: str) -> dict:
    return {"name": name, "track": "challenges", "dataset": {"name": "survey_responses", "params": {"path": path}},
            "model": {"name": "survey_estimator", "params": {"resamples": 50}}, "task": {"name": "survey_stats"},
            "metrics": ["share"], "seeds": [0]}


@pytest.mark.parametrize("value", ["./responses.csv", "responses.csv"])
def test_a_relative_data_path_is_read_beside_the_spec_and_kept_as_written(tmp_path, monkeypatch, value):
    from registry.datasets.survey import synthetic_frame

    folder = tmp_path / "specs" / "survey"
    folder.mkdir(parents=True)
    synthetic_frame(challenges=2).to_csv(folder / "responses.csv", index=False)
    spec = write_spec(folder, survey_spec("survey", value))
    monkeypatch.chdir(tmp_path)  # not the spec's folder
    [record] = run_sweep(expand(spec.relative_to(tmp_path)), ResultsDir(tmp_path / "results"), reporter=SweepReporter(live=False)).ran
    assert record.status == "ok", record.error
    assert record.spec["dataset"]["params"]["path"] == value and record.dataset == "survey-responses"
    assert record.metrics["test"]


def test_the_same_relative_path_in_two_folders_is_two_datasets(tmp_path):
    """The in-memory data cache is keyed by the resolved path: two specs saying `data.csv` in different
    folders read different files, even in one sweep."""
    from registry.datasets.survey import synthetic_frame

    runs = []
    for name, challenges in (("a", 2), ("b", 5)):
        (tmp_path / name).mkdir()
        synthetic_frame(challenges=challenges).to_csv(tmp_path / name / "data.csv", index=False)
        runs += expand(write_spec(tmp_path / name, survey_spec(f"survey-{name}", "data.csv")))
    a, b = run_sweep(runs, ResultsDir(tmp_path / "results"), reporter=SweepReporter(live=False)).ran
    assert a.status == b.status == "ok"
    assert (a.info["challenges"], b.info["challenges"]) == (2, 5)


# --- a metric that fails keeps the others ----------------------------------------------------------


@pytest.fixture
def failing_metrics():
    """Metrics that raise in their value or in their per-case values, registered for one test."""
    from registry import METRICS, load_all
    from registry.metrics.classification import ClassificationMetric

    class Raising(ClassificationMetric):
        """Raises when scored."""

        def __call__(self, scores, labels):
            raise ValueError("cannot score this")

    class RaisingCases(ClassificationMetric):
        """Scores, but raises for per-case values."""

        def __call__(self, scores, labels):
            return 0.25

        def per_case(self, scores, labels):
            raise RuntimeError("no cases")

    load_all()
    METRICS.register("test_raising")(Raising)
    METRICS.register("test_raising_cases")(RaisingCases)
    yield
    for name in ("test_raising", "test_raising_cases"):
        METRICS._entries.pop(name, None)


def test_a_failing_metric_fails_the_run_but_keeps_the_other_metrics(tmp_path, failing_metrics, capsys):
    from runners.cli import main

    spec = {**digits_spec(), "metrics": ["accuracy", "test_raising", "macro_f1", "test_raising_cases"]}
    path = write_spec(tmp_path, spec)
    assert main(["run", str(path), "--results", str(tmp_path / "results")]) == 1
    [folder] = (tmp_path / "results" / "runs").iterdir()
    record = json.loads((folder / "record.json").read_text())
    assert record["status"] == "failed"
    assert record["error"] == "metric 'test_raising' failed: ValueError: cannot score this; metric 'test_raising_cases' failed: RuntimeError: no cases"
    assert set(record["metrics"]["test"]) == set(record["metrics"]["val"]) == {"accuracy", "macro_f1", "test_raising_cases"}
    assert record["metrics"]["test"]["test_raising_cases"] == 0.25  # it did compute; its cases did not
    assert set(record["cases"]) == {"accuracy"}
    assert "non_finite_metrics" not in record["info"]  # failed, not undefined
    details = (folder / "error.txt").read_text()
    assert "metric 'test_raising' failed" in details and "Traceback" in details and "cannot score this" in details
    assert "metric 'test_raising' failed" in capsys.readouterr().out  # the sweep's line says why


def test_a_record_carries_each_metrics_range_and_the_teacher_is_a_reference(tmp_path):
    """Boards clip intervals to these ranges; a teacher stands beside the students, unranked."""
    from runners.cli import main

    spec = write_spec(tmp_path, {**digits_spec(method="vanilla_kd", teacher={"name": "small_cnn", "params": {"width": 4}}, teacher_epochs=1),
                                 "metrics": ["accuracy", "matthews"]})
    assert main(["run", str(spec), "--results", str(tmp_path / "r")]) == 0
    records = {r.method: r for r in read_records(tmp_path / "r")}
    assert records["vanilla_kd"].bounds == {"accuracy": (0.0, 1.0), "matthews": (-1.0, 1.0)}
    assert records["teacher"].reference and not records["vanilla_kd"].reference
    assert records["vanilla_kd"].info["teacher_training_s"] == records["teacher"].duration_s  # its time is its own


def test_undefined_per_case_values_are_missing_cases_and_the_record_stays_readable(tmp_path):
    import math

    from registry import TASKS, load_all
    from registry.context import TaskResult

    def undefined_cases(ctx):
        """Per-case values undefined on some cases (an IoU with nothing to overlap)."""
        return TaskResult({"test": {"accuracy": 0.5}}, cases={"accuracy": [1.0, float("nan"), float("inf"), 0.0]})

    load_all()
    TASKS.register("test_undefined_cases")(undefined_cases)
    try:
        outcome = sweep(tmp_path, {**digits_spec(), "task": {"name": "test_undefined_cases"}})
    finally:
        TASKS._entries.pop("test_undefined_cases", None)
    [record] = outcome.ran
    assert record.status == "ok" and record.info["non_finite_cases"] == ["accuracy"]
    stored = ResultsDir(tmp_path / "results").read(record.run_id)
    assert stored is not None  # readable: not rerun, not skipped by the store
    values = stored.cases["accuracy"]
    assert values[0] == 1.0 and math.isnan(values[1]) and math.isnan(values[2]) and values[3] == 0.0
    import duckdb

    con = duckdb.connect(str(tmp_path / "results" / "podium.duckdb"), read_only=True)
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE value IS NULL OR isnan(value)) FROM cases").fetchone() == (4, 2)  # missing
    con.close()
