"""Constrained parameter types: a parameter whose valid range is known says so in its type.

A registry entry's keyword-only parameters become a pydantic model (``registry.core``), so a value
outside the range its type states is a problem of the spec, named at its key
(``task.params.alpha: Input should be less than or equal to 1 (got 1.5)``), before anything runs.
``podium list`` shows the annotation as written, so the aliases here carry names that read as the
range they stand for. Besides these, entries use pydantic's own ``PositiveInt`` (a count or width
>= 1), ``NonNegativeInt``, ``PositiveFloat`` (a learning rate, a temperature) and
``NonNegativeFloat`` (a weight decay, a margin), and ``Literal[...]`` where only some values work.
A range that depends on another parameter (``psi_ramp`` against ``epochs``) is not a type: the entry
registers a ``check`` (``Registry.register(..., check=...)``) that maps its validated parameters to
``(key, message)`` pairs; it runs inside the entry's parameter model (a pydantic ``model_validator``)
and raises ``ParamConflicts``, so ``podium validate`` reports each at ``<kind>.params.<key>``.
"""
from __future__ import annotations

from typing import Annotated, Any, Callable, Iterable, TypeVar

from pydantic import AfterValidator, Field, PositiveInt

from specs.schema import Seed  # one definition: a spec's seeds and a parameter's seed share the range

T = TypeVar("T")

Fraction = Annotated[float, Field(gt=0, lt=1)]
"""A share strictly between none and all (a validation or test split carved from the data)."""

Probability = Annotated[float, Field(ge=0, le=1)]
"""A probability, or the weight of one term of a convex combination (distillation's alpha), 0 <= p <= 1."""

ConfidenceLevel = Annotated[float, Field(gt=0, lt=1)]
"""The coverage of a confidence interval, 0 < level < 1 (0.95)."""

Dropout = Annotated[float, Field(ge=0, lt=1)]
"""A dropout rate, 0 <= p < 1 (p = 1 would zero every activation)."""

Momentum = Annotated[float, Field(ge=0, lt=1)]
"""SGD momentum, 0 <= m < 1 (at m = 1 past gradients never fade)."""

Decay = Annotated[float, Field(gt=0, le=1)]
"""A multiplicative decay factor of a schedule, 0 < gamma <= 1 (1: no decay)."""


CrossCheck = Callable[[dict[str, Any]], Iterable[tuple[str, str]]]
"""An entry's cross-parameter check: validated parameters (defaults filled) -> ``(key, message)`` problems."""


class ParamConflicts(ValueError):
    """Parameters that each pass their own type but do not fit together: ``problems`` is a list of
    ``(key, message)``, each reported at the parameter ``key`` names."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))
        self.problems = problems


def _odd(value: int) -> int:
    if value % 2 == 0:
        raise ValueError("Input should be an odd number, so that a patch has a centre pixel")
    return value


OddInt = Annotated[PositiveInt, AfterValidator(_odd)]
"""A positive odd size (1, 3, 5, ...): a square patch whose centre is one pixel."""

NonEmptyList = Annotated[list[T], Field(min_length=1)]
"""A list with at least one item: ``NonEmptyList[str]``."""

NonEmptyTuple = Annotated[tuple[T, ...], Field(min_length=1)]
"""A tuple of any length but 0: ``NonEmptyTuple[int]``."""

__all__ = [
    "ConfidenceLevel", "CrossCheck", "Decay", "Dropout", "Fraction", "Momentum", "NonEmptyList", "NonEmptyTuple", "OddInt",
    "ParamConflicts", "Probability", "Seed",
]
