"""What a dataset's labels are, and what a task, a metric or a model can work with, so that
``podium validate`` finds a spec whose parts do not fit each other before anything runs.

Each entry declares its side beside its code, one line:

- a dataset its ``Target``, as a function of its validated parameters:
  ``@DATASETS.register("digits", target=lambda p: Target("classes", 10))``;
- a task the targets it can work with: ``@TASKS.register("segmentation", accepts=Accepts({"masks"}))``;
- a metric what it scores, as a class attribute: ``accepts = Accepts({"classes"}, classes=2)``;
- a model what it outputs: ``@MODELS.register("unet3d", output={"masks"})`` (default: class scores).

An entry that declares nothing is not checked (an evaluate module, a plugin's dataset).

Target kinds:

- ``classes``: one integer class per sample; ``classes`` says how many;
- ``regression``: one real-valued score per sample (GLUE STS-B);
- ``masks``: one class per pixel or voxel (segmentation); ``classes`` says how many;
- ``table``: a table of results that a law is fitted to (scaling fits);
- ``responses``: survey responses (participation statistics).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Kind = Literal["classes", "regression", "masks", "table", "responses"]
KINDS: tuple[str, ...] = ("classes", "regression", "masks", "table", "responses")

# what a task or metric needs, and what a model outputs, by target kind (in messages)
_NEEDS = {
    "classes": "class labels", "regression": "regression targets", "masks": "per-pixel masks",
    "table": "a results table", "responses": "survey responses",
}
_OUTPUTS = {
    "classes": "class scores", "regression": "regression scores", "masks": "per-pixel masks",
    "table": "law fits of a results table", "responses": "survey statistics",
}


def check_kinds(kinds: Iterable[str]) -> frozenset[str]:
    """``kinds`` as a frozenset, each one of ``KINDS`` (else ValueError, at registration)."""
    kinds = frozenset([kinds] if isinstance(kinds, str) else kinds)
    unknown = sorted(kinds - set(KINDS))
    if unknown or not kinds:
        raise ValueError(f"target kinds must be some of {', '.join(KINDS)}; got {sorted(kinds)}")
    return kinds


def _listed(words: list[str]) -> str:
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


@dataclass(frozen=True)
class Target:
    """What a dataset's labels are: ``kind`` (see the module docstring) and, for classes and masks,
    how many ``classes``."""

    kind: Kind
    classes: int | None = None

    def __post_init__(self) -> None:
        check_kinds([self.kind])
        if self.classes is not None and (self.kind not in ("classes", "masks") or self.classes < 1):
            raise ValueError(f"a {self.kind} target takes no class count; got {self.classes}")

    def describe(self) -> str:
        """What follows ``dataset 'x' `` in a message: ``has 10 classes``, ``is a results table``."""
        count = f" of {self.classes} classes" if self.classes is not None else ""
        return {
            "classes": f"has {self.classes} classes" if self.classes is not None else "has class labels",
            "regression": "has regression scores",
            "masks": f"has per-pixel masks{count}",
            "table": "is a results table",
            "responses": "holds survey responses",
        }[self.kind]


@dataclass(frozen=True, init=False)
class Accepts:
    """What a task or metric works with: targets of these ``kinds``; when ``classes`` is set, with
    exactly that many classes."""

    kinds: frozenset[str]
    classes: int | None = None

    def __init__(self, kinds: Iterable[str], classes: int | None = None):
        object.__setattr__(self, "kinds", check_kinds(kinds))
        object.__setattr__(self, "classes", classes)

    def describe(self) -> str:
        """What follows ``metric 'x' scores `` or ``task 'x' needs ``: ``2-class problems``, ``per-pixel masks``."""
        words = [f"{self.classes}-class problems" if k == "classes" and self.classes is not None else _NEEDS[k] for k in KINDS if k in self.kinds]
        return _listed(words)

    def problem(self, target: Target, dataset: str) -> str | None:
        """Why ``target`` (of dataset ``dataset``) does not fit, as the rest of a message after
        ``metric 'x' scores `` / ``task 'x' needs ``; None when it fits."""
        fits = target.kind in self.kinds and (self.classes is None or target.classes == self.classes)
        return None if fits else f"{self.describe()}; dataset {dataset!r} {target.describe()}"


CLASS_SCORES: frozenset[str] = frozenset({"classes"})  # what a model outputs unless it says otherwise


def describe_output(kinds: Iterable[str]) -> str:
    """What follows ``model 'x' outputs ``: ``class scores or regression scores``."""
    return _listed([_OUTPUTS[k] for k in KINDS if k in set(kinds)])


def describe_need(kind: str) -> str:
    """What a model must output for a target of ``kind``: ``class scores``, ``per-pixel masks``."""
    return _OUTPUTS[kind]
