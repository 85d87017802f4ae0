"""A ranking spec (``kind: ranking``): which stored results of a track a challenge ranking is over,
by which metrics and method, and how many bootstrap resamples measure its stability.

It describes an analysis of results already in the store (``podium rank SPEC``), not runs; the
spec that produces the results is named in ``runs`` so that ``podium validate`` checks it too.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from specs.schema import NAME_PATTERN, Seed

RankMethod = Literal["mean", "median", "rank_then_mean", "test"]


class RankingSpec(BaseModel):
    """A challenge ranking: one per (task, dataset) board and metric, and their consensus when several."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["ranking"]
    name: str = Field(min_length=1, pattern=NAME_PATTERN)
    track: str = Field(min_length=1)
    metrics: list[str] = Field(min_length=1)  # each needs per-case values; several are merged by mean rank
    method: RankMethod = "mean"
    bootstrap: PositiveInt = 1000
    seed: Seed = 0  # the bootstrap's random seed
    runs: str | None = None  # the run spec whose results are ranked (relative to this file)
