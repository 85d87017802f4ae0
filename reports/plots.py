"""Plots for reports (matplotlib, PNG). Scaling fits: one log-log figure per downstream task with
each group's points, the frontier the fit used (diamonds), the fitted line and its 95% bootstrap band.
Challenge rankings: one blob plot per board, each algorithm's bootstrap rank distribution."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from leaderboard.challenge import Board, challenge_boards
from leaderboard.store import Store


def safe_stem(text: str) -> str:
    """A file name for ``text`` (a track, a board) inside the report's folder: the text itself when it
    is a plain name, else its plain characters and a short hash, so no name leaves the folder or
    collides with another."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,150}", text) and ".." not in text:
        return text
    plain = re.sub(r"[^A-Za-z0-9_.\-]+", "_", text).strip("._-")[:80] or "x"
    return f"{plain}-{hashlib.sha1(text.encode('utf-8', 'replace')).hexdigest()[:8]}"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def scaling_plots(store: Store, track: str, out: Path) -> list[Path]:
    """Write ``<out>/<track>-<task>.png`` for every scaling fit stored under ``track``; return the paths."""
    plt = _pyplot()
    runs = store.con.execute(
        "SELECT spec_name, info_json FROM runs WHERE track = ? AND status = 'ok' AND task = 'scaling_fit' ORDER BY spec_name, seed", [track]
    ).fetchall()
    figures: dict[str, list[tuple[str, dict, dict]]] = {}
    for spec_name, info_json in runs:
        info = json.loads(info_json)
        for label, group in info.get("groups", {}).items():
            panel, _, rest = label.partition("/")
            figures.setdefault(f"{spec_name}-{panel}", []).append((rest or panel, group, info))
    paths = []
    for name, groups in figures.items():
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for i, (label, group, info) in enumerate(groups):
            colour = f"C{i}"
            ax.scatter(group["x"], group["y"], s=14, color=colour, alpha=0.35)
            if group["frontier"]:
                ax.scatter(group["fit_x"], group["fit_y"], s=30, color=colour, marker="D", edgecolor="black", linewidth=0.5)
            low, high = group["alpha_ci"]
            if "band" in group:
                ax.fill_between(group["line_x"], *group["band"], color=colour, alpha=0.15, linewidth=0)
            ax.plot(group["line_x"], group["line_y"], color=colour,
                    label=f"{label}: E = {group['beta']:.3g} C^{group['alpha']:.3f} [{low:.3f}, {high:.3f}]")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(groups[0][2].get("x", "compute"))
        ax.set_ylabel("error" if groups[0][2].get("error", True) else groups[0][2].get("y", "value"))
        ax.set_title(name)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"{safe_stem(f'{track}-{name}')}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def blob_plots(store: Store, track: str, out: Path, resamples: int = 1000, seed: int = 0) -> list[Path]:
    """Write ``<out>/<track>-ranks-<metric>-<task>-<dataset>.png`` for every board of ``track`` with
    per-case values (mean-then-rank, ``resamples`` bootstrap resamples of the cases); return the paths."""
    metrics = [row[0] for row in store.con.execute(
        "SELECT DISTINCT c.metric FROM cases c JOIN runs r USING (run_id) WHERE r.track = ? AND r.status = 'ok' ORDER BY 1", [track]
    ).fetchall()]
    paths = []
    for metric in metrics:
        for board in challenge_boards(store, track, metric, "mean", resamples, seed):
            if not board.stability.resampled:  # a single case: nothing to draw
                continue
            path = out / f"{safe_stem(f'{track}-ranks-{metric}-{board.task}-{board.dataset}')}.png"
            blob_plot(board, metric, path)
            paths.append(path)
    return paths


def blob_plot(board: Board, metric: str, path: Path, title: str | None = None) -> Path:
    """A blob plot (Wiesenfarth et al. 2021, challengeR): algorithms (configurations, by label) left to
    right by their rank on all cases; a disc's area is how often the algorithm took that rank in the bootstrap; the black
    line spans the 95% rank interval with a cross at the median. ``title`` replaces the board's
    ``task / dataset / metric`` above the tau line."""
    plt = _pyplot()
    order = np.lexsort((np.arange(len(board.algorithms)), board.stability.ranks))
    boot = board.stability.bootstrap_ranks[:, order]
    n = len(order)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * n + 1.5), 4.5))
    for x in range(n):
        ranks, counts = np.unique(boot[:, x], return_counts=True)
        ax.scatter(np.full(len(ranks), x), ranks, s=400 * counts / len(boot), color=f"C{x % 10}", alpha=0.7, linewidth=0)
        low, median, high = np.percentile(boot[:, x], [2.5, 50, 97.5])
        ax.vlines(x, low, high, color="black", linewidth=1)
        ax.scatter([x], [median], marker="x", color="black", s=25)
    ax.plot(range(n), board.stability.ranks[order], linestyle="none", marker="_", markersize=14, color="black")
    labels = [board.algorithms[i].label for i in order]
    ax.set_xticks(range(n), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(1, n + 1))
    ax.invert_yaxis()  # rank 1 on top
    ax.set_ylabel("rank")
    heading = title if title is not None else f"{board.task} / {board.dataset} / {metric}"
    ax.set_title(f"{heading}\nKendall's tau to the full ranking: {board.stability.tau_text()}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
