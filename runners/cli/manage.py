"""``podium runs`` (list, show, rm, tag), ``podium export`` and ``podium import``: managing the runs
of a results folder. The record files are the truth; each command changes them and the store with them."""
from __future__ import annotations

import json
import sys

import click

from runners.cli.common import EXIT_OK, UsageError, examples, multiple, open_store, results_option, results_root

STATUSES = ("ok", "failed")


def _selection(func):
    """The options that select runs for listing and export."""
    for option in reversed([
        click.option("--track", default=None, metavar="TRACK", help="only this track"),
        multiple("spec", "NAME", "runs of the spec with this name"),
        multiple("model", "MODEL", "runs of this model"),
        multiple("method", "METHOD", "runs of this method"),
        multiple("tag", "TAG", "runs tagged TAG"),
    ]):
        func = option(func)
    return func


def _filters(track, specs, models, methods, tags):
    from leaderboard.filters import Filters

    return Filters(track=track, specs=tuple(specs), models=tuple(models), methods=tuple(methods), tags=tuple(tags))


def _list(results, track, specs, models, methods, tags, status, seeds, fmt) -> int:
    from tabulate import tabulate

    from leaderboard.runs import list_runs

    with open_store(results) as store:
        runs = list_runs(store, _filters(track, specs, models, methods, tags), status, tuple(seeds))
    if fmt == "json":
        print(json.dumps(json.loads(runs.to_json(orient="records", date_format="iso")), indent=1))
        return EXIT_OK
    if runs.empty:
        print("no runs match")
        return EXIT_OK
    shown = runs.assign(
        started_at=runs["started_at"].astype(str).str.slice(0, 19), duration_s=runs["duration_s"].map(lambda s: f"{s:.1f}"),
        label=runs["label"].fillna(""), method=[m + (" (ref)" if ref else "") for m, ref in zip(runs["method"], runs["reference"])],
        error=runs["error"].fillna("").str.slice(0, 60),
    ).drop(columns=["reference"])
    print(tabulate(shown, headers="keys", tablefmt="simple", showindex=False, disable_numparse=True))
    print(f"{len(runs)} runs ({(runs['status'] == 'ok').sum()} ok, {(runs['status'] == 'failed').sum()} failed)")
    return EXIT_OK


def listing_options(func):
    for option in reversed([
        _selection,
        click.option("--status", type=click.Choice(STATUSES), default=None, help="only runs with this status"),
        click.option("--seed", "seeds", type=int, multiple=True, metavar="SEED", help="only runs of this seed (repeatable)"),
        click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True, help="output format"),
        results_option,
    ]):
        func = option(func)
    return func


@click.group(invoke_without_command=True, epilog=examples(
    "podium runs --track kd --status failed",
    "podium runs rm --failed --track kd",
))
@listing_options
@click.pass_context
def runs(ctx: click.Context, track, specs, models, methods, tags, status, seeds, fmt, results) -> int | None:
    """List the runs of a results folder (newest first); show, remove or tag them with the subcommands."""
    if ctx.invoked_subcommand is None:
        return _list(results, track, specs, models, methods, tags, status, seeds, fmt)
    return None


@runs.command("list", epilog=examples("podium runs list --model small_cnn --seed 0", "podium runs list --tag paper --format json"))
@listing_options
def list_command(track, specs, models, methods, tags, status, seeds, fmt, results) -> int:
    """List runs (the same as `podium runs`), newest first."""
    return _list(results, track, specs, models, methods, tags, status, seeds, fmt)


@runs.command(epilog=examples("podium runs show 3f2a9c", "podium runs show 3f2a9c1e0b7d4a55 --format json"))
@click.argument("run_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="json: the record as stored, with its tags")
@results_option
def show(run_id: str, fmt: str, results: str | None) -> int:
    """Show one run: what it ran, its metrics per split, its status and error, where its files are (ID may be a prefix)."""
    from leaderboard.runs import RunNotFound, find_run
    from runners.records import ResultsDir
    from specs.record_files import read_tags

    with open_store(results) as store:
        try:
            found = find_run(store, run_id)
        except RunNotFound as err:
            raise UsageError(str(err)) from None
        label = store.value("SELECT c.label FROM runs r LEFT JOIN configs c USING (config_id) WHERE run_id = ?", [found])
    folder = ResultsDir(results_root(results))
    record = folder.read(found)
    if record is None:
        raise UsageError(f"run {found}: its record {folder.record_path(found)} cannot be read")
    tags = read_tags(folder.run_dir(found))
    if fmt == "json":
        print(json.dumps({**record.model_dump(mode="json"), "tags": tags}, indent=1))
        return EXIT_OK
    lines = [
        f"run {record.run_id}  ({record.status}{', reference' if record.reference else ''})",
        f"  entry     {label}  (configuration {record.config_id})",
        f"  what      {record.track} / {record.task} / {record.dataset} / {record.model} / {record.method or '-'} / seed {record.seed}",
        f"  when      {record.started_at}, {record.duration_s:.1f} s on {record.device}",
        f"  commit    {record.git_commit or '-'}",
        f"  tags      {', '.join(tags) or '-'}",
        f"  record    {folder.record_path(found)}",
    ]
    if record.error:
        lines.append(f"  error     {record.error}")
    for split, values in record.metrics.items():
        lines.append(f"  {split}:")
        lines += [f"    {name:<28} {value:.6g}" for name, value in sorted(values.items())]
    print("\n".join(lines))
    return EXIT_OK


@runs.command(epilog=examples("podium runs rm 3f2a9c 81be04", "podium runs rm --spec kd-digits --failed"))
@click.argument("run_ids", nargs=-1, metavar="[ID...]")
@click.option("--spec", "spec_names", multiple=True, metavar="NAME", help="every run of the spec with this name (repeatable)")
@click.option("--failed", is_flag=True, help="every failed run (with --spec or --track: only theirs)")
@click.option("--track", default=None, help="only runs of this track")
@click.option("--dry-run", is_flag=True, help="print what would be removed, remove nothing")
@results_option
def rm(run_ids: tuple[str, ...], spec_names: tuple[str, ...], failed: bool, track: str | None, dry_run: bool, results: str | None) -> int:
    """Remove runs: their folders (record, error, tags) and their rows on every board."""
    from leaderboard.runs import RunNotFound, find_run, list_runs
    from runners.records import ResultsDir

    if not (run_ids or spec_names or failed):
        raise UsageError("say which runs: IDs, --spec NAME or --failed")
    folder = ResultsDir(results_root(results))
    with open_store(results) as store:
        try:
            chosen = {find_run(store, text) for text in run_ids}
        except RunNotFound as err:
            raise UsageError(str(err)) from None
        if spec_names or failed:
            chosen |= set(list_runs(store, _filters(None, spec_names, (), (), ()), "failed" if failed else None)["run_id"])
        if track is not None:
            chosen &= set(list_runs(store, _filters(track, (), (), (), ()))["run_id"])
        for run in sorted(chosen):
            print(f"{'would remove' if dry_run else 'removed'} {run}")
        if not dry_run:
            for run in chosen:
                folder.remove(run)
            store.remove(chosen)
    print(f"{len(chosen)} runs {'would be ' if dry_run else ''}removed")
    return EXIT_OK


@runs.command(epilog=examples("podium runs tag 3f2a9c paper", "podium runs tag 3f2a9c paper --remove"))
@click.argument("run_id", metavar="ID")
@click.argument("tag", metavar="TAG")
@click.option("--remove", is_flag=True, help="take the tag off instead")
@results_option
def tag(run_id: str, tag: str, remove: bool, results: str | None) -> int:
    """Tag a run (or --remove a tag); `podium leaderboard --tag TAG` shows the tagged runs only."""
    from leaderboard.runs import RunNotFound, find_run
    from runners.records import ResultsDir
    from specs.record_files import read_tags

    if not tag.strip() or "," in tag:
        raise UsageError(f"tag {tag!r}: expected a non-empty name without commas")
    folder = ResultsDir(results_root(results))
    with open_store(results) as store:
        try:
            found = find_run(store, run_id)
        except RunNotFound as err:
            raise UsageError(str(err)) from None
        tags = set(read_tags(folder.run_dir(found)))
        tags = tags - {tag} if remove else tags | {tag}
        store.set_tags(found, sorted(tags), folder.write_tags(found, sorted(tags)))
    print(f"{found}: tags {', '.join(sorted(tags)) or '(none)'}")
    return EXIT_OK


@click.command("export", epilog=examples("podium export --out results.parquet", "podium export --track kd --results ci-results --out kd.parquet"))
@click.option("--out", required=True, metavar="FILE.parquet", help="the bundle to write")
@click.option("--track", default=None, help="only this track")
@click.option("--spec", "spec_names", multiple=True, metavar="NAME", help="only runs of the spec with this name (repeatable)")
@results_option
def export(out: str, track: str | None, spec_names: tuple[str, ...], results: str | None) -> int:
    """Write runs to one parquet bundle (records as written, their digests, errors and tags) for `podium import`."""
    from runners.bundles import BundleError, export_bundle
    from runners.records import ResultsDir

    root = results_root(results)
    if not root.is_dir():
        raise UsageError(f"--results {root}: no such results folder")
    try:
        count = export_bundle(ResultsDir(root), out, lambda r: (track is None or r.track == track) and (not spec_names or r.spec_name in spec_names),
                              on_invalid=lambda message: print(f"warning: skipped {message}", file=sys.stderr))
    except BundleError as err:
        raise UsageError(str(err)) from None
    print(f"wrote {out}: {count} runs")
    return EXIT_OK


@click.command("import", epilog=examples("podium import ci-job-1.parquet ci-job-2.parquet", "podium import results.parquet --results merged"))
@click.argument("bundles", nargs=-1, required=True, metavar="FILE...")
@results_option
def import_(bundles: tuple[str, ...], results: str | None) -> int:
    """Add the runs of bundles another machine or CI job exported; runs the folder already has are skipped."""
    from runners.bundles import BundleError, import_bundle
    from runners.records import ResultsDir

    folder = ResultsDir(results_root(results))
    if folder.root.exists() and not folder.root.is_dir():
        raise UsageError(f"--results {folder.root}: a file, not a results folder")
    try:
        folder.root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--results {folder.root}: cannot create the results folder: {err.strerror or err}") from None
    for bundle in bundles:
        try:
            outcome = import_bundle(folder, bundle)
        except BundleError as err:
            raise UsageError(str(err)) from None
        for message in outcome.refused:
            print(f"warning: refused {message}", file=sys.stderr)
        print(f"{bundle}: {len(outcome.added)} runs added, {len(outcome.present)} already present, {len(outcome.refused)} refused")
    with open_store(results):
        pass  # ingest what was added
    return EXIT_OK


COMMANDS = [runs, export, import_]
