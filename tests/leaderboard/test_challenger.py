"""Known answers of the ``challengeR`` preset: every case of challengeR's own tests of its ranking
methods and bootstrap, ported (the data and the expected aggregates and ranks carry over), from
github.com/wiesenfa/challengeR:

- tests/testthat/test-aggregateThenRank.R
- tests/testthat/test-rankThenAggregate.R
- tests/testthat/test-testThenRank.R
- tests/testthat/test-bootstrap.R

challengeR's expected rankings are data frames of (aggregate, rank) per algorithm and task; here
``ranked`` gives {task: {algorithm: (aggregate, rank)}} for the same data. Where challengeR tests
an R-language error (an unknown function, an unused argument) the port tests the error Podium
gives for the same mistake; where it tests a warning, the port tests the ranking. Where Podium
differs on purpose the test says so. Several cases also rank under Podium's own rules, to show
that the two presets differ exactly where the README says.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leaderboard.cases import CasesError, case_boards, tasks_of, CaseTable
from leaderboard.ranking import (
    CHALLENGER, ONE_CASE, PODIUM, MissingValues, Rules, TooFewCases, bootstrap, rank, scores, signed_rank_p,
)
from tests.conftest import PROJECT


def data(*rows: tuple) -> pd.DataFrame:
    """challengeR's ``rbind(data.frame(algo=, value=, case=), ...)``; a row of four starts with its task."""
    return pd.DataFrame([row if len(row) == 4 else ("T1", *row) for row in rows], columns=["task", "algorithm", "value", "case"])


def ranked(frame: pd.DataFrame, small_better: bool, method: str, rules: Rules = CHALLENGER) -> dict[str, dict[str, tuple]]:
    """{task: {algorithm: (aggregate, rank)}}, as challengeR's ``ranking$matlist``."""
    out = {}
    for task in tasks_of(frame, "lower" if small_better else "higher"):
        aggregate = scores(task.values, task.higher_is_better, method, rules)
        ranks = rank(task.values, task.higher_is_better, method, rules)
        out[task.task] = {a: (float(s), int(r)) for a, s, r in zip(task.algorithms, aggregate, ranks)}
    return out


def expect(*pairs: tuple) -> dict:
    """An expected task: {algorithm: (aggregate, rank)} with the aggregate compared to 1e-12."""
    return {name: (pytest.approx(aggregate, abs=1e-12), r) for name, aggregate, r in pairs}


ONE_CASE_SMALL = data(("A1", 0.6, "C1"), ("A2", 0.8, "C1"))
TIED = data(("A1", 0.6, "C1"), ("A2", 0.6, "C1"))
TWO_CASES = data(("A1", 0.6, "C1"), ("A1", 0.4, "C2"), ("A2", 0.8, "C1"), ("A2", 1.0, "C2"))
MISSING_ONE = data(("A1", np.nan, "C1"), ("A2", 0.8, "C1"))
TWO_TASKS = pd.concat([data(("T1", "A1", 0.6, "C1"), ("T1", "A2", 0.8, "C1")), data(("T2", "A1", 0.5, "C1"), ("T2", "A2", 0.4, "C1"))])
TWO_TASKS_MISSING = pd.concat([data(("T1", "A1", 0.6, "C1"), ("T1", "A2", 0.8, "C1")), data(("T2", "A1", np.nan, "C1"), ("T2", "A2", 0.4, "C1"))])


def reverse(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.iloc[::-1].reset_index(drop=True)


# ---------------------------------------------------------------- test-aggregateThenRank.R


@pytest.mark.parametrize("frame", [ONE_CASE_SMALL, reverse(ONE_CASE_SMALL)], ids=["in order", "reverse order"])
def test_aggregate_then_rank_two_algorithms_one_case_small_better(frame):
    assert ranked(frame, True, "mean") == {"T1": expect(("A1", 0.6, 1), ("A2", 0.8, 2))}


@pytest.mark.parametrize("frame", [ONE_CASE_SMALL, reverse(ONE_CASE_SMALL)], ids=["in order", "reverse order"])
def test_aggregate_then_rank_two_algorithms_one_case_large_better(frame):
    assert ranked(frame, False, "mean") == {"T1": expect(("A1", 0.6, 2), ("A2", 0.8, 1))}


def test_aggregate_then_rank_refuses_an_unknown_aggregate():
    # challengeR: "object 'meanx' not found"
    with pytest.raises(ValueError, match="method 'meanx': expected one of mean, median, rank_then_mean, test"):
        rank(np.array([[0.6], [0.6]]), False, "meanx", CHALLENGER)  # type: ignore[arg-type]


def test_aggregate_then_rank_ties_min_and_max():
    assert ranked(TIED, True, "mean") == {"T1": expect(("A1", 0.6, 1), ("A2", 0.6, 1))}  # the preset's ties: min
    assert ranked(TIED, True, "mean", CHALLENGER.with_(ties="max")) == {"T1": expect(("A1", 0.6, 2), ("A2", 0.6, 2))}


@pytest.mark.parametrize("frame", [TIED, ONE_CASE_SMALL], ids=["ties present", "no ties"])
def test_aggregate_then_rank_refuses_an_unknown_tie_rule_even_without_ties(frame):
    # challengeR: "'arg' should be one of "average", "first", "last", "random", "max", "min""
    with pytest.raises(ValueError, match="ties 'maxx': expected one of min, mean, max"):
        ranked(frame, True, "mean", CHALLENGER.with_(ties="maxx"))


def test_aggregate_then_rank_by_mean_and_median_two_cases():
    assert ranked(TWO_CASES, True, "mean") == {"T1": expect(("A1", 0.5, 1), ("A2", 0.9, 2))}
    assert ranked(TWO_CASES, True, "median") == {"T1": expect(("A1", 0.5, 1), ("A2", 0.9, 2))}


def test_aggregate_then_rank_one_algorithm_one_case():
    assert ranked(data(("A1", 0.6, "C1")), True, "mean") == {"T1": expect(("A1", 0.6, 1))}


def test_aggregate_then_rank_refuses_missing_values_without_a_treatment():
    # challengeR: "argument "na.treat" is missing, with no default"
    with pytest.raises(MissingValues, match="1 missing result: method mean needs a value"):
        ranked(MISSING_ONE, False, "mean")
    with pytest.raises(MissingValues, match="method mean needs a value"):
        ranked(TWO_TASKS_MISSING, True, "mean")  # multi-task: the second task has it


def test_aggregate_then_rank_refuses_an_unknown_missing_treatment():
    # challengeR: "Argument 'na.treat' is invalid. It can be 'na.rm', numeric value or function."
    with pytest.raises(ValueError, match="expected one of worst, last, remove, error or a finite number, got 'na.rmx'"):
        CHALLENGER.with_(missing="na.rmx")


def test_a_missing_treatment_changes_nothing_without_missing_values():
    assert ranked(ONE_CASE_SMALL, False, "mean", CHALLENGER.with_(missing=0)) == {"T1": expect(("A1", 0.6, 2), ("A2", 0.8, 1))}


def test_missing_values_replaced_by_a_number():
    assert ranked(MISSING_ONE, False, "mean", CHALLENGER.with_(missing=0)) == {"T1": expect(("A1", 0.0, 2), ("A2", 0.8, 1))}
    # challengeR's "NAs are replaced by function value" (function(x) -1): a number here
    assert ranked(MISSING_ONE, False, "mean", CHALLENGER.with_(missing=-1)) == {"T1": expect(("A1", -1.0, 2), ("A2", 0.8, 1))}


def test_missing_values_removed():
    """challengeR leaves A1 out of the table (it has no value left); Podium keeps every algorithm on
    its board and ranks one with nothing left below the others, with no aggregate."""
    got = ranked(MISSING_ONE, False, "mean", CHALLENGER.with_(missing="remove"))["T1"]
    assert got["A2"] == (pytest.approx(0.8), 1)
    assert np.isnan(got["A1"][0]) and got["A1"][1] == 2


def test_aggregate_then_rank_multi_task():
    assert ranked(TWO_TASKS, True, "mean") == {"T1": expect(("A1", 0.6, 1), ("A2", 0.8, 2)), "T2": expect(("A1", 0.5, 2), ("A2", 0.4, 1))}
    assert ranked(TWO_TASKS_MISSING, True, "mean", CHALLENGER.with_(missing=100)) == {
        "T1": expect(("A1", 0.6, 1), ("A2", 0.8, 2)), "T2": expect(("A1", 100.0, 2), ("A2", 0.4, 1))}


def test_podium_gives_a_missing_result_its_cases_worst_value_where_challenger_refuses():
    assert ranked(MISSING_ONE, False, "mean", PODIUM) == {"T1": expect(("A1", 0.8, 1), ("A2", 0.8, 1))}  # ties with the worst (only) value


# ---------------------------------------------------------------- test-rankThenAggregate.R


@pytest.mark.parametrize("frame", [ONE_CASE_SMALL, reverse(ONE_CASE_SMALL)], ids=["in order", "reverse order"])
def test_rank_then_aggregate_two_algorithms_one_case(frame):
    assert ranked(frame, True, "rank_then_mean") == {"T1": expect(("A1", 1, 1), ("A2", 2, 2))}
    assert ranked(frame, False, "rank_then_mean") == {"T1": expect(("A1", 2, 2), ("A2", 1, 1))}


def test_rank_then_aggregate_ties_min_and_max():
    assert ranked(TIED, True, "rank_then_mean") == {"T1": expect(("A1", 1, 1), ("A2", 1, 1))}
    assert ranked(TIED, True, "rank_then_mean", CHALLENGER.with_(ties="max", case_ties="max")) == {"T1": expect(("A1", 2, 2), ("A2", 2, 2))}
    # Podium's rule within a case is the mean rank: the tie shares places 1 and 2
    assert ranked(TIED, True, "rank_then_mean", PODIUM) == {"T1": expect(("A1", 1.5, 1), ("A2", 1.5, 1))}


@pytest.mark.parametrize("frame", [TIED, ONE_CASE_SMALL], ids=["ties present", "no ties"])
def test_rank_then_aggregate_refuses_an_unknown_tie_rule(frame):
    with pytest.raises(ValueError, match="case_ties 'maxx': expected one of min, mean, max"):
        ranked(frame, True, "rank_then_mean", CHALLENGER.with_(case_ties="maxx"))


def test_rank_then_aggregate_refuses_an_unknown_aggregate():
    from leaderboard.ranking import rank_then_aggregate

    with pytest.raises(ValueError, match="aggregate 'meanx': expected mean or median"):
        rank_then_aggregate(np.array([[0.6], [0.6]]), False, CHALLENGER, how="meanx")  # type: ignore[arg-type]


def test_rank_then_aggregate_by_mean_and_median_two_cases():
    from leaderboard.ranking import rank_then_aggregate

    assert ranked(TWO_CASES, True, "rank_then_mean") == {"T1": expect(("A1", 1, 1), ("A2", 2, 2))}
    [task] = tasks_of(TWO_CASES, "lower")
    assert rank_then_aggregate(task.values, False, CHALLENGER, how="median").tolist() == [1, 2]  # rank_median 1 and 2


def test_rank_then_aggregate_one_algorithm_one_case():
    assert ranked(data(("A1", 0.6, "C1")), True, "rank_then_mean") == {"T1": expect(("A1", 1, 1))}


def test_rank_then_aggregate_ranks_a_missing_result_worst():
    assert ranked(MISSING_ONE, False, "rank_then_mean") == {"T1": expect(("A1", 2, 2), ("A2", 1, 1))}
    assert ranked(TWO_TASKS_MISSING, True, "rank_then_mean") == {
        "T1": expect(("A1", 1, 1), ("A2", 2, 2)), "T2": expect(("A1", 2, 2), ("A2", 1, 1))}


def test_rank_then_aggregate_multi_task():
    assert ranked(TWO_TASKS, True, "rank_then_mean") == {"T1": expect(("A1", 1, 1), ("A2", 2, 2)), "T2": expect(("A1", 2, 2), ("A2", 1, 1))}


def test_rank_then_aggregate_missing_treatment_is_a_property_of_the_data():
    """challengeR's rankThenAggregate takes no na.treat ("unused argument"): missing results rank
    last, unless as.challenge(na.treat = ...) replaced them first. Podium's ``missing`` rule is that
    replacement: a number fills the value before the per-case ranking."""
    frame = data(("A1", np.nan, "C1"), ("A2", 0.8, "C1"), ("A1", 0.9, "C2"), ("A2", 0.8, "C2"), ("A3", 0.5, "C1"), ("A3", 0.5, "C2"))
    assert ranked(frame, False, "rank_then_mean") == {"T1": expect(("A1", 2, 2), ("A2", 1.5, 1), ("A3", 2.5, 3))}  # NA: below A3 in C1
    assert ranked(frame, False, "rank_then_mean", CHALLENGER.with_(missing=1.0)) == {"T1": expect(("A1", 1, 1), ("A2", 2, 2), ("A3", 3, 3))}


# ---------------------------------------------------------------- test-testThenRank.R

FOUR_CASES = data(*[("A1", 0.2, f"C{k}") for k in range(1, 5)], *[("A2", 1.0, f"C{k}") for k in range(1, 5)])
TWO_EQUAL_CASES = data(("A1", 0.6, "C1"), ("A1", 0.6, "C2"), ("A2", 0.8, "C1"), ("A2", 0.8, "C2"))
FOUR_CASES_MISSING = data(("A1", np.nan, "C1"), *[("A1", 0.2, f"C{k}") for k in range(2, 5)], *[("A2", 1.0, f"C{k}") for k in range(1, 5)])


def test_test_then_rank_one_case():
    # challengeR warns "Only one case in task"; one pair cannot be significant
    assert ranked(ONE_CASE_SMALL, True, "test") == {"T1": expect(("A1", 0, 1), ("A2", 0, 1))}


def test_test_then_rank_one_algorithm():
    """challengeR warns "Only one algorithm available" and gives no proportion; Podium ranks it first
    with nothing beaten."""
    assert ranked(data(("A1", 0.6, "C1")), True, "test") == {"T1": expect(("A1", 0, 1))}


def test_test_then_rank_two_algorithms():
    assert ranked(FOUR_CASES, True, "test") == {"T1": expect(("A1", 1, 1), ("A2", 0, 2))}
    assert ranked(FOUR_CASES, False, "test") == {"T1": expect(("A1", 0, 2), ("A2", 1, 1))}


def test_the_four_cases_separate_challengers_test_from_podiums():
    """Four equal differences of -0.8: V = 0 and all four tied. R's normal approximation gives
    z = (0 - 5 + 1/2) / sqrt(7.5 - 60/48) = -1.8, p = 0.0359 (significant, challengeR); the exact
    distribution gives 1/16 = 0.0625, and Holm over the two ordered pairs doubles the 0.0359:
    either of Podium's rules alone leaves the pair undecided."""
    [task] = tasks_of(FOUR_CASES, "lower")
    greater, less = signed_rank_p(task.values[0] - task.values[1], "approx")
    assert less[0] == pytest.approx(stats.norm.cdf(-1.8), rel=1e-12)
    assert signed_rank_p(task.values[0] - task.values[1], "exact")[1][0] == pytest.approx(1 / 16, rel=1e-12)
    undecided = {"T1": expect(("A1", 0, 1), ("A2", 0, 1))}
    assert ranked(FOUR_CASES, True, "test", PODIUM) == undecided
    assert ranked(FOUR_CASES, True, "test", CHALLENGER.with_(p_adjust="holm")) == undecided
    assert ranked(FOUR_CASES, True, "test", CHALLENGER.with_(wilcoxon="exact")) == undecided
    assert ranked(FOUR_CASES, True, "test", CHALLENGER.with_(p_adjust="holm", alpha=0.1)) == {"T1": expect(("A1", 1, 1), ("A2", 0, 2))}


def test_test_then_rank_ties_max():
    assert ranked(TWO_EQUAL_CASES, True, "test", CHALLENGER.with_(ties="max")) == {"T1": expect(("A1", 0, 2), ("A2", 0, 2))}


@pytest.mark.parametrize("frame", [TWO_EQUAL_CASES, FOUR_CASES], ids=["ties present", "no ties"])
def test_test_then_rank_refuses_an_unknown_tie_rule(frame):
    with pytest.raises(ValueError, match="ties 'maxx'"):
        ranked(frame, True, "test", CHALLENGER.with_(ties="maxx"))


def test_test_then_rank_refuses_missing_values_without_a_treatment():
    with pytest.raises(MissingValues, match="method test needs a value"):
        ranked(FOUR_CASES_MISSING, True, "test")
    with pytest.raises(ValueError, match="got 'na.rmx'"):
        CHALLENGER.with_(missing="na.rmx")
    two_tasks = pd.concat([FOUR_CASES, data(("T2", "A1", 0.6, "C1"), ("T2", "A1", 0.6, "C2"), ("T2", "A2", np.nan, "C1"), ("T2", "A2", 0.8, "C2"))])
    with pytest.raises(MissingValues, match="method test needs a value"):
        ranked(two_tasks, True, "test")


def test_test_then_rank_missing_treatments():
    assert ranked(FOUR_CASES, True, "test", CHALLENGER.with_(missing=0)) == {"T1": expect(("A1", 1, 1), ("A2", 0, 2))}  # no NA: no effect
    # 100 for A1's C1: differences 99, -0.8, -0.8, -0.8, nothing significant
    assert ranked(FOUR_CASES_MISSING, True, "test", CHALLENGER.with_(missing=100.0)) == {"T1": expect(("A1", 0, 1), ("A2", 0, 1))}
    # 0 (challengeR's function(x) 0.0): differences -1, -0.8 x 3: z = -1.70, p = 0.0445
    assert ranked(FOUR_CASES_MISSING, True, "test", CHALLENGER.with_(missing=0.0)) == {"T1": expect(("A1", 1, 1), ("A2", 0, 2))}
    # removed: the three shared cases, p = 0.0745
    assert ranked(FOUR_CASES_MISSING, True, "test", CHALLENGER.with_(missing="remove")) == {"T1": expect(("A1", 0, 1), ("A2", 0, 1))}


def test_the_replaced_missing_value_separates_the_approximation_from_the_exact_test():
    """Differences -1, -0.8, -0.8, -0.8 (A1's missing C1 counted as 0): the approximation's 0.0445
    is significant, the exact 1/16 is not."""
    assert ranked(FOUR_CASES_MISSING, True, "test", CHALLENGER.with_(missing=0.0, wilcoxon="exact")) == {"T1": expect(("A1", 0, 1), ("A2", 0, 1))}
    d = np.array([-1.0, -0.8, -0.8, -0.8])
    expected = stats.wilcoxon(d, alternative="less", method="approx", correction=True).pvalue
    assert signed_rank_p(d, "approx")[1][0] == pytest.approx(expected, rel=1e-12) and 0.044 < expected < 0.045


def test_test_then_rank_multi_task():
    second = data(("T2", "A1", 0.6, "C1"), ("T2", "A1", 0.6, "C2"), ("T2", "A2", 0.8, "C1"), ("T2", "A2", 0.8, "C2"))
    assert ranked(pd.concat([FOUR_CASES, second]), True, "test") == {
        "T1": expect(("A1", 1, 1), ("A2", 0, 2)), "T2": expect(("A1", 0, 1), ("A2", 0, 1))}
    assert ranked(pd.concat([FOUR_CASES_MISSING, second]), True, "test", CHALLENGER.with_(missing=0)) == {
        "T1": expect(("A1", 1, 1), ("A2", 0, 2)), "T2": expect(("A1", 0, 1), ("A2", 0, 1))}


# ---------------------------------------------------------------- test-bootstrap.R


def table_of(frame: pd.DataFrame) -> CaseTable:
    from pathlib import Path

    return CaseTable(Path("challenge.csv"), tasks_of(frame, "higher"))


def test_bootstrapping_one_test_case_is_refused():
    # challengeR: "Only 1 test case included. Bootstrapping with 1 test case not sensible."
    with pytest.raises(TooFewCases, match="only 1 test case: bootstrapping with 1 test case is not sensible"):
        bootstrap(np.array([[0.8], [0.6]]), True, "median", resamples=10, seed=1, rules=CHALLENGER)


def test_bootstrapping_tasks_of_one_case_each_resamples_none():
    """challengeR stops ("All tasks only contained 1 test case"); Podium ranks each task and says
    that none was resampled (``podium rank --cases`` prints it)."""
    frame = pd.concat([data(("T1", "A1", 0.8, "C1"), ("T1", "A2", 0.6, "C1")), data(("T2", "A1", 0.2, "C1"), ("T2", "A2", 0.3, "C1")),
                       data(("T3", "A1", 0.1, "C1"), ("T3", "A2", 0.8, "C1"))])
    boards = case_boards(table_of(frame), "median", resamples=10, seed=1, rules=CHALLENGER)
    assert [b.stability.resampled for b in boards] == [False, False, False]
    assert all(b.stability.note == ONE_CASE for b in boards)
    assert [b.stability.ranks.tolist() for b in boards] == [[1, 2], [2, 1], [2, 1]]


def test_bootstrapping_leaves_out_only_the_tasks_of_one_case():
    # challengeR: "Task(s) T1, T3 with only 1 test case excluded from bootstrapping."
    frame = pd.concat([data(("T1", "A1", 0.8, "C1"), ("T1", "A2", 0.6, "C1")),
                       data(("T2", "A1", 0.2, "C1"), ("T2", "A2", 0.3, "C1"), ("T2", "A1", 0.2, "C2"), ("T2", "A2", 0.3, "C2")),
                       data(("T3", "A1", 0.1, "C1"), ("T3", "A2", 0.8, "C1"))])
    boards = case_boards(table_of(frame), "median", resamples=3, seed=1, rules=CHALLENGER)
    assert [b.task for b in boards if not b.stability.resampled] == ["T1", "T3"]
    assert boards[1].stability.bootstrap_ranks.shape == (3, 2)


def challenge_like(seed: int = 0) -> np.ndarray:
    """Five algorithms x 50 cases with a clear order and noise, as challengeR's data_matrix.csv c_random."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.8, 0.12, (5, 50)) + np.linspace(0.08, 0, 5)[:, None], 0, 1)


def test_two_sequential_bootstraps_give_the_same_results():
    values = challenge_like()
    first = bootstrap(values, True, "rank_then_mean", resamples=10, seed=123, rules=CHALLENGER)
    second = bootstrap(values, True, "rank_then_mean", resamples=10, seed=123, rules=CHALLENGER)
    assert np.array_equal(first.bootstrap_ranks, second.bootstrap_ranks) and np.array_equal(first.kendall_tau, second.kendall_tau, equal_nan=True)


def test_bootstraps_in_separate_processes_give_the_same_results():
    """challengeR's parallel bootstrap is reproducible with doRNG; Podium's has no workers, and its
    seeded resampling gives the same ranks in another process."""
    script = ("import numpy as np; from tests.leaderboard.test_challenger import challenge_like; from leaderboard.ranking import bootstrap, CHALLENGER; "
              "print(bootstrap(challenge_like(), True, 'rank_then_mean', resamples=10, seed=123, rules=CHALLENGER).bootstrap_ranks.tolist())")
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    here = bootstrap(challenge_like(), True, "rank_then_mean", resamples=10, seed=123, rules=CHALLENGER).bootstrap_ranks.tolist()
    assert done.stdout.strip() == str(here)


def test_a_cases_file_with_a_duplicate_is_refused_as_challenger_does():
    # challengeR's as.challenge: "The following case(s) appear(s) more than once for the same algorithm."
    with pytest.raises(CasesError, match="row 3: algorithm 'A1' has case 'C1' twice in task 'T1'"):
        tasks_of(data(("A1", 0.6, "C1"), ("A2", 0.8, "C1"), ("A1", 0.7, "C1")), "higher")
