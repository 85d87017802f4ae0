"""Parameters whose valid range is known say so in their type (registry.params and pydantic's types).

For every constrained parameter of a dataset, model or task, a value just outside its range is a
problem of the spec at its key, and the boundary value just inside is accepted; and no numeric
keyword-only parameter is a bare ``int`` or ``float`` unless ``UNCONSTRAINED`` says why.
"""
from __future__ import annotations

import math
import typing
from typing import Annotated, Any, Literal

import annotated_types
import pytest
from pydantic.fields import FieldInfo
from pydantic.functional_validators import AfterValidator, BeforeValidator, PlainValidator, WrapValidator

import registry
from registry import load_all, registry_of
from registry.resolve import check_spec

KINDS = ("dataset", "model", "task")
SEED_MAX = 2**32 - 1
ABOVE_0 = math.nextafter(0.0, 1.0)  # the smallest float > 0
BELOW_0 = math.nextafter(0.0, -1.0)
BELOW_1 = math.nextafter(1.0, 0.0)
ABOVE_1 = math.nextafter(1.0, 2.0)

# Parameters an entry requires, given with both values so only the parameter under test differs; and
# for distillation a method without a schedule, so that its cross-parameter check (a schedule must fit
# in the epochs, tests/registry/tasks/test_distillation_schedule.py) leaves single ranges to this table.
REQUIRED: dict[tuple[str, str], dict[str, Any]] = {
    ("task", "distillation"): {"method": "student_only"},
    ("dataset", "firecube"): {"path": "cube.zarr"},
    ("dataset", "glue"): {"task": "cola"},
    ("model", "hf_transformer"): {"name": "bert-base-uncased"},
}


def positive_int(kind: str, entry: str, *params: str) -> list[tuple]:
    """A count or width: 0 is refused, 1 accepted."""
    return [(kind, entry, p, 0, 1) for p in params]


def positive_float(kind: str, entry: str, *params: str) -> list[tuple]:
    """A rate or scale > 0: 0 is refused, the smallest float above it accepted."""
    return [(kind, entry, p, 0.0, ABOVE_0) for p in params]


def non_negative_float(kind: str, entry: str, *params: str) -> list[tuple]:
    """A weight decay or margin >= 0: just below 0 is refused, 0 accepted."""
    return [(kind, entry, p, BELOW_0, 0.0) for p in params]


def fraction(kind: str, entry: str, *params: str) -> list[tuple]:
    """A share in (0, 1), or a confidence level: both ends refused, the floats just inside accepted."""
    return [row for p in params for row in ((kind, entry, p, 0.0, ABOVE_0), (kind, entry, p, 1.0, BELOW_1))]


def half_open(kind: str, entry: str, *params: str) -> list[tuple]:
    """Dropout or momentum in [0, 1): below 0 and 1 itself refused; 0 and the float below 1 accepted."""
    return [row for p in params for row in ((kind, entry, p, BELOW_0, 0.0), (kind, entry, p, 1.0, BELOW_1))]


def seed(kind: str, entry: str, *params: str) -> list[tuple]:
    """A seed in [0, 2**32): -1 and 2**32 refused, 0 and 2**32 - 1 accepted."""
    return [row for p in params for row in ((kind, entry, p, -1, 0), (kind, entry, p, SEED_MAX + 1, SEED_MAX))]


def trainer(task: str) -> list[tuple]:
    """The optimiser settings a training task shares."""
    return [
        *positive_int("task", task, "epochs", "batch_size"), *positive_float("task", task, "lr"),
        *non_negative_float("task", task, "weight_decay"), *half_open("task", task, "momentum"),
    ]


CIFAR_RESNETS = ("resnet8", "resnet20", "resnet32", "resnet56", "resnet110")

CASES: list[tuple[str, str, str, Any, Any]] = [  # (kind, entry, param, bad value, good value)
    # datasets
    *[row for name in ("cifar10", "cifar100") for row in (
        *fraction("dataset", name, "val_fraction"), *seed("dataset", name, "split_seed"),
        *positive_int("dataset", name, "train_limit"))],
    *fraction("dataset", "digits", "test_fraction", "val_fraction"), *seed("dataset", "digits", "split_seed"),
    *[row for name in ("firecube", "firecube-synthetic") for row in (
        *positive_int("dataset", name, "window"),
        ("dataset", name, "patch", 0, 1), ("dataset", name, "patch", 24, 25),  # odd: the label pixel is the centre
        ("dataset", name, "test_years", [], [2020]),
        *positive_float("dataset", name, "negative_ratio", "pool_ratio", "eval_negative_ratio"),
        *seed("dataset", name, "sampling_seed"))],
    *positive_int("dataset", "firecube-synthetic", "size"), *fraction("dataset", "firecube-synthetic", "fire_rate"),
    *seed("dataset", "firecube-synthetic", "cube_seed"),
    *fraction("dataset", "glue", "val_fraction"), *seed("dataset", "glue", "split_seed"),
    *positive_int("dataset", "glue", "train_limit", "eval_limit"),
    ("dataset", "glue-synthetic", "size", 9, 10),  # 70/10/20 splits: 10 sentences give each split one
    *seed("dataset", "glue-synthetic", "split_seed"),
    *positive_int("dataset", "mtneuro-synthetic", "size", "z_step"), *seed("dataset", "mtneuro-synthetic", "seed"),
    *fraction("dataset", "rt_sentiment", "val_fraction", "test_fraction"), *seed("dataset", "rt_sentiment", "split_seed"),
    *positive_int("dataset", "rt_sentiment", "limit"),
    *positive_int("dataset", "survey-synthetic", "challenges", "min_participants", "max_participants"),
    *seed("dataset", "survey-synthetic", "seed"),
    # models
    *[row for name in ("lstm", "convlstm") for row in (
        *positive_int("model", name, "hidden_size", "layers"), *half_open("model", name, "dropout"))],
    *positive_int("model", "loade_cnn", "width"), *half_open("model", "loade_cnn", "dropout"),
    *positive_float("model", "logistic_regression", "c"), *positive_int("model", "logistic_regression", "max_iter"),
    *positive_int("model", "random_forest", "n_estimators", "max_depth", "min_samples_leaf"),
    *positive_int("model", "hf_transformer", "max_length"),
    ("model", "minilm", "max_length", 1, 2), ("model", "minilm", "max_length", 513, 512),  # the checkpoint's 512 positions
    *half_open("model", "minilm", "dropout"),
    *positive_int("model", "tiny_transformer", "layers", "hidden", "heads", "intermediate"),
    ("model", "tiny_transformer", "max_length", 1, 2), *half_open("model", "tiny_transformer", "dropout"),
    *[row for name in (*CIFAR_RESNETS, "resnet18", "resnet18_3d", "unet_resnet18") for row in positive_int("model", name, "width")],
    *positive_int("model", "small_cnn", "width"), *half_open("model", "small_cnn", "dropout"),
    *fraction("model", "survey_estimator", "level"), *positive_int("model", "survey_estimator", "resamples"),
    *positive_int("model", "unet3d", "depth", "start_filters"),
    # tasks
    *trainer("classification"), *trainer("segmentation"),
    *trainer("distillation"),
    *positive_int("task", "distillation", "teacher_epochs", "t_max"),
    *positive_float("task", "distillation", "teacher_lr", "temperature", "psi_ramp"),
    *seed("task", "distillation", "teacher_seed"),
    ("task", "distillation", "alpha", BELOW_0, 0.0), ("task", "distillation", "alpha", ABOVE_1, 1.0),
    *non_negative_float("task", "distillation", "margin"),
    ("task", "distillation", "psi_until", -1, 0),
    *trainer("finetune"),
    ("task", "finetune", "targets", [], ["query"]),
    *positive_int("task", "finetune", "rank"), *positive_float("task", "finetune", "alpha", "scale"),
    ("task", "finetune", "krona_shape", [0, 4], [1, 4]),
    *trainer("fire_forecasting"), *positive_int("task", "fire_forecasting", "step_epochs"),
    ("task", "fire_forecasting", "gamma", 0.0, ABOVE_0), ("task", "fire_forecasting", "gamma", ABOVE_1, 1.0),
    ("task", "scaling_fit", "where", {"task": []}, {"task": ["zeroshot_classification"]}),
    ("task", "scaling_fit", "frontier_when", {"training_distribution": []}, {"training_distribution": ["LAION"]}),
    *positive_int("task", "scaling_fit", "frontier_bins", "resamples", "held_out"),
    ("task", "scaling_fit", "predict_at", [0.0], [ABOVE_0]),
]

# Numeric keyword-only parameters left without a range, each with the reason.
UNCONSTRAINED: dict[tuple[str, str, str], str] = {
    ("dataset", "firecube", "val_year"): "a calendar year; which years work is the cube's time axis, known when it is read",
    ("dataset", "firecube", "test_years"): "calendar years (the tuple itself must not be empty); as val_year",
    ("dataset", "firecube-synthetic", "first_year"): "a calendar year; only its order with last_year matters (cross-parameter)",
    ("dataset", "firecube-synthetic", "last_year"): "a calendar year, not before first_year (cross-parameter)",
    ("dataset", "firecube-synthetic", "val_year"): "a calendar year inside first_year..last_year (cross-parameter)",
    ("dataset", "firecube-synthetic", "test_years"): "calendar years inside first_year..last_year (cross-parameter)",
    ("task", "finetune", "residual_scale"): "KronA^B_res's fixed residual s_res: any real (0 is KronA^B, a negative one subtracts x)",
}


def _entries(kind: str) -> list[registry.Entry]:
    load_all()
    return [e for e in registry_of(f"{kind}s") if e.obj.__module__.startswith("registry.")]


def _annotation(info: FieldInfo) -> Any:
    """A field's full annotation: pydantic moves a top-level ``Annotated``'s metadata (and a
    ``Field(...)`` default's constraints) into ``metadata``; put them back."""
    return Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation


def _is_constraint(meta: Any) -> bool:
    if isinstance(meta, FieldInfo):
        return bool(meta.metadata)
    return isinstance(meta, (annotated_types.BaseMetadata, annotated_types.GroupedMetadata, AfterValidator,
                             BeforeValidator, PlainValidator, WrapValidator))


def _numeric(tp: Any) -> bool:
    return tp in (int, float)


def bare_numbers(tp: Any) -> bool:
    """Whether an ``int`` or ``float`` inside ``tp`` (alone, in a union, a list, a tuple, a dict's values)
    is bare: not under an ``Annotated`` with a constraint."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *meta = typing.get_args(tp)
        if any(_is_constraint(m) for m in meta) and _numeric(base):
            return False
        return bare_numbers(base)
    if _numeric(tp):
        return True
    if origin is Literal:
        return False
    return any(bare_numbers(arg) for arg in typing.get_args(tp) if arg is not Ellipsis)


def constrained(tp: Any) -> bool:
    """Whether ``tp`` holds a range or size constraint anywhere (``DataPath``'s marker is none)."""
    if typing.get_origin(tp) is Annotated:
        base, *meta = typing.get_args(tp)
        return any(_is_constraint(m) for m in meta) or constrained(base)
    if typing.get_origin(tp) is Literal:
        return False
    return any(constrained(arg) for arg in typing.get_args(tp) if arg is not Ellipsis)


def _params(kind: str) -> list[tuple[str, str, str, Any]]:
    return [(kind, e.name, name, _annotation(info)) for e in _entries(kind) for name, info in e.params_model.model_fields.items()]


ALL_PARAMS = [p for kind in KINDS for p in _params(kind)]


def _problems(kind: str, entry: str, param: str, value: Any) -> list:
    found = registry_of(f"{kind}s").get(entry)
    params = {**REQUIRED.get((kind, entry), {}), param: value}
    return found.validate_params(params, f"{kind}.params", "spec.yaml")


@pytest.mark.parametrize("kind, entry, param, bad, good", CASES, ids=[f"{c[1]}.{c[2]}={c[3]!r}" for c in CASES])
def test_a_value_just_outside_the_range_is_refused_at_its_key(kind, entry, param, bad, good):
    load_all()
    assert _problems(kind, entry, param, good) == [], f"{entry}.{param}={good!r} is inside the range"
    problems = _problems(kind, entry, param, bad)
    assert problems, f"{entry}.{param}={bad!r} should be refused"
    key = f"{kind}.params.{param}"
    for problem in problems:
        assert problem.path == key or problem.path.startswith(key + "."), problem
        assert problem.file == "spec.yaml"
        if not isinstance(bad, (list, dict)):
            assert problem.message.endswith(f"(got {bad!r})"), problem.message


def test_every_constrained_parameter_is_in_the_table():
    covered = {(kind, entry, param) for kind, entry, param, *_ in CASES}
    missing = [(k, e, p) for k, e, p, tp in ALL_PARAMS if constrained(tp) and (k, e, p) not in covered]
    assert missing == [], "add a (kind, entry, param, bad, good) row to CASES for each"


def test_no_numeric_parameter_is_left_without_a_range():
    """A new numeric keyword-only parameter states its range (registry.params, pydantic's PositiveInt,
    NonNegativeFloat, ...) or is listed in UNCONSTRAINED with a reason."""
    bare = {(k, e, p) for k, e, p, tp in ALL_PARAMS if bare_numbers(tp)}
    unexplained = sorted(bare - set(UNCONSTRAINED))
    assert unexplained == [], (
        "numeric parameter(s) typed bare int/float: give each its range (registry/params.py) "
        "or list it in UNCONSTRAINED with the reason")
    stale = sorted(set(UNCONSTRAINED) - bare)
    assert stale == [], "listed in UNCONSTRAINED but constrained (or gone): remove them from the list"
    assert all(reason.strip() for reason in UNCONSTRAINED.values())


def test_the_check_sees_bare_numbers_where_they_hide():
    from pydantic import NonNegativeInt, PositiveFloat

    from registry.params import NonEmptyList, NonEmptyTuple, OddInt, Seed

    for tp in (int, float, int | None, list[float], tuple[int, ...], dict[str, list[int]], NonEmptyList[float],
               NonEmptyTuple[int] | None, Annotated[str, "marker"] | float):
        assert bare_numbers(tp), tp
    for tp in (bool, str, Literal[2, 3], PositiveFloat, Seed | None, OddInt, list[PositiveFloat],
               NonEmptyList[str], tuple[NonNegativeInt, NonNegativeInt] | None, Annotated[float, annotated_types.Interval(gt=0, lt=1)]):
        assert not bare_numbers(tp), tp
    assert constrained(NonEmptyList[str] | None) and constrained(dict[str, NonEmptyList[str]])
    assert not constrained(registry.paths.DataPath | None) and not constrained(Literal["a"])


def test_a_bad_range_in_a_spec_file_names_the_key(expand_spec, valid_spec):
    valid_spec["dataset"]["params"]["val_fraction"] = 1.5
    valid_spec["task"]["params"].update(alpha=1.5, temperature=0, margin=-1)
    [run] = expand_spec(valid_spec)
    found = {p.path: p.message for p in check_spec(run.spec, run.source)}
    assert found == {
        "dataset.params.val_fraction": "Input should be less than 1 (got 1.5)",
        "task.params.alpha": "Input should be less than or equal to 1 (got 1.5)",
        "task.params.temperature": "Input should be greater than 0 (got 0)",
        "task.params.margin": "Input should be greater than or equal to 0 (got -1)",
    }


def test_an_even_patch_is_refused_with_the_reason(expand_spec, valid_spec):
    valid_spec["dataset"] = {"name": "firecube-synthetic", "params": {"patch": 24, "test_years": []}}
    valid_spec["model"] = {"name": "lstm", "params": {}}
    valid_spec["task"] = {"name": "fire_forecasting", "params": {"gamma": 1.5}}
    valid_spec["metrics"] = ["auroc"]
    [run] = expand_spec(valid_spec)
    found = {p.path: p.message for p in check_spec(run.spec, run.source)}
    assert found["dataset.params.patch"] == "Input should be an odd number, so that a patch has a centre pixel (got 24)"
    assert found["dataset.params.test_years"].startswith("Tuple should have at least 1 item")
    assert found["task.params.gamma"] == "Input should be less than or equal to 1 (got 1.5)"


def test_the_catalog_shows_the_aliases_by_name():
    from registry.catalog import builtin_entries, find

    entries = builtin_entries()
    types = {p.name: p.type for p in find(entries, "tasks", "distillation").params}
    assert types["alpha"] == "Probability" and types["momentum"] == "Momentum" and types["teacher_seed"] == "Seed | None"
    types = {p.name: p.type for p in find(entries, "datasets", "firecube").params}
    assert types["patch"] == "OddInt" and types["test_years"] == "NonEmptyTuple[int]"
    assert {p.name: p.type for p in find(entries, "models", "survey_estimator").params}["level"] == "ConfidenceLevel"
