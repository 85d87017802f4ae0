"""Loading a spec with omegaconf: ``extends``, ``--set`` dotlist overrides, interpolation, matrix expansion.

A spec is data. Its files are read under the limits of ``specs.yaml_io`` (size, nesting, aliases,
duplicate keys), and interpolation reaches only the spec's own keys (``${task.params.epochs}``),
never a resolver (``specs.interpolation``), so a spec can neither read the environment nor run code.
Only ``plugins`` and ``{evaluate: ...}`` metrics name code, and nothing here imports them.

A matrix key is one key path (``task.params.method: [a, b]``: one run per value) or several
comma-separated paths set in step (``"task.name, model.name": [[classification, resnet18],
[segmentation, unet_resnet18]]``); the runs are the product over the matrix keys, counted (and
refused above ``max_runs``) before any combination is built.
"""
from __future__ import annotations

import copy
import difflib
import itertools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ValidationError

from specs.errors import Problem, SpecError
from specs.identity import compact, short_key
from specs.interpolation import check_strings, first_line, has_interpolation, resolve
from specs.method_card import MethodCard
from specs.published import PublishedTable, load_published
from specs.ranking import RankingSpec
from specs.schema import Component, EvaluateMetric, Resources, Spec, Tolerance, matrix_paths
from specs.limits import MAX_EXTENDS, MAX_RUNS
from specs.plugin_refs import plugin_ref
from specs.yaml_io import parse_yaml, read_yaml

UNSET = "???"  # omegaconf's mandatory value: a spec leaves it to whoever runs it (`--set key=...`)
SPEC_SUFFIXES = (".yaml", ".yml")
# a --set key: names joined by dots, and dotted keys in brackets (`matrix[task.params.lr]`)
OVERRIDE_KEY = re.compile(r"^[A-Za-z_][\w\-]*(?:\.[A-Za-z_0-9][\w\-]*|\[[^\[\]]+\])*$")
OVERRIDE_PART = re.compile(r"([A-Za-z_0-9][\w\-]*)|\[([^\[\]]+)\]")


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
    return _validate(resolve(_raw(path, overrides), str(path)), str(path))


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = (), max_runs: int = MAX_RUNS) -> list[RunSpec] | RankingSpec | PublishedTable:
    """A YAML file of Podium's read once, as what it says it is (``kind``): a run spec's runs (no kind,
    or ``kind: run``), a ranking (``kind: ranking``), or a table of published results (``kind:
    published``; also recognised by its ``citation`` and ``rows`` without a ``task``)."""
    raw = _raw(path, overrides)
    plain = _plain(raw)  # unresolved: a reference is resolved (and checked) with the rest
    kind = plain.get("kind")
    if kind == "ranking":
        return _ranking(raw, str(path))
    if kind == "published" or (kind is None and "rows" in plain and "citation" in plain and "task" not in plain):
        return load_published(path)
    return _expand(raw, str(path), max_runs)


def load_ranking(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RankingSpec:
    """Read and validate a ranking spec; its ``runs`` spec, when named, must validate too."""
    return _ranking(_raw(path, overrides), str(path))


def _ranking(raw: DictConfig, file: str) -> RankingSpec:
    data = resolve(raw, file)
    data.pop("extends", None)
    try:
        ranking = RankingSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError([_problem(e, file, "", RankingSpec) for e in err.errors()]) from None
    if ranking.runs is not None:
        load_spec(named_file(file, "runs", ranking.runs))
    return ranking


def expand(path: str | Path, overrides: list[str] | tuple[str, ...] = (), max_runs: int = MAX_RUNS) -> list[RunSpec]:
    """All runs of a spec file: one per matrix combination and seed, in a stable order (at most ``max_runs``)."""
    return _expand(_raw(path, overrides), str(path), max_runs)


def _raw(path: str | Path, overrides: list[str] | tuple[str, ...]) -> DictConfig:
    """The file merged over what it extends, with the overrides on top (not yet resolved)."""
    cfg = _merged(Path(path), ())
    parsed = _overrides(overrides)
    for key, value in parsed:
        nested: Any = value
        for part in reversed(override_parts(key)):
            nested = {part: nested}
        cfg = _merge(cfg, OmegaConf.create(nested), "--set", f"the spec {path}")
    if parsed:  # converting the config to look at its matrix costs as much as building it
        _refuse_matrix_overrides(cfg, [key for key, _ in parsed], str(path))
    return cfg


def run_count(spec: Spec) -> int:
    """How many runs a spec expands to: the product of its matrix entries' lengths, times its seeds."""
    return math.prod(len(options) for options in spec.matrix.values()) * len(spec.seeds)


def _expand(raw: DictConfig, file: str, max_runs: int) -> list[RunSpec]:
    base = _validate(resolve(raw, file), file)
    count = run_count(base)
    if count > max_runs:
        shape = " x ".join([*(str(len(v)) for v in base.matrix.values()), f"{len(base.seeds)} seeds"])
        raise SpecError.one(file, "matrix" if base.matrix else "seeds", f"expands to {count} runs ({shape}), more than the {max_runs} allowed: shrink it, or raise --max-runs")
    if base.published is not None:
        load_published(named_file(file, "published", base.published))  # fail before anything runs
    keys = list(base.matrix)
    template = raw.copy()
    template.matrix = {}
    plain = _plain(template)
    paths = [path for key in keys for path in matrix_paths(key)]
    # Without references to resolve, a combination is the plain template with its values set: no
    # omegaconf per run, which is what keeps a 10,000-run matrix quick.
    fast = not has_interpolation(plain) and all(_settable(plain, path) for path in paths)
    template_unset = _unset(plain, "")
    plugin_refs: dict[str, str] = {}
    runs: list[RunSpec] = []
    for values in itertools.product(*(base.matrix[k] for k in keys)):
        chosen: dict[str, Any] = {}
        for key, value in zip(keys, values):
            key_paths = matrix_paths(key)
            chosen.update(zip(key_paths, value if len(key_paths) > 1 else [value]))
        if fast:
            data = copy.deepcopy(plain)
            for path, part in chosen.items():
                _set(data, path, copy.deepcopy(part))
            replaced = [k for k in template_unset if any(k == p or k.startswith((f"{p}.", f"{p}[")) for p in chosen)]
            unset = tuple(sorted({*template_unset, *(k for p, v in chosen.items() for k in _unset(v, p))} - set(replaced)))
        else:
            cfg = template.copy()
            for path, part in chosen.items():
                OmegaConf.update(cfg, path, part, merge=False)
            data = resolve(cfg, file)
            unset = tuple(sorted(_unset(data, "")))
        spec = _validate(data, file, context=f" (matrix {chosen})" if chosen else "")
        plugins = tuple(plugin_refs.setdefault(ref, plugin_ref(ref, Path(file).parent)) for ref in spec.plugins)
        runs.extend(RunSpec(spec, seed, file, chosen, plugins, unset) for seed in spec.seeds)
    return runs


def _settable(data: dict[str, Any], path: str) -> bool:
    """Whether every step of ``path`` above its last is a mapping (or absent) in ``data``."""
    node: Any = data
    for part in path.split(".")[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is not None and not isinstance(node, dict):
            return False
    return True


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def _unset(node: Any, path: str) -> list[str]:
    """Key paths whose value is ``???`` (left to whoever runs the spec), in omegaconf's notation."""
    if isinstance(node, str):
        return [path] if node == UNSET else []
    if isinstance(node, dict):
        return [found for key, value in node.items() for found in _unset(value, f"{path}.{key}" if path else str(key))]
    if isinstance(node, list):
        return [found for i, value in enumerate(node) for found in _unset(value, f"{path}[{i}]")]
    return []


def published_path(spec_file: str | Path, published: str) -> Path:
    """Where a file a spec names (``published``, ``runs``) is: relative to the spec file."""
    return Path(spec_file).parent / published


def named_file(file: str, key: str, value: Any) -> Path:
    """The YAML file a spec's ``key`` (``extends``, ``published``, ``runs``) names, relative to the
    spec: a relative path ending in .yaml or .yml that exists, else ``SpecError`` at the key."""
    if not isinstance(value, str) or not value.strip():
        raise SpecError.one(file, key, "expected a relative path to a .yaml file")
    if "\0" in value or len(value) > 1024:
        raise SpecError.one(file, key, "not a usable path (a NUL byte, or over 1024 characters)")
    if Path(value).is_absolute() or value.startswith("~"):
        raise SpecError.one(file, key, f"{value!r} is absolute: give it relative to this spec's folder, so the spec reads the same anywhere")
    if not value.endswith(SPEC_SUFFIXES):
        raise SpecError.one(file, key, f"{value!r} is not a .yaml or .yml file")
    target = published_path(file, value)
    try:
        os.stat(target)
    except FileNotFoundError:
        raise SpecError.one(file, key, f"file not found: {target}") from None
    except OSError as err:
        raise SpecError.one(file, key, f"cannot read {target}: {err.strerror or err}") from None
    return target


def _merged(path: Path, seen: tuple[Path, ...]) -> DictConfig:
    """The file's config with its ``extends`` chain merged beneath it."""
    file = str(path)
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecError.one(file, "", f"expected a mapping of keys, got {_kind(data)}")
    check_strings(data, file)
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise SpecError.one(file, "extends", f"circular extends: {chain}")
    try:
        cfg = OmegaConf.create(data)
    except OmegaConfBaseException as err:
        key = str(getattr(err, "full_key", "") or "")
        raise SpecError.one(file, key, f"cannot be read as a config: {first_line(err)}") from None
    parent = data.get("extends")
    if parent is None:
        return cfg
    base_path = named_file(file, "extends", parent)
    if len(seen) + 1 >= MAX_EXTENDS:
        raise SpecError.one(file, "extends", f"more than {MAX_EXTENDS} files in the extends chain")
    base = _merged(base_path, (*seen, resolved))
    base_data = _plain(base)
    for part in ("dataset", "model", "task"):
        child_part, base_part = data.get(part), base_data.get(part)
        child_name = child_part.get("name") if isinstance(child_part, dict) else None
        if child_name is not None and isinstance(base_part, dict) and child_name != base_part.get("name"):
            base.pop(part)  # a child naming another entry replaces it whole: the base's params are that entry's
    merged = _merge(base, cfg, file, str(base_path))
    merged.extends = None
    return merged


def _merge(base: DictConfig, top: DictConfig, file: str, beneath: str) -> DictConfig:
    """``top`` merged over ``base``; where they cannot merge (a list over a mapping), ``SpecError``
    at the first key whose kinds differ, naming what lies ``beneath``."""
    try:
        return OmegaConf.merge(base, top)  # type: ignore[return-value]
    except (OmegaConfBaseException, TypeError, ValueError) as err:
        clash = _clash(_plain(base), _plain(top), "")
        if clash is None:
            raise SpecError.one(file, "", f"cannot be merged over {beneath}: {first_line(err)}") from None
        where, mine, theirs = clash
        raise SpecError.one(file, where, f"{mine} here, but {beneath} has {theirs} there: give the same kind of value") from None


def _clash(base: Any, top: Any, path: str) -> tuple[str, str, str] | None:
    """The first key path where ``top`` and ``base`` (plain data) hold different kinds of container."""
    if isinstance(base, dict) and isinstance(top, dict):
        for key, value in top.items():
            if key in base:
                found = _clash(base[key], value, f"{path}.{key}" if path else str(key))
                if found:
                    return found
        return None
    if base is None or top is None or (not isinstance(base, (dict, list)) and not isinstance(top, (dict, list))):
        return None
    return (path, _kind(top), _kind(base)) if type(base) is not type(top) else None


def _plain(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain data, references left as written (reading a key of a DictConfig resolves it)."""
    return OmegaConf.to_container(cfg, resolve=False)  # type: ignore[return-value]


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list"}.get(type(value), f"a value of type {type(value).__name__}")


def _overrides(items: list[str] | tuple[str, ...]) -> list[tuple[str, Any]]:
    """``--set key.path=value`` items as (key, value), each value read as YAML under the spec limits."""
    parsed = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError.one("--set", item, "expected key.path=value")
        override_parts(key)
        value = parse_yaml(text, "--set", key)
        check_strings(value, "--set", key)
        parsed.append((key, value))
    return parsed


def override_parts(key: str) -> list[str]:
    """The keys a ``--set`` key path steps through: names joined by dots, and a key that holds dots
    in brackets (``matrix[model.params.width]``); ``SpecError`` for anything else. A list item
    (``seeds[0]``, ``seeds.0``) cannot be set on its own."""
    if not OVERRIDE_KEY.match(key):
        raise SpecError.one("--set", key, "not a key path: names joined by dots (task.params.epochs), a dotted key in brackets (matrix[task.params.lr])")
    parts = [part for dotted, bracketed in OVERRIDE_PART.findall(key) for part in ([bracketed] if bracketed else dotted.split("."))]
    if any(part.strip().isdigit() for part in parts):
        raise SpecError.one("--set", key, "a list item cannot be set on its own: set the whole list (--set 'seeds=[5, 1]')")
    return parts


def _refuse_matrix_overrides(cfg: DictConfig, keys: list[str], file: str) -> None:
    """A ``--set`` of a key the matrix sets would be replaced in every run: an error, not a silent loss."""
    matrix = _plain(cfg).get("matrix")
    if not isinstance(matrix, dict):
        return
    paths = [path for key in matrix.keys() for path in matrix_paths(str(key))]
    for key in keys:
        for path in paths:
            if key.split(".")[0] != "matrix" and (key == path or key.startswith(f"{path}.") or path.startswith(f"{key}.")):
                raise SpecError.one("--set", key, f"the matrix of {file} sets {path}, so this value would be replaced in every run: change the matrix instead")


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
            shown = repr(error["input"])
            message += f" (got {shown if len(shown) <= 80 else shown[:77] + '...'})"
    return Problem(file, path, message + context)


def _allowed_keys(parent: list[Any]) -> list[str]:
    """The keys allowed beneath ``parent`` (a location in the spec, as pydantic gives it)."""
    if not parent:
        return list(Spec.model_fields)
    beneath = {"metrics": EvaluateMetric, "resources": Resources, "method_card": MethodCard, "check": Tolerance}
    return list(beneath.get(str(parent[0]), Component).model_fields)
