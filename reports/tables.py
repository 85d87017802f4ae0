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
    sections = []
    main = board[~board["metric"].str.contains("/", regex=False)]
    for (track, task, dataset, metric), rows in main.groupby(["track", "task", "dataset", "metric"], sort=False):
        arrow = "higher is better" if rows["higher_is_better"].iloc[0] else "lower is better"
        sections.append(_section(f"{track} / {task} / {dataset} / {metric} ({arrow})", _display(rows), fmt, _citations(rows)))
        parts = board[(board["track"] == track) & (board["task"] == task) & (board["dataset"] == dataset) & board["metric"].str.startswith(f"{metric}/")]
        if not parts.empty:  # per-class entries (seg_iou/vessel, ...): one column per class
            per_class = parts.assign(part=parts["metric"].str.split("/", n=1).str[1])
            table = per_class.pivot_table(index=["model", "method"], columns="part", values="mean", sort=False).reset_index()
            table = table.map(lambda v: _number(v) if isinstance(v, float) else v)
            sections.append(_section(f"{track} / {task} / {dataset} / {metric} per class (mean)", table, fmt))
    sections += _by_group(board, fmt)
    return "\n\n".join(sections)


def _by_group(board: pd.DataFrame, fmt: str) -> list[str]:
    """Statistics stored only per group (``alpha/imagenet1k/LAION``, a scaling fit's): one row per
    group, one column per statistic."""
    parts = board[board["metric"].str.contains("/", regex=False)].copy()
    parts["base"] = parts["metric"].str.split("/", n=1).str[0]
    parts["group"] = parts["metric"].str.split("/", n=1).str[1]
    plain = set(board["metric"])
    parts = parts[~parts["base"].isin(plain)]
    sections = []
    for (track, task, dataset), rows in parts.groupby(["track", "task", "dataset"], sort=False):
        table = rows.pivot_table(index=["model", "method", "group"], columns="base", values="mean", sort=False).reset_index()
        table = table.map(lambda v: f"{v:.4g}" if isinstance(v, float) else v)
        sections.append(_section(f"{track} / {task} / {dataset} by group (mean over seeds)", table.fillna("-"), fmt))
    return sections


def render_wide(board: pd.DataFrame, fmt: str = "table") -> str:
    """One table per (track, task, dataset): an entry per row, a column per metric (mean, and the
    95% interval's half-width when there are several seeds)."""
    cells = board.assign(cell=[_mean_ci(m, lo, hi) for m, lo, hi in zip(board["mean"], board["ci_low"], board["ci_high"])])
    if fmt in ("csv", "json"):
        wide = board.pivot_table(index=["track", "task", "dataset", "model", "method"], columns="metric", values="mean", sort=False).reset_index()
        return wide.to_csv(index=False) if fmt == "csv" else json.dumps([{k: _plain(v) for k, v in row.items()} for row in wide.to_dict(orient="records")], indent=1)
    sections = []
    for (track, task, dataset), rows in cells.groupby(["track", "task", "dataset"], sort=False):
        table = rows.pivot_table(index=["model", "method", "n"], columns="metric", values="cell", aggfunc="first", sort=False).reset_index()
        sections.append(_section(f"{track} / {task} / {dataset}", table.fillna("-"), fmt, _citations(rows)))
    return "\n\n".join(sections) if sections else "(no results)"


def _section(title: str, table: pd.DataFrame, fmt: str, notes: list[str] = ()) -> str:
    text = tabulate(table, headers="keys", tablefmt="github" if fmt == "md" else "simple", showindex=False, disable_numparse=True)
    footer = "".join(f"\n{note}" for note in notes)
    return f"### {title}\n\n{text}\n{footer}" if fmt == "md" else f"{title}\n{text}{footer}"


def _citations(rows: pd.DataFrame) -> list[str]:
    return [f"published: {c}" for c in rows["citation"].dropna().unique()]


def _mean_ci(mean: float, low: float, high: float) -> str:
    return _number(mean) if _missing(low) else f"{_number(mean)} ± {(high - low) / 2:.4f}"


def _display(rows: pd.DataFrame) -> pd.DataFrame:
    shown = pd.DataFrame(
        {
            "rank": ["-" if pd.isna(r) else str(int(r)) for r in rows["rank"]],
            "model": rows["model"],
            "method": rows["method"],
            "mean": rows["mean"].map(_number),
            "std": rows["std"].map(_number),
            "95% CI": [f"[{_number(lo)}, {_number(hi)}]" if not _missing(lo) else "-" for lo, hi in zip(rows["ci_low"], rows["ci_high"])],
            "n": ["-" if method == "published" else str(n) for n, method in zip(rows["n"], rows["method"])],
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
    if value is pd.NA or value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
