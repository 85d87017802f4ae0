"""The ``podium`` command: validate, list, run, leaderboard, report.

Exit codes (DESIGN.md, "Errors"): 0 all done; 1 some run failed (the others ran and were
stored); 2 the spec or the command line is wrong and nothing ran. ``leaderboard`` and
``report`` never import torch, so they start fast.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

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

    board = sub.add_parser("leaderboard", help="print the leaderboard from the results store")
    board.add_argument("--track", default=None)
    board.add_argument("--results", default=None, metavar="DIR")
    board.add_argument("--format", default="table", choices=["table", "md", "csv", "json"])
    board.add_argument("--split", default="test", help="which split's metrics to rank (default test)")
    board.add_argument("--wide", action="store_true", help="one row per entry, one column per metric (per-class metrics too)")

    ranking = sub.add_parser("rank", help="challenge ranking of a track's entries over test cases, with bootstrap stability")
    ranking.add_argument("--track", required=True)
    ranking.add_argument("--metric", required=True)
    ranking.add_argument("--method", default="mean", choices=["mean", "median", "rank_then_mean", "test"])
    ranking.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="resamples of the cases (default 1000)")
    ranking.add_argument("--seed", type=int, default=0)
    ranking.add_argument("--results", default=None, metavar="DIR")

    report = sub.add_parser("report", help="write one markdown report per track")
    report.add_argument("--results", default=None, metavar="DIR")
    report.add_argument("--out", default=None, metavar="DIR", help="default: <results>/reports")
    report.add_argument("--split", default="test")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``podium`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "validate": _validate, "list": _list, "run": _run, "leaderboard": _leaderboard, "report": _report, "rank": _rank,
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
    from specs.loader import expand

    problems, per_file = [], {}
    for path in paths:
        try:
            runs = expand(path, overrides)
            check_runs(runs)
            per_file[path] = runs
        except SpecError as err:
            problems += err.problems
    if problems:
        raise SpecError(problems)
    return per_file


def _validate(args: argparse.Namespace) -> int:
    for path, runs in _expand_all(args.specs, args.overrides).items():
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
    if args.device is not None:
        from specs.schema import DEVICE_PATTERN

        if not DEVICE_PATTERN.match(args.device):
            raise UsageError(f"--device {args.device!r}: expected auto, cpu, cuda, cuda:N or mps")
    from runners.local import run_sweep
    from runners.records import ResultsDir

    results = ResultsDir(args.results or default_results())
    runs = [run for file_runs in per_file.values() for run in file_runs]
    outcome = run_sweep(runs, results, force=args.force, device=args.device)
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

    from leaderboard.challenge import challenge_boards

    if args.bootstrap < 1:
        raise UsageError(f"--bootstrap {args.bootstrap}: expected a positive number of resamples")
    with _open_store(args.results or default_results()) as store:
        boards = challenge_boards(store, args.track, args.metric, args.method, args.bootstrap, args.seed)
    if not boards:
        raise UsageError(f"no per-case {args.metric!r} values for two or more entries of track {args.track!r} (tasks record them for the test split)")
    for board in boards:
        median, low, high = board.stability.tau_summary()
        print(f"{args.track} / {board.task} / {board.dataset} / {args.metric}: {args.method} ranking over {board.values.shape[1]} cases, "
              f"{args.bootstrap} bootstrap resamples")
        print(tabulate(board.table(), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
        print(f"Kendall's tau between the full ranking and the bootstrap rankings: median {median:.3f} [{low:.3f}, {high:.3f}]\n")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from reports.markdown import write_reports

    results = args.results or default_results()
    with _open_store(results) as store:
        paths = write_reports(store, args.out or Path(results) / "reports", args.split)
    for path in paths:
        print(f"wrote {path}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
