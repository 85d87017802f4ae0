"""Mutation testing of the statistics and the metrics: mutmut makes small wrong versions of
``leaderboard/`` and ``registry/metrics/`` (an operator swapped, a constant moved by one, an
argument dropped) and runs the tests that cover each; a mutant the tests do not fail "survived".

    .venv/bin/pip install -e '.[mutation]'
    .venv/bin/python tests/perf/mutation.py [--only 'leaderboard/ranking.py'] [--children 2] [--keep DIR]
    .venv/bin/python tests/perf/mutation.py --keep DIR --report-only   # what the runs in DIR found

It works on a copy of the checkout (``--keep DIR`` keeps it; a second run there takes the checkout's
tests again and tests what is left: mutants not yet run, survivors, those no test ran and those whose
test process crashed), prints
how many mutants were made and how each ended, per file, and every survivor of a formula with its
diff. ``tests/perf/mutation_explained.toml`` says which functions compute no number (text for a
person, storage, file reading: ``[[not_formula]]``) and why each remaining survivor of a formula is
equivalent (``[[equivalent]]``: no input can tell it from the original). Only the mutants of formulas
are tested unless ``--all-functions`` is given (the others are counted as "not checked"). Exit 1
when a survivor of a formula is unexplained, or a formula's mutant has no test at all.

Not mutated: lines that raise (their messages are checked by the tests that matter, and a mutated
message is not a wrong formula) and ``__all__``; the tests run are the fast suite's leaderboard,
metric and ranking-command tests.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPLAINED = Path(__file__).with_name("mutation_explained.toml")
MUTATED = ["leaderboard/*.py", "registry/metrics/*.py"]
TESTS = ["tests/leaderboard", "tests/registry/metrics", "tests/runners/test_rank_cases.py", "tests/runners/test_check_cli.py"]
SETTINGS = """
[tool.mutmut]
source_paths = ["leaderboard", "registry"]
only_mutate = {only}
also_copy = ["specs", "runners", "reports", "baselines"]
do_not_mutate_patterns = ['^\\s*raise ', '^__all__']
# each mutant's tests in a process forked from a server that has run no test: a worker forked from
# mutmut's own process inherits torch's threads from the test-mapping run and may crash (SIGSEGV)
process_isolation = "forkserver"
# -p no:python_path: the tests must import the mutated copy, not the checkout pytest's pythonpath names
pytest_add_cli_args = ["-p", "no:python_path", "-p", "no:cacheprovider", "-q", "-m", "not slow and not ray"]
pytest_add_cli_args_test_selection = {tests}
"""
# A mutant name that matches nothing: ``mutmut run`` with it makes the mutants and maps the tests to
# the functions, then stops before testing any mutant.
NO_MUTANT = "podium.no_such_mutant"
# Mutants whose tests tell nothing: none covers them, or their worker crashed.
UNTESTED = {"no tests", "segfault"}
# Statuses tested again on a resumed run (new tests may kill a survivor or cover an untested mutant).
PENDING = {"not checked", "survived", *UNTESTED}
RESULT = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+)$")


@dataclass(frozen=True)
class Explanation:
    """Why the survivors matching ``mutant`` (a glob over mutant names such as
    ``leaderboard.ranking.x_adjust_p__mutmut_*``) and, when given, whose diff contains ``change`` (a
    text, or a list of texts any of which will do), are not a missing test."""

    mutant: str
    reason: str
    change: str | list[str] = ""

    def covers(self, name: str, diff: str) -> bool:
        added = "\n".join(line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
        changes = [self.change] if isinstance(self.change, str) else self.change
        return fnmatch.fnmatchcase(name, self.mutant) and (not self.change or any(c in added for c in changes))


def explanations() -> tuple[list[Explanation], list[Explanation]]:
    """The functions that compute no number (``[[not_formula]]``) and the equivalent mutants of
    formulas (``[[equivalent]]``), from ``mutation_explained.toml``."""
    table = tomllib.loads(EXPLAINED.read_text(encoding="utf-8")) if EXPLAINED.exists() else {}
    return ([Explanation(**entry) for entry in table.get("not_formula", [])],
            [Explanation(**entry) for entry in table.get("equivalent", [])])


def is_formula(name: str, not_formula: list[Explanation]) -> bool:
    """Whether the mutant ``name`` is of a function that computes a number (none of ``[[not_formula]]`` covers it)."""
    return not any(e.covers(name, "") for e in not_formula)


def prepare(folder: Path, only: list[str]) -> None:
    """Copy the checkout's files (tracked and untracked, not ignored) into ``folder`` with the mutmut settings."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    settings = SETTINGS.format(only=_toml_list(only), tests=_toml_list(TESTS))
    with open(folder / "pyproject.toml", "a", encoding="utf-8") as file:
        file.write(settings)


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def mutmut(folder: Path, *args: str, check: bool = True) -> str:
    """Run the mutmut beside this interpreter in ``folder``; its standard output."""
    command = [str(Path(sys.executable).with_name("mutmut")), *args]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if check and done.returncode != 0:
        sys.exit(f"mutmut {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def results(folder: Path) -> dict[str, str]:
    """Every mutant's name and how it ended (killed, survived, no tests, timeout, ...)."""
    found = (RESULT.match(line) for line in mutmut(folder, "results", "--all", "true").splitlines())
    return {m["name"]: m["status"].strip() for m in found if m}


def diffs(folder: Path, names: list[str]) -> dict[str, str]:
    """Each mutant's diff against the original function, as ``mutmut show`` prints it, read from the
    mutated copies mutmut writes (``mutants/<file>``: every mutant a function ``x_f__mutmut_N`` beside
    ``x_f__mutmut_orig``); one parse per file instead of one ``mutmut show`` process per mutant."""
    found: dict[str, str] = {}
    by_file: dict[str, list[str]] = {}
    for name in names:
        by_file.setdefault(source_file(name), []).append(name)
    for path, chosen in by_file.items():
        source = (folder / "mutants" / path).read_text(encoding="utf-8")
        lines, top = source.splitlines(), ast.parse(source).body
        functions = {node.name: lines[node.lineno - 1:node.end_lineno]
                     for node in [*top, *(n for c in top if isinstance(c, ast.ClassDef) for n in c.body)]
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for name in chosen:
            function, number = name.rsplit(".", 1)[1].rsplit("__mutmut_", 1)
            before, after = ([line.replace(f"{function}__mutmut_{suffix}", function) for line in functions.get(f"{function}__mutmut_{suffix}", [])]
                             for suffix in ("orig", number))
            changed = difflib.unified_diff(before, after, f"a/{path}", f"b/{path}", lineterm="", n=0)
            found[name] = "\n".join(line for line in changed if not line.startswith("@@"))
    return found


def source_file(name: str) -> str:
    """``leaderboard.ranking.x_adjust_p__mutmut_3`` -> ``leaderboard/ranking.py``; a package's own
    functions (``registry.metrics.x_class_scores__mutmut_5``) -> its ``__init__.py``."""
    module = name.split(".x")[0] if ".x" in name else name.rsplit(".", 1)[0]
    parts = module.split(".")
    while parts:
        if (ROOT / Path(*parts)).with_suffix(".py").exists():
            return str(Path(*parts).with_suffix(".py"))
        if (ROOT / Path(*parts) / "__init__.py").exists():
            return str(Path(*parts) / "__init__.py")
        parts.pop()
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=MUTATED, help="globs of the files to mutate (default: %(default)s)")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once (default: %(default)s)")
    parser.add_argument("--keep", type=Path, help="work (and resume) in this folder instead of a temporary one")
    parser.add_argument("--all-functions", action="store_true",
                        help="also test the mutants of functions that compute no number ([[not_formula]])")
    parser.add_argument("--report-only", action="store_true", help="test nothing: report what the --keep folder's runs found")
    args = parser.parse_args()
    if args.report_only and not (args.keep and (args.keep / "mutants").is_dir()):
        sys.exit("--report-only reads the results of an earlier run: give its --keep folder")
    if not Path(sys.executable).with_name("mutmut").exists():
        sys.exit("mutmut is not installed beside this Python: pip install -e '.[mutation]'")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="podium-mutation-"))
    if not (folder / "pyproject.toml").exists():
        folder.mkdir(parents=True, exist_ok=True)
        prepare(folder, args.only)
    elif not args.report_only:
        shutil.copytree(ROOT / "tests", folder / "tests", dirs_exist_ok=True)
    not_formula, equivalent = explanations()
    started = time.perf_counter()
    if not args.report_only:
        mutmut(folder, "run", "--max-children", str(args.children), NO_MUTANT, check=False)
    made = results(folder)
    if not made:
        sys.exit(f"mutmut made no mutants; its folder is {folder}")
    pending = [name for name, status in made.items() if status in PENDING and (args.all_functions or is_formula(name, not_formula))]
    if pending and not args.report_only:
        mutmut(folder, "run", "--max-children", str(args.children), *pending, check=False)
    seconds = None if args.report_only else time.perf_counter() - started
    ended = results(folder)
    formula = {name: status for name, status in ended.items() if is_formula(name, not_formula)}
    survivors = diffs(folder, [name for name, status in formula.items() if status == "survived"])
    untested = sorted(name for name, status in formula.items() if status in UNTESTED)
    unexplained = {name: diff for name, diff in survivors.items() if not any(e.covers(name, diff) for e in equivalent)}
    report(ended, formula, survivors, unexplained, untested, seconds, folder)
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if unexplained or untested else 0


def report(ended: dict[str, str], formula: dict[str, str], survivors: dict[str, str], unexplained: dict[str, str],
           untested: list[str], seconds: float | None, folder: Path) -> None:
    """Print the totals, the counts per file, and each survivor of a formula with its diff (unexplained ones first)."""
    took = "as earlier runs left them" if seconds is None else f"in {seconds:.0f} s"
    print(f"{len(ended)} mutants of {', '.join(sorted({source_file(n) for n in ended}))} {took} (work folder {folder})")
    for title, chosen in (("all", ended), ("formulas", formula)):
        statuses = Counter(chosen.values())
        tested = len(chosen) - sum(statuses[s] for s in (*UNTESTED, "skipped", "not checked"))
        killed = statuses["killed"] + statuses["timeout"]
        print(f"  {title}: {len(chosen)} mutants, " + ", ".join(f"{status} {n}" for status, n in statuses.most_common())
              + (f"; mutation score {killed / tested:.1%} of {tested} tested" if tested else ""))
    print(f"  survivors of formulas: {len(survivors)}, {len(survivors) - len(unexplained)} explained as equivalent in "
          f"{EXPLAINED.name}, {len(unexplained)} unexplained; formula mutants without a test: {len(untested)}")
    by_file: dict[str, Counter[str]] = {}
    for name, status in ended.items():
        by_file.setdefault(source_file(name), Counter())[status if name in formula else f"{status} (not a formula)"] += 1
    print("\nper file:")
    for path, counts in sorted(by_file.items()):
        print(f"  {path:<36} " + ", ".join(f"{status} {n}" for status, n in counts.most_common()))
    if untested:
        print("\nformula mutants no test ran (or whose tests crashed):\n  " + "\n  ".join(untested))
    for title, chosen in (("unexplained survivors of formulas", unexplained),
                          ("equivalent survivors", {k: v for k, v in survivors.items() if k not in unexplained})):
        if chosen:
            print(f"\n{title}:")
            for name, diff in sorted(chosen.items()):
                print(f"# {name}: {formula[name]}")
                print("\n".join(line for line in diff.splitlines() if line.strip()))

if __name__ == "__main__":
    sys.exit(main())
