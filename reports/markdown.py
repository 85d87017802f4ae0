"""The markdown report: one file per track with its leaderboards and where the numbers came from."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pandas as pd
from tabulate import tabulate

from leaderboard.aggregate import failed_only
from leaderboard.cases import CaseTable, board_table, cases_consensus, methods_table
from leaderboard.challenge import Board
from leaderboard.markup import md_code, md_frame, md_text
from leaderboard.significance import leaderboard_with_ties
from leaderboard.store import Store
from reports.plots import blob_plot, blob_plots, safe_stem, scaling_plots
from reports.survey import survey_tables
from reports.tables import render_leaderboard


def write_reports(store: Store, out_dir: str | Path, split: str = "test") -> list[Path]:
    """Write ``<out_dir>/<track>.md`` for every track in the store; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tracks = [row[0] for row in store.con.execute("SELECT DISTINCT track FROM runs ORDER BY track").fetchall()]
    return [_write_track(store, out, track, split) for track in tracks]


def _write_track(store: Store, out: Path, track: str, split: str) -> Path:
    built = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    counts = dict(store.con.execute("SELECT status, count(*) FROM runs WHERE track = ? GROUP BY status", [track]).fetchall())
    parts = [
        f"# Track {md_code(track)}",
        f"Built {built} from {counts.get('ok', 0)} successful and {counts.get('failed', 0)} failed runs; "
        f"metrics on the {md_code(split)} split. An entry is one configuration, the runs of a spec that differ only in their seed, "
        "named by its label: the spec's name and the values that set it apart from its siblings. "
        "Each shows its mean over seeds with a 95% Student-t interval clipped to the metric's range; "
        "ranks are among the competitors, and references (`ref`: a distillation teacher, a published result) stand beside them unranked; "
        "`tied with` lists the ranks of the entries a two-sided test cannot separate from an entry, the test named under each board.",
        "## Leaderboards",
        render_leaderboard(leaderboard_with_ties(store, track, split), "md"),
    ]
    failures = failed_only(store, track)
    if not failures.empty:
        shown = failures[["task", "dataset", "label", "model", "method", "failed", "last_error"]]
        parts += ["## Entries with only failed runs", _table(shown)]
    plots = scaling_plots(store, track, out)
    if plots:
        parts += ["## Scaling fits", "\n\n".join(_image(p) for p in plots)]
    surveys = survey_tables(store, track)
    if surveys:
        parts += ["## Participation survey"]
        parts += [f"{md_text(title)}\n\n{_table(table)}" for title, table in surveys]
    blobs = blob_plots(store, track, out)
    if blobs:
        parts += ["## Ranking stability",
                  "Each configuration's rank over the test cases (mean per case over its seeds, then ranked; references left out), resampled 1000 times: "
                  "a disc's area is how often it took that rank; `podium rank` prints the numbers.",
                  "\n\n".join(_image(p) for p in blobs)]
    parts += ["## Provenance", _provenance_table(store, track)]
    path = out / f"{safe_stem(track)}.md"  # a track named by a record file could hold any text
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def _provenance_table(store: Store, track: str) -> str:
    """How many runs came from each (device, torch, CUDA, podium version, commit)."""
    return _table(provenance(store, track))


def _table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table whose text (from specs, records, published files) is escaped to stay text."""
    return tabulate(md_frame(frame), headers="keys", tablefmt="github", showindex=False)


def _image(path: Path) -> str:
    """A plot beside the report: its name as the alt text, its file percent-encoded (a name may hold spaces or parentheses)."""
    alt = md_text(path.stem).replace("[", "\\[").replace("]", "\\]")
    return f"![{alt}]({quote(path.name)})"


def provenance(store: Store, track: str) -> pd.DataFrame:
    """Runs of ``track`` counted per (device, hardware, torch, CUDA, podium version, commit), most first."""
    return store.query(
        """
        SELECT device,
               env_json::JSON->>'$.device_name' AS hardware,
               env_json::JSON->>'$.torch' AS torch,
               coalesce(env_json::JSON->>'$.cuda', '-') AS cuda,
               env_json::JSON->>'$.podium_version' AS podium,
               coalesce(git_commit, '-') AS commit,
               count(*) AS runs
        FROM runs WHERE track = ? GROUP BY ALL ORDER BY runs DESC
        """,
        [track],
    )


def write_cases_report(table: CaseTable, boards: dict[str, list[Board]], out: Path, resamples: int) -> Path:
    """Write ``<out>/<file stem>.md`` for a cases file ranked by each method in ``boards`` (one board per
    task each): per task its ranks by method, then each method's ranking with its bootstrap rank
    distribution and blob plot (``<stem>-<task>-<method>.png`` beside it); a consensus over the tasks
    when there are several. Returns the markdown file's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    built = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    methods = list(boards)
    rules = next(iter(boards.values()))[0].rules
    missing = sum(task.missing for task in table.tasks)
    parts = [
        f"# Challenge results {md_code(table.path.name)}",
        f"Built {built} from {len(table.tasks)} task{'s' if len(table.tasks) != 1 else ''} of {md_code(table.path.name)} "
        f"({missing} missing result{'s' if missing != 1 else ''}), ranked by {', '.join(methods)} under the "
        f"{md_code(rules.preset)} rules, each ranking resampled {resamples} times over the cases: a blob's area is how often "
        "an algorithm took that rank, the line its 95% interval with a cross at the median.",
    ]
    for index, task in enumerate(table.tasks):
        better = "higher" if task.higher_is_better else "lower"
        parts += [f"## Task {md_code(task.task)}",
                  f"{len(task.algorithms)} algorithms, {len(task.cases)} cases ({task.missing} missing), {better} is better.",
                  "Ranks by method:", _table(methods_table({m: boards[m][index] for m in methods}))]
        for method in methods:
            board = boards[method][index]
            parts += [f"### {md_text(method)}", md_text(rules.describe(method)), _table(board_table(board))]
            if board.stability.resampled:
                image = out / f"{safe_stem(f'{table.name}-{task.task}-{method}')}.png"
                blob_plot(board, method, image, title=f"{task.task} / {method}")
                parts.append(_image(image))
            else:
                parts.append(md_text(f"Not resampled: {board.stability.note}."))
    if len(table.tasks) > 1:
        parts.append("## Consensus over the tasks")
        for method in methods:
            parts += [f"By {md_text(method)} (each algorithm's mean rank over the tasks, ranked):", _table(cases_consensus(boards[method]))]
    path = out / f"{safe_stem(table.name)}.md"
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path
