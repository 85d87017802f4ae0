"""``podium baseline save``, ``podium check`` and ``podium plan``: the regression gate of a CI pipeline and its seeds."""
from __future__ import annotations

import sys

import click

from runners.cli.common import EXIT_FAILED, EXIT_OK, UsageError, examples, open_store, output_file, results_option, results_root


@click.group(epilog=examples(
    "podium baseline save --track kd --out baselines/kd-digits.json",
    "podium baseline save --results base --split val --out baselines/val.json",
))
def baseline() -> None:
    """Save the current results as the baseline `podium check` compares with."""


@baseline.command(epilog=examples(
    "podium baseline save --track kd --out baselines/kd-digits.json",
    "podium baseline save --results base --split val --out baselines/val.json",
))
@click.option("--out", required=True, metavar="FILE", help="the JSON file to write (commit it)")
@click.option("--track", default=None, help="only this track (default: every track of the results folder)")
@results_option
@click.option("--split", default="test", show_default=True, help="which split's metrics to keep")
def save(out: str, track: str | None, results: str | None, split: str) -> int:
    """Write every entry's per-seed values, with provenance, to a JSON file to commit (one value per line)."""
    from leaderboard.regression import baseline_from_store, write_baseline

    if track is not None and not track.strip():
        raise UsageError("--track: expected a track name")
    if not split.strip():
        raise UsageError("--split: expected a split name (test, val, ...)")
    output_file(out)
    with open_store(results) as store:
        saved = baseline_from_store(store, track, split)
    if not saved.rows:
        where = f"track {track!r} in {results_root(results)}" if track else str(results_root(results))
        raise UsageError(f"no successful runs of {where}: no baseline to save")
    path = write_baseline(saved, out)
    print(f"wrote {path}: {len(saved.rows)} rows of the {split} split")
    return EXIT_OK


@click.command(epilog=examples(
    "podium check --baseline baselines/kd-digits.json --results ci-results",
    "podium check --baseline baselines/kd-digits.json --tolerance accuracy=abs:0.01 --format md > check.md",
))
@click.option("--baseline", "baseline_file", required=True, metavar="FILE", help="a baseline written by `podium baseline save`")
@results_option
@click.option("--track", default=None, help="only this track (default: the baseline's)")
@click.option("--format", "fmt", type=click.Choice(["table", "md"]), default="table", show_default=True, help="md: for a pull-request comment")
@click.option("--allow-missing", is_flag=True, help="rows of the baseline absent from the results do not fail")
@click.option("--alpha", type=float, default=None, help="level of the default one-sided Welch t-test (default 0.05)")
@click.option("--tolerance", "tolerances", multiple=True, metavar="METRIC=abs:A|rel:R", help="a fixed tolerance for a metric, over the spec's check; repeatable")
@click.option("--timings", is_flag=True, help="also check each entry's duration_s (lower is better; default rel 0.5)")
def check(baseline_file: str, results: str | None, track: str | None, fmt: str, allow_missing: bool, alpha: float | None,
          tolerances: tuple[str, ...], timings: bool) -> int:
    """Compare the current results with a baseline, entry by entry; exit 1 when one regressed or is missing."""
    from leaderboard.regression import DEFAULT_ALPHA, BaselineError, ToleranceError, parse_tolerance, read_baseline, render, snapshot
    from leaderboard.regression import check as compare

    try:
        saved = read_baseline(baseline_file)
        rules = dict(parse_tolerance(text) for text in tolerances)
    except (BaselineError, ToleranceError) as err:
        raise UsageError(str(err)) from None
    track = track or saved.track
    if track is not None and not any(row.track == track for row in saved.rows):
        raise UsageError(f"{baseline_file}: no rows of track {track!r} (tracks: {', '.join(sorted({r.track for r in saved.rows}))})")
    with open_store(results) as store:
        current = snapshot(store, track, saved.split)
    if current.superseded:
        print(f"note: {current.superseded} older runs of a row and seed were left out (the latest run is compared)", file=sys.stderr)
    try:
        result = compare(saved, current, tolerances=rules, alpha=DEFAULT_ALPHA if alpha is None else alpha, timings=timings,
                         allow_missing=allow_missing, track=track)
    except ToleranceError as err:
        raise UsageError(str(err)) from None
    print(render(result, fmt))
    return EXIT_OK if result.passed else EXIT_FAILED


@click.command(epilog=examples(
    "podium plan --baseline baselines/kd-digits.json",
    "podium plan --baseline baselines/kd-digits.json --difference rel:0.01 --power 0.9 --format md > plan.md",
))
@click.option("--baseline", "baseline_file", required=True, metavar="FILE", help="a baseline written by `podium baseline save`")
@click.option("--difference", default=None, metavar="D|rel:R",
              help="also tell the seeds per side that detect a worsening of D (absolute) or R x the baseline mean")
@click.option("--power", "target", type=float, default=None, help="the probability of detecting a difference, for both numbers (default 0.8)")
@click.option("--alpha", type=float, default=None, help="level of the gate's one-sided Welch t-test, as `podium check --alpha` (default 0.05)")
@click.option("--results", default=None, metavar="DIR",
              help="also read the current runs here: their seeds and their spec's check tolerances, as `podium check` would "
                   "(default: none; the baseline's seeds on both sides)")
@click.option("--track", default=None, help="only this track (default: the baseline's)")
@click.option("--format", "fmt", type=click.Choice(["table", "md", "json"]), default="table", show_default=True,
              help="md: for a pull-request comment")
@click.option("--tolerance", "tolerances", multiple=True, metavar="METRIC=abs:A|rel:R",
              help="a fixed tolerance for a metric, as `podium check --tolerance`; repeatable")
@click.option("--timings", is_flag=True, help="also plan each entry's duration_s, as `podium check --timings`")
def plan(baseline_file: str, difference: str | None, target: float | None, alpha: float | None, results: str | None, track: str | None,
         fmt: str, tolerances: tuple[str, ...], timings: bool) -> int:
    """Tell per baseline row the smallest worsening `podium check` detects with its seeds, and the seeds a given one needs."""
    from leaderboard.plan import DEFAULT_POWER, PlanError, parse_difference, render
    from leaderboard.plan import plan as planned
    from leaderboard.regression import DEFAULT_ALPHA, BaselineError, ToleranceError, parse_tolerance, read_baseline, snapshot

    try:
        saved = read_baseline(baseline_file)
        rules = dict(parse_tolerance(text) for text in tolerances)
        change = None if difference is None else parse_difference(difference)
    except (BaselineError, ToleranceError, PlanError) as err:
        raise UsageError(str(err)) from None
    track = track or saved.track
    if track is not None and not any(row.track == track for row in saved.rows):
        raise UsageError(f"{baseline_file}: no rows of track {track!r} (tracks: {', '.join(sorted({r.track for r in saved.rows}))})")
    current = None
    if results is not None:
        with open_store(results) as store:
            current = snapshot(store, track, saved.split)
    try:
        result = planned(saved, current, tolerances=rules, alpha=DEFAULT_ALPHA if alpha is None else alpha,
                         target=DEFAULT_POWER if target is None else target, difference=change, timings=timings, track=track)
    except (ToleranceError, PlanError) as err:
        raise UsageError(str(err)) from None
    print(render(result, fmt))
    return EXIT_OK


COMMANDS = [baseline, check, plan]
