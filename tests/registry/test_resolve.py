"""Checking a spec's names and parameters against the registries (registry.resolve), the registry
mechanism itself (registry.core), plugins by entry point, and `podium list`."""
from __future__ import annotations

import sys
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Literal

import pytest

import registry
from registry import METRICS, MODELS, TASKS, load_all
from registry.core import Registry, UnknownName
from registry.resolve import check_runs, check_spec
from runners.cli import main
from specs.errors import Problem, SpecError

PROJECT = Path(__file__).resolve().parents[2]


def problems_for(expand_spec, data) -> list[Problem]:
    """check_spec's problems for the single run of ``data``."""
    [run] = expand_spec(data)
    return check_spec(run.spec, run.source)


def test_valid_spec_has_no_problems(expand_spec, valid_spec):
    runs = expand_spec(valid_spec)
    assert check_spec(runs[0].spec, runs[0].source) == []
    assert check_runs(runs) is None


def test_shipped_digits_spec_has_no_problems():
    from specs.loader import expand

    runs = expand(PROJECT / "specs" / "kd" / "digits.yaml")
    check_runs(runs)  # raises SpecError if any registry name or parameter is wrong


# --- unknown names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "part, bad, close",
    [
        ("dataset", "digts", ["digits"]),
        ("model", "resnet2", ["resnet20", "resnet32"]),
        ("model", "smal_cnn", ["small_cnn"]),
        ("task", "distilation", ["distillation"]),
    ],
)
def test_unknown_name_is_a_problem_at_its_key_with_close_matches(expand_spec, valid_spec, part, bad, close):
    valid_spec[part]["name"] = bad
    [problem] = problems_for(expand_spec, valid_spec)
    assert problem.path == f"{part}.name"
    assert problem.message.startswith(f"unknown {part} {bad!r}; did you mean ")
    for name in close:
        assert repr(name) in problem.message
    assert f"podium list {part}s" in problem.message


def test_unknown_name_without_close_match_says_how_to_list(expand_spec, valid_spec):
    valid_spec["model"]["name"] = "qqqq_zzzz"
    [problem] = problems_for(expand_spec, valid_spec)
    assert problem.path == "model.name"
    assert "did you mean" not in problem.message and "podium list models" in problem.message


@pytest.mark.parametrize("bad, close", [("acuracy", "accuracy"), ("top5_acc", "top5_accuracy"), ("macro-f1", "macro_f1")])
def test_unknown_metric_is_a_problem_at_its_index(expand_spec, valid_spec, bad, close):
    valid_spec["metrics"] = ["accuracy", bad]
    [problem] = problems_for(expand_spec, valid_spec)
    assert problem.path == "metrics[1]"
    assert f"unknown metric {bad!r}" in problem.message and repr(close) in problem.message


def test_every_unknown_name_is_reported_together(expand_spec, valid_spec):
    valid_spec["dataset"]["name"] = "digts"
    valid_spec["model"]["name"] = "resnet2"
    valid_spec["task"]["name"] = "distilation"
    valid_spec["metrics"] = ["acuracy"]
    problems = problems_for(expand_spec, valid_spec)
    assert [p.path for p in problems] == ["dataset.name", "model.name", "task.name", "metrics[0]"]


# --- parameters -------------------------------------------------------------------------------


def test_unknown_model_parameter_suggests_the_close_one(expand_spec, valid_spec):
    valid_spec["model"]["params"] = {"widht": 8}
    [problem] = problems_for(expand_spec, valid_spec)
    assert problem.path == "model.params.widht"
    assert "did you mean 'width'?" in problem.message
    assert "width, dropout" in problem.message  # what it takes


@pytest.mark.parametrize(
    "part, key, value, expected",
    [
        ("model", "width", "wide", "integer"),
        ("model", "width", 8.5, "integer"),
        ("dataset", "test_fraction", "a fifth", "number"),
        ("task", "epochs", [3], "integer"),
        ("task", "method", "distil", "'vanilla_kd'"),  # a Literal lists what it accepts
    ],
)
def test_wrong_type_of_a_parameter(expand_spec, valid_spec, part, key, value, expected):
    valid_spec[part]["params"][key] = value
    [problem] = problems_for(expand_spec, valid_spec)
    assert problem.path == f"{part}.params.{key}"
    assert expected in problem.message
    if not isinstance(value, list):
        assert repr(value) in problem.message  # shows what was given


def test_a_whole_number_is_a_valid_float_parameter(expand_spec, valid_spec):
    valid_spec["task"]["params"]["lr"] = 1
    [run] = expand_spec(valid_spec)
    assert check_spec(run.spec, run.source) == []
    assert TASKS.get("distillation").parsed_params(run.spec.task.params)["lr"] == 1.0


def test_nested_teacher_name_is_checked(expand_spec, valid_spec):
    valid_spec["task"]["params"]["teacher"]["name"] = "resnet_x"
    [problem] = problems_for(expand_spec, valid_spec)
    assert problem.path == "task.params.teacher.name"
    assert problem.message.startswith("unknown model 'resnet_x'")


def test_nested_teacher_parameters_are_checked(expand_spec, valid_spec):
    valid_spec["task"]["params"]["teacher"]["params"] = {"widht": 16}
    [problem] = problems_for(expand_spec, valid_spec)
    assert problem.path == "task.params.teacher.params.widht"
    assert "unknown parameter of model 'resnet20'" in problem.message and "did you mean 'width'?" in problem.message


def test_misspelt_key_of_the_teacher_itself_suggests_the_component_keys(expand_spec, valid_spec):
    valid_spec["task"]["params"]["teacher"] = {"name": "resnet20", "parms": {"width": 8}}
    [problem] = problems_for(expand_spec, valid_spec)
    assert problem.path == "task.params.teacher.parms"
    assert "did you mean 'params'?" in problem.message
    assert "name, params" in problem.message and "epochs" not in problem.message  # not the task's parameters


def test_teacher_is_checked_even_when_other_parts_are_wrong(expand_spec, valid_spec):
    valid_spec["dataset"]["name"] = "digts"
    valid_spec["model"]["params"] = {"widht": 8}
    valid_spec["task"]["params"]["teacher"]["name"] = "resnet_x"
    paths = [p.path for p in problems_for(expand_spec, valid_spec)]
    assert paths == ["dataset.name", "model.params.widht", "task.params.teacher.name"]


# --- sweeps -----------------------------------------------------------------------------------


def test_a_problem_in_every_matrix_combination_is_reported_once(expand_spec, valid_spec):
    valid_spec["model"]["params"] = {"widht": 8}
    valid_spec["task"]["params"].update(t_max=2, psi_ramp=1)  # a schedule that completes in 2 or 3 epochs
    valid_spec["matrix"] = {"task.params.method": ["student_only", "vanilla_kd", "continuation_kd"], "task.params.epochs": [2, 3]}
    valid_spec["seeds"] = [0, 1, 2]
    runs = expand_spec(valid_spec)
    assert len(runs) == 18
    with pytest.raises(SpecError) as excinfo:
        check_runs(runs)
    assert [p.path for p in excinfo.value.problems] == ["model.params.widht"]


def test_a_problem_in_one_matrix_combination_is_found(expand_spec, valid_spec):
    valid_spec["matrix"] = {"task.params.teacher.name": ["resnet20", "resnet_x", "resnet8"]}
    with pytest.raises(SpecError) as excinfo:
        check_runs(expand_spec(valid_spec))
    [problem] = excinfo.value.problems
    assert problem.path == "task.params.teacher.name" and "'resnet_x'" in problem.message


# --- plugins ----------------------------------------------------------------------------------

PLUGIN_MODULE = "tests.registry.plugin_example"
PLUGIN_MODELS = ("plugin_linear", "plugin_linear_wide")


@pytest.fixture
def plugins(monkeypatch):
    """A list to append ``podium.plugins`` entry points to; ``registry.load_all()`` then loads them.

    Built-ins are loaded first (once per process); afterwards the plugin's models and module are
    removed and ``registry._loaded`` / ``registry.entry_points`` restored, so other tests see no trace."""
    load_all()
    monkeypatch.syspath_prepend(str(PROJECT))  # so `tests.registry.plugin_example` imports however pytest was started
    points: list[EntryPoint] = []

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        return [point for point in points if point.group == group]

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_loaded", False)
    yield points
    for name in PLUGIN_MODELS:
        MODELS._entries.pop(name, None)
    sys.modules.pop(PLUGIN_MODULE, None)


def test_plugin_module_entry_point_registers_its_model(plugins, expand_spec, valid_spec):
    assert "plugin_linear" not in MODELS
    plugins.append(EntryPoint(name="example", value=PLUGIN_MODULE, group=registry.PLUGIN_GROUP))
    registry.load_all()
    entry = MODELS.get("plugin_linear")
    assert entry.description == "A linear classifier on flattened pixels, from a plugin."
    assert list(entry.params_model.model_fields) == ["bias"]
    assert "resnet20" in MODELS and "accuracy" in METRICS  # built-ins are still there

    import torch

    model = entry.build(10, 1, params={"bias": False})
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)

    # a spec may now name it, and its parameters are checked like a built-in's
    valid_spec["model"] = {"name": "plugin_linear", "params": {"bias": False}}
    assert problems_for(expand_spec, valid_spec) == []
    valid_spec["model"]["params"] = {"bais": False}
    [problem] = problems_for(expand_spec, valid_spec)
    assert problem.path == "model.params.bais" and "did you mean 'bias'?" in problem.message


def test_plugin_callable_entry_point_is_called(plugins):
    plugins.append(EntryPoint(name="extra", value=f"{PLUGIN_MODULE}:register_extra", group=registry.PLUGIN_GROUP))
    plugins.append(EntryPoint(name="other", value=f"{PLUGIN_MODULE}:register_extra", group="someone.else"))
    registry.load_all()
    assert "plugin_linear_wide" in MODELS
    assert MODELS.get("plugin_linear_wide").description.startswith("A one-hidden-layer MLP")


def test_load_all_runs_once(plugins):
    registry.load_all()
    plugins.append(EntryPoint(name="late", value=PLUGIN_MODULE, group=registry.PLUGIN_GROUP))
    registry.load_all()  # already loaded in this process: entry points are not read again
    assert "plugin_linear" not in MODELS


def test_podium_list_shows_plugin_models(plugins, capsys):
    plugins.append(EntryPoint(name="example", value=PLUGIN_MODULE, group=registry.PLUGIN_GROUP))
    assert main(["list", "models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.split() and line.split()[0] == "plugin_linear"]
    entry = " ".join(lines[at:at + 3])
    assert "A linear classifier on flattened pixels, from a plugin." in entry and "bias: bool = True" in entry


# --- podium list ------------------------------------------------------------------------------


def listed_names(out: str) -> list[str]:
    """The entry names of a listing: the lines that start an entry (two spaces, then the name)."""
    return [line.split()[0] for line in out.splitlines() if line.startswith("  ") and not line.startswith("   ")]


def test_podium_list_models_prints_each_entry_with_its_description(capsys):
    load_all()
    assert main(["list", "models"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "models:"
    entries = list(MODELS)
    assert listed_names(out) == [entry.name for entry in entries]  # every entry once, sorted by name
    flat = " ".join(out.split())
    for entry in entries:
        assert " ".join(entry.description.split()) in flat
    assert "resnet20 CIFAR ResNet-20" in flat


def test_podium_list_without_kind_lists_every_kind(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    headers = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert headers == ["datasets:", "models:", "tasks:", "metrics:"]
    assert "  digits " in out and "  distillation " in out and "  macro_f1 " in out
    assert len(listed_names(out)) == sum(len(registry.registry_of(kind).names()) for kind in registry.KINDS)


# --- the registry mechanism -------------------------------------------------------------------


@pytest.fixture
def widgets() -> Registry:
    """A fresh registry (not one of the global four) holding one entry, ``gear``."""
    fresh: Registry = Registry("widget")

    @fresh.register("gear")
    def gear(size: int, context: str, *, ratio: float, teeth: int = 12, material: Literal["steel", "brass"] = "steel") -> dict:
        """Builds a gear.

        More detail that is not part of the description."""
        return {"size": size, "context": context, "ratio": ratio, "teeth": teeth, "material": material}

    return fresh


def test_entry_params_are_the_keyword_only_parameters(widgets):
    entry = widgets.get("gear")
    assert (entry.kind, entry.name, entry.description) == ("widget", "gear", "Builds a gear.")
    assert list(entry.params_model.model_fields) == ["ratio", "teeth", "material"]  # not size, context
    assert entry.parsed_params({"ratio": 2}) == {"ratio": 2.0, "teeth": 12, "material": "steel"}


def test_validate_params_problems_name_the_key_path(widgets):
    entry = widgets.get("gear")
    check = lambda params: entry.validate_params(params, "model.params", "f.yaml")  # noqa: E731
    assert check({"ratio": 1.5, "teeth": 20, "material": "brass"}) == []
    assert check({}) == [Problem("f.yaml", "model.params.ratio", "required parameter of widget 'gear' is missing")]
    [problem] = check({"ratio": 1, "size": 3})  # a harness argument is not a spec parameter
    assert problem.path == "model.params.size" and problem.message.startswith("unknown parameter of widget 'gear'")
    [problem] = check({"ratio": 1, "teeht": 3})
    assert problem.path == "model.params.teeht" and "did you mean 'teeth'?" in problem.message
    assert "(it takes: ratio, teeth, material)" in problem.message
    [problem] = check({"ratio": "fast"})
    assert problem.path == "model.params.ratio" and "'fast'" in problem.message
    [problem] = check({"ratio": 1, "material": "wood"})
    assert problem.path == "model.params.material" and "'steel'" in problem.message and "'brass'" in problem.message
    assert len(check({"teeth": "many", "colour": "red"})) == 3  # every problem, not just the first


def test_build_passes_harness_arguments_and_validated_params(widgets):
    entry = widgets.get("gear")
    built = entry.build(3, "ctx", params={"ratio": 2})
    assert built == {"size": 3, "context": "ctx", "ratio": 2.0, "teeth": 12, "material": "steel"}
    assert isinstance(built["ratio"], float)
    built = entry.build(4, harness={"context": "kw"}, params={"ratio": "2.5", "teeth": 7})
    assert built == {"size": 4, "context": "kw", "ratio": 2.5, "teeth": 7, "material": "steel"}
    with pytest.raises(Exception):
        entry.build(3, "ctx", params={"ratio": 1, "material": "wood"})


def test_registry_lookup_and_names(widgets):
    assert "gear" in widgets and "cog" not in widgets
    assert widgets.names() == ["gear"]
    with pytest.raises(UnknownName) as excinfo:
        widgets.get("geer")
    assert isinstance(excinfo.value, LookupError)
    assert "unknown widget 'geer'; did you mean 'gear'?" in str(excinfo.value)


def test_registering_a_name_twice_is_refused_but_the_same_object_is_fine(widgets):
    def other(*, x: int = 1) -> int:
        return x

    with pytest.raises(ValueError, match="registered twice"):
        widgets.register("gear")(other)
    entry = widgets.get("gear")
    assert widgets.register("gear")(entry.obj) is entry.obj  # e.g. a module imported twice


def test_registering_a_class_uses_its_init_and_an_explicit_description(widgets):
    @widgets.register("spring", description="A coil.")
    class Spring:
        """Docstring not used."""

        def __init__(self, length: float, *, stiffness: float = 1.0):
            self.length, self.stiffness = length, stiffness

    entry = widgets.get("spring")
    assert entry.description == "A coil."
    assert list(entry.params_model.model_fields) == ["stiffness"]
    spring = entry.build(2.0, params={"stiffness": 3})
    assert (spring.length, spring.stiffness) == (2.0, 3.0)
    assert [e.name for e in widgets] == ["gear", "spring"]


def test_tasks_take_their_run_context_from_the_harness():
    load_all()
    fields = TASKS.get("distillation").params_model.model_fields
    assert "ctx" not in fields and {"method", "teacher", "epochs"} <= set(fields)
