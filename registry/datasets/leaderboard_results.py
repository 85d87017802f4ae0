"""``leaderboard``: a track's own results as a table to fit scaling laws to. One row per successful
run in the results folder, with the chosen metric and an x value taken from the run's resolved
spec (``model.params.width``, ``dataset.params.train_limit``, ``task.params.epochs``) or from what the
run recorded (``info.train_images_per_s``, ``duration_s``)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from registry.core import DATASETS
from registry.datasets.clip_scaling import ResultTable
from registry.paths import DataPath
from registry.targets import Target
from specs.record import RunRecord, read_records


def lookup(record: RunRecord, path: str) -> Any:
    """A dotted path into the record: ``info.<key>`` and record fields, else into its resolved spec."""
    if path.startswith("info."):
        node: Any = record.info
        parts = path.split(".")[1:]
    elif path in RunRecord.model_fields:
        return getattr(record, path)
    else:
        node, parts = record.spec, path.split(".")
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@DATASETS.register("leaderboard", label=lambda p: f"leaderboard-{p['track']}-{p['metric']}", target=lambda p: Target("table"))
def leaderboard_results(
    results_dir: Path | None = None, *, track: str, metric: str, x: str, task: str | None = None,
    dataset: str | None = None, split: str = "test", results: DataPath | None = None,
) -> ResultTable:
    """A track's successful runs in this results folder: one row per run, x from its spec, y = metric.

    Each row carries its configuration (``config_id``, ``spec_name``), so a fit can group by it;
    references (a distillation teacher) are not entries of the board and are left out."""
    root = Path(results) if results is not None else results_dir
    if root is None or not (root / "runs").is_dir():
        raise FileNotFoundError(f"no runs under {root} (run the track first, or give dataset.params.results)")
    rows = []
    for record in read_records(root):
        if record.status != "ok" or record.reference or record.track != track or (task and record.task != task) or (dataset and record.dataset != dataset):
            continue
        value, x_value = record.metrics.get(split, {}).get(metric), lookup(record, x)
        if value is None or x_value is None:
            continue
        rows.append({x: float(x_value), metric: value, "model": record.model, "method": record.method or "",
                     "dataset": record.dataset, "task": record.task, "seed": record.seed, "run_id": record.run_id,
                     "config_id": record.config_id, "spec_name": record.spec_name})
    if not rows:
        raise ValueError(f"no successful {track} runs with metric {metric!r} on {split} and a value at {x!r} under {root}")
    return ResultTable(f"leaderboard-{track}-{metric}", pd.DataFrame(rows))
