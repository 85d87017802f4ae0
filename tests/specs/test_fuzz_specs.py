"""Fuzzing ``podium validate`` with a few hundred seeded mutations of a valid spec and command line
(``tests/specs/fuzzing.py``): each ends in exit 0, or exit 2 with every line an ``error:`` naming the
file or ``--set``; nothing raises, nothing hangs, and the environment's secret reaches no output.
The larger run with a tally is ``tests/perf/fuzz.py``."""
from __future__ import annotations

import signal

import pytest

from runners.cli import main
from tests.specs.fuzzing import MUTATIONS, cases, run_case, secret_in_environment

CASES = 200
HANG_S = 300  # a guard against a hang, far above what the cases take: not a speed target


@pytest.fixture
def hang_guard():
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def hung(signum, frame):
        raise TimeoutError(f"fuzzing did not finish in {HANG_S} s: a case hangs")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_mutated_specs_end_in_exit_0_or_one_error_line_per_problem(tmp_path, hang_guard):
    batch = cases(seed=15, count=CASES)
    assert {case.how for case in batch} == set(MUTATIONS)  # every kind of mutation is tried
    with secret_in_environment():
        outcomes = [run_case(case, tmp_path / f"case{i}", main) for i, case in enumerate(batch)]
    found = [(o.case.how, o.case.sets, o.problem) for o in outcomes if o.problem]
    assert found == []
    assert sum(o.code == 2 for o in outcomes) > CASES // 2  # the mutations do break specs; a fuzzer that only made valid ones tests nothing


def test_the_fuzzer_judges_a_traceback_and_a_leak_as_findings(tmp_path):
    # the judge itself: a command that raises, and one that prints the secret, are both reported
    [case] = cases(seed=1, count=1)

    def raising(argv):
        raise RuntimeError("boom")

    def leaking(argv):
        import sys

        from tests.specs.fuzzing import SECRET

        print(f"error: {tmp_path}/x/spec.yaml: name: {SECRET}", file=sys.stderr)
        return 2

    assert run_case(case, tmp_path / "a", raising).problem.startswith("raised: RuntimeError")
    assert run_case(case, tmp_path / "x", leaking).problem == "the secret reached the output"
