"""Run identity of a ``RunSpec``: its run id and configuration id (``specs.identity`` defines both).

Execution settings that do not change what is measured (device, timeout, resources, check
tolerances, the seed list and matrix it was expanded from) are left out, so rerunning a sweep on
another device, with a longer timeout or on another executor finds the runs it already has; the
device a run used is in its record.
"""
from __future__ import annotations

from typing import Any

from specs.identity import config_identity, run_identity
from specs.loader import RunSpec


def resolved_spec(run: RunSpec) -> dict[str, Any]:
    """The spec of this one run, as stored in its record (seed list replaced by its seed)."""
    data = run.spec.model_dump(mode="json", exclude={"matrix", "extends"})
    data["seeds"] = [run.seed]
    return data


def run_id(run: RunSpec) -> str:
    """16 hex digits identifying (resolved spec, seed)."""
    return run_identity(resolved_spec(run), run.seed)


def config_id(run: RunSpec) -> str:
    """16 hex digits identifying the run's configuration (its resolved spec without the seed)."""
    return config_identity(resolved_spec(run))
