"""Checking a spec against the registries before anything runs: every name and parameter, the local
files its ``DataPath`` parameters name (``registry.paths``), and whether its parts fit each other
(``registry.targets``): the task, the model (and a distillation teacher) and every metric against
the dataset's target. A fit is only checked between parts whose names and parameters are valid, and
the model and metrics only once the task fits the dataset, so one mistake is one problem."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
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
from specs.schema import Component, EvaluateMetric, MetricRef, Spec


def check_runs(runs: list[RunSpec]) -> None:
    """Raise ``SpecError`` listing every problem in any of the runs (each problem once). Each distinct
    component, metric and combination of them is checked once, however many runs share it, so a
    10,000-run matrix costs its distinct values, not its product."""
    load_all()
    checker = _Checker()
    problems: dict[Problem, None] = {}  # in order, each once
    seen: set[int] = set()
    for run in runs:
        if id(run.spec) in seen:  # a combination's seeds share one Spec object
            continue
        seen.add(id(run.spec))
        problems.update(dict.fromkeys(checker.spec(run.spec, run.source)))
    if problems:
        raise SpecError(list(problems))


def check_spec(spec: Spec, file: str) -> list[Problem]:
    """Every problem of one expanded spec read from ``file``: unknown names, bad parameters, missing
    data paths, parts that do not fit each other."""
    load_all()
    return _Checker().spec(spec, file)


class _Checker:
    """``check_spec`` with every answer remembered by what it depends on (a component's registry,
    name and parameters; a metric reference; a dataset's target)."""

    def __init__(self) -> None:
        self._components: dict[tuple[str, str, str, str], list[Problem]] = {}
        self._metrics: dict[tuple[str, int, str], tuple[Metric | None, Problem | None]] = {}
        self._targets: dict[str, tuple[Any, str] | None] = {}
        self._teachers: dict[str, list[tuple[str, Component]]] = {}

    def spec(self, spec: Spec, file: str) -> list[Problem]:
        problems: list[Problem] = []
        valid: dict[str, bool] = {}  # key path of a component -> its name and parameters are fine
        for registry, part, path in ((DATASETS, spec.dataset, "dataset"), (MODELS, spec.model, "model"), (TASKS, spec.task, "task")):
            found = self.component(registry, part, path, file)
            problems += found
            valid[path] = not found
        teachers: list[tuple[Component, str]] = []
        if valid["task"]:  # the task's parameters parse, so the models they name can be checked too
            for name, component in self.nested(spec.task):
                found = self.component(MODELS, component, f"task.params.{name}", file)
                problems += found
                if not found:
                    teachers.append((component, f"task.params.{name}"))
        metrics: list[Metric | None] = []
        for i, ref in enumerate(spec.metrics):
            metric, problem = self.metric(ref, file, i)
            metrics.append(metric)
            if problem is not None:
                problems.append(problem)
        target = self.target(spec.dataset) if valid["dataset"] else None
        return problems + _fit_problems(spec, file, valid, teachers, metrics, target)

    def component(self, registry: Registry, part: Component, path: str, file: str) -> list[Problem]:
        key = (registry.kind, file, path, _params_key(part))
        if key not in self._components:
            self._components[key] = _check_component(registry, part, path, file)
        return self._components[key]

    def nested(self, task: Component) -> list[tuple[str, Component]]:
        key = _params_key(task)
        if key not in self._teachers:
            self._teachers[key] = _nested(TASKS.get(task.name).params_model.model_validate(task.params))
        return self._teachers[key]

    def metric(self, ref: MetricRef, file: str, i: int) -> tuple[Metric | None, Problem | None]:
        key = (file, i, ref if isinstance(ref, str) else ref.model_dump_json())
        if key not in self._metrics:
            self._metrics[key] = _check_metric(ref, file, i)
        return self._metrics[key]

    def target(self, dataset: Component) -> tuple[Any, str] | None:
        """The dataset's target and board label (None when it declares no target)."""
        key = _params_key(dataset)
        if key not in self._targets:
            entry = DATASETS.get(dataset.name)
            target = entry.target_for(dataset.params)
            self._targets[key] = None if target is None else (target, entry.label(dataset.params))
        return self._targets[key]


def _params_key(part: Component) -> str:
    return json.dumps([part.name, part.params], sort_keys=True, default=str)


def _check_metric(ref: MetricRef, file: str, i: int) -> tuple[Metric | None, Problem | None]:
    """A registered metric, built; an evaluate module is code, so it is never imported here: only
    its folder is checked when it names one (a hub name is looked up when the run starts)."""
    if isinstance(ref, EvaluateMetric):
        if importlib.util.find_spec("evaluate") is None:  # finds the package without importing it
            return None, Problem(file, f"metrics[{i}]", "an evaluate module needs the evaluate package: pip install 'podium[evaluate]'")
        return None, _evaluate_problem(ref, file, i)
    try:
        return build_metric(ref), None
    except (LookupError, ValueError, ImportError, OSError) as err:
        return None, Problem(file, f"metrics[{i}]", str(err))


def _evaluate_problem(ref: EvaluateMetric, file: str, i: int) -> Problem | None:
    where = Path(ref.evaluate).expanduser()
    if where.is_dir():
        script = where / f"{where.name}.py"
        return None if script.is_file() else Problem(file, f"metrics[{i}].evaluate", f"{where} has no {script.name}: an evaluate module folder holds a script named after it")
    if where.suffix == ".py":
        return None if where.is_file() else Problem(file, f"metrics[{i}].evaluate", f"no such file: {where}")
    if ref.evaluate.startswith((".", "/", "~")):
        return Problem(file, f"metrics[{i}].evaluate", f"no such folder: {where}")
    return None  # a hub name (accuracy, org/metric): fetched when the run starts


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


def _fit_problems(spec: Spec, file: str, valid: dict[str, bool], teachers: list[tuple[Component, str]],
                  metrics: list[Metric | None], found: tuple[Any, str] | None) -> list[Problem]:
    """Whether the task, the models and the metrics fit the dataset's target (see the module docstring)."""
    if found is None:  # an invalid dataset, or one that declares no target (a plugin's): not checked
        return []
    target, dataset = found
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
