"""``clip_scaling_results``: the published zero-shot results of Cherti et al. 2023 (32 CLIP models,
41 downstream sets, training compute in GMACs), read from the authors' public repository by
default or from a local copy. Podium does not ship the tables.

Two columns are added as the paper uses them: ``training_distribution`` (LAION for every
LAION-* upstream set, otherwise the upstream name, i.e. CLIP-WIT for OpenAI's models) and
``score`` (zero-shot top-1 accuracy for classification, image-retrieval recall@5 for retrieval).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from registry.core import DATASETS
from registry.datasets import DatasetUnavailable
from registry.paths import DataPath
from registry.targets import Target

REPOSITORY = "https://raw.githubusercontent.com/LAION-AI/scaling-laws-openclip/main"
RESULTS = "zeroshot_results.csv"


@dataclass(frozen=True)
class ResultTable:
    """A table of results to fit, with the name its fits are filed under."""

    name: str
    frame: pd.DataFrame

    @property
    def model_args(self) -> dict[str, int]:
        return {}


def with_paper_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["training_distribution"] = np.where(frame["upstream_dataset"].str.startswith("LAION"), "LAION", frame["upstream_dataset"])
    retrieval = frame["task"] == "zeroshot_retrieval"
    frame["score"] = np.where(retrieval, frame["image_retrieval_recall@5"], frame["acc1"])
    return frame


@DATASETS.register("clip_scaling_results", label=lambda p: "clip-scaling-results", target=lambda p: Target("table"))
def clip_scaling_results(*, path: DataPath | None = None, url: str = REPOSITORY) -> ResultTable:
    """Cherti et al.'s zero-shot results table (OpenCLIP + OpenAI CLIP): from the repository or a local path."""
    where = str(Path(path) / RESULTS) if path is not None else f"{url.rstrip('/')}/{RESULTS}"
    try:
        frame = pd.read_csv(where)
    except FileNotFoundError:
        raise DatasetUnavailable(f"no {RESULTS} under {path} (give the folder holding the paper's tables)") from None
    except Exception as err:  # urllib errors offline
        raise DatasetUnavailable(f"cannot read {where} ({type(err).__name__}: {err}); offline, pass dataset.params.path") from None
    return ResultTable("clip-scaling-results", with_paper_columns(frame))
