"""A leaderboard DataFrame as text: a terminal table, markdown, CSV or JSON.

A board's rows are its entries: configurations (a spec's runs that differ only in their seed),
named by their label, or pooled rows when the caller pooled configurations on purpose. The table
shows each entry's rank among the competitors (``ref`` for a reference: a distillation teacher, a
published result), the interval of its mean, and, for a board whose ties were tested
(``leaderboard.significance``), the ranks of the entries a test cannot separate from it (``tied
with``); note lines under each board say what these marks mean, for the marks that occur on it,
and which test, adjustment and alpha grouped the ties.
"""
from __future__ import annotations

import json
import math

import pandas as pd
from tabulate import tabulate

from leaderboard.markup import md_frame, md_text
from leaderboard.significance import tie_text

FORMATS = ("table", "md", "csv", "json")
BOARD = ["track", "task", "dataset", "metric"]
REF = "ref"  # the rank shown for a reference
TIED_WITH = "tied with"  # the column of the ranks a test cannot separate from an entry


def interval_header(confidence: float = 0.95) -> str:
    """The interval column's header: what the interval is, in a few characters."""
    return f"{confidence:.0%} CI (t, clipped)"


def render_leaderboard(board: pd.DataFrame, fmt: str = "table", *, confidence: float = 0.95) -> str:
    """Text of a leaderboard (see ``leaderboard.LEADERBOARD_COLUMNS``) in one of ``FORMATS``.

    CSV and JSON carry every column (JSON: NaN and missing ranks as null); the table and markdown
    show a table per board with a note line beneath. ``confidence`` is the level the board was
    computed at (``leaderboard(..., confidence=)``), for the interval's header."""
    if fmt == "csv":
        return board.to_csv(index=False)
    if fmt == "json":
        return _json(board)
    if board.empty:
        return "(no results)"
    sections = []
    main = board[~board["metric"].str.contains("/", regex=False)]
    for (track, task, dataset, metric), rows in main.groupby(BOARD, sort=False):
        arrow = "higher is better" if rows["higher_is_better"].iloc[0] else "lower is better"
        notes = [_marks_note(rows, confidence), *_test_note(rows), *_pooled_notes(rows), *_citations(rows)]
        sections.append(_section(f"{track} / {task} / {dataset} / {metric} ({arrow})", _display(rows, confidence), fmt, notes))
        parts = board[(board["track"] == track) & (board["task"] == task) & (board["dataset"] == dataset) & board["metric"].str.startswith(f"{metric}/")]
        if not parts.empty:  # per-class entries (seg_iou/vessel, ...): one column per class
            per_class = parts.assign(part=parts["metric"].str.split("/", n=1).str[1])
            table = _by_entry(per_class, "part", lambda v: _number(v))
            sections.append(_section(f"{track} / {task} / {dataset} / {metric} per class (mean)", table, fmt))
    sections += _by_group(board, fmt)
    return "\n\n".join(sections)


def _by_group(board: pd.DataFrame, fmt: str) -> list[str]:
    """Statistics stored only per group (``alpha/imagenet1k/LAION``, a scaling fit's): one row per
    entry and group, one column per statistic."""
    parts = board[board["metric"].str.contains("/", regex=False)].copy()
    parts["base"] = parts["metric"].str.split("/", n=1).str[0]
    parts["group"] = parts["metric"].str.split("/", n=1).str[1]
    plain = set(board["metric"])
    parts = parts[~parts["base"].isin(plain)]
    sections = []
    for (track, task, dataset), rows in parts.groupby(["track", "task", "dataset"], sort=False):
        table = _by_entry(rows, "base", lambda v: f"{v:.4g}", extra=["group"])
        sections.append(_section(f"{track} / {task} / {dataset} by group (mean over seeds)", table.fillna("-"), fmt))
    return sections


def _by_entry(rows: pd.DataFrame, columns: str, show, extra: list[str] = ()) -> pd.DataFrame:
    """Means pivoted to one row per entry (shown by its label; ``extra`` index columns after it) and
    one column per value of ``columns``, in the board's order."""
    index = ["entry", "label", *extra]
    keyed = rows.assign(label=rows["label"].fillna(rows["model"]))
    table = keyed.pivot_table(index=index, columns=columns, values="mean", sort=False).reset_index().drop(columns="entry")
    table.columns.name = None
    values = [c for c in table.columns if c not in index]
    table[values] = table[values].map(lambda v: "-" if _missing(v) else show(v))
    return table


def render_wide(board: pd.DataFrame, fmt: str = "table", *, confidence: float = 0.95) -> str:
    """One table per (track, task, dataset): a row per entry (label, model, method, n), a column per
    metric whose cells are ``mean [low, high]``, the interval (clipped to the metric's range, so not
    symmetric about the mean) when there are several seeds. CSV and JSON: the same rows, with
    ``<metric>``, ``<metric> ci_low`` and ``<metric> ci_high`` columns."""
    if board.empty:
        return _empty(fmt)
    keys = ["track", "task", "dataset", "entry"]
    about = board.groupby(keys, sort=False).agg(
        label=("label", "first"), model=("model", "first"), method=("method", "first"), reference=("reference", "first"),
        n=("n", "max"), seeds=("n", _counts),
    ).reset_index()
    if fmt in ("csv", "json"):
        wide = about.drop(columns="seeds")
        for column, suffix in (("mean", ""), ("ci_low", " ci_low"), ("ci_high", " ci_high")):
            values = board.pivot_table(index=keys, columns="metric", values=column, sort=False, dropna=False)
            values.columns = [f"{metric}{suffix}" for metric in values.columns]
            wide = wide.merge(values.reset_index(), on=keys, how="left")
        metrics = list(dict.fromkeys(board["metric"]))
        ordered = [*wide.columns[:len(about.columns) - 1], *(f"{m}{s}" for m in metrics for s in ("", " ci_low", " ci_high"))]
        wide = wide[ordered]
        return wide.to_csv(index=False) if fmt == "csv" else _json(wide)
    cells = board.assign(cell=[_mean_interval(m, lo, hi) for m, lo, hi in zip(board["mean"], board["ci_low"], board["ci_high"])])
    sections = []
    for (track, task, dataset), rows in cells.groupby(["track", "task", "dataset"], sort=False):
        table = rows.pivot_table(index="entry", columns="metric", values="cell", aggfunc="first", sort=False)
        table.columns.name = None
        shown = about[(about["track"] == track) & (about["task"] == task) & (about["dataset"] == dataset)].set_index("entry")
        front = shown.loc[table.index, ["label", "model", "method", "seeds"]].rename(columns={"seeds": "n"})
        if shown["reference"].any():
            front.insert(0, "ref", [REF if r else "" for r in shown.loc[table.index, "reference"]])
        table = pd.concat([front, table], axis=1).reset_index(drop=True)
        notes = [f"cells: mean [{interval_header(confidence)}], the {_interval_words(confidence)}; a mean alone: one seed"]
        if shown["reference"].any():
            notes.append(f"{REF}: {_REFERENCE_WORDS}")
        sections.append(_section(f"{track} / {task} / {dataset}", table.fillna("-"), fmt, [*notes, *_citations(rows)]))
    return "\n\n".join(sections)


def _counts(n: pd.Series) -> str:
    """An entry's n over its metrics: one number, or low-high when metrics were measured on different seeds."""
    low, high = int(n.min()), int(n.max())
    return "-" if high == 0 else str(high) if low == high else f"{low}-{high}"


def _section(title: str, table: pd.DataFrame, fmt: str, notes: list[str] = ()) -> str:
    notes = [note for note in notes if note]
    if fmt == "md":  # names, labels and citations come from specs and files: escaped, they stay text (leaderboard.markup)
        text = tabulate(md_frame(table), headers="keys", tablefmt="github", showindex=False, disable_numparse=True)
        return f"### {md_text(title)}\n\n{text}" + "".join(f"\n\n{md_text(note)}" for note in notes)  # a paragraph each
    text = tabulate(table, headers="keys", tablefmt="simple", showindex=False, disable_numparse=True)
    return f"{title}\n{text}" + "".join(f"\n{note}" for note in notes)


_REFERENCE_WORDS = "a reference (teacher, published result), not ranked"


def _interval_words(confidence: float) -> str:
    return f"{confidence:.0%} Student-t interval of the mean over seeds, clipped to the metric's range"


def _marks_note(rows: pd.DataFrame, confidence: float) -> str:
    """One line explaining the interval and ``ref``, for those that occur on the board."""
    parts = []
    if rows["ci_low"].notna().any():
        parts.append(f"{interval_header(confidence)}: {_interval_words(confidence)}")
    if rows["reference"].any():
        parts.append(f"{REF}: {_REFERENCE_WORDS}")
    return "; ".join(parts)


def _test_note(rows: pd.DataFrame) -> list[str]:
    """The line naming the board's tie test, its adjustment and alpha (a board whose ties were tested)."""
    if "test_note" not in rows:
        return []
    return [note for note in rows["test_note"].dropna().unique() if note][:1]


def _pooled_notes(rows: pd.DataFrame) -> list[str]:
    """A line naming the rows that pool several configurations (``group_by``)."""
    pooled = rows[rows["configs"] > 1]
    if pooled.empty:
        return []
    return ["; ".join(f"{label}: pooled {k} configurations" for label, k in zip(pooled["label"], pooled["configs"]))]


def _citations(rows: pd.DataFrame) -> list[str]:
    return [f"published: {c}" for c in rows["citation"].dropna().unique()]


def _mean_interval(mean: float, low: float, high: float) -> str:
    """``mean [low, high]``, or the mean alone without an interval."""
    return _number(mean) if _missing(low) else f"{_number(mean)} [{_number(low)}, {_number(high)}]"


def _display(rows: pd.DataFrame, confidence: float) -> pd.DataFrame:
    published = rows["method"] == "published"
    shown = pd.DataFrame(
        {
            "rank": [REF if ref else "-" if pd.isna(r) else str(int(r)) for r, ref in zip(rows["rank"], rows["reference"])],
            "label": rows["label"].fillna(rows["model"]),
            "model": rows["model"],
            "method": rows["method"],
            "mean": rows["mean"].map(_number),
            "std": rows["std"].map(_number),
            interval_header(confidence): [f"[{_number(lo)}, {_number(hi)}]" if not _missing(lo) else "-" for lo, hi in zip(rows["ci_low"], rows["ci_high"])],
            "n": ["-" if p else str(n) for n, p in zip(rows["n"], published)],
            "failed": rows["failed"].astype(str),
        }
    )
    if "tied_with" in rows:
        shown[TIED_WITH] = ["" if ref else tie_text(t, u) for t, u, ref in zip(rows["tied_with"], rows["untested"], rows["reference"])]
    return shown


def _json(frame: pd.DataFrame) -> str:
    rows = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    return json.dumps(rows, indent=1)


def _empty(fmt: str) -> str:
    return {"json": "[]", "csv": ""}.get(fmt, "(no results)")


def _number(value: float) -> str:
    return "-" if _missing(value) else f"{value:.4f}"


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _plain(value: object) -> object:
    """JSON-safe scalars: NaN and NA -> null, numpy numbers -> Python numbers."""
    if value is pd.NA or value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
