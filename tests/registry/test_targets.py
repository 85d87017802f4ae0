"""A spec's parts must fit each other (registry.targets, checked by registry.resolve): the task, the
model, a distillation teacher and every metric against the dataset's target, one problem per
mistake, before anything runs."""
from __future__ import annotations

import pytest

from registry import DATASETS, METRICS, MODELS, TASKS, load_all
from registry.core import Registry
from registry.resolve import check_spec
from registry.targets import Accepts, Target, describe_output
from specs.errors import Problem

DIGITS = {"name": "fit", "track": "kd", "dataset": {"name": "digits"}, "model": {"name": "small_cnn"},
          "task": {"name": "classification"}, "metrics": ["accuracy"]}
SEGMENTATION = {**DIGITS, "dataset": {"name": "mtneuro-synthetic", "params": {"task": "segmentation_4class"}},
                "model": {"name": "unet_resnet18"}, "task": {"name": "segmentation"}, "metrics": ["seg_iou"]}
SEG_LABEL = "mtneuro-synthetic-segmentation_4class-2d"


def problems(expand_spec, data) -> list[Problem]:
    [run] = expand_spec(data)
    return check_spec(run.spec, run.source)


def messages(expand_spec, data) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in problems(expand_spec, data)]


@pytest.mark.parametrize(
    "metrics, index, message",
    [
        (["accuracy", "auroc"], 1, "metric 'auroc' scores 2-class problems; dataset 'digits' has 10 classes"),
        (["f1", "macro_f1"], 0, "metric 'f1' scores 2-class problems; dataset 'digits' has 10 classes"),
        (["accuracy", "brier"], 1, "metric 'brier' scores 2-class problems; dataset 'digits' has 10 classes"),
        (["pearson"], 0, "metric 'pearson' scores regression targets; dataset 'digits' has 10 classes"),
        (["accuracy", "seg_iou"], 1, "metric 'seg_iou' scores per-pixel masks; dataset 'digits' has 10 classes"),
        (["alpha"], 0, "metric 'alpha' scores a results table; dataset 'digits' has 10 classes"),
        (["share"], 0, "metric 'share' scores survey responses; dataset 'digits' has 10 classes"),
    ],
)
def test_a_metric_that_does_not_score_the_dataset_is_a_problem_at_its_index(expand_spec, metrics, index, message):
    assert messages(expand_spec, {**DIGITS, "metrics": metrics}) == [(f"metrics[{index}]", message)]


def test_every_metric_that_does_not_fit_is_reported(expand_spec):
    found = problems(expand_spec, {**DIGITS, "metrics": ["auroc", "accuracy", "spearman", "matthews", "seg_f1"]})
    assert [p.path for p in found] == ["metrics[0]", "metrics[2]", "metrics[4]"]


def test_binary_metrics_fit_a_two_class_dataset_and_correlations_a_regression_one(expand_spec):
    fire = {**DIGITS, "dataset": {"name": "firecube-synthetic"}, "model": {"name": "logistic_regression"},
            "task": {"name": "fire_forecasting"}, "metrics": ["auroc", "auprc", "f1", "brier", "accuracy", "matthews"]}
    assert problems(expand_spec, fire) == []
    stsb = {**DIGITS, "dataset": {"name": "glue-synthetic", "params": {"task": "stsb"}}, "model": {"name": "tiny_transformer"},
            "task": {"name": "finetune"}, "metrics": ["pearson", "spearman"]}
    assert problems(expand_spec, stsb) == []
    stsb["metrics"] = ["pearson", "accuracy"]
    assert messages(expand_spec, stsb) == [
        ("metrics[1]", "metric 'accuracy' scores class labels; dataset 'glue-synthetic-stsb' has regression scores")]


def test_f1_on_three_classes_names_the_count(expand_spec):
    spec = {**DIGITS, "dataset": {"name": "glue", "params": {"task": "mnli"}}, "model": {"name": "minilm"}, "task": {"name": "finetune"},
            "metrics": ["accuracy", "f1"]}
    assert messages(expand_spec, spec) == [("metrics[1]", "metric 'f1' scores 2-class problems; dataset 'glue-mnli' has 3 classes")]


def test_segmentation_on_digits_is_one_problem_of_the_task(expand_spec):
    # the model and the metric fit the masks the task needs, not digits: only the root cause is reported
    spec = {**SEGMENTATION, "dataset": {"name": "digits"}}
    assert messages(expand_spec, spec) == [("task.name", "task 'segmentation' needs per-pixel masks; dataset 'digits' has 10 classes")]


def test_fire_forecasting_needs_two_classes(expand_spec):
    spec = {**DIGITS, "task": {"name": "fire_forecasting"}, "metrics": ["auroc"]}
    assert messages(expand_spec, spec) == [("task.name", "task 'fire_forecasting' needs 2-class problems; dataset 'digits' has 10 classes")]


def test_a_classifier_in_a_segmentation_task_is_a_problem_of_the_model(expand_spec):
    spec = {**SEGMENTATION, "model": {"name": "small_cnn"}}
    assert messages(expand_spec, spec) == [
        ("model.name", f"model 'small_cnn' outputs class scores; task 'segmentation' on {SEG_LABEL!r} needs per-pixel masks")]


def test_a_segmentation_model_in_a_classification_task_is_a_problem_of_the_model(expand_spec):
    spec = {**DIGITS, "model": {"name": "unet_resnet18"}}
    assert messages(expand_spec, spec) == [
        ("model.name", "model 'unet_resnet18' outputs per-pixel masks; task 'classification' on 'digits' needs class scores")]


def test_a_distillation_teacher_that_outputs_masks_is_a_problem_of_the_teacher(expand_spec):
    spec = {**DIGITS, "task": {"name": "distillation", "params": {"method": "vanilla_kd", "teacher": {"name": "unet3d"}}}}
    assert messages(expand_spec, spec) == [
        ("task.params.teacher.name", "model 'unet3d' outputs per-pixel masks; task 'distillation' on 'digits' needs class scores")]


def test_shipped_kinds_of_run_fit(expand_spec):
    for spec in (
        DIGITS, SEGMENTATION,
        {**DIGITS, "model": {"name": "resnet20"}, "task": {"name": "distillation", "params": {"teacher": {"name": "resnet56"}}}},
        {**DIGITS, "dataset": {"name": "survey-synthetic"}, "model": {"name": "survey_estimator"}, "task": {"name": "survey_stats"},
         "metrics": ["share", "median"]},
        {**DIGITS, "dataset": {"name": "leaderboard", "params": {"track": "kd", "metric": "accuracy", "x": "duration_s"}},
         "model": {"name": "power_law_floor"}, "task": {"name": "scaling_fit"}, "metrics": ["alpha", "r2"]},
    ):
        assert problems(expand_spec, spec) == [], spec


# --- no pile-up: fit is checked only between parts that are valid themselves -------------------------


def test_no_fit_problems_beside_an_unknown_dataset(expand_spec):
    spec = {**DIGITS, "dataset": {"name": "digts"}, "metrics": ["auroc"]}
    assert [p.path for p in problems(expand_spec, spec)] == ["dataset.name"]


def test_no_fit_problems_beside_bad_dataset_parameters(expand_spec):
    spec = {**SEGMENTATION, "dataset": {"name": "mtneuro-synthetic", "params": {"task": "segmentation_5class"}}, "model": {"name": "small_cnn"}}
    assert [p.path for p in problems(expand_spec, spec)] == ["dataset.params.task"]


def test_a_model_with_bad_parameters_or_an_unknown_task_gets_no_fit_problem(expand_spec):
    spec = {**DIGITS, "model": {"name": "unet_resnet18", "params": {"widht": 8}}}
    assert [p.path for p in problems(expand_spec, spec)] == ["model.params.widht"]
    spec = {**DIGITS, "model": {"name": "unet_resnet18"}, "task": {"name": "clasification"}}
    assert [p.path for p in problems(expand_spec, spec)] == ["task.name"]


def test_an_unknown_metric_is_one_problem(expand_spec):
    assert [p.path for p in problems(expand_spec, {**DIGITS, "metrics": ["aurco", "auroc"]})] == ["metrics[0]", "metrics[1]"]
    [unknown, _] = problems(expand_spec, {**DIGITS, "metrics": ["aurco", "auroc"]})
    assert unknown.message.startswith("unknown metric 'aurco'")


@pytest.fixture
def undeclared():
    """A dataset, task and metric registered without declarations, removed afterwards."""
    load_all()
    from registry.metrics import Metric

    def blobs(*, n: int = 3) -> list:
        """Blobs (declares no target)."""
        return []

    def anything(ctx) -> None:
        """Accepts anything (declares nothing)."""

    class Whatever(Metric):
        """Scores anything."""

    DATASETS.register("test_blobs")(blobs)
    TASKS.register("test_anything")(anything)
    METRICS.register("test_whatever")(Whatever)
    yield
    for registry, name in ((DATASETS, "test_blobs"), (TASKS, "test_anything"), (METRICS, "test_whatever")):
        registry._entries.pop(name, None)


def test_parts_that_declare_nothing_are_not_checked(expand_spec, undeclared):
    assert problems(expand_spec, {**DIGITS, "dataset": {"name": "test_blobs"}, "model": {"name": "unet3d"}, "metrics": ["auroc"]}) == []
    assert problems(expand_spec, {**DIGITS, "task": {"name": "test_anything"}, "model": {"name": "small_cnn"}, "metrics": ["test_whatever"]}) == []
    spec = {**DIGITS, "task": {"name": "test_anything"}, "model": {"name": "unet3d"}}
    assert [p.path for p in problems(expand_spec, spec)] == ["model.name"]  # the model still has to fit the dataset


# --- the declarations ------------------------------------------------------------------------------


def test_every_built_in_task_and_metric_declares_what_it_works_with():
    load_all()
    built_in = lambda registry: [e for e in registry if e.obj.__module__.startswith("registry.")]  # noqa: E731
    assert [e.name for e in built_in(TASKS) if e.accepts is None] == []
    assert [e.name for e in built_in(METRICS) if e.obj.accepts is None] == []


def test_models_output_class_scores_unless_they_say_otherwise():
    load_all()
    outputs = {e.name: e.output for e in MODELS}
    assert outputs["small_cnn"] == outputs["resnet18_3d"] == outputs["random_forest"] == frozenset({"classes"})
    assert outputs["unet_resnet18"] == outputs["unet3d"] == frozenset({"masks"})
    assert outputs["minilm"] == outputs["tiny_transformer"] == frozenset({"classes", "regression"})
    assert outputs["power_law"] == frozenset({"table"}) and outputs["survey_estimator"] == frozenset({"responses"})


def test_accepts_and_target():
    two = Accepts({"classes"}, classes=2)
    assert two.problem(Target("classes", 2), "d") is None
    assert two.problem(Target("classes", 3), "d") == "2-class problems; dataset 'd' has 3 classes"
    assert two.problem(Target("regression"), "d") == "2-class problems; dataset 'd' has regression scores"
    either = Accepts({"regression", "classes"})
    assert either == Accepts(frozenset({"classes", "regression"})) and either.describe() == "class labels or regression targets"
    assert either.problem(Target("masks", 4), "d") == "class labels or regression targets; dataset 'd' has per-pixel masks of 4 classes"
    assert describe_output({"classes", "regression"}) == "class scores or regression scores"
    with pytest.raises(ValueError, match="target kinds"):
        Accepts({"pixels"})
    with pytest.raises(ValueError):
        Target("table", 3)


def test_register_refuses_an_unknown_output_kind():
    fresh: Registry = Registry("model")
    with pytest.raises(ValueError, match="target kinds"):
        fresh.register("m", output={"pixels"})(lambda: None)
    fresh.register("n")(lambda: None)
    assert fresh.get("n").output == frozenset({"classes"}) and fresh.get("n").target is None and fresh.get("n").accepts is None
