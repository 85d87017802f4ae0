"""The ``podium`` command: validate, list, run, leaderboard, rank, report, baseline, check.

Exit codes (DESIGN.md, "Errors"): 0 all done; 1 some run failed (the others ran and were
stored), or ``check`` found a regression; 2 the spec or the command line is wrong and nothing
ran. ``leaderboard``, ``rank``, ``report``, ``baseline`` and ``check`` never import torch, so they start fast.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from runners.executors import names as executor_names
from specs.errors import SpecError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line mistake: print the message, exit 2."""


def default_results() -> str:
    return os.environ.get("PODIUM_RESULTS", "results")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium", description="Declarative benchmark harness.")
    sub = parser.add_subparsers(dest="command", required=True)

    validate = sub.add_parser("validate", help="check specs without running them")
    validate.add_argument("specs", nargs="+", metavar="SPEC")
    validate.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    listing = sub.add_parser("list", help="list registered datasets, models, tasks, metrics")
    listing.add_argument("kind", nargs="?", choices=["datasets", "models", "tasks", "metrics"])

    run = sub.add_parser("run", help="run every run of the specs that has no record yet")
    run.add_argument("specs", nargs="+", metavar="SPEC")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a spec value (omegaconf dotlist)")
    run.add_argument("--results", default=None, metavar="DIR", help="results folder (default ./results or $PODIUM_RESULTS)")
    run.add_argument("--force", action="store_true", help="rerun runs that already have a record")
    run.add_argument("--device", default=None, help="override the spec's device: auto, cpu, cuda, cuda:N")
    run.add_argument("--executor", default="local", choices=executor_names(), help="where runs execute: local (this process, default) or ray")
    run.add_argument("--address", default=None, metavar="ADDR", help="--executor ray: join the Ray cluster at ADDR (default: start a local instance)")
    run.add_argument("--max-parallel", type=int, default=None, metavar="N", help="--executor ray: at most N runs at a time (default: what the cluster holds)")

    board = sub.add_parser("leaderboard", help="print the leaderboard from the results store")
    board.add_argument("--track", default=None)
    board.add_argument("--results", default=None, metavar="DIR")
    board.add_argument("--format", default="table", choices=["table", "md", "csv", "json"])
    board.add_argument("--split", default="test", help="which split's metrics to rank (default test)")
    board.add_argument("--wide", action="store_true", help="one row per entry, one column per metric (per-class metrics too)")

    ranking = sub.add_parser("rank", help="challenge ranking of a track's entries over test cases, with bootstrap stability")
    ranking.add_argument("spec", nargs="?", metavar="SPEC", help="a ranking spec (kind: ranking); or give --track and --metric")
    ranking.add_argument("--track", default=None)
    ranking.add_argument("--metric", action="append", default=None, help="repeat for a consensus over several metrics")
    ranking.add_argument("--method", default=None, choices=["mean", "median", "rank_then_mean", "test"], help="default mean")
    ranking.add_argument("--bootstrap", type=int, default=None, metavar="N", help="resamples of the cases (default 1000)")
    ranking.add_argument("--seed", type=int, default=None)
    ranking.add_argument("--results", default=None, metavar="DIR")

    report = sub.add_parser("report", help="write one markdown report per track, or the leaderboard website")
    report.add_argument("--results", default=None, metavar="DIR")
    report.add_argument("--format", default="md", choices=["md", "html"], help="md: a file per track; html: a static site (index.html)")
    report.add_argument("--out", default=None, metavar="DIR", help="default: <results>/reports (md), <results>/site (html)")
    report.add_argument("--split", default="test")

    baseline = sub.add_parser("baseline", help="save the current results as the baseline of `podium check`")
    baseline_sub = baseline.add_subparsers(dest="action", required=True)
    save = baseline_sub.add_parser("save", help="write per-seed values of every row, with provenance, to a JSON file to commit")
    save.add_argument("--out", required=True, metavar="FILE")
    save.add_argument("--track", default=None)
    save.add_argument("--results", default=None, metavar="DIR")
    save.add_argument("--split", default="test")

    gate = sub.add_parser("check", help="compare the current results with a baseline; exit 1 when a row regressed")
    gate.add_argument("--baseline", required=True, metavar="FILE")
    gate.add_argument("--results", default=None, metavar="DIR")
    gate.add_argument("--track", default=None, help="default: the baseline's track")
    gate.add_argument("--format", default="table", choices=["table", "md"])
    gate.add_argument("--allow-missing", action="store_true", help="rows of the baseline absent from the results do not fail")
    gate.add_argument("--alpha", type=float, default=None, help="level of the default one-sided Welch t-test (default 0.05)")
    gate.add_argument("--tolerance", action="append", default=[], metavar="METRIC=abs:A|rel:R", help="a fixed tolerance, over the spec's check")
    gate.add_argument("--timings", action="store_true", help="also check each entry's duration_s (lower is better; default rel 0.5)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``podium`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "validate": _validate, "list": _list, "run": _run, "leaderboard": _leaderboard, "report": _report, "rank": _rank,
        "baseline": _baseline, "check": _check,
    }
    try:
        return commands[args.command](args)
    except SpecError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # finished runs are stored; the interrupted one left no record
        print("interrupted: rerun the same command to resume where it stopped", file=sys.stderr)
        return 130


def _expand_all(paths: list[str], overrides: list[str]):
    from registry.resolve import check_runs
    from specs.loader import load

    problems, per_file = [], {}
    for path in paths:
        try:
            runs = load(path, overrides)
            if not isinstance(runs, list):  # a ranking spec: nothing to run or check in the registry
                per_file[path] = runs
                continue
            check_runs(runs)
            per_file[path] = runs
        except SpecError as err:
            problems += err.problems
    if problems:
        raise SpecError(problems)
    return per_file


def _validate(args: argparse.Namespace) -> int:
    for path, runs in _expand_all(args.specs, args.overrides).items():
        if not isinstance(runs, list):  # a ranking spec
            print(f"ok: {path}: ranking of track {runs.track} by {', '.join(runs.metrics)} ({runs.method}, {runs.bootstrap} resamples)")
            continue
        combos = len({r.spec.model_dump_json() for r in runs})
        print(f"ok: {path}: {len(runs)} runs ({combos} configurations x {len(runs) // max(combos, 1)} seeds)")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from registry import KINDS, load_all, registry_of

    load_all()
    for kind in [args.kind] if args.kind else list(KINDS):
        print(f"{kind}:")
        for entry in registry_of(kind):
            params = ", ".join(entry.params_model.model_fields)
            print(f"  {entry.name:<22} {entry.description}" + (f"  [params: {params}]" if params else ""))
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    per_file = _expand_all(args.specs, args.overrides)
    for path, runs in per_file.items():
        if not isinstance(runs, list):
            raise UsageError(f"{path} is a ranking spec (kind: ranking): rank stored results with `podium rank {path}`")
    if args.device is not None:
        from specs.schema import DEVICE_PATTERN

        if not DEVICE_PATTERN.match(args.device):
            raise UsageError(f"--device {args.device!r}: expected auto, cpu, cuda, cuda:N or mps")
    from runners.executors import ExecutorError, create
    from runners.sweep import run_sweep
    from runners.records import ResultsDir

    results = ResultsDir(args.results or default_results())
    runs = [run for file_runs in per_file.values() for run in file_runs]
    try:
        executor = create(args.executor, address=args.address, max_parallel=args.max_parallel)
        outcome = run_sweep(runs, results, force=args.force, device=args.device, executor=executor)
    except ExecutorError as err:  # raised before any run started
        raise UsageError(str(err)) from None
    failed = outcome.failed
    print(f"{len(outcome.ran)} ran ({len(failed)} failed), {len(outcome.cached)} cached; results in {results.root}")
    return EXIT_FAILED if failed else EXIT_OK


def _open_store(results_dir: str):
    from leaderboard.store import Store

    root = Path(results_dir)
    if not root.is_dir():
        raise UsageError(f"--results {root}: no such results folder (run `podium run SPEC` first)")
    store = Store(root / "podium.duckdb")
    store.sync(root, on_invalid=lambda message: print(f"warning: skipped {message}", file=sys.stderr))
    return store


def _leaderboard(args: argparse.Namespace) -> int:
    from leaderboard.aggregate import failed_only, leaderboard
    from reports.tables import render_leaderboard, render_wide

    with _open_store(args.results or default_results()) as store:
        board = leaderboard(store, args.track, args.split)
        if board.empty and args.format in ("table", "md"):
            known = [r[0] for r in store.con.execute("SELECT DISTINCT track FROM runs ORDER BY 1").fetchall()]
            where = f"track {args.track!r}" if args.track else "this results folder"
            print(f"no successful runs for {where}" + (f" (tracks: {', '.join(known)})" if known else ""))
        else:
            print((render_wide if args.wide else render_leaderboard)(board, args.format))
        if args.format in ("table", "md"):
            failures = failed_only(store, args.track)
            for row in failures.itertuples():
                print(f"note: {row.model} {row.method} on {row.dataset}: all {row.failed} runs failed ({row.last_error})")
    return EXIT_OK


def _rank(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from leaderboard.challenge import challenge_boards, consensus_table
    from specs.ranking import RankingSpec

    settings = {"track": args.track, "metrics": args.metric, "method": args.method, "bootstrap": args.bootstrap, "seed": args.seed}
    given = {key: value for key, value in settings.items() if value is not None}
    if args.spec is not None:
        from specs.loader import load_ranking

        ranking = load_ranking(args.spec).model_copy(update=given)  # flags override the spec
    elif args.track is None or args.metric is None:
        raise UsageError("give a ranking spec, or --track and --metric")
    else:
        ranking = RankingSpec(kind="ranking", name="command-line", **given)
    if ranking.bootstrap < 1:
        raise UsageError(f"--bootstrap {ranking.bootstrap}: expected a positive number of resamples")
    ranked = []
    with _open_store(args.results or default_results()) as store:
        for metric in ranking.metrics:
            boards = challenge_boards(store, ranking.track, metric, ranking.method, ranking.bootstrap, ranking.seed)
            if not boards:
                raise UsageError(f"no per-case {metric!r} values for two or more entries of track {ranking.track!r} (tasks record them for the test split)")
            ranked += [(metric, board) for board in boards]
    for metric, board in ranked:
        print(f"{ranking.track} / {board.task} / {board.dataset} / {metric}: {ranking.method} ranking over {board.values.shape[1]} cases, "
              f"{ranking.bootstrap} bootstrap resamples")
        print(tabulate(board.table(), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
        print(f"Kendall's tau between the full ranking and the bootstrap rankings: {board.stability.tau_text()}\n")
    if len(ranked) > 1:
        print(f"consensus of {len(ranked)} rankings (mean rank):")
        print(tabulate(consensus_table(ranked), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    results = args.results or default_results()
    if args.format == "html":
        from reports.site import write_site

        out = Path(args.out or Path(results) / "site")
        with _open_store(results) as store:
            files = write_site(store, out, args.split)
        print(f"wrote {out / 'index.html'} ({len(files)} files)")
        return EXIT_OK
    from reports.markdown import write_reports

    with _open_store(results) as store:
        paths = write_reports(store, args.out or Path(results) / "reports", args.split)
    for path in paths:
        print(f"wrote {path}")
    return EXIT_OK


def _baseline(args: argparse.Namespace) -> int:
    from leaderboard.regression import baseline_from_store, write_baseline

    results = args.results or default_results()
    with _open_store(results) as store:
        baseline = baseline_from_store(store, args.track, args.split)
    if not baseline.rows:
        where = f"track {args.track!r} in {results}" if args.track else results
        raise UsageError(f"no successful runs of {where}: no baseline to save")
    path = write_baseline(baseline, args.out)
    print(f"wrote {path}: {len(baseline.rows)} rows of the {args.split} split")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from leaderboard.regression import (
        DEFAULT_ALPHA,
        BaselineError,
        ToleranceError,
        check,
        parse_tolerance,
        read_baseline,
        render,
        snapshot,
    )

    try:
        baseline = read_baseline(args.baseline)
        tolerances = dict(parse_tolerance(text) for text in args.tolerance)
    except (BaselineError, ToleranceError) as err:
        raise UsageError(str(err)) from None
    track = args.track or baseline.track
    if track is not None and not any(row.track == track for row in baseline.rows):
        raise UsageError(f"{args.baseline}: no rows of track {track!r} (tracks: {', '.join(sorted({r.track for r in baseline.rows}))})")
    with _open_store(args.results or default_results()) as store:
        current = snapshot(store, track, baseline.split)
    if current.superseded:
        print(f"note: {current.superseded} older runs of a row and seed were left out (the latest run is compared)", file=sys.stderr)
    try:
        result = check(baseline, current, tolerances=tolerances, alpha=DEFAULT_ALPHA if args.alpha is None else args.alpha, timings=args.timings,
                       allow_missing=args.allow_missing, track=track)
    except ToleranceError as err:
        raise UsageError(str(err)) from None
    print(render(result, args.format))
    return EXIT_OK if result.passed else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
