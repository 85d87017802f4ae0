"""``glue-synthetic``: GLUE-shaped tasks built offline from real review sentences, for smoke runs.

The sentences are the Rotten Tomatoes corpus (``rt_sentiment``); the tasks are made from them:
- ``sst2``: the sentence's real label, rotten or fresh;
- ``cola``: acceptable = the sentence as written, unacceptable = its words shuffled;
- ``mrpc``: equivalent = the sentence and a light edit of it (a word dropped, two neighbours
  swapped), not equivalent = the sentence and another sentence;
- ``stsb``: a sentence and a copy with a share of its words replaced by another sentence's,
  scored 5 x the Jaccard overlap of their word sets.
Everything is named ``glue-synthetic-<task>`` so it never mixes with real GLUE results.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from registry.core import DATASETS
from registry.datasets.glue import TASKS as GLUE_TASKS, glue_target
from registry.datasets.rt_sentiment import load_sentences
from registry.datasets.text import TextData, TextSplit
from registry.params import Seed

SyntheticTask = Literal["sst2", "cola", "mrpc", "stsb"]


def _edit(words: list[str], rng: np.random.Generator) -> list[str]:
    words = list(words)
    if len(words) > 3:
        del words[rng.integers(len(words))]
        i = int(rng.integers(len(words) - 1))
        words[i], words[i + 1] = words[i + 1], words[i]
    return words


def _jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / max(len(sa | sb), 1)


def make_task(task: str, texts: list[str], labels: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str] | None, np.ndarray]:
    """(text_a, text_b, labels) of one synthetic task over the given sentences."""
    words = [t.split() for t in texts]
    other = rng.permutation(len(texts))
    if task == "sst2":
        return list(texts), None, labels.astype(np.int64)
    if task == "cola":
        keep = rng.random(len(texts)) < 0.5
        out = [t if k else " ".join(rng.permutation(w)) for t, w, k in zip(texts, words, keep)]
        return out, None, keep.astype(np.int64)
    if task == "mrpc":
        same = rng.random(len(texts)) < 0.5
        second = [" ".join(_edit(w, rng)) if s else texts[o] for w, s, o in zip(words, same, other)]
        return list(texts), second, same.astype(np.int64)
    share = rng.random(len(texts))  # stsb: replace this share of the words
    second_words = []
    for w, o, p in zip(words, other, share):
        replaced = [words[o][i % max(len(words[o]), 1)] if rng.random() < p and words[o] else x for i, x in enumerate(w)]
        second_words.append(replaced)
    scores = np.array([5 * _jaccard(a, b) for a, b in zip(words, second_words)], dtype=np.float32)
    return list(texts), [" ".join(w) for w in second_words], scores


def _label(params: dict[str, Any]) -> str:
    return f"glue-synthetic-{params['task']}"


@DATASETS.register("glue-synthetic", label=_label, target=lambda p: glue_target(p["task"]))
def glue_synthetic(*, task: SyntheticTask = "sst2", size: Annotated[int, Field(ge=10)] = 1200, split_seed: Seed = 0) -> TextData:
    """GLUE-shaped sst2/cola/mrpc/stsb made offline from Rotten Tomatoes sentences (synthetic, for smoke runs)."""
    rng = np.random.default_rng(split_seed)
    texts, labels = load_sentences()
    chosen = rng.permutation(len(texts))[:size]
    a, b, y = make_task(task, [texts[i] for i in chosen], labels[chosen], rng)
    cut = np.cumsum([int(0.7 * len(y)), int(0.1 * len(y))])
    parts = np.split(np.arange(len(y)), cut)

    def split(index: np.ndarray) -> TextSplit:
        return TextSplit([a[i] for i in index], None if b is None else [b[i] for i in index], y[index])

    info = GLUE_TASKS[task]
    return TextData(
        name=_label({"task": task}), train=split(parts[0]), val=split(parts[1]), test=split(parts[2]),
        num_classes=1 if info.regression else len(info.class_names), regression=info.regression,
        class_names=info.class_names,
    )
