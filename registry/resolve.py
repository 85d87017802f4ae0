"""Checking a spec against the registries before anything runs: every name and parameter, the local
files its ``DataPath`` parameters name (``registry.paths``), and whether its parts fit each other
(``registry.targets``): the task, the model (and a distillation teacher) and every metric against
the dataset's target. A fit is only checked between parts whose names and parameters are valid, and
the model and metrics only once the task fits the dataset, so one mistake is one problem."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from registry import DATASETS, MODELS, TASKS, load_all
from registry.core import Registry
from registry.metrics import Metric, build_metric
from registry.paths import NOTE, is_path_value, path_fields, resolve_path
from specs.loader import UNSET
from registry.targets import describe_need, describe_output
from specs.errors import Problem, SpecError
from specs.loader import RunSpec
from specs.schema import Component, Spec


def check_runs(runs: list[RunSpec]) -> None:
    """Raise ``SpecError`` listing every problem in any of the runs (each problem once)."""
    problems: list[Problem] = []
    seen_specs: set[str] = set()
    for run in runs:
        key = run.spec.model_dump_json()
        if key in seen_specs:
            continue
        seen_specs.add(key)
        for problem in check_spec(run.spec, run.source):
            if problem not in problems:
                problems.append(problem)
    if problems:
        raise SpecError(problems)


def check_spec(spec: Spec, file: str) -> list[Problem]:
    """Every problem of one expanded spec read from ``file``: unknown names, bad parameters, missing
    data paths, parts that do not fit each other."""
    load_all()
    problems: list[Problem] = []
    valid: dict[str, bool] = {}  # key path of a component -> its name and parameters are fine
    for registry, part, path in ((DATASETS, spec.dataset, "dataset"), (MODELS, spec.model, "model"), (TASKS, spec.task, "task")):
        found = _check_component(registry, part, path, file)
        problems += found
        valid[path] = not found
    teachers: list[tuple[Component, str]] = []
    if valid["task"]:  # the task's parameters parse, so the models they name can be checked too
        task_params = TASKS.get(spec.task.name).params_model.model_validate(spec.task.params)
        for name, component in _nested(task_params):
            found = _check_component(MODELS, component, f"task.params.{name}", file)
            problems += found
            if not found:
                teachers.append((component, f"task.params.{name}"))
    metrics: list[Metric | None] = []
    for i, ref in enumerate(spec.metrics):
        try:
            metrics.append(build_metric(ref))
        except (LookupError, ValueError, ImportError, OSError) as err:
            problems.append(Problem(file, f"metrics[{i}]", str(err)))
            metrics.append(None)
    return problems + _fit_problems(spec, file, valid, teachers, metrics)


def _check_component(registry: Registry, part: Component, path: str, file: str) -> list[Problem]:
    """The problems of one component: its name, its parameters, then the local paths they name."""
    if part.name not in registry:
        return [Problem(file, f"{path}.name", registry.unknown_message(part.name))]
    entry = registry.get(part.name)
    problems = entry.validate_params(part.params, f"{path}.params", file)
    if problems:
        return problems
    parsed = entry.parsed_params(part.params)
    for name, annotation in path_fields(entry.params_model).items():
        if is_path_value(annotation, parsed[name]) and parsed[name] != UNSET:  # `???`: left to the user, checked when given
            where = resolve_path(parsed[name], file)
            if not where.exists():
                problems.append(Problem(file, f"{path}.params.{name}", f"no such file or folder: {where} ({NOTE})"))
    return problems


def _nested(params: BaseModel) -> list[tuple[str, Component]]:
    """Model references inside task parameters (a distillation teacher), by parameter name."""
    found = []
    for name in type(params).model_fields:
        value: Any = getattr(params, name)
        if isinstance(value, Component):
            found.append((name, value))
    return found


def _fit_problems(spec: Spec, file: str, valid: dict[str, bool], teachers: list[tuple[Component, str]], metrics: list[Metric | None]) -> list[Problem]:
    """Whether the task, the models and the metrics fit the dataset's target (see the module docstring)."""
    if not valid["dataset"]:
        return []
    entry = DATASETS.get(spec.dataset.name)
    target = entry.target_for(spec.dataset.params)
    if target is None:  # a dataset that declares no target (a plugin's) is not checked
        return []
    dataset = entry.label(spec.dataset.params)
    if valid["task"]:
        accepts = TASKS.get(spec.task.name).accepts
        wrong = accepts.problem(target, dataset) if accepts is not None else None
        if wrong:
            return [Problem(file, "task.name", f"task {spec.task.name!r} needs {wrong}")]
    problems = []
    models = ([(spec.model, "model")] if valid["model"] else []) + teachers
    for component, path in models if valid["task"] else []:
        output = MODELS.get(component.name).output
        if target.kind not in output:
            problems.append(Problem(
                file, f"{path}.name",
                f"model {component.name!r} outputs {describe_output(output)}; task {spec.task.name!r} on {dataset!r} needs {describe_need(target.kind)}",
            ))
    for i, (ref, metric) in enumerate(zip(spec.metrics, metrics)):
        wrong = metric.accepts.problem(target, dataset) if metric is not None and metric.accepts is not None else None
        if wrong:
            problems.append(Problem(file, f"metrics[{i}]", f"metric {metric.name!r} scores {wrong}"))
    return problems
