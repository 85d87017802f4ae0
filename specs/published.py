"""Published reference results: numbers from a paper, shown on leaderboards beside runs.

A spec may name such a file (``published: published.yaml``, relative to the spec). Its rows
become leaderboard rows with method ``published`` and their citation; they live in their own
table, so they are never mixed into the statistics of runs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from specs.errors import Problem, SpecError
from specs.yaml_io import read_yaml

PUBLISHED_MAX_NODES = 200_000  # a paper's table read straight into pydantic (a spec's limit is for omegaconf)


class PublishedRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: str
    dataset: str  # the leaderboard's dataset name, e.g. mtneuro-region-2d
    model: str
    metric: str
    value: float
    setting: str | None = None  # what distinguishes this row in the paper (e.g. "BYOL, linear probe")
    higher_is_better: bool = True


class PublishedTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["published"] | None = None  # what the file is, beside run and ranking specs
    track: str
    citation: str = Field(min_length=1)
    rows: list[PublishedRow] = Field(min_length=1)


def load_published(path: str | Path) -> PublishedTable:
    """Read and validate a published-results file; problems name the file and the key path."""
    file = str(path)
    data = read_yaml(path, what="published results file", max_nodes=PUBLISHED_MAX_NODES)
    try:
        return PublishedTable.model_validate(data)
    except ValidationError as err:
        raise SpecError([
            Problem(file, ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in e["loc"]).replace(".[", "["), e["msg"])
            for e in err.errors()
        ]) from None
