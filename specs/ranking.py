"""A ranking spec (``kind: ranking``): which stored results of a track a challenge ranking is over,
by which metrics and method, with which statistical rules, and how many bootstrap resamples
measure its stability.

It describes an analysis of results already in the store (``podium rank SPEC``), not runs; the
spec that produces the results is named in ``runs`` so that ``podium validate`` checks it too.

The rules (how ties share a rank, how p-values are adjusted, which Wilcoxon p-value, what a
missing result counts as) start from a preset: ``podium`` (Podium's defaults) or ``challengeR``
(the defaults of the challengeR package, Wiesenfarth et al. 2021); any rule given beside the
preset overrides it. ``leaderboard.ranking.Rules`` applies them.
"""
from __future__ import annotations

import math
from typing import Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

from specs.schema import NAME_PATTERN, Seed

RankMethod = Literal["mean", "median", "rank_then_mean", "test"]
TieRule = Literal["min", "mean", "max"]  # R's rank(ties.method = "min" | "average" | "max")
Adjust = Literal["none", "holm", "hochberg", "bonferroni", "BH", "BY"]  # R's p.adjust methods (less hommel)
WilcoxonMethod = Literal["auto", "exact", "approx"]
MissingName = Literal["worst", "last", "remove", "error"]
Missing = Union[MissingName, float]  # a name, or the number a missing result counts as
Duplicates = Literal["separate", "merged"]  # how the bootstrap treats a case drawn more than once
Preset = Literal["podium", "challengeR"]
TieTest = Literal["auto", "wilcoxon", "bootstrap", "mcnemar", "welch"]  # how a board's ties are tested (leaderboard.significance)

RANK_METHODS: tuple[str, ...] = get_args(RankMethod)
TIE_RULES: tuple[str, ...] = get_args(TieRule)
ADJUSTMENTS: tuple[str, ...] = get_args(Adjust)
WILCOXON_METHODS: tuple[str, ...] = get_args(WilcoxonMethod)
MISSING_NAMES: tuple[str, ...] = get_args(MissingName)
DUPLICATES: tuple[str, ...] = get_args(Duplicates)
PRESETS: tuple[str, ...] = get_args(Preset)
TIE_TESTS: tuple[str, ...] = get_args(TieTest)

# Each preset's rules. ``missing: None`` is the preset's rule per method (``preset_missing``).
PRESET_RULES: dict[str, dict[str, object]] = {
    "podium": {"ties": "min", "case_ties": "mean", "p_adjust": "holm", "wilcoxon": "auto", "alpha": 0.05, "missing": None,
               "duplicates": "separate"},
    # challengeR: rankingMethods.R (ties.method = "min" everywhere), Aggregate.R and testBased.R
    # (alpha = 0.05, p.adjust.method = "none", wilcox.test(exact = FALSE, paired = TRUE): the normal
    # approximation with R's default continuity correction), rankNA2.R (a missing result ranks
    # below its case's worst) and aggregateThenRank / testThenRank (missing values need na.treat);
    # Bootstrap.R draws a case's rows again for each draw of it, so Rank.R ranks the copies of a case
    # together and testBased.R's intersect() tests each case once ("merged").
    "challengeR": {"ties": "min", "case_ties": "min", "p_adjust": "none", "wilcoxon": "approx", "alpha": 0.05, "missing": "last",
                   "duplicates": "merged"},
}


def preset_missing(preset: str, method: str) -> Missing:
    """What a missing result counts as when the rules leave it to the preset: Podium ranks it below
    its case's worst in a per-case ranking (``last``) and gives it its case's worst value
    otherwise (``worst``); challengeR's ``last`` ranks it below the worst per case and refuses
    missing values where a method needs a value (aggregate-then-rank, test-based)."""
    given = PRESET_RULES[preset]["missing"]
    if given is not None:
        return given  # type: ignore[return-value]
    return "last" if method == "rank_then_mean" else "worst"


def parse_missing(value: object) -> Missing:
    """``worst``, ``last``, ``remove``, ``error`` or a finite number (also as text: ``0``, ``-1.5``);
    ``ValueError`` naming the choices otherwise."""
    if isinstance(value, str):
        text = value.strip()
        if text in MISSING_NAMES:
            return text  # type: ignore[return-value]
        try:
            number = float(text)
        except ValueError:
            number = math.nan
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"expected one of {', '.join(MISSING_NAMES)} or a finite number, got {value!r}")
    return number


class RankingRules(BaseModel):
    """The statistical rules of a challenge ranking; each left out (None) is the preset's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: Preset = "podium"
    ties: TieRule | None = None  # how algorithms with equal scores share a final rank
    case_ties: TieRule | None = None  # how equal values share a rank within a case (rank_then_mean)
    p_adjust: Adjust | None = None  # the multiple-testing adjustment over all ordered pairs (test)
    wilcoxon: WilcoxonMethod | None = None  # exact or normal-approximation p-values (test)
    alpha: float | None = Field(default=None, gt=0, lt=1)  # the significance level (test)
    missing: Missing | None = None  # what a missing result counts as
    duplicates: Duplicates | None = None  # the bootstrap: a case drawn twice is two cases (separate) or one group (merged)

    @field_validator("missing", mode="before")
    @classmethod
    def _missing(cls, value: object) -> object:
        return None if value is None else parse_missing(value)

    def resolved(self) -> dict[str, object]:
        """The rules with the preset's filled in (``missing`` may stay None: the preset's per method)."""
        base = dict(PRESET_RULES[self.preset])
        given = {key: getattr(self, key) for key in base if getattr(self, key) is not None}
        return {"preset": self.preset, **base, **given}


class RankingSpec(RankingRules):
    """A challenge ranking: one per (task, dataset) board and metric, and their consensus when several."""

    kind: Literal["ranking"]
    name: str = Field(min_length=1, pattern=NAME_PATTERN)
    track: str = Field(min_length=1)
    metrics: list[str] = Field(min_length=1)  # each needs per-case values; several are merged by mean rank
    method: RankMethod = "mean"
    bootstrap: PositiveInt = 1000
    seed: Seed = 0  # the bootstrap's random seed
    runs: str | None = None  # the run spec whose results are ranked (relative to this file)
