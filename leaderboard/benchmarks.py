"""Scores that a benchmark defines over several of its datasets, computed from the store.

GLUE (Wang et al. 2019): each task's score is the mean of its official metrics (MRPC and QQP:
F1 and accuracy; STS-B: Pearson and Spearman correlation; CoLA: Matthews correlation; the other
tasks: accuracy; MNLI: matched accuracy here), and the GLUE score is the mean over tasks. Podium
computes it per seed and then aggregates over seeds like any other row, so the average gets an
interval too. Entries with different task sets are filed on different boards, and the offline
stand-in (``glue-synthetic-<task>``) is averaged apart from the real benchmark.
"""
from __future__ import annotations

import json

import pandas as pd

from leaderboard.filters import Filters
from leaderboard.store import Store
from specs.identity import config_identity, config_labels

GLUE_METRICS = {
    "cola": ["matthews"], "sst2": ["accuracy"], "mrpc": ["f1", "accuracy"], "stsb": ["pearson", "spearman"],
    "qqp": ["f1", "accuracy"], "mnli": ["accuracy"], "qnli": ["accuracy"], "rte": ["accuracy"], "wnli": ["accuracy"],
}
GLUE_PREFIX = "glue-"
SYNTHETIC_PREFIX = "glue-synthetic-"
VALUE_COLUMNS = ["track", "task", "dataset", "metric", "entry", "label", "model", "method", "spec_name", "reference", "seed", "value"]


def glue_average_values(store: Store, split: str, filters: Filters | None = None) -> pd.DataFrame:
    """Per-seed GLUE scores of every GLUE entry, as rows of ``VALUE_COLUMNS`` with dataset
    ``glue-average-<n>tasks``. An entry is a configuration but for the GLUE task it runs on: the
    runs whose resolved specs differ only in ``dataset.params.task``, the metrics they list (each
    task has its own official ones, and only those count) and the seed are averaged."""
    where, params = (filters or Filters()).runs_sql()
    runs = store.query(
        f"""
        SELECT r.track, r.task, r.dataset, r.model, coalesce(r.method, '') AS method, r.spec_name, r.reference, r.seed,
               r.spec_json, m.metric, m.value
        FROM runs r JOIN metrics m USING (run_id)
        WHERE r.status = 'ok' AND m.split = ? AND r.dataset LIKE '{GLUE_PREFIX}%' {where}
        """,
        [split, *params],
    )
    if runs.empty:
        return pd.DataFrame(columns=VALUE_COLUMNS)
    # glue-<task> is GLUE; glue-synthetic-<task> its offline stand-in, averaged on its own
    synthetic = runs["dataset"].str.startswith(SYNTHETIC_PREFIX)
    runs["family"] = synthetic.map({True: SYNTHETIC_PREFIX, False: GLUE_PREFIX})
    runs["glue_task"] = [d.removeprefix(f) for d, f in zip(runs["dataset"], runs["family"])]
    entries = {text: _without_task(json.loads(text)) for text in runs["spec_json"].unique()}
    runs["entry"] = [config_identity(entries[text]) for text in runs["spec_json"]]
    labels: dict[str, str] = {}
    for (spec_name, _), group in runs.drop_duplicates("entry").groupby(["spec_name", "reference"]):
        labels.update(config_labels(spec_name, {e: entries[t] for e, t in zip(group["entry"], group["spec_json"])}))
    runs["label"] = runs["entry"].map(labels)
    official = runs[[metric in GLUE_METRICS.get(task, []) for task, metric in zip(runs["glue_task"], runs["metric"])]]
    keys = ["track", "task", "family", "entry", "label", "model", "method", "spec_name", "reference", "seed"]
    per_task = official.groupby([*keys, "glue_task"], as_index=False)["value"].mean()
    scores = per_task.groupby(keys, as_index=False).agg(value=("value", "mean"), tasks=("glue_task", "nunique"))
    scores["dataset"] = scores["family"] + "average-" + scores["tasks"].astype(str) + "tasks"
    scores["metric"] = "glue_score"
    return scores[VALUE_COLUMNS]


def _without_task(spec: dict) -> dict:
    """A resolved spec without its GLUE task and metric list, so one entry's runs over tasks share it."""
    dataset = dict(spec.get("dataset") or {})
    dataset["params"] = {k: v for k, v in (dataset.get("params") or {}).items() if k != "task"}
    return {**{k: v for k, v in spec.items() if k != "metrics"}, "dataset": dataset}
