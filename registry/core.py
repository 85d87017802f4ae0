"""The registry mechanism: names -> implementations, with parameters validated from the signature.

An entry is a function (or class) registered with a decorator beside its implementation.
Its keyword-only parameters are what a spec may set under ``params``; a pydantic model is built
from them, so a misspelt or mistyped parameter is caught before anything runs. Positional
parameters are supplied by the harness (a model's ``num_classes``, a task's run context). A
constraint between parameters (a schedule that must fit in the epochs) is the entry's ``check``,
run by the same model after each parameter passed its own type (``registry.params.ParamConflicts``).

Entries also say how they fit together (``registry.targets``): a dataset its ``target``, a task what
it ``accepts``, a model its ``output``; a parameter naming a local file is typed ``DataPath``
(``registry.paths``).
"""
from __future__ import annotations

import difflib
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model, model_validator

from registry.params import CrossCheck, ParamConflicts
from registry.paths import path_fields
from registry.targets import CLASS_SCORES, Accepts, Target, check_kinds
from specs.errors import Problem

T = TypeVar("T", bound=Callable[..., Any])


class UnknownName(LookupError):
    """A spec names something no registry entry has."""


@dataclass(frozen=True)
class Entry:
    """One registered implementation."""

    kind: str
    name: str
    obj: Callable[..., Any]
    description: str
    params_model: type[BaseModel]
    board_label: Callable[[dict[str, Any]], str] | None = None
    target: Callable[[dict[str, Any]], Target] | None = None  # datasets: their labels, from validated params
    accepts: Accepts | None = None  # tasks: the dataset targets they work with (None: not checked)
    output: frozenset[str] = CLASS_SCORES  # models: the target kinds they predict

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the parameters typed ``DataPath`` (local files or folders)."""
        return tuple(path_fields(self.params_model))

    @property
    def harness_names(self) -> tuple[str, ...]:
        """Names of the positional parameters, which the harness supplies."""
        target = self.obj.__init__ if inspect.isclass(self.obj) else self.obj
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        names = [p.name for p in inspect.signature(target).parameters.values() if p.kind in kinds]
        return tuple(n for n in names if n != "self")

    def label(self, params: dict[str, Any]) -> str:
        """The name results are filed under: the entry's name, or what its ``label`` function makes
        of the parameters (a dataset whose variants are different benchmarks, e.g. MTNeuro's tasks)."""
        return self.board_label(self.parsed_params(params)) if self.board_label else self.name

    def target_for(self, params: dict[str, Any]) -> Target | None:
        """A dataset's target with these parameters (None when it declares none)."""
        return self.target(self.parsed_params(params)) if self.target else None

    def validate_params(self, params: dict[str, Any], path: str, file: str) -> list[Problem]:
        """Problems with ``params`` for this entry, each naming ``path.<key>``."""
        try:
            self.params_model.model_validate(params)
        except ValidationError as err:
            return [problem for e in err.errors() for problem in _param_problems(e, self, path, file)]
        return []

    def parsed_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validated parameters with defaults filled in and values coerced to their annotated types."""
        model = self.params_model.model_validate(params)
        return {name: getattr(model, name) for name in type(model).model_fields}

    def build(self, *args: Any, harness: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> Any:
        """Call the implementation: positional ``args`` and ``harness`` keywords from the harness,
        ``params`` from the spec (validated, defaults filled)."""
        return self.obj(*args, **(harness or {}), **self.parsed_params(params or {}))


class Registry(Generic[T]):
    """Entries of one kind (datasets, models, tasks, metrics), looked up by name."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(
        self, name: str, description: str | None = None, label: Callable[[dict[str, Any]], str] | None = None, *,
        target: Callable[[dict[str, Any]], Target] | None = None, accepts: Accepts | None = None, output: Iterable[str] | None = None,
        check: CrossCheck | None = None,
    ) -> Callable[[T], T]:
        """Decorator: register ``obj`` under ``name``; the docstring's first line describes it.
        ``label`` maps validated parameters to the name results are filed under (default ``name``).
        How the entry fits others (``registry.targets``): a dataset's ``target`` maps its validated
        parameters to a ``Target``; a task ``accepts`` some targets; a model's ``output`` lists the
        target kinds it predicts (default ``{"classes"}``). ``check`` maps the validated parameters
        (defaults filled) to ``(key, message)`` problems of parameters that do not fit together; it runs
        inside the parameter model, so validation reports each at ``<kind>.params.<key>``."""
        outputs = CLASS_SCORES if output is None else check_kinds(output)

        def decorate(obj: T) -> T:
            if name in self._entries and self._entries[name].obj is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            lines = (inspect.getdoc(obj) or "").strip().splitlines()
            text = description or (lines[0] if lines else "")
            self._entries[name] = Entry(self.kind, name, obj, text, _params_model(name, obj, check), label, target, accepts, outputs)
            return obj

        return decorate

    def get(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownName(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} {name!r}{hint} (`podium list {self.kind}s` shows all)"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def names(self) -> list[str]:
        return sorted(self._entries)


def _params_model(name: str, obj: Callable[..., Any], check: CrossCheck | None = None) -> type[BaseModel]:
    """A pydantic model of ``obj``'s keyword-only parameters (a class: its ``__init__``'s); with
    ``check``, a model validator that raises ``ParamConflicts`` when it finds problems."""
    target = obj.__init__ if inspect.isclass(obj) else obj
    hints = _type_hints(target)
    fields: dict[str, Any] = {}
    for param in inspect.signature(target).parameters.values():
        if param.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    validators = {"cross_check": model_validator(mode="after")(_cross_check(check))} if check is not None else None
    return create_model(f"{name}_params", __config__=config, __validators__=validators, **fields)


def _cross_check(check: CrossCheck) -> Callable[[BaseModel], BaseModel]:
    def cross_check(self: BaseModel) -> BaseModel:
        problems = [(str(key), str(message)) for key, message in check({n: getattr(self, n) for n in type(self).model_fields})]
        if problems:
            raise ParamConflicts(problems)
        return self

    return cross_check


def _type_hints(target: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(target, include_extras=True)  # keep constraints (PositiveInt)
    except Exception:  # unresolvable forward references: fall back to no type checking
        return {}


def _param_problems(error: dict[str, Any], entry: Entry, path: str, file: str) -> list[Problem]:
    """The problems one pydantic error stands for: one, or each conflict a cross-parameter check found."""
    conflicts = (error.get("ctx") or {}).get("error")
    if isinstance(conflicts, ParamConflicts):
        return [Problem(file, f"{path}.{key}", message) for key, message in conflicts.problems]
    return [_param_problem(error, entry, path, file)]


def _param_problem(error: dict[str, Any], entry: Entry, path: str, file: str) -> Problem:
    loc = ".".join(str(p) for p in error["loc"])
    where = f"{path}.{loc}" if loc else path
    allowed = list(entry.params_model.model_fields)
    if error["type"] == "extra_forbidden":
        nested = len(error["loc"]) > 1  # a key inside a parameter's value (a teacher's `{name, params}`)
        if nested:
            allowed = _keys_at(entry.params_model, error["loc"][:-1])
        close = difflib.get_close_matches(str(error["loc"][-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(allowed) if allowed else "none"
        if nested:
            return Problem(file, where, f"unknown key{hint} (expected one of: {listed})")
        return Problem(file, where, f"unknown parameter of {entry.kind} {entry.name!r}{hint} (it takes: {listed})")
    if error["type"] == "missing":
        return Problem(file, where, f"required parameter of {entry.kind} {entry.name!r} is missing")
    got = error.get("input")
    shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
    return Problem(file, where, error["msg"].removeprefix("Value error, ") + shown)


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at ``loc`` inside ``model``: the fields of the pydantic model found there."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        found = _model_in(field.annotation) if field is not None else None
        if found is None:
            return []
        model = found
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model in an annotation such as ``Component | None``."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


DATASETS: Registry[Callable[..., Any]] = Registry("dataset")
MODELS: Registry[Callable[..., Any]] = Registry("model")
TASKS: Registry[Callable[..., Any]] = Registry("task")
METRICS: Registry[Callable[..., Any]] = Registry("metric")
