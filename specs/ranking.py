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

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

from specs.rules import PRESET_RULES, Adjust, Duplicates, Missing, Preset, RankMethod, TieRule, WilcoxonMethod, parse_missing
from specs.schema import NAME_PATTERN, Seed


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
