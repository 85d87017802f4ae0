"""``podium validate`` and ``podium run``: read spec files, check them against the registry, run them."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from runners.cli.common import EXIT_FAILED, EXIT_OK, UsageError, default_results, examples, results_option, settings
from specs.errors import Problem, SpecError
from specs.limits import MAX_RUNS

ALLOW_CODE_HELP = "let the specs run code they name (plugin files, evaluate modules)"
CODE_REFUSED = "that is code; pass --allow-code (or set PODIUM_ALLOW_CODE=1) to allow it"


def max_runs_option(func: Any) -> Any:
    """``--max-runs N``: the most runs one spec may expand to."""
    return click.option("--max-runs", type=click.IntRange(min=1), default=MAX_RUNS, show_default=True, metavar="N",
                        help="refuse a spec that expands to more runs than N (counted before any is built)")(func)


def load_files(paths: tuple[str, ...], overrides: tuple[str, ...], allow_code: bool, max_runs: int, running: bool) -> dict[str, Any]:
    """Every file read and checked: a run spec's runs (registry names and parameters checked, its
    plugins imported when code is allowed), a ranking spec, or a published-results table. Problems of
    every file are collected into one ``SpecError``; nothing has run.

    Evaluate modules are never imported here, so validating them needs no --allow-code; running them
    does (``running``). Plugins register the names a spec uses, so checking those names imports them,
    and that needs --allow-code either way."""
    from registry.plugins import PluginError, import_plugins
    from registry.resolve import check_runs
    from specs.loader import load

    own = plugin_refs(settings().plugins)
    try:
        import_plugins(own)  # asked for on the command line: the person running Podium chose this code
    except PluginError as err:
        raise UsageError(f"--plugin: {err}") from None
    problems: list[Problem] = []
    per_file: dict[str, Any] = {}
    for path in paths:
        try:
            loaded = load(path, overrides, max_runs=max_runs)
            if isinstance(loaded, list):
                loaded = [replace(run, plugins=(*own, *run.plugins)) for run in loaded]
                code = [Problem(path, key, f"{what}: {CODE_REFUSED}")
                        for key, what in code_features(loaded) if not allow_code and (running or key.startswith("plugins"))]
                if code:
                    problems += code
                    continue
                _import_spec_plugins(loaded, path)
                check_runs(loaded)
            per_file[path] = loaded
        except SpecError as err:
            problems += err.problems
    if problems:
        raise SpecError(problems)
    return per_file


def code_features(runs: list) -> list[tuple[str, str]]:
    """(key, what it does) of the code every run of one file names, each once."""
    return list(dict.fromkeys(feature for run in runs for feature in run.spec.code_features()))


def plugin_refs(given: tuple[str, ...]) -> tuple[str, ...]:
    """``--plugin`` values as import references: files made absolute (relative to the working folder), modules as named."""
    from registry.plugins import plugin_ref

    return tuple(plugin_ref(value, Path.cwd()) for value in given)


def _import_spec_plugins(runs: list, file: str) -> None:
    from registry.plugins import PluginError, import_plugin

    for i, ref in enumerate(dict.fromkeys(ref for run in runs for ref in run.plugins)):
        try:
            import_plugin(ref)
        except PluginError as err:
            raise SpecError.one(file, f"plugins[{i}]", str(err)) from None


@click.command(epilog=examples(
    "podium validate specs/kd/digits.yaml",
    "podium validate specs/*/*.yaml --set task.params.epochs=2",
))
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override a spec value (omegaconf dotlist), repeatable")
@click.option("--allow-code", is_flag=True, help="import the plugins the specs name, to check the names they register")
@max_runs_option
def validate(specs: tuple[str, ...], overrides: tuple[str, ...], allow_code: bool, max_runs: int) -> int:
    """Check specs without running anything: keys, names, parameters, paths and metrics.

    Exit 0 with what each file is (runs it expands to, a ranking, published results), or exit 2 with
    one line per problem naming the file and the key. Never imports an evaluate module; imports the
    specs' plugins only with --allow-code."""
    from specs.published import PublishedTable
    from specs.ranking import RankingSpec

    allowed = allow_code or settings().allow_code
    for path, loaded in load_files(specs, overrides, allowed, max_runs, running=False).items():
        if isinstance(loaded, PublishedTable):
            print(f"ok: {path}: published results of track {loaded.track} ({len(loaded.rows)} rows; {loaded.citation})")
        elif isinstance(loaded, RankingSpec):
            print(f"ok: {path}: ranking of track {loaded.track} by {', '.join(loaded.metrics)} ({loaded.method}, {loaded.preset} rules, "
                  f"{loaded.bootstrap} resamples)")
        else:
            configs = len({r.spec.model_dump_json() for r in loaded})
            unset = sorted({key for r in loaded for key in r.unset})
            todo = f"; give {', '.join(unset)} before running (--set {unset[0]}=...)" if unset else ""
            print(f"ok: {path}: {len(loaded)} runs ({configs} configurations x {len(loaded) // max(configs, 1)} seeds){todo}")
            for key, what in code_features(loaded):
                if not key.startswith("plugins"):
                    print(f"note: {path}: {key}: {what} when run (not imported to validate); `podium run` needs --allow-code")
    return EXIT_OK


@click.command(epilog=examples(
    "podium run specs/kd/digits.yaml",
    "podium run specs/kd/digits.yaml --set task.params.epochs=5 --set 'seeds=[0]' --results /tmp/results",
))
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="override a spec value (omegaconf dotlist), repeatable")
@results_option
@click.option("--force", is_flag=True, help="rerun runs that already have a successful record")
@click.option("--device", default=None, metavar="DEVICE", help="override the spec's device: auto, cpu, cuda, cuda:N or mps")
@click.option("--executor", default="local", metavar="NAME", help="where runs execute: local (this process, default) or ray")
@click.option("--address", default=None, metavar="ADDR", help="--executor ray: join the Ray cluster at ADDR (default: start a local instance)")
@click.option("--max-parallel", type=click.IntRange(min=1), default=None, metavar="N", help="--executor ray: at most N runs at a time (default: what the cluster holds)")
@click.option("--allow-code", is_flag=True, help=ALLOW_CODE_HELP)
@max_runs_option
def run(specs: tuple[str, ...], overrides: tuple[str, ...], results: str | None, force: bool, device: str | None, executor: str,
        address: str | None, max_parallel: int | None, allow_code: bool, max_runs: int) -> int:
    """Run every run of the specs that has no successful record yet, and store the results.

    A run's identity is its resolved spec and seed, so a rerun skips what is stored (--force reruns)
    and an interrupted sweep resumes. Exit 1 when a run failed (the others still ran and were stored)."""
    from runners.executors import names as executor_names
    from specs.loader import UNSET
    from specs.published import PublishedTable
    from specs.ranking import RankingSpec

    if executor not in executor_names():
        raise UsageError(f"--executor {executor!r}: expected one of {', '.join(executor_names())}")
    if device is not None:
        from specs.schema import DEVICE_PATTERN

        if not DEVICE_PATTERN.match(device):
            raise UsageError(f"--device {device!r}: expected auto, cpu, cuda, cuda:N or mps")
    per_file = load_files(specs, overrides, allow_code or settings().allow_code, max_runs, running=True)
    for path, loaded in per_file.items():
        if isinstance(loaded, RankingSpec):
            raise UsageError(f"{path} is a ranking spec (kind: ranking): rank stored results with `podium rank {path}`")
        if isinstance(loaded, PublishedTable):
            raise UsageError(f"{path} is a published-results file (kind: published): a run spec shows it with `published: {Path(path).name}`")
    unset = [Problem(path, key, f"this spec leaves it to you ({UNSET}): give it with --set {key}=...")
             for path, loaded in per_file.items() for key in sorted({k for r in loaded for k in r.unset})]
    if unset:
        raise SpecError(unset)
    from runners.executors import ExecutorError, create
    from runners.records import ResultsDir
    from runners.sweep import run_sweep

    folder = ResultsDir(results or default_results())
    runs = [one for file_runs in per_file.values() for one in file_runs]
    try:
        engine = create(executor, address=address, max_parallel=max_parallel)
        outcome = run_sweep(runs, folder, force=force, device=device, executor=engine)
    except ExecutorError as err:  # raised before any run started
        raise UsageError(str(err)) from None
    failed = outcome.failed
    claimed = f", {len(outcome.claimed)} claimed by other processes" if outcome.claimed else ""
    print(f"{len(outcome.ran)} ran ({len(failed)} failed), {len(outcome.cached)} cached{claimed}; results in {folder.root}")
    return EXIT_FAILED if failed else EXIT_OK


COMMANDS = [validate, run]
