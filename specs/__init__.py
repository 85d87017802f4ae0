"""What a spec is: the pydantic schema, loading with omegaconf, and the shipped specs (one folder per track)."""
from specs.errors import Problem, SpecError
from specs.loader import RunSpec, expand, load_spec
from specs.record import RunRecord
from specs.schema import Component, EvaluateMetric, MetricRef, Spec

__all__ = [
    "Component", "EvaluateMetric", "MetricRef", "Problem", "RunRecord", "RunSpec", "Spec",
    "SpecError", "expand", "load_spec",
]
