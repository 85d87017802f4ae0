"""Scores that a benchmark defines over several of its datasets, computed from the store.

GLUE (Wang et al. 2019): each task's score is the mean of its official metrics (MRPC and QQP:
F1 and accuracy; STS-B: Pearson and Spearman correlation; CoLA: Matthews correlation; the other
tasks: accuracy; MNLI: matched accuracy here), and the GLUE score is the mean over tasks. Podium
computes it per seed and then aggregates over seeds like any other row, so the average gets an
interval too. Entries with different task sets are filed on different boards, and the offline
stand-in (``glue-synthetic-<task>``) is averaged apart from the real benchmark.
"""
from __future__ import annotations

import pandas as pd

from leaderboard.store import Store

GLUE_METRICS = {
    "cola": ["matthews"], "sst2": ["accuracy"], "mrpc": ["f1", "accuracy"], "stsb": ["pearson", "spearman"],
    "qqp": ["f1", "accuracy"], "mnli": ["accuracy"], "qnli": ["accuracy"], "rte": ["accuracy"], "wnli": ["accuracy"],
}
GLUE_PREFIX = "glue-"
SYNTHETIC_PREFIX = "glue-synthetic-"


def glue_average_values(store: Store, split: str, track: str | None = None) -> pd.DataFrame:
    """Per-seed GLUE scores of every (track, task, model, method) with GLUE runs, as rows of
    (track, task, dataset, model, method, seed, metric, value): dataset ``glue-average-<n>tasks``."""
    where, params = ("AND r.track = ?", [split, track]) if track else ("", [split])
    runs = store.query(
        f"""
        SELECT r.track, r.task, r.dataset, r.model, coalesce(r.method, '') AS method, r.seed, m.metric, m.value
        FROM runs r JOIN metrics m USING (run_id)
        WHERE r.status = 'ok' AND m.split = ? AND r.dataset LIKE '{GLUE_PREFIX}%' {where}
        """,
        params,
    )
    if runs.empty:
        return pd.DataFrame(columns=["track", "task", "dataset", "model", "method", "seed", "metric", "value"])
    # glue-<task> is GLUE; glue-synthetic-<task> its offline stand-in, averaged on its own
    synthetic = runs["dataset"].str.startswith(SYNTHETIC_PREFIX)
    runs["family"] = synthetic.map({True: SYNTHETIC_PREFIX, False: GLUE_PREFIX})
    runs["glue_task"] = [d.removeprefix(f) for d, f in zip(runs["dataset"], runs["family"])]
    official = runs[[metric in GLUE_METRICS.get(task, []) for task, metric in zip(runs["glue_task"], runs["metric"])]]
    keys = ["track", "task", "family", "model", "method", "seed"]
    per_task = official.groupby([*keys, "glue_task"], as_index=False)["value"].mean()
    scores = per_task.groupby(keys, as_index=False).agg(value=("value", "mean"), tasks=("glue_task", "nunique"))
    scores["dataset"] = scores["family"] + "average-" + scores["tasks"].astype(str) + "tasks"
    scores["metric"] = "glue_score"
    return scores[["track", "task", "dataset", "model", "method", "seed", "metric", "value"]]
