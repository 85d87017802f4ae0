"""Every dataset's declared target (``registry.targets``) is what its loader builds: checked on small
offline data for each entry and each variant of it (GLUE and MTNeuro tasks), so a wrong declaration
fails here rather than after training."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from registry import DATASETS, load_all
from registry.datasets.clip_scaling import RESULTS, ResultTable
from registry.datasets.glue import TASKS as GLUE_TASKS
from registry.datasets.survey import SurveyResponses, synthetic_frame
from registry.datasets.tensors import SegmentationData, TensorData
from registry.datasets.text import TextData
from registry.targets import Target
from runners.records import ResultsDir
from specs.record import RunRecord


@pytest.fixture(autouse=True)
def _registry():
    load_all()


def observed(data) -> Target:
    """The target a loaded dataset really has, with its labels checked against it."""
    if isinstance(data, ResultTable):
        assert isinstance(data.frame, pd.DataFrame) and len(data.frame)
        return Target("table")
    if isinstance(data, SurveyResponses):
        assert data.cards
        return Target("responses")
    if isinstance(data, TextData):
        labels = np.concatenate([split.labels for _, split in data.splits()])
        if data.regression:
            assert labels.dtype.kind == "f" and data.num_classes == 1
            return Target("regression")
        assert labels.dtype.kind == "i" and set(np.unique(labels)) <= set(range(data.num_classes))
        return Target("classes", data.num_classes)
    assert isinstance(data, TensorData), type(data)
    labels = [data.train.y, data.val.y, data.test.y]
    assert not any(y.is_floating_point() for y in labels)
    assert all(0 <= int(y.min()) and int(y.max()) < data.num_classes for y in labels if len(y))
    masks = labels[0].ndim > 1
    assert masks == isinstance(data, SegmentationData)
    assert all(y.shape[1:] == data.train.x.shape[2:] for y in labels) if masks else all(y.ndim == 1 for y in labels)
    return Target("masks" if masks else "classes", data.num_classes)


def load(name: str, params: dict, cache_dir=None):
    entry = DATASETS.get(name)
    harness = {key: cache_dir for key in entry.harness_names}
    return entry.build(harness=harness, params=params)


def assert_declared(name: str, params: dict, data) -> None:
    declared = DATASETS.get(name).target_for(params)
    assert declared == observed(data), f"{name} {params}: declares {declared}, builds {observed(data)}"


@pytest.mark.parametrize(
    "name, params",
    [
        ("digits", {}),
        ("rt_sentiment", {"limit": 200}),
        *[("glue-synthetic", {"task": task, "size": 200}) for task in ("sst2", "cola", "mrpc", "stsb")],
        *[("mtneuro-synthetic", {"task": task, "size": 32, "z_step": 20})
          for task in ("region", "segmentation_4class", "segmentation_3class")],
        ("survey-synthetic", {"challenges": 3}),
    ],
    ids=lambda value: value if isinstance(value, str) else ",".join(f"{k}={v}" for k, v in value.items()),
)
def test_declared_target_is_what_the_loader_builds(name, params):
    assert_declared(name, params, load(name, params))


def test_firecube_target_is_two_classes(tmp_path):
    params = {"first_year": 2017, "last_year": 2020, "size": 14, "fire_rate": 0.01, "window": 4, "patch": 5, "test_years": [2020]}
    data = load("firecube-synthetic", params, tmp_path)
    assert_declared("firecube-synthetic", params, data)
    cube = next((tmp_path / "firecube-synthetic").iterdir())  # the real loader reads the cube it wrote
    real = {"path": str(cube), **{k: v for k, v in params.items() if k in ("window", "patch", "test_years")}}
    assert_declared("firecube", real, load("firecube", real, tmp_path))


def test_cifar_targets(cifar10_files, cifar100_files):
    for name, files in (("cifar10", cifar10_files), ("cifar100", cifar100_files)):
        params = {"path": str(files.root)}
        assert_declared(name, params, load(name, params))


@pytest.mark.parametrize("task", ["mnli", "stsb", "rte"])
def test_glue_targets_from_local_parquet(tmp_path, task):
    info = GLUE_TASKS[task]
    rows = 12
    labels = [i / 3 for i in range(rows)] if info.regression else [i % len(info.class_names) for i in range(rows)]
    frame = pd.DataFrame({info.text_a: [f"first {i}" for i in range(rows)], info.text_b: [f"second {i}" for i in range(rows)], "label": labels})
    (tmp_path / task).mkdir()
    for split in ("train", info.test_split, *(hub for _, hub in info.extra_splits)):
        frame.to_parquet(tmp_path / task / f"{split}-00000-of-00001.parquet")
    params = {"task": task, "path": str(tmp_path), "val_fraction": 0.25}
    assert_declared("glue", params, load("glue", params))


def test_result_tables_and_survey_files(tmp_path):
    (tmp_path / RESULTS).write_text(
        "upstream_dataset,task,acc1,image_retrieval_recall@5,gmacs_total\nLAION-400M,zeroshot_classification,0.5,,10\nCLIP-WIT,zeroshot_retrieval,,0.7,20\n"
    )
    assert_declared("clip_scaling_results", {"path": str(tmp_path)}, load("clip_scaling_results", {"path": str(tmp_path)}))
    synthetic_frame(challenges=2).to_csv(tmp_path / "responses.csv", index=False)
    params = {"path": str(tmp_path / "responses.csv")}
    assert_declared("survey_responses", params, load("survey_responses", params))


def test_every_built_in_dataset_declares_a_target():
    undeclared = [e.name for e in DATASETS if e.obj.__module__.startswith("registry.") and e.target is None]
    assert undeclared == []


def test_tables_and_responses_of_a_results_folder(tmp_path):
    folder = ResultsDir(tmp_path)
    for width in (2, 4):
        folder.write(RunRecord(
            run_id=f"r{width}", spec_name="s", track="kd", task="distillation", dataset="digits", model="small_cnn", seed=0, status="ok",
            started_at="2026-01-01T00:00:00+00:00", duration_s=1.0, device="cpu", metrics={"test": {"accuracy": 0.5}},
            spec={"model": {"params": {"width": width}}, "method_card": {"deep_learning": True}},
        ))
    for name, params in (("leaderboard", {"track": "kd", "metric": "accuracy", "x": "model.params.width"}), ("method_cards", {"track": "kd"})):
        params = {**params, "results": str(tmp_path)}
        assert_declared(name, params, load(name, params))
