"""Plots for reports (matplotlib, PNG). Scaling fits: one log-log figure per downstream task with
each group's points, the frontier the fit used (diamonds), the fitted line and its 95% bootstrap band."""
from __future__ import annotations

import json
from pathlib import Path

from leaderboard.store import Store


def scaling_plots(store: Store, track: str, out: Path) -> list[Path]:
    """Write ``<out>/<track>-<task>.png`` for every scaling fit stored under ``track``; return the paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

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
        path = out / f"{track}-{name}.png".replace("/", "_")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths
