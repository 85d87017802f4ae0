"""Checking every name and parameter of a spec against the registries before anything runs."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from registry import DATASETS, MODELS, TASKS, load_all
from registry.core import Registry
from registry.metrics import build_metric
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
    """Every registry problem of one expanded spec: unknown names and bad parameters."""
    load_all()
    problems: list[Problem] = []
    for registry, part, path in ((DATASETS, spec.dataset, "dataset"), (MODELS, spec.model, "model")):
        problems += _check_component(registry, part, path, file)
    task_problems = _check_component(TASKS, spec.task, "task", file)
    problems += task_problems
    if not task_problems:  # the task's parameters parse, so the models they name can be checked too
        task_params = TASKS.get(spec.task.name).params_model.model_validate(spec.task.params)
        problems += _check_nested(task_params, "task.params", file)
    for i, ref in enumerate(spec.metrics):
        try:
            build_metric(ref)
        except (LookupError, ValueError, ImportError, OSError) as err:
            problems.append(Problem(file, f"metrics[{i}]", str(err)))
    return problems


def _check_component(registry: Registry, part: Component, path: str, file: str) -> list[Problem]:
    if part.name not in registry:
        return [Problem(file, f"{path}.name", registry.unknown_message(part.name))]
    return registry.get(part.name).validate_params(part.params, f"{path}.params", file)


def _check_nested(params: BaseModel, path: str, file: str) -> list[Problem]:
    """Model references inside task parameters (a distillation teacher) are checked too."""
    problems: list[Problem] = []
    for name in type(params).model_fields:
        value: Any = getattr(params, name)
        if isinstance(value, Component):
            problems += _check_component(MODELS, value, f"{path}.{name}", file)
    return problems
