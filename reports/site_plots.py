"""Charts for the leaderboard website (matplotlib, PNG, no pyplot state): a board's entries by label,
competitors as dots with their 95% intervals, references (a teacher) as open circles, published
rows as open diamonds."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

RUN_COLOUR, REFERENCE_COLOUR, PUBLISHED_COLOUR = "#1f5fa8", "#5b6673", "#b5651d"
LABEL_CHARS = 44


def interval_chart(rows: pd.DataFrame, metric: str, higher_is_better: bool, path: Path) -> Path:
    """Write a dot-and-interval chart of ``rows`` (one board's leaderboard rows: competitors best first,
    then references) to ``path``; return it."""
    from matplotlib.figure import Figure  # lazily: only the site draws charts

    rows = rows.reset_index(drop=True)
    y = list(range(len(rows)))[::-1]  # the best entry on top
    fig = Figure(figsize=(5.2, 1.0 + 0.24 * max(len(rows), 2)))
    ax = fig.subplots()
    published = (rows["method"] == "published").to_numpy()
    reference = rows["reference"].to_numpy(dtype=bool) & ~published
    for mask, colour, marker, face, label in (
        (~published & ~reference, RUN_COLOUR, "o", RUN_COLOUR, "competitors (mean, 95% interval)"),
        (reference, REFERENCE_COLOUR, "o", "white", "references"),
        (published, PUBLISHED_COLOUR, "D", "white", "published"),
    ):
        if not mask.any():
            continue
        part = rows[mask]
        means = part["mean"].to_numpy(float)
        errors = np.nan_to_num([means - part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float) - means])  # one seed: no bar
        errors = np.maximum(errors, 0)  # a mean past its metric's declared bound has its interval clipped short of it
        ax.errorbar(means, [y[i] for i in part.index], xerr=errors, fmt=marker, color=colour, markerfacecolor=face,
                    ecolor=colour, elinewidth=1.2, capsize=2.5, markersize=5, label=label)
    ax.set_yticks(y, [_label(label if isinstance(label, str) else model) for label, model in zip(rows["label"], rows["model"])], fontsize=9)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"{_plain(metric)} ({'higher' if higher_is_better else 'lower'} is better)", fontsize=10)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(axis="x", labelsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if published.any() or reference.any():  # above the axes, clear of the points
        ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1), ncol=3, frameon=False, borderaxespad=0.2)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    return path


def _label(text: str) -> str:
    """An entry's label, shortened in the middle when long: a label's end (``...,method=vanilla_kd]``)
    is what sets it apart from its neighbours."""
    text = str(text)
    if len(text) > LABEL_CHARS:
        head = LABEL_CHARS // 3
        text = text[:head] + "…" + text[len(text) - (LABEL_CHARS - head - 1):]
    return _plain(text)


def _plain(text: str) -> str:
    """Text shown literally: ``$`` would otherwise start matplotlib's mathtext."""
    return str(text).replace("$", r"\$")
