"""The participation-survey table of a track's ``survey_stats`` runs, laid out as Eisenmann et al.
2022 report it, with their figures beside (from the spec's published file, when it was ingested)."""
from __future__ import annotations

import json

import pandas as pd

from leaderboard.store import Store
from specs.method_card import QUESTIONS

ORDER = {"response_rate": -1, **{q.field: i for i, q in enumerate(QUESTIONS)}}  # the paper's order


def survey_tables(store: Store, track: str) -> list[tuple[str, pd.DataFrame]]:
    """One (title, table) per successful survey_stats run of ``track``: statistic, value with its
    interval, how many answered, and the published figure."""
    runs = store.con.execute(
        "SELECT spec_name, dataset, seed, info_json FROM runs WHERE track = ? AND task = 'survey_stats' AND status = 'ok' ORDER BY spec_name, dataset, seed",
        [track],
    ).fetchall()
    published = store.query("SELECT metric, value, citation FROM published WHERE track = ? AND task = 'survey_stats'", [track])
    reported = dict(zip(published["metric"], published["value"]))
    citation = published["citation"].iloc[0] if len(published) else None
    tables = []
    for spec_name, dataset, seed, info_json in runs:
        info = json.loads(info_json)
        level = round(100 * info.get("level", 0.95))
        rows = [r for r in info.get("statistics", []) if not (r["metric"].startswith("response_rate/") and r["option"] is not None)]
        rows.sort(key=lambda r: ORDER.get(r["field"], len(ORDER)))  # stable: options keep their order
        frame = pd.DataFrame({
            "statistic": [r["question"] + (f": {r['option']}" if r["option"] else "") for r in rows],
            f"value [{level}% CI]": [_value(r) for r in rows],
            "answered": [r["n"] for r in rows],
        })
        if citation:
            frame[f"reported ({citation})"] = [_format(r["metric"], reported[r["metric"]]) if r["metric"] in reported else "" for r in rows]
        title = f"{spec_name} on {dataset} (seed {seed}): {info.get('respondents')} responses from {info.get('challenges')} challenges"
        tables.append((title, frame))
    return tables


def _format(metric: str, value: float) -> str:
    return f"{value:.3g}" if metric.startswith("median/") else f"{100 * value:.0f}%"


def _value(row: dict) -> str:
    if row["metric"].startswith("median/"):
        return f"{row['value']:.3g} [{row['low']:.3g}, {row['high']:.3g}]"
    return f"{100 * row['value']:.1f}% [{100 * row['low']:.1f}, {100 * row['high']:.1f}]"
