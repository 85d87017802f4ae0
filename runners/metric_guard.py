"""One metric that fails does not lose a run's other metrics.

The runner hands tasks ``GuardedMetric`` wrappers of the spec's metrics. A wrapper is transparent:
attributes (``name``, ``higher_is_better``, ``threshold``) read and write through to the metric,
``isinstance`` sees the metric's class, and every method works as before; but an exception raised
by one of the entry points tasks call is caught and remembered in the run's ``MetricFailures``, and
the call returns what stands for "no value": NaN for a score (which the runner drops as
non-finite), None for per-case values, ``{name: NaN}`` from ``from_stats``, no per-image values.
After the task returns, a run with a failed metric is stored as ``failed``, naming every failed
metric, with the metrics that did compute. A run's timeout is never swallowed.
"""
from __future__ import annotations

import math
import traceback
from typing import Any, Callable

import numpy as np

from registry.context import RunTimeout

# entry point -> what a failed call returns, given the metric
_FALLBACKS: dict[str, Callable[[Any], Any]] = {
    "__call__": lambda metric: math.nan,
    "from_probability": lambda metric: math.nan,  # binary metrics
    "average": lambda metric: math.nan,  # segmentation metrics
    "per_case": lambda metric: None,
    "per_sample": lambda metric: None,
    "from_stats": lambda metric: {metric.name: math.nan},
    "per_image_average": lambda metric: np.empty(0),
}


class MetricFailures:
    """The first error of each metric that failed in one run, listed in the spec's order of ``names``."""

    def __init__(self, names: list[str]) -> None:
        self.errors: dict[str, str] = {name: "" for name in names}  # "" until the metric fails
        self.tracebacks: dict[str, str] = {}

    def add(self, name: str, err: Exception) -> None:
        if not self.errors.get(name):
            self.errors[name] = f"{type(err).__name__}: {err}".strip() or type(err).__name__
            self.tracebacks[name] = traceback.format_exc()

    def __bool__(self) -> bool:
        return any(self.errors.values())

    def __contains__(self, name: object) -> bool:
        return bool(self.errors.get(name))  # type: ignore[call-overload]

    def message(self) -> str:
        """``metric 'auroc' failed: ValueError: ...; metric 'f1' failed: ...``."""
        return "; ".join(f"metric {name!r} failed: {error}" for name, error in self.errors.items() if error)

    def details(self) -> str:
        """Every failed metric's traceback, for ``error.txt``."""
        return "\n".join(f"metric {name!r} failed:\n{self.tracebacks[name]}" for name, error in self.errors.items() if error)


class GuardedMetric:
    """A metric whose entry points record an exception in ``failures`` instead of raising it."""

    __slots__ = ("_metric", "_failures")

    def __init__(self, metric: Any, failures: MetricFailures):
        object.__setattr__(self, "_metric", metric)
        object.__setattr__(self, "_failures", failures)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(guarded, SegmentationMetric) holds when the metric is one
        return type(self._metric)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._guarded("__call__", self._metric, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._metric, name)
        if name in _FALLBACKS and callable(value):
            return lambda *args, **kwargs: self._guarded(name, value, args, kwargs)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._metric, name, value)

    def __repr__(self) -> str:
        return f"GuardedMetric({self._metric!r})"

    def _guarded(self, entry_point: str, function: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        try:
            return function(*args, **kwargs)
        except RunTimeout:
            raise
        except Exception as err:  # the metric's own failure: remember it, give no value
            self._failures.add(self._metric.name, err)
            return _FALLBACKS[entry_point](self._metric)
