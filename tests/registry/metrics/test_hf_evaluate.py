"""The Hugging Face `evaluate` adapter: a local module folder works offline; a hub name fails fast offline."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from registry.metrics import build_metric
from registry.resolve import check_spec
from specs.loader import expand
from specs.schema import EvaluateMetric

evaluate = pytest.importorskip("evaluate")

MODULE_SOURCE = '''
import datasets
import evaluate


class LocalAccuracy(evaluate.Metric):
    """Accuracy, written as a local evaluate module."""

    def _info(self):
        return evaluate.MetricInfo(
            description="Fraction of predictions equal to their references.",
            citation="",
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references):
        correct = sum(int(p == r) for p, r in zip(predictions, references))
        return {"local_accuracy": correct / len(references), "correct": correct}
'''


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No hub: evaluate reads HF_EVALUATE_OFFLINE when first imported, so its config is set as well."""
    monkeypatch.setenv("HF_EVALUATE_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(evaluate.config, "HF_EVALUATE_OFFLINE", True)


@pytest.fixture
def local_module(tmp_path) -> Path:
    """A local evaluate module folder: ``local_accuracy/local_accuracy.py``."""
    folder = tmp_path / "local_accuracy"
    folder.mkdir()
    (folder / "local_accuracy.py").write_text(textwrap.dedent(MODULE_SOURCE), encoding="utf-8")
    return folder


def scores_and_labels(seed: int, n: int = 60, classes: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    scores = rng.normal(size=(n, classes))
    scores[np.arange(n), labels] += 1.0
    return scores, labels


def test_local_module_gives_the_same_value_as_our_accuracy(local_module):
    metric = build_metric(EvaluateMetric(evaluate=str(local_module)))
    accuracy = build_metric("accuracy")
    values = []
    for seed in range(3):
        scores, labels = scores_and_labels(seed)
        value = metric(scores, labels)
        assert isinstance(value, float)
        assert value == pytest.approx(accuracy(scores, labels), abs=1e-12)
        values.append(value)
    assert len(set(values)) > 1  # the cases differ, so agreement is not a coincidence
    assert metric.name == "local_accuracy"  # the module's folder name
    assert metric.higher_is_better is True


def test_key_selects_an_entry_and_names_the_metric(local_module):
    metric = build_metric(EvaluateMetric(evaluate=str(local_module), key="correct"))
    scores, labels = scores_and_labels(0)
    assert metric(scores, labels) == float(np.sum(scores.argmax(axis=1) == labels))
    assert metric.name == "correct"
    named = build_metric(EvaluateMetric(evaluate=str(local_module), key="correct", name="hits", higher_is_better=False))
    assert named.name == "hits" and named.higher_is_better is False


def test_unknown_key_raises_naming_what_there_is(local_module):
    metric = build_metric(EvaluateMetric(evaluate=str(local_module), key="f1"))
    with pytest.raises(KeyError) as excinfo:
        metric(*scores_and_labels(0))
    assert "'f1'" in str(excinfo.value) and "local_accuracy" in str(excinfo.value) and "correct" in str(excinfo.value)


def test_relative_folder_is_read_from_the_working_directory(local_module, monkeypatch):
    monkeypatch.chdir(local_module.parent)
    metric = build_metric(EvaluateMetric(evaluate="local_accuracy"))  # a folder here, not the hub
    scores, labels = scores_and_labels(1)
    assert metric(scores, labels) == pytest.approx(build_metric("accuracy")(scores, labels))


def test_hub_name_fails_offline_with_a_lookup_error():
    with pytest.raises(LookupError) as excinfo:
        build_metric(EvaluateMetric(evaluate="definitely-not-a-metric-xyz"))
    message = str(excinfo.value)
    assert "definitely-not-a-metric-xyz" in message and "\n" not in message


def write_spec(folder: Path, metrics: list) -> Path:
    spec = {
        "name": "evaluate-metric",
        "track": "kd",
        "dataset": {"name": "digits"},
        "model": {"name": "small_cnn"},
        "task": {"name": "distillation", "params": {"method": "student_only"}},
        "metrics": metrics,
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_checking_a_spec_never_loads_an_evaluate_module(tmp_path, monkeypatch):
    # a hub name is fetched (and its code run) only when a run starts; a folder is only looked at
    loaded = []
    monkeypatch.setattr("registry.metrics.hf_evaluate.EvaluateModuleMetric.__init__", lambda self, ref: loaded.append(ref))
    path = write_spec(tmp_path, ["accuracy", {"evaluate": "definitely-not-a-metric-xyz"}, {"evaluate": "./no-such-folder"}])
    [run] = expand(path)
    [problem] = check_spec(run.spec, run.source)
    assert (problem.file, problem.path) == (str(path), "metrics[2].evaluate") and "no such folder" in problem.message
    assert loaded == []


def test_a_module_folder_without_its_script_is_a_problem(tmp_path):
    (tmp_path / "my_metric").mkdir()
    path = write_spec(tmp_path, [{"evaluate": str(tmp_path / "my_metric")}])
    [run] = expand(path)
    [problem] = check_spec(run.spec, run.source)
    assert problem.path == "metrics[0].evaluate" and "has no my_metric.py" in problem.message


def test_local_module_in_a_spec_checks_clean_and_builds(tmp_path, local_module):
    path = write_spec(tmp_path, ["accuracy", {"evaluate": str(local_module), "key": "correct", "name": "n_correct"}])
    [run] = expand(path)
    assert check_spec(run.spec, run.source) == []
    metric = build_metric(run.spec.metrics[1])
    assert metric.name == "n_correct"
    scores, labels = scores_and_labels(2)
    assert metric(scores, labels) == float(np.sum(scores.argmax(axis=1) == labels))


def test_a_run_stores_the_evaluate_metric_beside_the_built_in_one(tmp_path, local_module):
    from runners.sweep import run_sweep
    from runners.progress import SweepReporter
    from runners.records import ResultsDir

    spec = {
        "name": "eval-metric", "track": "kd", "dataset": {"name": "digits"},
        "model": {"name": "small_cnn", "params": {"width": 4}},
        "task": {"name": "distillation", "params": {"method": "student_only", "epochs": 1}},
        "metrics": ["accuracy", {"evaluate": str(local_module), "key": "local_accuracy"}], "device": "cpu",
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    outcome = run_sweep(expand(path), ResultsDir(tmp_path / "results"), reporter=SweepReporter(live=False))
    record = outcome.ran[0]
    assert record.status == "ok", record.error
    assert record.metrics["test"]["local_accuracy"] == record.metrics["test"]["accuracy"]
    assert record.higher_is_better["local_accuracy"] is True
