"""Identity of what a spec measures: run ids, configuration ids and the labels of configurations.

A run is one (resolved spec, seed); a *configuration* is what its runs share when they differ only
in the seed, and it is what a board entry is. Both ids hash the resolved spec without the keys that
only say how or where it runs (``NOT_IDENTITY``: device, timeout, resources, tolerances, the card,
the seed list and matrix it was expanded from, the files it names for display or code), so a rerun
on another device or executor finds the runs it already has. The resolved spec stored in every
record is enough to recompute both, so the store can derive them for any record.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from specs.hashing import canonical_json, stable_hash

NOT_IDENTITY = frozenset({
    "matrix", "seeds", "device", "timeout_s", "extends", "published", "method_card", "resources", "check", "plugins", "kind",
})
LABEL_FREE = frozenset({"name", "track"})  # shared by every configuration a label distinguishes


def identity_payload(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a resolved spec (as JSON data) that says what is measured."""
    return {key: value for key, value in spec.items() if key not in NOT_IDENTITY}


def run_identity(spec: Mapping[str, Any], seed: int) -> str:
    """16 hex digits identifying (resolved spec, seed)."""
    return stable_hash({"spec": identity_payload(spec), "seed": seed})


def config_identity(spec: Mapping[str, Any]) -> str:
    """16 hex digits identifying the configuration: the resolved spec without its seed."""
    return stable_hash({"spec": identity_payload(spec)})


def config_labels(name: str, specs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """A readable label for each configuration of one spec name (config id -> resolved spec): the
    name, plus the values of the keys in which the configurations differ, e.g. ``kd-digits[hidden=16]``.

    A label distinguishes a configuration from its siblings under the same name, so it can change
    when a new sibling arrives; the config id is the stable identity."""
    flat = {config: _flatten({k: v for k, v in identity_payload(spec).items() if k not in LABEL_FREE}) for config, spec in specs.items()}
    keys = sorted({key for values in flat.values() for key in values}, key=_spec_order)
    differing = [key for key in keys if len({canonical_json(values.get(key)) for values in flat.values()}) > 1]
    labels = {}
    for config, values in flat.items():
        parts = [f"{short_key(key, differing)}={compact(values.get(key, '-'))}" for key in differing]
        labels[config] = f"{name}[{','.join(parts)}]" if parts else name
    return labels


def short_key(key: str, keys: list[str]) -> str:
    """The shortest dotted suffix of ``key`` no other of ``keys`` ends with (``method`` for
    ``task.params.method``); a bare ``name`` keeps its parent (``model.name``), which says more."""
    parts = key.split(".")
    for n in range(1, len(parts) + 1):
        suffix = ".".join(parts[-n:])
        if n == 1 and suffix == "name" and len(parts) > 1:
            continue
        if not any(other != key and (other == suffix or other.endswith("." + suffix)) for other in keys):
            return suffix
    return key


def compact(value: Any) -> str:
    """A value for a label: dicts as {k=v,...}, lists as [a,b], everything else as it prints."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}={compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(compact(v) for v in value) + "]"
    return str(value)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys (``task.params.method``); lists stay values. An empty mapping
    says nothing a label needs (``model.params: {}`` beside ``model.params.width: 16`` is width unset)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and not value:
            continue
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{path}."))
        else:
            out[path] = json.loads(canonical_json(value)) if isinstance(value, (list, dict)) else value
    return out


def _spec_order(key: str) -> tuple[int, str]:
    """Keys in the order a spec is written: dataset, model, task, then the rest."""
    head = key.split(".")[0]
    return ({"dataset": 0, "model": 1, "task": 2, "metrics": 3}.get(head, 4), key)
