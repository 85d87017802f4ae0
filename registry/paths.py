"""Parameters that name a local file or folder: ``DataPath``.

An entry annotates such a parameter ``DataPath`` (``path: DataPath``, ``checkpoint: DataPath | None``)
instead of ``str``. The one rule for what its value means:

    A relative DataPath is relative to the folder of the spec file being run, also when the
    value came from ``--set``; an absolute path, or one starting with ``~`` (the home folder),
    is used as given.

So ``dataset: {name: survey_responses, params: {path: responses.csv}}`` in ``specs/challenges/x.yaml``
reads ``specs/challenges/responses.csv`` from whatever folder ``podium`` is started in. (When a spec
``extends`` another, "the spec file being run" is the one named on the command line.)

``podium validate`` reports a DataPath that names nothing as a problem of its key; an unset
optional one (None) is fine. The spec keeps the value as written, so a run's identity does not
depend on where the repository is checked out; the runner resolves the values just before it
builds the dataset, the models and the task. A parameter that may also be something other than a
path (a hub name, a keyword such as ``"minilm"``) is typed as a union: ``Literal["minilm"] | DataPath``;
a value the other alternatives accept is not a path.
"""
from __future__ import annotations

import functools
import os
import types
import typing
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel


class _LocalPath:
    """The marker ``DataPath`` carries (pydantic ignores it; validation is that of ``str``)."""

    def __repr__(self) -> str:
        return "DataPath"


DATA_PATH = _LocalPath()
DataPath = Annotated[str, DATA_PATH]

NOTE = "relative paths are relative to the spec file"


def resolve_path(value: str, spec_file: str | Path) -> Path:
    """The absolute path a DataPath ``value`` of the spec ``spec_file`` names (see the rule above)."""
    path = Path(value).expanduser()
    return Path(os.path.abspath(path if path.is_absolute() else Path(spec_file).parent / path))


def is_path_value(annotation: Any, value: Any) -> bool:
    """Whether ``value`` of a parameter annotated ``annotation`` is a DataPath: a string, where the
    annotation has DataPath among its alternatives and no Literal alternative holds the value."""
    if not isinstance(value, str):
        return False
    found = False
    for part in _alternatives(annotation):
        if typing.get_origin(part) is typing.Literal and value in typing.get_args(part):
            return False
        found = found or _marked(part)
    return found


def _alternatives(annotation: Any) -> list[Any]:
    """The alternatives of a union (``DataPath | None``), or the annotation itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [alt for arg in typing.get_args(annotation) for alt in _alternatives(arg)]
    return [annotation]


def _marked(annotation: Any) -> bool:
    return typing.get_origin(annotation) is Annotated and any(m is DATA_PATH for m in annotation.__metadata__)


@functools.cache  # a params model's fields never change; checking a large matrix asks per run
def path_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The parameters of a params model that may hold a DataPath, with their full annotations."""
    fields = {}
    for name, info in model.model_fields.items():
        # pydantic keeps a bare `Annotated[str, DATA_PATH]` as annotation str plus metadata
        annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        if any(_marked(part) for part in _alternatives(annotation)):
            fields[name] = annotation
    return fields


def resolved_params(model: type[BaseModel], params: dict[str, Any], spec_file: str | Path) -> dict[str, Any]:
    """``params`` (as the spec writes them) with every DataPath value made absolute; the same
    dict when there is none."""
    changes = {
        name: str(resolve_path(params[name], spec_file))
        for name, annotation in path_fields(model).items()
        if is_path_value(annotation, params.get(name))
    }
    return {**params, **changes} if changes else params
