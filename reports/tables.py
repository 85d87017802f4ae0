"""A leaderboard DataFrame as text: a terminal table, markdown, CSV or JSON."""
from __future__ import annotations

import json
import math

import pandas as pd
from tabulate import tabulate

FORMATS = ("table", "md", "csv", "json")
SHOWN = ["model", "method", "mean", "std", "n", "ci_low", "ci_high", "rank", "failed"]


def render_leaderboard(board: pd.DataFrame, fmt: str = "table") -> str:
    """Text of a leaderboard (see ``leaderboard.LEADERBOARD_COLUMNS``) in one of ``FORMATS``."""
    if fmt == "csv":
        return board.to_csv(index=False)
    if fmt == "json":
        rows = [{k: _plain(v) for k, v in row.items()} for row in board.to_dict(orient="records")]
        return json.dumps(rows, indent=1)
    if board.empty:
        return "(no results)"
    style = "github" if fmt == "md" else "simple"
    sections = []
    for (track, task, dataset, metric), rows in board.groupby(["track", "task", "dataset", "metric"], sort=False):
        arrow = "higher is better" if rows["higher_is_better"].iloc[0] else "lower is better"
        title = f"{track} / {task} / {dataset} / {metric} ({arrow})"
        table = tabulate(_display(rows), headers="keys", tablefmt=style, showindex=False, disable_numparse=True)
        sections.append(f"### {title}\n\n{table}" if fmt == "md" else f"{title}\n{table}")
    return "\n\n".join(sections)


def _display(rows: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame(
        {
            "rank": rows["rank"].astype(str),
            "model": rows["model"],
            "method": rows["method"],
            "mean": rows["mean"].map(_number),
            "std": rows["std"].map(_number),
            "95% CI": [f"[{_number(lo)}, {_number(hi)}]" if not _missing(lo) else "-" for lo, hi in zip(rows["ci_low"], rows["ci_high"])],
            "n": rows["n"].astype(str),
            "failed": rows["failed"].astype(str),
        }
    )
    return shown


def _number(value: float) -> str:
    return "-" if _missing(value) else f"{value:.4f}"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: object) -> object:
    """JSON-safe scalars: NaN -> null, numpy numbers -> Python numbers."""
    if hasattr(value, "item"):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
