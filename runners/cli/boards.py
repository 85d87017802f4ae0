"""``podium leaderboard``, ``podium rank`` and ``podium report``: what the store says, as tables,
challenge rankings, markdown reports and the website. None of them imports torch."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from runners.cli.common import EXIT_OK, UsageError, examples, multiple, open_store, output_folder, results_option, results_root, split_fields
from specs.rules import ADJUSTMENTS, DUPLICATES, PRESETS, RANK_METHODS, TIE_RULES, TIE_TESTS, WILCOXON_METHODS

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
    "podium leaderboard --track kd --group-by model,method",
    "podium leaderboard --track kd --metric accuracy --test welch --p-adjust BH --alpha 0.01 --format json",
))
@filter_options
@results_option
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "json"]), default="table", show_default=True, help="output format")
@click.option("--split", default="test", show_default=True, help="which split's metrics to rank")
@click.option("--wide", is_flag=True, help="one row per entry and one column per metric (per-class metrics too); no ties")
@click.option("--group-by", "group_by", default=None, metavar="FIELDS", help=GROUP_BY_HELP)
@click.option("--test", "test", type=click.Choice(TIE_TESTS), default=None,
              help="how 'tied with' is tested: auto (default: McNemar on 0/1 per-case values, else Wilcoxon; Welch over seeds "
                   "without per-case values), wilcoxon, bootstrap or mcnemar on the per-case values, welch over seeds")
@click.option("--p-adjust", type=click.Choice(ADJUSTMENTS), default=None, help="p-value adjustment over each board's pairs (default holm)")
@click.option("--alpha", type=float, default=None, metavar="LEVEL", help="the significance level of 'tied with' (default 0.05)")
@click.option("--bootstrap", type=int, default=None, metavar="N", help="--test bootstrap: resamples of the cases (default 10000)")
@click.option("--seed", type=int, default=None, help="--test bootstrap: seed of the resampling (default 0)")
def leaderboard(track, metrics, datasets, models, methods, tags, results, fmt, split, wide, group_by, test, p_adjust, alpha, bootstrap,
                seed) -> int:
    """Print the leaderboards: one per (track, task, dataset, metric), an entry per configuration.

    An entry is one configuration (runs that differ only in their seed): its mean over seeds, the 95%
    interval (Student t, clipped to the metric's range), n, its rank, and the ranks of the entries a
    two-sided test cannot separate from it ("tied with"; the note under each board names the test,
    the adjustment and alpha). References (a distillation teacher, published numbers) are unranked
    and not tested."""
    from leaderboard.aggregate import GroupingError, check_grouping, failed_only
    from leaderboard.aggregate import leaderboard as board_of
    from leaderboard.significance import Significance, SignificanceError, leaderboard_with_ties
    from reports.tables import render_leaderboard, render_wide

    filters = make_filters(track, metrics, datasets, models, methods, tags)
    try:
        fields = check_grouping(split_fields(group_by))
    except GroupingError as err:
        raise UsageError(str(err)) from None
    given = [name for name, value in (("--test", test), ("--p-adjust", p_adjust), ("--alpha", alpha), ("--bootstrap", bootstrap), ("--seed", seed))
             if value is not None]
    if wide and given:
        raise UsageError(f"{', '.join(given)}: the wide table shows no ties; leave out --wide")
    resampling = [name for name in given if name in ("--bootstrap", "--seed")]
    if resampling and test != "bootstrap":
        raise UsageError(f"{', '.join(resampling)}: only with --test bootstrap")
    if alpha is not None and not 0 < alpha < 1:
        raise UsageError(f"--alpha {alpha:g}: expected a number between 0 and 1")
    if bootstrap is not None and bootstrap < 1:
        raise UsageError(f"--bootstrap {bootstrap}: expected a positive number of resamples")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed {seed}: expected a non-negative integer")
    try:
        significance = Significance.of(test, p_adjust, alpha, bootstrap, seed)
    except SignificanceError as err:
        raise UsageError(str(err)) from None
    from leaderboard.markup import md_text

    shown = md_text if fmt == "md" else str  # markdown: names and errors stay text
    with open_store(results) as store:
        if wide:
            board = board_of(store, split=split, filters=filters, group_by=fields)
        else:
            board = leaderboard_with_ties(store, split=split, filters=filters, group_by=fields, significance=significance)
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


def rule_options(func):
    """The options that set a challenge ranking's statistical rules (``leaderboard.ranking.Rules``)."""
    for option in reversed([
        click.option("--preset", type=click.Choice(PRESETS), default=None,
                     help="the rules to start from: podium (default) or challengeR (that package's defaults); the options below override it"),
        click.option("--ties", type=click.Choice(TIE_RULES), default=None, help="how tied scores share a final rank (both presets: min)"),
        click.option("--case-ties", type=click.Choice(TIE_RULES), default=None,
                     help="rank_then_mean: how tied values share a rank within a case (podium mean, challengeR min)"),
        click.option("--p-adjust", type=click.Choice(ADJUSTMENTS), default=None,
                     help="test: p-value adjustment over all ordered pairs (podium holm, challengeR none)"),
        click.option("--wilcoxon", type=click.Choice(WILCOXON_METHODS), default=None,
                     help="test: exact p-values, the normal approximation (approx), or R's default: exact below 50 differences without ties (auto; "
                          "podium auto, challengeR approx)"),
        click.option("--alpha", type=float, default=None, metavar="LEVEL", help="test: the significance level (default 0.05)"),
        click.option("--missing", default=None, metavar="RULE",
                     help="what a missing result counts as: worst, last, remove, error or a number (podium: last for rank_then_mean, "
                          "worst otherwise; challengeR: last, which the other methods refuse)"),
        click.option("--duplicates", type=click.Choice(DUPLICATES), default=None,
                     help="bootstrap of rank_then_mean and test: a case drawn twice counts as two cases (separate; podium) or is ranked "
                          "among its copies and tested once (merged; challengeR)"),
    ]):
        func = option(func)
    return func


def _validation_error(err) -> UsageError:
    """A pydantic error of settings given on the command line, as ``--option: what``."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"]).replace("_", "-")
    return UsageError(f"--{where}: {first['msg'].removeprefix('Value error, ')}")


def _rules(settings) -> "Rules":
    """``leaderboard.ranking.Rules`` from validated settings (a ranking spec or its rules)."""
    from leaderboard.ranking import Rules

    resolved = settings.resolved()
    return Rules.of(**resolved)


@click.command(epilog=examples(
    "podium rank specs/challenges/ranking_demo.yaml --method rank_then_mean --preset challengeR",
    "podium rank --cases specs/challenges/cases_demo.csv --method test --p-adjust BH",
))
@click.argument("spec", required=False, metavar="[SPEC]")
@click.option("--track", default=None, help="the track whose entries are ranked (or give a ranking spec)")
@click.option("--metric", "metrics", multiple=True, metavar="METRIC", help="a metric with per-case values; repeat for a consensus over several")
@click.option("--cases", "cases_file", default=None, metavar="FILE",
              help="rank the results in FILE instead (CSV or parquet in challengeR's long format: task, case, algorithm, value), by every method unless --method")
@click.option("--direction", type=click.Choice(["higher", "lower"]), default=None,
              help="with --cases: which values are better (or a direction column in the file)")
@click.option("--method", default=None, type=click.Choice(list(RANK_METHODS)), help="ranking method (default mean; with --cases every method)")
@click.option("--bootstrap", type=int, default=None, metavar="N", help="resamples of the cases for the rank distributions (default 1000)")
@click.option("--seed", type=int, default=None, help="seed of the bootstrap resampling (default 0)")
@rule_options
@click.option("--group-by", "group_by", default=None, metavar="FIELDS", help=GROUP_BY_HELP)
@results_option
def rank(spec, track, metrics, cases_file, direction, method, bootstrap, seed, preset, ties, case_ties, p_adjust, wilcoxon, alpha, missing,
         duplicates, group_by, results) -> int:
    """Rank a track's entries over the test cases (a challenge ranking) with its bootstrap stability.

    Give a ranking spec (kind: ranking), or --track and --metric; flags override the spec. Or give
    --cases FILE to rank a challenge's results from a file, without a results folder. The rules
    (--preset and the options after it) say how ties, p-values and missing results are treated."""
    from tabulate import tabulate

    from pydantic import ValidationError

    from leaderboard.aggregate import GroupingError, check_grouping
    from leaderboard.challenge import challenge_boards, consensus_table
    from leaderboard.ranking import BootstrapTooLarge, MissingValues
    from specs.ranking import RankingRules, RankingSpec

    if bootstrap is not None and bootstrap < 1:
        raise UsageError(f"--bootstrap {bootstrap}: expected a positive number of resamples")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed {seed}: expected a non-negative integer")
    flags = {"preset": preset, "ties": ties, "case_ties": case_ties, "p_adjust": p_adjust, "wilcoxon": wilcoxon, "alpha": alpha, "missing": missing,
             "duplicates": duplicates}
    flags = {key: value for key, value in flags.items() if value is not None}
    if cases_file is not None:
        given = [name for name, value in (("SPEC", spec), ("--track", track), ("--metric", metrics), ("--group-by", group_by), ("--results", results)) if value]
        if given:
            raise UsageError(f"--cases ranks the file alone: leave out {', '.join(given)}")
        try:
            rules = _rules(RankingRules.model_validate(flags))
        except ValidationError as err:
            raise _validation_error(err) from None
        return _rank_cases(cases_file, direction, method, 1000 if bootstrap is None else bootstrap, seed or 0, rules)
    if direction is not None:
        raise UsageError("--direction is for --cases: a stored metric's direction is the metric's own")
    if track is not None and not track.strip():
        raise UsageError("--track: expected a track name")
    if any(not m.strip() for m in metrics):
        raise UsageError("--metric: expected a metric name")
    chosen = {"track": track, "metrics": list(metrics) or None, "method": method, "bootstrap": bootstrap, "seed": seed, **flags}
    given = {key: value for key, value in chosen.items() if value is not None}
    try:
        if spec is not None:
            from specs.loader import load_ranking

            loaded = load_ranking(spec)
            ranking = RankingSpec.model_validate({**loaded.model_dump(), **given})  # flags override the spec, checked as it is
        elif track is None or not metrics:
            raise UsageError("give a ranking spec, or --track and --metric (or --cases FILE)")
        else:
            ranking = RankingSpec(kind="ranking", name="command-line", **given)
    except ValidationError as err:
        raise _validation_error(err) from None
    if ranking.seed < 0:
        raise UsageError(f"{spec}: seed {ranking.seed}: expected a non-negative integer")
    try:
        fields = check_grouping(split_fields(group_by))
    except GroupingError as err:
        raise UsageError(str(err)) from None
    rules = _rules(ranking)
    ranked = []
    with open_store(results) as store:
        for metric in ranking.metrics:
            try:
                boards = challenge_boards(store, ranking.track, metric, ranking.method, ranking.bootstrap, ranking.seed, group_by=fields, rules=rules)
            except BootstrapTooLarge as err:
                raise UsageError(f"--bootstrap {ranking.bootstrap}: {err}") from None
            except MissingValues as err:
                raise UsageError(f"{ranking.track} / {err}") from None
            if not boards:
                raise UsageError(f"no per-case {metric!r} values for two or more entries of track {ranking.track!r} (tasks record them for the test split)")
            ranked += [(metric, board) for board in boards]
    for metric, board in ranked:
        print(f"{ranking.track} / {board.task} / {board.dataset} / {metric}: {ranking.method} ranking over {board.values.shape[1]} cases, "
              f"{ranking.bootstrap} bootstrap resamples")
        print(rules.describe(ranking.method))
        print(tabulate(board.table(), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
        if board.note:
            print(board.note)
        print(f"Kendall's tau between the full ranking and the bootstrap rankings: {board.stability.tau_text()}\n")
    if len(ranked) > 1:
        print(f"consensus of {len(ranked)} rankings (mean rank):")
        print(tabulate(consensus_table(ranked), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
    return EXIT_OK


def ranked_cases(path: str, direction: str | None, methods: list[str], resamples: int, seed: int, rules) -> tuple:
    """A cases file read and ranked by ``methods``: (the table, {method: boards}); every problem a ``UsageError`` naming the file."""
    from leaderboard.cases import CasesError, case_boards, read_cases
    from leaderboard.ranking import BootstrapTooLarge, MissingValues

    try:
        table = read_cases(path, direction)
    except CasesError as err:
        raise UsageError(f"{path}: {err}") from None
    boards = {}
    for method in methods:
        try:
            boards[method] = case_boards(table, method, resamples, seed, rules)
        except BootstrapTooLarge as err:
            raise UsageError(f"--bootstrap {resamples}: {err}") from None
        except MissingValues as err:
            raise UsageError(f"{path}: {err}") from None
    return table, boards


def _rank_cases(path: str, direction: str | None, method: str | None, resamples: int, seed: int, rules) -> int:
    """``podium rank --cases FILE``: each task ranked by each method (or ``method``), with its bootstrap."""
    from tabulate import tabulate

    from leaderboard.cases import board_table, cases_consensus, methods_table
    from leaderboard.ranking import METHODS

    methods = [method] if method else list(METHODS)
    table, boards = ranked_cases(path, direction, methods, resamples, seed, rules)
    algorithms = sorted({a for task in table.tasks for a in task.algorithms})
    missing = sum(task.missing for task in table.tasks)
    print(f"{path}: {len(table.tasks)} task{'s' if len(table.tasks) != 1 else ''}, {len(algorithms)} algorithms, "
          f"{sum(len(task.cases) for task in table.tasks)} cases, {missing} missing result{'s' if missing != 1 else ''}")
    for index, task in enumerate(table.tasks):
        better = "higher" if task.higher_is_better else "lower"
        print(f"\ntask {task.task}: {len(task.algorithms)} algorithms, {len(task.cases)} cases, {better} is better")
        if len(methods) > 1:
            print("ranks by method:")
            print(tabulate(methods_table({m: boards[m][index] for m in methods}), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
        for m in methods:
            board = boards[m][index]
            shown = f"{resamples} bootstrap resamples" if board.stability.resampled else f"not resampled ({board.stability.note})"
            print(f"\n{task.task} / {m}: ranking over {len(task.cases)} cases, {shown}")
            print(rules.describe(m))
            print(tabulate(board_table(board), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
            if board.stability.resampled:
                print(f"Kendall's tau between the full ranking and the bootstrap rankings: {board.stability.tau_text()}")
    skipped = [task.task for task, board in zip(table.tasks, boards[methods[0]]) if not board.stability.resampled]
    if skipped and len(skipped) < len(table.tasks):
        print(f"\nnote: task{'s' if len(skipped) > 1 else ''} {', '.join(skipped)} not resampled (a single test case or algorithm)")
    if len(table.tasks) > 1:
        for m in methods:
            print(f"\nconsensus of {len(table.tasks)} tasks by {m} (mean rank):")
            print(tabulate(cases_consensus(boards[m]), headers="keys", tablefmt="simple", showindex=False, floatfmt=".4g"))
    return EXIT_OK


@click.command(epilog=examples(
    "podium report --format html --out site/",
    "podium report --cases specs/challenges/cases_demo.csv --preset challengeR --out challenge-report/",
))
@results_option
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True, help="md: a markdown file per track; html: a static website")
@click.option("--out", default=None, metavar="DIR", help="where to write (default <results>/reports for md, <results>/site for html; ./reports with --cases)")
@click.option("--split", default="test", show_default=True, help="which split's metrics the boards show")
@click.option("--cases", "cases_file", default=None, metavar="FILE",
              help="report the challenge results in FILE instead (as `podium rank --cases`): every method's ranking and its blob plot, in markdown")
@click.option("--direction", type=click.Choice(["higher", "lower"]), default=None, help="with --cases: which values are better (or a direction column in the file)")
@click.option("--bootstrap", type=int, default=None, metavar="N", help="with --cases: resamples of the cases (default 1000)")
@click.option("--seed", type=int, default=None, help="with --cases: seed of the bootstrap resampling (default 0)")
@rule_options
def report(results, fmt, out, split, cases_file, direction, bootstrap, seed, preset, ties, case_ties, p_adjust, wilcoxon, alpha, missing,
           duplicates) -> int:
    """Write one markdown report per track, or the leaderboard website (index.html and a page per track).

    With --cases FILE: one markdown report of that file's challenge results, without a results folder."""
    flags = {"preset": preset, "ties": ties, "case_ties": case_ties, "p_adjust": p_adjust, "wilcoxon": wilcoxon, "alpha": alpha, "missing": missing,
             "duplicates": duplicates}
    flags = {key: value for key, value in flags.items() if value is not None}
    if cases_file is not None:
        return _report_cases(cases_file, direction, out, fmt, results, bootstrap, seed, flags)
    extra = [name for name, value in (("--direction", direction), ("--bootstrap", bootstrap), ("--seed", seed)) if value is not None]
    extra += [f"--{key.replace('_', '-')}" for key in flags]
    if extra:
        raise UsageError(f"{', '.join(extra)}: only with --cases (a track's report ranks its boards by podium's rules)")
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


def _report_cases(path: str, direction, out, fmt, results, bootstrap, seed, flags) -> int:
    """``podium report --cases FILE``: the file's tasks ranked by every method, as markdown with blob plots."""
    from pydantic import ValidationError

    from leaderboard.ranking import METHODS
    from reports.markdown import write_cases_report
    from specs.ranking import RankingRules

    if fmt != "md":
        raise UsageError("--cases: the report of a cases file is markdown (--format md)")
    if results is not None:
        raise UsageError("--cases reports the file alone: leave out --results")
    if bootstrap is not None and bootstrap < 1:
        raise UsageError(f"--bootstrap {bootstrap}: expected a positive number of resamples")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed {seed}: expected a non-negative integer")
    try:
        rules = _rules(RankingRules.model_validate(flags))
    except ValidationError as err:
        raise _validation_error(err) from None
    resamples = 1000 if bootstrap is None else bootstrap
    table, boards = ranked_cases(path, direction, list(METHODS), resamples, seed or 0, rules)
    folder = output_folder(out or "reports")
    written = write_cases_report(table, boards, folder, resamples)
    print(f"wrote {written}")
    return EXIT_OK


COMMANDS = [leaderboard, rank, report]
