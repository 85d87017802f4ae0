"""The larger seeded fuzzing run of ``podium validate`` (``tests/specs/fuzzing.py``): thousands of
mutated specs and command lines, printing how many were tried, how each kind ended, the slowest
cases, and every finding (a traceback, a leaked secret, a line that names no file).

    .venv/bin/python tests/perf/fuzz.py [--cases 3000] [--seed 0]

Exit 1 when there was a finding. The default test suite runs a few hundred of the same cases.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from runners.cli import main  # noqa: E402
from tests.specs.fuzzing import cases, run_case, secret_in_environment, tally  # noqa: E402


def run(count: int, seed: int) -> int:
    with tempfile.TemporaryDirectory() as folder, secret_in_environment():
        main(["validate", str(ROOT / "specs/kd/digits.yaml")])  # the registry imported once, before the clock
        started = time.perf_counter()
        outcomes = [run_case(case, Path(folder) / f"case{i}", main) for i, case in enumerate(cases(seed, count))]
        seconds = time.perf_counter() - started
    print(f"{len(outcomes)} cases (seed {seed}) in {seconds:.1f} s, {seconds / len(outcomes) * 1000:.0f} ms each on average")
    by_kind: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        ending = "finding" if outcome.problem else ("exit 0" if outcome.code == 0 else "exit 2")
        by_kind.setdefault(outcome.case.how, Counter())[ending] += 1
    print("\nby mutation:")
    for how, counts in sorted(by_kind.items()):
        print(f"  {how:<18} " + ", ".join(f"{ending} {n}" for ending, n in sorted(counts.items())))
    print("\nhow they ended:")
    for ending, n in tally(outcomes).most_common():
        print(f"  {n:>5}  {ending}")
    print("\nslowest:")
    for outcome in sorted(outcomes, key=lambda o: -o.seconds)[:5]:
        first = (outcome.err or outcome.out).splitlines()[0][:120] if (outcome.err or outcome.out) else ""
        print(f"  {outcome.seconds:6.2f} s  {outcome.case.how:<18} {first}")
    findings = [o for o in outcomes if o.problem]
    for outcome in findings:
        print(f"\nFINDING ({outcome.case.how}, --set {list(outcome.case.sets)}, {list(outcome.case.flags)}): {outcome.problem}")
        print(f"  spec: {outcome.case.text[:400]!r}")
    print(f"\n{len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.exit(run(args.cases, args.seed))
