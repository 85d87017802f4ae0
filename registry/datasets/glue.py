"""GLUE (Wang et al., 2018) from the Hugging Face hub (``nyu-mll/glue``, one config per task), or
from local parquet files in the hub's layout (``<path>/<task>/<split>-00000-of-00001.parquet``).

GLUE's test labels are hidden (-1), so the benchmark's usual protocol is followed: the hub's
``validation`` split is the test split (MNLI: ``validation_matched``, with
``validation_mismatched`` as the extra split ``test_mismatched``), and the validation split is a
fixed share of the training split, stratified by class (random for STS-B's scores) and fixed by
``split_seed``, so every run of a sweep sees the same split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import PositiveInt
from sklearn.model_selection import train_test_split

from registry.core import DATASETS
from registry.datasets import DatasetUnavailable
from registry.datasets.tensors import stratified_split
from registry.datasets.text import TextData, TextSplit
from registry.params import Fraction, Seed
from registry.paths import DataPath
from registry.targets import Target

GlueTask = Literal["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"]


@dataclass(frozen=True)
class TaskInfo:
    """One GLUE task's columns in the hub's schema and its classes (none for regression)."""

    text_a: str
    text_b: str | None
    class_names: tuple[str, ...]
    test_split: str = "validation"
    extra_splits: tuple[tuple[str, str], ...] = ()  # (our name, hub split)

    @property
    def regression(self) -> bool:
        return not self.class_names


TASKS: dict[str, TaskInfo] = {
    "cola": TaskInfo("sentence", None, ("unacceptable", "acceptable")),
    "sst2": TaskInfo("sentence", None, ("negative", "positive")),
    "mrpc": TaskInfo("sentence1", "sentence2", ("not_equivalent", "equivalent")),
    "stsb": TaskInfo("sentence1", "sentence2", ()),
    "qqp": TaskInfo("question1", "question2", ("not_duplicate", "duplicate")),
    "mnli": TaskInfo(
        "premise", "hypothesis", ("entailment", "neutral", "contradiction"),
        test_split="validation_matched", extra_splits=(("test_mismatched", "validation_mismatched"),),
    ),
    "qnli": TaskInfo("question", "sentence", ("entailment", "not_entailment")),
    "rte": TaskInfo("sentence1", "sentence2", ("entailment", "not_entailment")),
    "wnli": TaskInfo("sentence1", "sentence2", ("not_entailment", "entailment")),
}


def glue_target(task: str) -> Target:
    """A GLUE task's labels: STS-B's regression scores, else its classes (MNLI 3, the others 2)."""
    info = TASKS[task]
    return Target("regression") if info.regression else Target("classes", len(info.class_names))


def _parquet_files(root: Path, task: str, split: str) -> list[str]:
    files = sorted(str(p) for p in (root / task).glob(f"{split}-*.parquet"))
    if not files:
        raise DatasetUnavailable(
            f"no {task}/{split}-*.parquet under {root} "
            f"(expected the hub's layout, e.g. {task}/{split}-00000-of-00001.parquet)"
        )
    return files


def _load_split(hub_name: str, path: str | None, task: str, split: str) -> Any:
    """One split as a ``datasets.Dataset``, from the local parquet files or the hub."""
    import datasets

    try:
        if path is not None:
            files = _parquet_files(Path(path), task, split)
            return datasets.load_dataset("parquet", data_files={split: files}, split=split)
        return datasets.load_dataset(hub_name, task, split=split)
    except DatasetUnavailable:
        raise
    except Exception as err:  # hub errors come in many types (ConnectionError, HfHubHTTPError, ...)
        where = f"local parquet files under {path}" if path else f"hub dataset {hub_name!r} (config {task!r})"
        first_line = str(err).splitlines()[0] if str(err) else ""
        raise DatasetUnavailable(
            f"cannot load split {split!r} of {where} ({type(err).__name__}: {first_line}); "
            "without network, download the parquet files once and pass dataset.params.path"
        ) from None


def _text_split(table: Any, info: TaskInfo, task: str, split: str) -> TextSplit:
    """The sentences and labels of a loaded split, checked against the task's schema."""
    columns = [c for c in (info.text_a, info.text_b, "label") if c is not None]
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DatasetUnavailable(
            f"glue {task} {split}: expected columns {', '.join(columns)}; "
            f"missing {', '.join(missing)} (found {', '.join(table.column_names)})"
        )
    frame = table.select_columns(columns).to_pandas()
    if info.regression:
        labels = np.array(frame["label"], dtype=np.float32)
        bad = ~np.isfinite(labels)
    else:
        labels = np.array(frame["label"], dtype=np.int64)
        bad = (labels < 0) | (labels >= len(info.class_names))
    if bad.any():
        raise DatasetUnavailable(
            f"glue {task} {split}: {int(bad.sum())} rows without a valid label (e.g. {labels[bad][0]!r}); "
            "GLUE's test labels are hidden, so only train and validation splits can be used"
        )
    texts = {}
    for column in columns[:-1]:
        texts[column] = frame[column].tolist()
        if not all(isinstance(t, str) for t in texts[column]):
            raise DatasetUnavailable(f"glue {task} {split}: column {column!r} holds values that are not text")
    return TextSplit(texts[info.text_a], texts[info.text_b] if info.text_b is not None else None, labels)


def _hold_out(labels: np.ndarray, size: float | int, seed: int, stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out): ``size`` (a fraction, or an exact count) held out, stratified by
    class or uniformly at random, fixed by ``seed``."""
    if stratify:
        return stratified_split(labels, size, seed)
    index = np.arange(len(labels))
    if size <= 0:
        return index, index[:0]
    kept, held = train_test_split(index, test_size=size, random_state=seed)
    return np.sort(kept), np.sort(held)


def _take(split: TextSplit, index: np.ndarray) -> TextSplit:
    return TextSplit(
        text_a=[split.text_a[i] for i in index],
        text_b=[split.text_b[i] for i in index] if split.text_b is not None else None,
        labels=split.labels[index],
    )


def _limit(split: TextSplit, limit: int | None, seed: int, stratify: bool) -> TextSplit:
    """At most ``limit`` rows of ``split``, stratified by class (random for regression)."""
    if limit is None or limit >= len(split):
        return split
    _, keep = _hold_out(split.labels, limit, seed, stratify)
    return _take(split, keep)


@DATASETS.register("glue", label=lambda p: f"glue-{p['task']}", target=lambda p: glue_target(p["task"]))
def glue(
    *, task: GlueTask, path: DataPath | None = None, hub_name: str = "nyu-mll/glue", val_fraction: Fraction = 0.1,
    split_seed: Seed = 0, train_limit: PositiveInt | None = None, eval_limit: PositiveInt | None = None,
) -> TextData:
    """GLUE task (sentence or pair classification, STS-B regression): hub or local parquet; test = validation.

    ``train_limit`` keeps a subset of the training split before the validation share is carved
    from it; ``eval_limit`` caps every evaluation split (val, test, extra). Both subsets are
    stratified for classification tasks and fixed by ``split_seed`` (for quick runs)."""
    info = TASKS[task]
    stratify = not info.regression

    def load(split: str) -> TextSplit:
        return _text_split(_load_split(hub_name, path, task, split), info, task, split)

    full_train = _limit(load("train"), train_limit, split_seed, stratify)
    train_index, val_index = _hold_out(full_train.labels, val_fraction, split_seed, stratify)
    evaluation = {"val": _take(full_train, val_index), "test": load(info.test_split)}
    evaluation.update({name: load(hub_split) for name, hub_split in info.extra_splits})
    evaluation = {name: _limit(split, eval_limit, split_seed, stratify) for name, split in evaluation.items()}
    return TextData(
        name=f"glue-{task}",
        train=_take(full_train, train_index),
        val=evaluation.pop("val"),
        test=evaluation.pop("test"),
        num_classes=1 if info.regression else len(info.class_names),
        regression=info.regression,
        class_names=info.class_names,
        extra_splits=evaluation,
    )
