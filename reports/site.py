"""The leaderboard website: static pages rendered with Jinja2 from the results store, nothing to host
and no request leaving the page (the CSS and script sit beside the pages, the charts are PNG files).

Layout of the output folder::

    index.html                  every track and its boards, each board's leader (its best competitor);
                                when, from what and by what it was built
    tracks/<track>.html         the track's boards: chart, sortable and filterable table, per-class tables
    runs/<track>/<label>-<config id>.html
                                one page per configuration (the runs of a spec that differ only in their
                                seed): label, model, method, per-seed values, and the resolved spec (YAML),
                                duration, device, versions and commit of every run
    plots/<track>/*.png         board charts, scaling fits, rank-distribution (blob) plots
    static/                     podium.css, podium.js

A board lists its competitors by rank, then its references (a distillation teacher, published
results) shaded and unranked. Each competitor lists the ranks of the entries that the board's
two-sided test cannot separate from it ("tied with #2"; ``leaderboard.significance``), and one that
cannot be separated from the leader carries a ``≈`` mark; the note under the board names the test,
the adjustment and alpha.
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

from leaderboard.aggregate import INTERVAL, failed_only
from leaderboard.significance import leaderboard_with_ties, tie_text
from leaderboard.store import Store
from reports import plots
from reports.markdown import provenance
from reports.site_plots import interval_chart
from reports.survey import survey_tables

TEMPLATES = Path(__file__).with_name("templates")
CHART_TOP = 20  # entries drawn in a board's chart
ENTRIES = ("entry", "entries")
REFERENCE_TITLE = "a reference (a distillation teacher, a published result): shown beside the competitors, not ranked"
TIED_TITLE = "tied with the leader: the board's test cannot separate the two (the note under the board names the test)"
TIED_WITH_TITLE = "the ranks of the entries the board's two-sided test cannot separate from this one; untested: pairs no test could compare"
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
    title: str = ""  # the cell's tooltip
    badge: str = ""  # a mark after the text (``≈``), explained by ``badge_title``
    badge_title: str = ""


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
    leader: tuple[str, str, str, str] | None = None  # the rank-1 competitor (never a reference): label, model, method, mean
    directed: bool = True  # one metric, better high or low (not a table of statistics per group)
    chart: str | None = None
    charted: int = 0
    citations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the marks on this board mean, those that occur
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
    board = leaderboard_with_ties(store, track, site.split)
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


def _boards(board: pd.DataFrame, runs_pages: dict[str, str], plots_dir: Path, site: _Site) -> list[Board]:
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
        view = Board(board_id, title, higher, table, _leader(rows), citations=sorted(rows["citation"].dropna().unique()), notes=_notes(rows))
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


def _leader(rows: pd.DataFrame) -> tuple[str, str, str, str] | None:
    """The board's rank-1 competitor (the first, when several share rank 1); references never lead."""
    first = rows[rows["rank"].eq(1).fillna(False).astype(bool)]
    if first.empty:
        return None
    r = first.iloc[0]
    return (_label(r), str(r["model"]), r["method"] or "–", _num(r["mean"]))


def _label(r: Any) -> str:
    label = r["label"] if isinstance(r, pd.Series) else r.label
    model = r["model"] if isinstance(r, pd.Series) else r.model
    return str(model) if _missing(label) else str(label)


def _notes(rows: pd.DataFrame) -> list[str]:
    """One line each for the marks that occur on the board: the tie mark and the test behind it, references, pooled rows."""
    notes = []
    if rows["tied"].fillna(False).any():
        notes.append("≈ marks a competitor that the board's test cannot separate from the leader.")
    tested = [note for note in rows["test_note"].dropna().unique() if note]
    if tested:
        notes.append(tested[0].replace("the ranks of", "the ranks (#) of", 1) + ".")
    if rows["reference"].any():
        notes.append("ref marks a reference (a distillation teacher, a published result): shown beside the competitors, not ranked.")
    pooled = rows[rows["configs"] > 1]
    if not pooled.empty:
        notes.append("; ".join(f"{_label(r)}: pooled {r.configs} configurations" for r in pooled.itertuples(index=False)) + ".")
    return notes


def _board_table(board_id: str, rows: pd.DataFrame, higher: bool, runs_pages: dict[str, str]) -> Table:
    arrow = "↑" if higher else "↓"
    columns = [
        Column("rank", True, "rank among the competitors; ref: a reference, not ranked"),
        Column("entry", False, "the configuration: its spec's name and the values that set it apart from its siblings"),
        Column("model"), Column("method"),
        Column(f"mean {arrow}", True, "higher is better" if higher else "lower is better"),
        Column("95% CI (t, clipped)", True, INTERVAL + "; sorts by its half-width"),
        Column("std", True), Column("n", True, "successful runs (seeds)"), Column("failed", True, "failed runs, left out of every statistic"),
        Column("tied with", False, TIED_WITH_TITLE),
    ]
    table = Table(f"t-{board_id}", columns, unit=ENTRIES)
    for r in rows.itertuples(index=False):
        tied = _flag(r.tied)
        published = r.method == "published"
        half = (r.ci_high - r.ci_low) / 2
        if r.reference:
            rank = Cell("ref", "", cls="ref", title=REFERENCE_TITLE)
        else:
            rank = _number_cell(None if pd.isna(r.rank) else int(r.rank), text=None if pd.isna(r.rank) else str(int(r.rank)))
            if tied:
                rank.badge, rank.badge_title = "≈", TIED_TITLE
        table.rows.append(Row([
            rank,
            Cell(_label(r), _label(r) if published else "", href=None if published else runs_pages.get(r.entry),
                 note=str(r.citation) if published and isinstance(r.citation, str) else ""),
            Cell(str(r.model)),
            Cell(r.method or "–", cls="badge" if published else ""),
            _number_cell(r.mean),
            _number_cell(half, text="–" if _missing(half) else f"[{_num(r.ci_low)}, {_num(r.ci_high)}]"),
            _number_cell(r.std),
            _number_cell(None if published else r.n, text="–" if published else str(r.n)),
            _number_cell(r.failed, text=str(r.failed), cls="warn" if r.failed else ""),
            Cell("" if r.reference else tie_text(r.tied_with, r.untested, mark="#")),
        ], cls="published reference" if published else "reference" if r.reference else "tied" if tied else ""))
    return table


def _parts_table(board_id: str, parts: pd.DataFrame) -> Table | None:
    """Per-class means (``seg_iou/vessel`` ...): an entry per row (by label), a class per column."""
    if parts.empty:
        return None
    parts = parts.assign(part=parts["metric"].str.split("/", n=1).str[1], label=[_label(r) for r in parts.itertuples(index=False)])
    wide = parts.pivot_table(index=["entry", "label"], columns="part", values="mean", sort=False)
    table = Table(f"t-{board_id}-parts", [Column("entry")] + [Column(str(c), True) for c in wide.columns], unit=ENTRIES)
    for (_, label), values in wide.iterrows():
        table.rows.append(Row([Cell(str(label))] + [_number_cell(v) for v in values]))
    return table


def _groups_table(board_id: str, rows: pd.DataFrame) -> Table:
    """Statistics stored per group (``alpha/imagenet1k/LAION``): an (entry, group) per row, a statistic per column."""
    rows = rows.assign(base=rows["metric"].str.split("/", n=1).str[0], group=rows["metric"].str.split("/", n=1).str[1],
                       label=[_label(r) for r in rows.itertuples(index=False)])
    wide = rows.pivot_table(index=["entry", "label", "group"], columns="base", values="mean", sort=False)
    table = Table(f"t-{board_id}", [Column("entry"), Column("group")] + [Column(str(c), True) for c in wide.columns], unit=("group", "groups"))
    for (_, label, group), values in wide.iterrows():
        table.rows.append(Row([Cell(str(label)), Cell(str(group))] + [_number_cell(v) for v in values]))
    return table


def _failures_table(failures: pd.DataFrame, runs_pages: dict[str, str]) -> Table | None:
    if failures.empty:
        return None
    table = Table("t-failures", [Column("task"), Column("dataset"), Column("entry"), Column("model"), Column("method"),
                                 Column("failed", True), Column("last error")], unit=ENTRIES)
    for r in failures.itertuples(index=False):
        table.rows.append(Row([Cell(str(r.task)), Cell(str(r.dataset)), Cell(_label(r), href=runs_pages.get(r.entry)), Cell(str(r.model)),
                               Cell(r.method or "–"), _number_cell(r.failed, text=str(r.failed)), Cell(_first_line(r.last_error), cls="error")]))
    return table


def _write_runs_pages(store: Store, site: _Site, track: str) -> dict[str, str]:
    """One page per configuration of ``track`` listing its runs; returns config id -> page (relative to the root)."""
    cursor = store.con.execute(
        """
        SELECT r.run_id, r.config_id, coalesce(c.label, r.spec_name) AS label, coalesce(r.reference, false) AS reference,
               r.spec_name, r.task, r.dataset, r.model, coalesce(r.method, '') AS method, r.seed, r.status, r.error,
               strftime(r.started_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S UTC') AS started, r.duration_s, r.device,
               coalesce(r.git_commit, '-') AS git_commit, r.spec_json, r.env_json
        FROM runs r LEFT JOIN configs c USING (config_id)
        WHERE r.track = ? ORDER BY r.task, r.dataset, label, r.config_id, r.seed, r.started_at
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
    configs: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        configs.setdefault(run["config_id"], []).append(run)
    slug, pages = site.track_slug(track), {}
    for config_id, config_runs in configs.items():
        first = config_runs[0]
        relative = f"runs/{slug}/{_page_name(first['label'], config_id)}.html"
        details = [_run_view(run, values.get(run["run_id"], {})) for run in config_runs]
        entry = {key: first[key] for key in ("label", "model", "method", "task", "dataset", "reference", "spec_name")}
        site.render("runs.html", relative, track={"name": track, "href": f"tracks/{slug}.html"},
                    entry={**entry, "config_id": config_id}, runs=details, seeds=_seeds_table(details, site.split, higher),
                    ok=sum(r["status"] == "ok" for r in details), failed=sum(r["status"] != "ok" for r in details))
        pages[config_id] = relative
    return pages


def _page_name(label: str, config_id: str) -> str:
    """A configuration's page: its label's plain characters, then its config id (hashed if it is not plain hex)."""
    plain = re.sub(r"[^a-z0-9_.]+", "-", str(label).lower()).strip("-.")[:60] or "x"
    ident = config_id if re.fullmatch(r"[0-9a-f]{1,40}", config_id or "") else hashlib.sha1(str(config_id).encode()).hexdigest()[:16]
    return f"{plain}-{ident}"


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


def _flag(value: object) -> bool:
    """A flag that may be missing (pd.NA: no verdict) as True or False."""
    return False if _missing(value) else bool(value)


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
