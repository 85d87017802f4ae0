"""Loading a spec with omegaconf: ``extends``, ``--set`` dotlist overrides, interpolation, matrix expansion.

A spec is data: interpolation between its own keys (``${task.params.epochs}``) works, but resolvers
(``${oc.env:HOME}``, or any ``${name:...}``) are refused, so a spec can neither read the
environment nor run code.

A matrix key is one key path (``task.params.method: [a, b]``: one run per value) or several
comma-separated paths set in step (``"task.name, model.name": [[classification, resnet18],
[segmentation, unet_resnet18]]``); the runs are the product over the matrix keys.
"""
from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ValidationError

from specs.errors import Problem, SpecError
from specs.identity import compact, short_key
from specs.published import PublishedTable, load_published
from specs.ranking import RankingSpec
from specs.schema import Component, EvaluateMetric, Resources, Spec, matrix_paths

UNSET = "???"  # omegaconf's mandatory value: a spec leaves it to whoever runs it (`--set key=...`)
# `${name:` opens a resolver call; plain `${a.b}` node interpolation has no colon before `}`.
RESOLVER_CALL = re.compile(r"\$\{\s*[A-Za-z_][\w.\-]*\s*:")


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a spec after matrix expansion, and one of its seeds."""

    spec: Spec
    seed: int
    source: str
    matrix_values: dict[str, Any] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()  # import references of the plugins the run needs (files made absolute)
    unset: tuple[str, ...] = ()  # keys the spec leaves to whoever runs it (``???``): given with --set before it can run

    @property
    def label(self) -> str:
        """Short human label: spec name plus the matrix values that distinguish this run."""
        shown = {k: v for k, v in self.matrix_values.items() if not isinstance(v, list)}
        extra = ",".join(f"{short_key(k, list(shown))}={compact(v)}" for k, v in shown.items())
        return f"{self.spec.name}[{extra}]" if extra else self.spec.name


def load_spec(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Spec:
    """Read, merge, override, resolve and validate one spec file (matrix not yet expanded)."""
    return _validate(_resolve(_raw(path, overrides), str(path)), str(path))


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> list[RunSpec] | RankingSpec | PublishedTable:
    """A YAML file of Podium's read once, as what it says it is (``kind``): a run spec's runs (no kind,
    or ``kind: run``), a ranking (``kind: ranking``), or a table of published results (``kind:
    published``; also recognised by its ``citation`` and ``rows`` without a ``task``)."""
    raw = _raw(path, overrides)
    kind = raw.get("kind")
    if kind == "ranking":
        return _ranking(raw, str(path))
    if kind == "published" or (kind is None and "rows" in raw and "citation" in raw and "task" not in raw):
        return load_published(path)
    return _expand(raw, str(path))


def load_ranking(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RankingSpec:
    """Read and validate a ranking spec; its ``runs`` spec, when named, must validate too."""
    return _ranking(_raw(path, overrides), str(path))


def _ranking(raw: DictConfig, file: str) -> RankingSpec:
    data = _resolve(raw, file)
    data.pop("extends", None)
    try:
        ranking = RankingSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError([_problem(e, file, "", RankingSpec) for e in err.errors()]) from None
    if ranking.runs is not None:
        runs = published_path(file, ranking.runs)
        if not runs.is_file():
            raise SpecError.one(file, "runs", f"file not found: {runs}")
        load_spec(runs)
    return ranking


def expand(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> list[RunSpec]:
    """All runs of a spec file: one per matrix combination and seed, in a stable order."""
    return _expand(_raw(path, overrides), str(path))


def _raw(path: str | Path, overrides: list[str] | tuple[str, ...]) -> DictConfig:
    """The file merged over what it extends, with the overrides on top (not yet resolved)."""
    return OmegaConf.merge(_merged(Path(path), ()), _overrides(overrides))


def _expand(raw: DictConfig, file: str) -> list[RunSpec]:
    base = _validate(_resolve(raw, file), file)
    if base.published is not None:
        load_published(published_path(file, base.published))  # fail before anything runs
    keys = list(base.matrix)
    runs: list[RunSpec] = []
    for values in itertools.product(*(base.matrix[k] for k in keys)):
        cfg = raw.copy()
        cfg.matrix = {}
        chosen: dict[str, Any] = {}
        for key, value in zip(keys, values):
            paths = matrix_paths(key)
            for path, part in zip(paths, value if len(paths) > 1 else [value]):
                OmegaConf.update(cfg, path, part, merge=False)
                chosen[path] = part
        spec = _validate(_resolve(cfg, file), file, context=f" (matrix {chosen})" if chosen else "")
        plugins = tuple(plugin_ref(ref, Path(file).parent) for ref in spec.plugins)
        unset = tuple(sorted(OmegaConf.missing_keys(cfg)))
        runs.extend(RunSpec(spec, seed, file, chosen, plugins, unset) for seed in spec.seeds)
    return runs


def is_file_ref(ref: str) -> bool:
    """A plugin reference to a file (``./my_models.py``, ``plugins/models.py``) rather than a module (``my_pkg.models``)."""
    return ref.endswith(".py") or "/" in ref or "\\" in ref


def plugin_ref(ref: str, base: Path) -> str:
    """A plugin as an import reference: a file (``./models.py``) made absolute against ``base`` (the
    spec's folder, or the working folder for ``--plugin``), a module (``my_pkg.models``) as named."""
    if not is_file_ref(ref):
        return ref
    path = Path(ref).expanduser()
    return str((path if path.is_absolute() else base / path).resolve())


def published_path(spec_file: str | Path, published: str) -> Path:
    """Where a file a spec names (``published``, ``runs``) is: relative to the spec file."""
    return Path(spec_file).parent / published


def _merged(path: Path, seen: tuple[Path, ...]) -> DictConfig:
    """The file's config with its ``extends`` chain merged beneath it."""
    file = str(path)
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise SpecError.one(file, "extends", f"circular extends: {chain}")
    if not path.is_file():
        raise SpecError.one(file, "", "spec file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark else ""
        raise SpecError.one(file, "", f"not valid YAML{at}: {getattr(err, 'problem', err)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError.one(file, "", f"expected a mapping of keys, got {type(data).__name__}")
    _refuse_resolvers(data, file, "")
    try:
        cfg = OmegaConf.create(data)
    except OmegaConfBaseException as err:
        key = str(getattr(err, "full_key", "") or "")
        raise SpecError.one(file, key, f"cannot be read as a config: {_first_line(err)}") from None
    parent = data.get("extends")
    if parent is None:
        return cfg
    if not isinstance(parent, str):
        raise SpecError.one(file, "extends", "expected a relative path to another spec file")
    base_path = path.parent / parent
    if not base_path.is_file():
        raise SpecError.one(file, "extends", f"file not found: {base_path}")
    base = _merged(base_path, (*seen, resolved))
    for part in ("dataset", "model", "task"):
        child_part = data.get(part)
        child_name = child_part.get("name") if isinstance(child_part, dict) else None
        if child_name is not None and part in base and child_name != OmegaConf.select(base, f"{part}.name"):
            base.pop(part)  # a child naming another entry replaces it whole: the base's params are that entry's
    merged = OmegaConf.merge(base, cfg)
    merged.extends = None
    return merged


def _overrides(items: list[str] | tuple[str, ...]) -> DictConfig:
    for item in items:
        if "=" not in item or not item.split("=", 1)[0].strip():
            raise SpecError.one("--set", item, "expected key.path=value")
        _refuse_resolvers(item.split("=", 1)[1], "--set", item.split("=", 1)[0])
    cfg = OmegaConf.create()
    for item in items:  # one at a time (as OmegaConf.from_dotlist does), so an error names its item
        try:
            cfg.merge_with_dotlist([item])
        except (OmegaConfBaseException, yaml.YAMLError) as err:
            problem = getattr(err, "problem", None) or _first_line(err)
            raise SpecError.one("--set", item.split("=", 1)[0].strip(), f"cannot parse override {item!r}: {problem}") from None
    return cfg


def _refuse_resolvers(node: Any, file: str, path: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _refuse_resolvers(value, file, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _refuse_resolvers(value, file, f"{path}[{i}]")
    elif isinstance(node, str) and RESOLVER_CALL.search(node):
        raise SpecError.one(
            file, path, f"resolver interpolation {node!r} is not allowed in a spec; only ${{key.path}} references"
        )


def _resolve(cfg: DictConfig, file: str) -> dict[str, Any]:
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", "") or ""
        raise SpecError.one(file, str(key), f"cannot interpolate: {_first_line(err)}") from None


def _first_line(err: Exception) -> str:
    """An omegaconf error's message without the ``full_key: ...`` detail lines it appends."""
    text = getattr(err, "msg", None) or str(err)
    return text.splitlines()[0] if text.strip() else type(err).__name__


def _validate(data: dict[str, Any], file: str, context: str = "") -> Spec:
    data.pop("extends", None)
    try:
        return Spec.model_validate(data)
    except ValidationError as err:
        raise SpecError([_problem(e, file, context) for e in err.errors()]) from None


def _problem(error: dict[str, Any], file: str, context: str, model: type[BaseModel] = Spec) -> Problem:
    loc = [part for part in error["loc"] if part not in ("metric-name", "metric-evaluate")]
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1]) if model is Spec else list(model.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = f"unknown key{hint} (expected one of: {', '.join(allowed)})"
    elif error["type"] == "missing":
        message = "required key is missing"
    else:
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] not in ("value_error",) and "input" in error and not isinstance(error["input"], (dict, list)):
            message += f" (got {error['input']!r})"
    return Problem(file, path, message + context)


def _allowed_keys(parent: list[Any]) -> list[str]:
    if not parent:
        return [k for k in Spec.model_fields]
    if parent[0] == "metrics":
        return list(EvaluateMetric.model_fields)
    if parent[0] == "resources":
        return list(Resources.model_fields)
    return list(Component.model_fields)
