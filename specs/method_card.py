"""A submission's method card: the participation survey of Eisenmann et al. 2022 ("Biomedical image
analysis competitions: the state of current participation practice", arXiv 2212.08568), as answers
a spec carries (``method_card:``) or a row of a survey-responses table holds.

Every answer is optional (a question left out was not answered); follow-up questions may only be
answered when their condition holds (``standard_architecture`` needs ``deep_learning: true``).
``QUESTIONS`` lists the questions in the paper's order with who they were asked of; the survey
statistics and the report read it, so a new question is added here only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, NonNegativeFloat, model_validator

Incentive = Literal["knowledge_exchange", "comparison", "data_access", "publication", "prize_money", "other"]
Bottleneck = Literal["not_enough_time", "infrastructure", "data", "other"]
LargeData = Literal["patch_based", "downsampling", "slices_2d", "other"]  # slices_2d: a 3D task as a series of 2D tasks
EnsembleKind = Literal["identical", "heterogeneous"]


class MethodCard(BaseModel):
    """One participant's answers; unknown keys and answers outside the allowed options are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    challenge: str | None = None  # which challenge the submission was for (default: the spec's track)
    deep_learning: bool | None = None
    standard_architecture: bool | None = None  # asked if deep_learning (e.g. a U-Net, a ResNet)
    data_too_large: bool | None = None  # samples too large to process at once
    large_data_handling: list[LargeData] | None = None  # asked if data_too_large; several allowed
    k_fold_cross_validation: bool | None = None  # on the training set
    ensembling: bool | None = None
    ensemble_kind: EnsembleKind | None = None  # asked if ensembling
    postprocessing: bool | None = None
    hours_spent: NonNegativeFloat | None = None  # on method development
    incentives: list[Incentive] | None = None  # several allowed
    bottlenecks: list[Bottleneck] | None = None  # several allowed; [] = none

    @model_validator(mode="after")
    def _follow_ups(self) -> "MethodCard":
        for question in QUESTIONS:
            if question.condition and getattr(self, question.field) not in (None, []) and getattr(self, question.condition) is not True:
                raise ValueError(f"{question.field} is asked only when {question.condition} is true")
        return self


@dataclass(frozen=True)
class Question:
    """A survey question: its field, kind, the options counted and the condition it was asked under."""

    field: str
    kind: Literal["yes_no", "choice", "multi", "number"]
    text: str
    condition: str | None = None  # another yes/no field that must be true

    @property
    def options(self) -> tuple[str, ...]:
        """The answers counted separately (choice and multi questions)."""
        annotation = MethodCard.model_fields[self.field].annotation
        literal = next(arg for arg in get_args(annotation) if arg is not type(None))
        if self.kind == "multi":
            literal = get_args(literal)[0]
        return get_args(literal)


# In the order of the paper's results (incentives and time first, then strategy and the algorithm).
QUESTIONS: tuple[Question, ...] = (
    Question("incentives", "multi", "incentives for taking part"),
    Question("hours_spent", "number", "hours spent on method development"),
    Question("bottlenecks", "multi", "bottlenecks"),
    Question("deep_learning", "yes_no", "deep-learning-based solution"),
    Question("standard_architecture", "yes_no", "standard architecture (of the deep-learning ones)", "deep_learning"),
    Question("data_too_large", "yes_no", "samples too large to process at once"),
    Question("large_data_handling", "multi", "how large samples were handled", "data_too_large"),
    Question("k_fold_cross_validation", "yes_no", "k-fold cross-validation on the training set"),
    Question("ensembling", "yes_no", "ensembling"),
    Question("ensemble_kind", "choice", "kind of ensemble (of those ensembling)", "ensembling"),
    Question("postprocessing", "yes_no", "postprocessing"),
)
