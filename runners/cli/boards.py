"""``podium leaderboard``, ``podium rank`` and ``podium report``: what the store says, as tables,
challenge rankings, markdown reports and the website. None of them imports torch."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from runners.cli.common import EXIT_OK, UsageError, examples, multiple, open_store, output_folder, results_option, results_root, split_fields

GROUP_BY_HELP = "pool configurations into one row per value of these fields (spec, model, method), e.g. model,method"


def filter_options(func):
    """The options that narrow what a board shows (runs by dataset, model, method, tag; metrics)."""
    for option in reversed([
        click.option("--track", default=None, metavar="TRACK", help="only this track"),
        multiple("metric", "METRIC", "this metric (with its per-class values)"),
        multiple("dataset", "DATASET", "runs on this dataset (the board's dataset name)"),
        multiple("model", "MODEL", "runs of this model"),
        multiple("method", "METHOD", "runs of this method"),
        multiple("tag", "TAG", "runs tagged TAG (`podium runs tag`)"),
    ]):
        func = option(func)
    return func


def make_filters(track, metrics, datasets, models, methods, tags):
    from leaderboard.filters import Filters

    return Filters(track=track, metrics=tuple(metrics), datasets=tuple(datasets), models=tuple(models), methods=tuple(methods), tags=tuple(tags))


@click.command(epilog=examples(
    "podium leaderboard --track kd",
    "podium leaderboard --track kd --metric accuracy --group-by model,method --format json",
))
@filter_options
@results_option
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "json"]), default="table", show_default=True, help="output format")
@click.option("--split", default="test", show_default=True, help="which split's metrics to rank")
@click.option("--wide", is_flag=True, help="one row per entry and one column per metric (per-class metrics too)")
@click.option("--group-by", "group_by", default=None, metavar="FIELDS", help=GROUP_BY_HELP)
def leaderboard(track, metrics, datasets, models, methods, tags, results, fmt, split, wide, group_by) -> int:
    """Print the leaderboards: one per (track, task, dataset, metric), an entry per configuration.

    An entry is one configuration (runs that differ only in their seed): its mean over seeds, the 95%
    interval (Student t, clipped to the metric's range), n, its rank, and whether the seeds can tell
    it apart from the leader. References (a distillation teacher, published numbers) are unranked."""
    from leaderboard.aggregate import GroupingError, check_grouping, failed_only
    from leaderboard.aggregate import leaderboard as board_of
    from reports.tables import render_leaderboard, render_wide

    filters = make_filters(track, metrics, datasets, models, methods, tags)
    try:
        fields = check_grouping(split_fields(group_by))
    except GroupingError as err:
        raise UsageError(str(err)) from None
    from leaderboard.markup import md_text

    shown = md_text if fmt == "md" else str  # markdown: names and errors stay text
    with open_store(results) as store:
        board = board_of(store, split=split, filters=filters, group_by=fields)
        if board.empty and fmt in ("table", "md"):
            known = [r[0] for r in store.con.execute("SELECT DISTINCT track FROM runs ORDER BY 1").fetchall()]
            where = f"track {track!r}" if track else "this results folder"
            narrowed = " with these filters" if any((metrics, datasets, models, methods, tags)) else ""
            print(shown(f"no successful runs for {where}{narrowed}" + (f" (tracks: {', '.join(known)})" if known else "")))
        else:
            print((render_wide if wide else render_leaderboard)(board, fmt))
        if fmt in ("table", "md"):
            for row in failed_only(store, filters=filters).itertuples():
                print(shown(f"note: {row.label or row.model} ({row.model} {row.method}) on {row.dataset}: all {row.failed} runs failed ({row.last_error})"))
    return EXIT_OK


@click.command(epilog=examples(
    "podium rank --track kd --metric accuracy --bootstrap 1000",
    "podium rank specs/challenges/ranking_demo.yaml --method rank_then_mean",
))
@click.argument("spec", required=False, metavar="[SPEC]")
@click.option("--track", default=None, help="the track whose entries are ranked (or give a ranking spec)")
@click.option("--metric", "metrics", multiple=True, metavar="METRIC", help="a metric with per-case values; repeat for a consensus over several")
@click.option("--method", default=None, type=click.Choice(["mean", "median", "rank_then_mean", "test"]), help="ranking method (default mean)")
@click.option("--bootstrap", type=int, default=None, metavar="N", help="resamples of the cases for the rank distributions (default 1000)")
@click.option("--seed", type=int, default=None, help="seed of the bootstrap resampling (default 0)")
@click.option("--group-by", "group_by", default=None, metavar="FIELDS", help=GROUP_BY_HELP)
@results_option
def rank(spec, track, metrics, method, bootstrap, seed, group_by, results) -> int:
    """Rank a track's entries over the test cases (a challenge ranking) with its bootstrap stability.

    Give a ranking spec (kind: ranking), or --track and --metric; flags override the spec."""
    from tabulate import tabulate

    from leaderboard.aggregate import GroupingError, check_grouping
    from leaderboard.challenge import challenge_boards, consensus_table
    from specs.ranking import RankingSpec

    from pydantic import ValidationError

    from leaderboard.ranking import BootstrapTooLarge

    if bootstrap is not None and bootstrap < 1:
        raise UsageError(f"--bootstrap {bootstrap}: expected a positive number of resamples")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed {seed}: expected a non-negative integer")
    if track is not None and not track.strip():
        raise UsageError("--track: expected a track name")
    if any(not m.strip() for m in metrics):
        raise UsageError("--metric: expected a metric name")
    chosen = {"track": track, "metrics": list(metrics) or None, "method": method, "bootstrap": bootstrap, "seed": seed}
    given = {key: value for key, value in chosen.items() if value is not None}
    try:
        if spec is not None:
            from specs.loader import load_ranking

            loaded = load_ranking(spec)
            ranking = RankingSpec.model_validate({**loaded.model_dump(), **given})  # flags override the spec, checked as it is
        elif track is None or not metrics:
            raise UsageError("give a ranking spec, or --track and --metric")
        else:
            ranking = RankingSpec(kind="ranking", name="command-line", **given)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(f"--{where}: {first['msg']}") from None
    if ranking.seed < 0:
        raise UsageError(f"{spec}: seed {ranking.seed}: expected a non-negative integer")
    try:
        fields = check_grouping(split_fields(group_by))
    except GroupingError as err:
        raise UsageError(str(err)) from None
    ranked = []
    with open_store(results) as store:
        for metric in ranking.metrics:
            try:
                boards = challenge_boards(store, ranking.track, metric, ranking.method, ranking.bootstrap, ranking.seed, group_by=fields)
            except BootstrapTooLarge as err:
                raise UsageError(f"--bootstrap {ranking.bootstrap}: {err}") from None
            if not boards:
                raise UsageError(f"no per-case {metric!r} values for two or more entries of track {ranking.track!r} (tasks record them for the test split)")
            ranked += [(metric, board) for board in boards]
    for metric, board in ranked:
        print(f"{ranking.track} / {board.task} / {board.dataset} / {metric}: {ranking.method} ranking over {board.values.shape[1]} cases, "
              f"{ranking.bootstrap} bootstrap resamples")
        print(tabulate(board.table(), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
        if board.note:
            print(board.note)
        print(f"Kendall's tau between the full ranking and the bootstrap rankings: {board.stability.tau_text()}\n")
    if len(ranked) > 1:
        print(f"consensus of {len(ranked)} rankings (mean rank):")
        print(tabulate(consensus_table(ranked), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
    return EXIT_OK


@click.command(epilog=examples(
    "podium report",
    "podium report --format html --out site/",
))
@results_option
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True, help="md: a markdown file per track; html: a static website")
@click.option("--out", default=None, metavar="DIR", help="where to write (default <results>/reports for md, <results>/site for html)")
@click.option("--split", default="test", show_default=True, help="which split's metrics the boards show")
def report(results, fmt, out, split) -> int:
    """Write one markdown report per track, or the leaderboard website (index.html and a page per track)."""
    root = results_root(results)
    if out is not None:
        output_folder(out)
    if fmt == "html":
        from reports.site import write_site

        target = Path(out or root / "site")
        with open_store(results) as store:
            files = write_site(store, target, split)
        print(f"wrote {target / 'index.html'} ({len(files)} files)")
        return EXIT_OK
    from reports.markdown import write_reports

    with open_store(results) as store:
        paths = write_reports(store, out or root / "reports", split)
    for path in paths:
        print(f"wrote {path}")
    if not paths:
        print("no tracks with results to report", file=sys.stderr)
    return EXIT_OK


COMMANDS = [leaderboard, rank, report]
