"""The pydantic schema of a spec (see DESIGN.md, "A spec"). Unknown keys are errors everywhere."""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from specs.method_card import MethodCard

DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"  # a spec's name: it appears in paths and board labels
MATRIX_ROOTS = ("dataset", "model", "task", "metrics")  # what a run's identity is made of; execution settings are not

Seed = Annotated[int, Field(ge=0, lt=2**32)]
"""A random seed: what NumPy's legacy seeding and scikit-learn's ``random_state`` accept, 0 <= seed < 2**32."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Component(Strict):
    """A registry name with its parameters, e.g. ``{name: resnet8, params: {width: 16}}``."""

    name: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class EvaluateMetric(Strict):
    """A Hugging Face ``evaluate`` module used as a metric: a local module folder or a hub name."""

    evaluate: str = Field(min_length=1)
    key: str | None = None  # which entry of compute()'s result; default: the first
    higher_is_better: bool = True
    name: str | None = None  # the metric's name in results; default: key or the module's name

    @property
    def metric_name(self) -> str:
        if self.name:
            return self.name
        if self.key:
            return self.key
        return self.evaluate.rstrip("/").split("/")[-1].removesuffix(".py")


def _metric_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "metric-name"
    if isinstance(value, (dict, EvaluateMetric)):
        return "metric-evaluate"
    return None


MetricRef = Annotated[
    Union[Annotated[str, Tag("metric-name")], Annotated[EvaluateMetric, Tag("metric-evaluate")]],
    Discriminator(
        _metric_kind,
        custom_error_type="metric_ref",
        custom_error_message="expected a metric name or {evaluate: module}",
    ),
]


def metric_name(ref: MetricRef) -> str:
    """The name a metric's values are stored under."""
    return ref if isinstance(ref, str) else ref.metric_name


def matrix_paths(key: str) -> list[str]:
    """The key paths a matrix key sets: ``a.b`` sets one; ``"a.b, c.d"`` sets several in step (zipped)."""
    return [part.strip() for part in key.split(",")]


class Resources(Strict):
    """What one run asks of the machine that runs it (executors schedule by it; not part of a run's identity).

    ``cpus``, when set, is also the run's torch thread count under every executor, so a CPU run
    gives the same numbers locally and on Ray (float results depend on the thread count); unset,
    the local executor leaves torch's default and Ray asks for one CPU. ``gpus`` unset: one GPU
    when the run's device is CUDA (``auto``: when the cluster has GPUs), else none."""

    cpus: float | None = Field(default=None, gt=0)
    gpus: float | None = Field(default=None, ge=0)


class Tolerance(Strict):
    """How much worse a metric may get before ``podium check`` fails: exactly one of an absolute
    amount (``abs: 0.01``) or a fraction of the baseline mean (``rel: 0.05``)."""

    abs: float | None = Field(default=None, ge=0)
    rel: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Tolerance:
        if (self.abs is None) == (self.rel is None):
            raise ValueError("expected exactly one of abs or rel")
        return self


class Spec(Strict):
    """A benchmark spec as written (before matrix expansion)."""

    kind: Literal["run"] | None = None  # what the file is; a ranking spec says `ranking`, published results `published`
    name: str = Field(min_length=1, pattern=NAME_PATTERN)
    track: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    extends: str | None = None
    dataset: Component
    model: Component
    task: Component
    metrics: list[MetricRef] = Field(min_length=1)
    matrix: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1)
    device: str = "auto"
    timeout_s: float | None = Field(default=None, gt=0)
    published: str | None = None  # published reference results for this spec's boards (path relative to the spec)
    resources: Resources = Field(default_factory=Resources)  # CPUs and GPUs per run, for the executor
    method_card: MethodCard | None = None  # the submission's answers to the participation survey
    check: dict[str, Tolerance] = Field(default_factory=dict)  # metric -> tolerance of `podium check` (not identity)
    plugins: list[str] = Field(default_factory=list)  # Python files (relative to the spec) or modules to import: code

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not DEVICE_PATTERN.match(value):
            raise ValueError("expected auto, cpu, cuda, cuda:N or mps")
        return value

    @field_validator("matrix")
    @classmethod
    def _matrix(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, options in value.items():
            if not options:
                raise ValueError(f"matrix entry {key!r} has no values")
            paths = matrix_paths(key)
            for path in paths:
                # timeout_s, device and resources are not part of a run's identity: a matrix over them
                # would give runs with one id, so all but one would be skipped as already done
                if path.split(".")[0] not in MATRIX_ROOTS:
                    raise ValueError(f"matrix key {path!r} must point into {', '.join(MATRIX_ROOTS)} (what a run is; execution settings are not)")
            if len(paths) > 1:
                for option in options:
                    if not isinstance(option, list) or len(option) != len(paths):
                        raise ValueError(f"matrix entry {key!r} zips {len(paths)} keys: each value must be a list of {len(paths)}")
        return value

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("seeds must be distinct")
        return value

    def code_features(self) -> list[tuple[str, str]]:
        """(key path, what it does) of every part of this spec that runs code rather than naming a
        registered entry: plugin files and modules, evaluate modules. Everything else is data."""
        found = [(f"plugins[{i}]", f"imports {ref}") for i, ref in enumerate(self.plugins)]
        found += [(f"metrics[{i}]", f"runs the evaluate module {ref.evaluate}") for i, ref in enumerate(self.metrics) if isinstance(ref, EvaluateMetric)]
        return found

    @property
    def method(self) -> str | None:
        """The task's ``method`` parameter, when it has one (a leaderboard column)."""
        method = self.task.params.get("method")
        return None if method is None else str(method)
