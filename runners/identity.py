"""Run identity: a hash of the canonical resolved spec of one run and its seed.

Execution settings that do not change what is measured (device, timeout, resources, check
tolerances, the seed list and matrix it was expanded from) are left out, so rerunning a sweep on
another device, with a longer timeout or on another executor finds the runs it already has; the
device a run used is in its record.
"""
from __future__ import annotations

from typing import Any

from specs.hashing import stable_hash
from specs.loader import RunSpec

NOT_IDENTITY = {"matrix", "seeds", "device", "timeout_s", "extends", "published", "method_card", "resources", "check"}


def resolved_spec(run: RunSpec) -> dict[str, Any]:
    """The spec of this one run, as stored in its record (seed list replaced by its seed)."""
    data = run.spec.model_dump(mode="json", exclude={"matrix", "extends"})
    data["seeds"] = [run.seed]
    return data


def run_id(run: RunSpec) -> str:
    """16 hex digits identifying (resolved spec, seed)."""
    payload = run.spec.model_dump(mode="json", exclude=NOT_IDENTITY)
    return stable_hash({"spec": payload, "seed": run.seed})
