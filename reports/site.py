"""The leaderboard website: static pages rendered with Jinja2 from the results store, nothing to host
and no request leaving the page (the CSS and script sit beside the pages, the charts are PNG files).

Layout of the output folder::

    index.html                  every track and its boards; when, from what and by what it was built
    tracks/<track>.html         the track's boards: chart, sortable and filterable table, per-class tables
    runs/<track>/<entry>.html   one page per (task, dataset, model, method): per-seed values, resolved
                                spec (YAML), duration, device, versions and commit of every run
    plots/<track>/*.png         board charts, scaling fits, rank-distribution (blob) plots
    static/                     podium.css, podium.js
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import pandas as pd
import yaml

from leaderboard.aggregate import failed_only, leaderboard
from leaderboard.store import Store
from reports import plots
from reports.markdown import provenance
from reports.site_plots import interval_chart
from reports.survey import survey_tables

TEMPLATES = Path(__file__).with_name("templates")
CHART_TOP = 20  # entries drawn in a board's chart
ENTRY = ["task", "dataset", "model", "method"]  # within a track: one runs page each
ENTRIES = ("entry", "entries")
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class Column:
    """A table header: numeric columns sort by their cells' ``sort`` keys, text columns by their text."""

    label: str
    numeric: bool = False
    title: str = ""


@dataclass
class Cell:
    text: str
    sort: str = ""  # data-v: the numeric sort key ("" = missing, sorted last) or a text key
    href: str | None = None  # relative to the site's root
    note: str = ""  # small second line (a citation)
    cls: str = ""


@dataclass
class Row:
    cells: list[Cell]
    cls: str = ""


@dataclass
class Table:
    """A sortable, filterable table as the ``table`` macro renders it."""

    id: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    unit: tuple[str, str] = ("row", "rows")


@dataclass
class Board:
    """One (task, dataset, metric) of a track: its table, its chart and per-class tables beneath."""

    id: str
    title: str
    higher_is_better: bool
    table: Table
    leader: tuple[str, str, str] | None = None  # the best ranked entry: model, method, mean
    directed: bool = True  # one metric, better high or low (not a table of statistics per group)
    chart: str | None = None
    charted: int = 0
    citations: list[str] = field(default_factory=list)
    parts: Table | None = None

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


def write_site(store: Store, out_dir: str | Path, split: str = "test") -> list[Path]:
    """Write the static leaderboard site of every track in ``store`` under ``out_dir``; return the files written."""
    site = _Site(Path(out_dir), split)
    site.copy_static()
    tracks = [row[0] for row in store.con.execute("SELECT DISTINCT track FROM runs ORDER BY track").fetchall()]
    summaries = [_write_track(store, site, track) for track in tracks]
    ok, failed = _counts(store)
    site.render("index.html", "index.html", tracks=summaries, ok=ok, failed=failed,
                database=f"{store.path.parent.name}/{store.path.name}", origins=_origins(store))
    return site.written


class _Site:
    """The output folder, the template environment and what has been written so far."""

    def __init__(self, out: Path, split: str):
        self.out, self.split, self.written = out, split, []
        self.built = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        self.version = _podium_version()
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        )
        self.track_slugs: dict[str, str] = {}

    def copy_static(self) -> None:
        static = self.out / "static"
        static.mkdir(parents=True, exist_ok=True)
        for source in sorted((TEMPLATES / "static").iterdir()):
            self.written.append(Path(shutil.copyfile(source, static / source.name)))

    def render(self, template: str, relative: str, **context: Any) -> Path:
        """Render ``template`` to ``<out>/<relative>``; links inside start from ``root`` (``../`` per level)."""
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        root = "../" * relative.count("/")
        html = self.env.get_template(template).render(root=root, built=self.built, version=self.version, split=self.split, **context)
        path.write_text(html, encoding="utf-8")
        self.written.append(path)
        return path

    def track_slug(self, track: str) -> str:
        return self.track_slugs.setdefault(track, _slug(track, unique=track))


def _write_track(store: Store, site: _Site, track: str) -> dict[str, Any]:
    """Write the track's page, its runs pages and plots; return what the index shows of it."""
    slug = site.track_slug(track)
    board = leaderboard(store, track, site.split)
    runs_pages = _write_runs_pages(store, site, track)
    plots_dir = site.out / "plots" / slug
    plots_dir.mkdir(parents=True, exist_ok=True)
    boards = _boards(board, runs_pages, plots_dir, site)
    figures = []
    for heading, paths in (("Scaling fits", plots.scaling_plots(store, track, plots_dir)),
                           ("Rank distributions", plots.blob_plots(store, track, plots_dir))):
        if paths:
            site.written += paths
            figures.append((heading, [(f"plots/{slug}/{quote(p.name)}", p.stem) for p in paths]))
    failures = failed_only(store, track)
    counts = dict(store.con.execute("SELECT status, count(*) FROM runs WHERE track = ? GROUP BY status", [track]).fetchall())
    summary = {
        "name": track, "href": f"tracks/{slug}.html", "ok": counts.get("ok", 0), "failed": counts.get("failed", 0),
        "boards": boards, "figures": figures, "failures": _failures_table(failures, runs_pages),
        "provenance": _frame_table(provenance(store, track), "provenance", numeric={"runs"}),
        "surveys": [(title, _frame_table(frame, f"survey-{i}", numeric={"answered"})) for i, (title, frame) in enumerate(survey_tables(store, track))],
    }
    site.render("track.html", f"tracks/{slug}.html", track=summary)
    return summary


def _boards(board: pd.DataFrame, runs_pages: dict[tuple, str], plots_dir: Path, site: _Site) -> list[Board]:
    """A Board per (task, dataset, metric) of the leaderboard, per-class metrics (``seg_iou/vessel``) beneath their own."""
    if board.empty:
        return []
    whole = ~board["metric"].str.contains("/", regex=False)
    boards = []
    for (task, dataset, metric), rows in board[whole].groupby(["task", "dataset", "metric"], sort=False):
        title = f"{task} / {dataset} / {metric}"
        board_id = "b-" + _slug(title, unique=title)
        higher = bool(rows["higher_is_better"].iloc[0])
        table = _board_table(board_id, rows, higher, runs_pages)
        ranked = [row.cells for row in table.rows if row.cls != "published"]
        leader = (ranked[0][1].text, ranked[0][2].text, ranked[0][3].text) if ranked else None
        view = Board(board_id, title, higher, table, leader, citations=sorted(rows["citation"].dropna().unique()))
        top = rows.head(CHART_TOP)
        chart = interval_chart(top, metric, higher, plots_dir / f"{board_id}.png")
        site.written.append(chart)
        view.chart, view.charted = f"plots/{plots_dir.name}/{chart.name}", len(top)
        same = (board["task"] == task) & (board["dataset"] == dataset)
        view.parts = _parts_table(board_id, board[same & board["metric"].str.startswith(f"{metric}/")])
        boards.append(view)
    grouped = board[~whole & ~board["metric"].str.split("/", n=1).str[0].isin(set(board.loc[whole, "metric"]))]
    for (task, dataset), rows in grouped.groupby(["task", "dataset"], sort=False):  # per-group statistics (scaling fits)
        title = f"{task} / {dataset} by group"
        board_id = "b-" + _slug(title, unique=title)
        boards.append(Board(board_id, title, True, _groups_table(board_id, rows), directed=False))
    return boards


def _board_table(board_id: str, rows: pd.DataFrame, higher: bool, runs_pages: dict[tuple, str]) -> Table:
    arrow = "↑" if higher else "↓"
    columns = [
        Column("rank", True), Column("model"), Column("method"),
        Column(f"mean {arrow}", True, "higher is better" if higher else "lower is better"),
        Column("95% CI", True, "95% Student-t interval of the mean over seeds; sorts by its half-width"),
        Column("std", True), Column("n", True, "successful runs (seeds)"), Column("failed", True, "failed runs, left out of every statistic"),
    ]
    table = Table(f"t-{board_id}", columns, unit=ENTRIES)
    for r in rows.itertuples(index=False):
        published = r.method == "published"
        half = (r.ci_high - r.ci_low) / 2
        table.rows.append(Row([
            _number_cell(None if pd.isna(r.rank) else int(r.rank), text=None if pd.isna(r.rank) else str(int(r.rank))),
            Cell(str(r.model), str(r.model) if published else "", href=None if published else runs_pages.get((r.task, r.dataset, r.model, r.method)),
                 note=str(r.citation) if published and isinstance(r.citation, str) else ""),
            Cell(r.method or "–", cls="badge" if published else ""),
            _number_cell(r.mean),
            _number_cell(half, text="–" if _missing(half) else f"[{_num(r.ci_low)}, {_num(r.ci_high)}]"),
            _number_cell(r.std),
            _number_cell(None if published else r.n, text="–" if published else str(r.n)),
            _number_cell(r.failed, text=str(r.failed), cls="warn" if r.failed else ""),
        ], cls="published" if published else ""))
    return table


def _parts_table(board_id: str, parts: pd.DataFrame) -> Table | None:
    """Per-class means (``seg_iou/vessel`` ...): an entry per row, a class per column."""
    if parts.empty:
        return None
    parts = parts.assign(part=parts["metric"].str.split("/", n=1).str[1])
    wide = parts.pivot_table(index=["model", "method"], columns="part", values="mean", sort=False)
    table = Table(f"t-{board_id}-parts", [Column("model"), Column("method")] + [Column(str(c), True) for c in wide.columns], unit=ENTRIES)
    for (model, method), values in wide.iterrows():
        table.rows.append(Row([Cell(str(model)), Cell(method or "–")] + [_number_cell(v) for v in values]))
    return table


def _groups_table(board_id: str, rows: pd.DataFrame) -> Table:
    """Statistics stored per group (``alpha/imagenet1k/LAION``): a (model, method, group) per row, a statistic per column."""
    rows = rows.assign(base=rows["metric"].str.split("/", n=1).str[0], group=rows["metric"].str.split("/", n=1).str[1])
    wide = rows.pivot_table(index=["model", "method", "group"], columns="base", values="mean", sort=False)
    table = Table(f"t-{board_id}", [Column("model"), Column("method"), Column("group")] + [Column(str(c), True) for c in wide.columns], unit=("group", "groups"))
    for (model, method, group), values in wide.iterrows():
        table.rows.append(Row([Cell(str(model)), Cell(method or "–"), Cell(str(group))] + [_number_cell(v) for v in values]))
    return table


def _failures_table(failures: pd.DataFrame, runs_pages: dict[tuple, str]) -> Table | None:
    if failures.empty:
        return None
    table = Table("t-failures", [Column("task"), Column("dataset"), Column("model"), Column("method"), Column("failed", True), Column("last error")], unit=ENTRIES)
    for r in failures.itertuples(index=False):
        table.rows.append(Row([Cell(str(r.task)), Cell(str(r.dataset)), Cell(str(r.model), href=runs_pages.get((r.task, r.dataset, r.model, r.method))),
                               Cell(r.method or "–"), _number_cell(r.failed, text=str(r.failed)), Cell(_first_line(r.last_error), cls="error")]))
    return table


def _write_runs_pages(store: Store, site: _Site, track: str) -> dict[tuple, str]:
    """One page per entry of ``track`` listing its runs; returns entry -> page (relative to the root)."""
    cursor = store.con.execute(
        """
        SELECT run_id, spec_name, task, dataset, model, coalesce(method, '') AS method, seed, status, error,
               strftime(started_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S UTC') AS started, duration_s, device,
               coalesce(git_commit, '-') AS git_commit, spec_json, env_json
        FROM runs WHERE track = ? ORDER BY task, dataset, model, method, seed, started_at
        """,
        [track],
    )
    columns = [d[0] for d in cursor.description]
    runs = [dict(zip(columns, row)) for row in cursor.fetchall()]
    values: dict[str, dict[str, dict[str, float]]] = {}
    for run_id, split, metric, value in store.con.execute(
        "SELECT m.run_id, m.split, m.metric, m.value FROM metrics m JOIN runs r USING (run_id) WHERE r.track = ? ORDER BY m.split, m.metric", [track]
    ).fetchall():
        values.setdefault(run_id, {}).setdefault(split, {})[metric] = value
    higher = dict(store.con.execute("SELECT metric, higher_is_better FROM metric_info").fetchall())
    entries: dict[tuple, list[dict[str, Any]]] = {}
    for run in runs:
        entries.setdefault(tuple(run[k] for k in ENTRY), []).append(run)
    slug, pages = site.track_slug(track), {}
    for key, entry_runs in entries.items():
        relative = f"runs/{slug}/{_slug('-'.join(key[2:]), unique='/'.join(key))}.html"
        details = [_run_view(run, values.get(run["run_id"], {})) for run in entry_runs]
        site.render("runs.html", relative, track={"name": track, "href": f"tracks/{slug}.html"},
                    entry=dict(zip(ENTRY, key)), runs=details, seeds=_seeds_table(details, site.split, higher),
                    ok=sum(r["status"] == "ok" for r in details), failed=sum(r["status"] != "ok" for r in details))
        pages[key] = relative
    return pages


def _run_view(run: dict[str, Any], values: dict[str, dict[str, float]]) -> dict[str, Any]:
    """What the runs page shows of one run: its facts, its metrics per split, its spec as YAML, its environment."""
    env = json.loads(run["env_json"] or "{}")
    spec = json.loads(run["spec_json"] or "{}")
    facts = [("run id", run["run_id"]), ("spec", run["spec_name"]), ("seed", run["seed"]), ("started", run["started"]),
             ("duration", f"{_duration(run['duration_s'])} s"), ("device", run["device"]), ("hardware", env.get("device_name")),
             ("commit", run["git_commit"]), ("podium", env.get("podium_version")), ("python", env.get("python")),
             ("torch", env.get("torch")), ("CUDA", env.get("cuda")), ("host", env.get("host")), ("platform", env.get("platform"))]
    return {
        **run, "facts": [(k, v) for k, v in facts if v not in (None, "")], "metrics": values,
        "spec_yaml": yaml.dump(spec, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, default_flow_style=False),
        "packages": sorted((env.get("packages") or {}).items()),
        "env_extra": sorted((k, v) for k, v in env.items() if k not in {
            "device_name", "podium_version", "git_commit", "python", "torch", "cuda", "host", "platform", "packages"}),
    }


def _seeds_table(runs: list[dict[str, Any]], split: str, higher: dict[str, bool]) -> Table:
    """A run per row: seed, status, each metric of ``split``, duration, device, commit."""
    metrics = sorted({m for r in runs for m in r["metrics"].get(split, {})})
    columns = [Column("seed", True), Column("status")]
    columns += [Column(f"{m} {'↑' if higher.get(m, True) else '↓'}", True, f"{split} split") for m in metrics]
    columns += [Column("duration (s)", True), Column("device"), Column("commit")]
    table = Table("t-seeds", columns, unit=("run", "runs"))
    for r in runs:
        cells = [Cell(str(r["seed"]), str(r["seed"]), href=f"#run-{r['run_id']}"), Cell(r["status"], cls=f"state {r['status']}")]
        cells += [_number_cell(r["metrics"].get(split, {}).get(m)) for m in metrics]
        cells += [_number_cell(r["duration_s"], text=_duration(r["duration_s"])), Cell(str(r["device"])), Cell(str(r["git_commit"]), cls="mono")]
        table.rows.append(Row(cells, cls="" if r["status"] == "ok" else "failed"))
    return table


def _frame_table(frame: pd.DataFrame, table_id: str, numeric: set[str] = frozenset()) -> Table:
    table = Table(f"t-{table_id}", [Column(str(c), c in numeric) for c in frame.columns])
    for values in frame.itertuples(index=False):
        table.rows.append(Row([_number_cell(v, text=str(v)) if c in numeric else Cell("–" if _missing(v) else str(v))
                               for c, v in zip(frame.columns, values)]))
    return table


def _counts(store: Store) -> tuple[int, int]:
    counts = dict(store.con.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall())
    return counts.get("ok", 0), counts.get("failed", 0)


def _origins(store: Store) -> Table:
    """The commits and Podium versions the runs came from, with how many runs and when."""
    frame = store.query(
        """
        SELECT coalesce(git_commit, '-') AS commit, coalesce(env_json::JSON->>'$.podium_version', '-') AS podium,
               count(*) AS runs, strftime(min(started_at) AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') AS first,
               strftime(max(started_at) AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') AS last
        FROM runs GROUP BY ALL ORDER BY runs DESC, commit
        """
    )
    return _frame_table(frame, "origins", numeric={"runs"})


def _number_cell(value: object, text: str | None = None, cls: str = "") -> Cell:
    """A numeric cell: shown with four decimals (or ``text``), sorted by the value; missing shows ``–``, sorts last."""
    if _missing(value):
        return Cell("–" if text is None else text, "", cls=cls)
    number = float(value)  # type: ignore[arg-type]
    return Cell(_num(number) if text is None else text, repr(number), cls=cls)


def _num(value: float) -> str:
    if _missing(value):
        return "–"
    return f"{value:.4f}" if value == 0 or 1e-3 <= abs(value) < 1e4 else f"{value:.4g}"


def _missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _duration(seconds: object) -> str:
    return "–" if _missing(seconds) else f"{float(seconds):.1f}"  # type: ignore[arg-type]


def _first_line(text: object) -> str:
    lines = [] if _missing(text) else str(text).strip().splitlines()
    return lines[0][:200] if lines else ""


def _slug(text: str, unique: str) -> str:
    """A file- and anchor-safe name for ``text``: its plain characters, and a short hash of ``unique``
    whenever they lost anything, so that different names never share a file."""
    plain = re.sub(r"[^a-z0-9_.]+", "-", text.lower()).strip("-.")[:60] or "x"
    if plain == unique:
        return plain
    return f"{plain}-{hashlib.sha1(unique.encode()).hexdigest()[:8]}"


def _podium_version() -> str:
    try:
        return metadata.version("podium")
    except metadata.PackageNotFoundError:
        return "unknown"
