"""What a spec is: the pydantic schema, loading with omegaconf, and the shipped specs (one folder per track).

The names below are imported on first use (PEP 562), so that importing one light module of the
package (``specs.errors``, ``specs.ranking``) does not load omegaconf and the whole loader: the
read-only commands start without them."""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Problem": "specs.errors", "SpecError": "specs.errors",
    "RunSpec": "specs.loader", "expand": "specs.loader", "load_spec": "specs.loader",
    "RunRecord": "specs.record",
    "Component": "specs.schema", "EvaluateMetric": "specs.schema", "MetricRef": "specs.schema", "Spec": "specs.schema",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'specs' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
