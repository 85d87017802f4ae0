"""Parameters naming local files (registry.paths.DataPath): relative to the spec file, checked to exist
by `podium validate`, one problem per missing path at its key."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml

from registry import DATASETS, MODELS, TASKS, load_all
from registry.core import Registry
from registry.datasets.survey import synthetic_frame
from registry.paths import DataPath, is_path_value, resolve_path, resolved_params
from registry.resolve import check_spec
from runners.cli import main
from specs.loader import expand

SURVEY = {"name": "s", "track": "challenges", "dataset": {"name": "survey_responses", "params": {"path": "./data.csv"}},
          "model": {"name": "survey_estimator", "params": {"resamples": 50}}, "task": {"name": "survey_stats"}, "metrics": ["share"]}
NOTE = "(relative paths are relative to the spec file)"


def write(folder: Path, data: dict, name: str = "spec.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_relative_path_is_relative_to_the_spec_files_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_path("data.csv", "specs/sub/spec.yaml") == tmp_path / "specs" / "sub" / "data.csv"
    assert resolve_path("../d/x.csv", "specs/sub/spec.yaml") == tmp_path / "specs" / "d" / "x.csv"
    assert resolve_path("/abs/x.csv", "specs/sub/spec.yaml") == Path("/abs/x.csv")
    assert resolve_path("~/x.csv", "specs/sub/spec.yaml") == Path.home() / "x.csv"


def test_the_path_parameters_of_entries():
    load_all()
    paths = {(registry.kind, e.name): e.path_params for registry in (DATASETS, MODELS, TASKS) for e in registry if e.path_params}
    assert paths == {
        ("dataset", "cifar10"): ("path",), ("dataset", "cifar100"): ("path",), ("dataset", "glue"): ("path",),
        ("dataset", "firecube"): ("path",), ("dataset", "survey_responses"): ("path",), ("dataset", "clip_scaling_results"): ("path",),
        ("dataset", "leaderboard"): ("results",), ("dataset", "method_cards"): ("results",),
        ("task", "classification"): ("checkpoint",), ("model", "tiny_transformer"): ("tokenizer",),
    }


def test_a_keyword_alternative_is_not_a_path():
    fresh: Registry = Registry("model")

    @fresh.register("m")
    def m(*, tokenizer: Literal["minilm"] | DataPath = "minilm", weights: DataPath | None = None) -> None:
        """A model."""

    entry = fresh.get("m")
    fields = entry.params_model.model_fields
    assert entry.path_params == ("tokenizer", "weights")
    assert entry.parsed_params({"tokenizer": "tok.json"})["tokenizer"] == "tok.json"  # validated as a string
    annotation = Literal["minilm"] | DataPath
    assert not is_path_value(annotation, "minilm") and is_path_value(annotation, "tok.json") and not is_path_value(fields["weights"].annotation, None)
    params = {"tokenizer": "minilm", "weights": "w.pt"}
    assert resolved_params(entry.params_model, params, "/specs/a.yaml") == {"tokenizer": "minilm", "weights": "/specs/w.pt"}
    assert resolved_params(entry.params_model, {"tokenizer": "minilm"}, "/specs/a.yaml") == {"tokenizer": "minilm"}


def test_a_missing_path_is_a_problem_naming_its_key_and_where_it_looked(tmp_path):
    spec = write(tmp_path / "sub", SURVEY)
    [run] = expand(spec)
    [problem] = check_spec(run.spec, run.source)
    assert (problem.file, problem.path) == (str(spec), "dataset.params.path")
    assert problem.message == f"no such file or folder: {tmp_path / 'sub' / 'data.csv'} {NOTE}"


def test_a_relative_path_is_found_beside_the_spec_from_any_working_folder(tmp_path, monkeypatch, capsys):
    spec = write(tmp_path / "sub", SURVEY)
    synthetic_frame(challenges=2).to_csv(tmp_path / "sub" / "data.csv", index=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["validate", str(spec)]) == 0, capsys.readouterr().err
    monkeypatch.chdir(tmp_path / "sub")  # the file is named relative to the spec, not to this folder
    assert main(["validate", "--set", "dataset.params.path=sub/data.csv", str(spec)]) == 2
    assert f"no such file or folder: {tmp_path / 'sub' / 'sub' / 'data.csv'}" in capsys.readouterr().err
    assert main(["validate", "--set", f"dataset.params.path={tmp_path / 'sub' / 'data.csv'}", str(spec)]) == 0  # absolute: as given


def test_validate_prints_one_line_per_problem_and_exits_2(tmp_path, capsys):
    data = {"name": "c", "track": "kd", "dataset": {"name": "digits"}, "model": {"name": "small_cnn"},
            "task": {"name": "classification", "params": {"checkpoint": "weights/encoder.pt"}}, "metrics": ["accuracy", "auroc"]}
    spec = write(tmp_path, data)
    assert main(["validate", str(spec)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [
        f"error: {spec}: task.params.checkpoint: no such file or folder: {tmp_path / 'weights' / 'encoder.pt'} {NOTE}",
        f"error: {spec}: metrics[1]: metric 'auroc' scores 2-class problems; dataset 'digits' has 10 classes",
    ]


def test_an_unset_optional_path_is_fine(expand_spec):
    [run] = expand_spec({"name": "c", "track": "kd", "dataset": {"name": "cifar10", "params": {"path": None}}, "model": {"name": "resnet8"},
                         "task": {"name": "classification", "params": {"checkpoint": None}}, "metrics": ["accuracy"]})
    assert check_spec(run.spec, run.source) == []


def test_a_teachers_path_is_checked_too(expand_spec, tmp_path):
    teacher = {"name": "tiny_transformer", "params": {"tokenizer": "no-such-tokenizer.json"}}
    [run] = expand_spec({"name": "t", "track": "kd", "dataset": {"name": "rt_sentiment"}, "model": {"name": "tiny_transformer"},
                         "task": {"name": "distillation", "params": {"teacher": teacher}}, "metrics": ["accuracy"]})
    [problem] = check_spec(run.spec, run.source)
    assert problem.path == "task.params.teacher.params.tokenizer" and str(tmp_path / "no-such-tokenizer.json") in problem.message
