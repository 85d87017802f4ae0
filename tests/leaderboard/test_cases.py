"""Boards from a cases table (challengeR's long format), read without a results folder: what each
board holds, the single-algorithm case, and the consensus over tasks, with known answers."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leaderboard.cases import CasesError, CaseTable, case_boards, cases_consensus, tasks_of
from leaderboard.ranking import CHALLENGER, MissingValues


def table_of(rows: list[tuple[str, str, str, float]], direction: str | None = None, name: str = "export") -> CaseTable:
    frame = pd.DataFrame(rows, columns=["task", "case", "algorithm", "value"]).astype(str)
    return CaseTable(Path(f"{name}.csv"), tasks_of(frame, direction, default_task=name))


# task t1: A beats B on every case; task t2 (lower is better in the file's direction): B beats A
ROWS = [("t1", f"c{i}", "A", 0.9 - i / 100) for i in range(4)] + [("t1", f"c{i}", "B", 0.5 + i / 100) for i in range(4)]


def test_a_board_holds_its_task_the_file_its_algorithms_and_direction():
    (board,) = case_boards(table_of(ROWS, "lower"), resamples=50)
    assert (board.task, board.dataset, board.higher_is_better, board.ranked_by) == ("t1", "export", False, "mean")
    assert [a.label for a in board.algorithms] == [a.entry for a in board.algorithms] == ["A", "B"]
    assert board.stability.ranks.tolist() == [2, 1]  # lower is better: B's values are the smaller
    assert board.pooled == () and board.rules is not None


def test_defaults_are_a_thousand_seeded_resamples_of_the_mean():
    default = case_boards(table_of(ROWS, "higher"))[0]
    assert default.stability.bootstrap_ranks.shape == (1000, 2)
    again = case_boards(table_of(ROWS, "higher"), "mean", 1000, 0)[0]
    np.testing.assert_array_equal(default.stability.bootstrap_ranks, again.stability.bootstrap_ranks)
    assert default.ranked_by == "mean"


def test_a_task_with_one_algorithm_is_ranked_first_and_not_resampled():
    (board,) = case_boards(table_of([("t", "c1", "solo", 0.3), ("t", "c2", "solo", 0.4)], "higher"), "median", rules=CHALLENGER)
    assert board.stability.ranks.tolist() == [1]
    assert not board.stability.resampled and "only 1 algorithm" in board.stability.note
    assert (board.ranked_by, board.rules) == ("median", CHALLENGER)


def test_the_consensus_over_tasks_is_the_mean_rank_ranked():
    # t1: A 1, B 2, C 3; t2: C 1, A 2, B 3 -> mean ranks A 1.5, B 2.5, C 2 -> A 1, C 2, B 3
    rows = [("t1", "c", "A", 3.0), ("t1", "c", "B", 2.0), ("t1", "c", "C", 1.0),
            ("t2", "c", "A", 2.0), ("t2", "c", "B", 1.0), ("t2", "c", "C", 3.0)]
    table = cases_consensus(case_boards(table_of(rows, "higher"), resamples=10))
    assert list(table.columns) == ["rank", "algorithm", "mean rank", "t1", "t2"]
    assert table["algorithm"].tolist() == ["A", "C", "B"]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["mean rank"].tolist() == pytest.approx([1.5, 2.0, 2.5])
    assert table.index.tolist() == [0, 1, 2]


def test_empty_directions_are_not_declarations():
    # a parquet export's direction column holds None or NaN where a row leaves it out
    frame = pd.DataFrame({"task": ["t"] * 4, "case": ["c1", "c2", "c1", "c2"], "algorithm": ["A", "A", "B", "B"],
                          "value": [1.0, 2.0, 3.0, 4.0], "direction": ["lower", None, float("nan"), "lower"]})
    (task,) = tasks_of(frame)
    assert task.higher_is_better is False
    # --direction for a task whose column is empty everywhere: the option decides
    frame["direction"] = [None, float("nan"), None, None]
    assert [t.higher_is_better for t in tasks_of(frame, "lower")] == [False]
    assert [t.higher_is_better for t in tasks_of(frame, "higher")] == [True]


# ---------------------------------------------------------------- reading a long-format frame


def long_frame(values, *, cases=None, algorithms=None, **columns) -> pd.DataFrame:
    """One task's rows (case, algorithm, value), two algorithms over as many cases as values unless given."""
    n = len(values)
    return pd.DataFrame({"case": cases or [f"c{i // 2}" for i in range(n)], "algorithm": algorithms or ["A", "B"] * (n // 2),
                         "value": values, **columns})


def test_a_frame_without_a_task_column_is_one_task_named_by_default():
    frame = long_frame([1.0, 2.0])
    assert [t.task for t in tasks_of(frame, "higher")] == ["task"]
    assert [t.task for t in tasks_of(frame, "higher", default_task="liver")] == ["liver"]


def test_rows_with_an_empty_task_name_belong_to_the_default_task():
    frame = long_frame([1.0, 2.0, 3.0, 4.0], task=["t", "t", "", " "])
    tasks = tasks_of(frame, "higher", default_task="export")
    assert [(t.task, t.cases, t.values.tolist()) for t in tasks] == [("t", ["c0"], [[1.0], [2.0]]), ("export", ["c1"], [[3.0], [4.0]])]


def test_a_frame_without_any_column_says_it_found_none():
    with pytest.raises(CasesError, match=r"missing columns case, algorithm, value \(.*found: none\)$"):
        tasks_of(pd.DataFrame(), "higher")


def test_an_empty_case_name_names_its_row():
    frame = long_frame([1.0, 2.0, 3.0, 4.0], cases=["c1", "c1", "c2", ""])
    with pytest.raises(CasesError, match="^row 5: empty case name$"):  # the fourth data row of a CSV: its header is row 1
        tasks_of(frame, "higher", first_row=2)


def test_cases_keep_the_order_they_first_appear_in_and_algorithms_are_sorted():
    """Each value lands in its own (algorithm, case) cell; a case that an algorithm has no row for is NaN."""
    frame = long_frame([5.0, 1.0, 2.0, 6.0, 3.0], cases=["c2", "c9", "c9", "c2", "a1"], algorithms=["B", "B", "A", "A", "B"])
    (task,) = tasks_of(frame, "lower")
    assert task.algorithms == ["A", "B"] and task.cases == ["c2", "c9", "a1"]
    np.testing.assert_array_equal(task.values, [[6.0, 2.0, np.nan], [5.0, 1.0, 3.0]])
    assert task.values.dtype == np.float64 and task.missing == 1


def test_a_task_may_hold_exactly_the_most_results(monkeypatch):
    import leaderboard.cases

    monkeypatch.setattr(leaderboard.cases, "MOST_CELLS", 4)
    assert tasks_of(long_frame([1.0, 2.0, 3.0, 4.0]), "higher")[0].values.shape == (2, 2)  # 2 x 2 = 4: allowed
    with pytest.raises(CasesError, match="^task 'task': 2 algorithms x 3 cases is more than the 4 results a task may hold$"):
        tasks_of(long_frame([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), "higher")


def test_a_true_false_value_column_is_refused():
    with pytest.raises(CasesError, match="^column value holds true/false, not numbers$"):
        tasks_of(long_frame([True, False]), "higher")


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_an_infinite_number_in_a_numeric_column_names_its_row(bad):
    # a parquet file's float column: the value shown as the number it is, not as text
    with pytest.raises(CasesError, match=f"^row 4: value {bad} is not a finite number$"):
        tasks_of(long_frame([1.0, 2.0, bad, 4.0]), "higher", first_row=2)


def test_a_nullable_integer_column_with_a_missing_value():
    # a parquet file written from pandas keeps its Int64 column, pd.NA included: a missing result
    frame = long_frame(pd.array([1, 2, None, 4], dtype="Int64"))
    (task,) = tasks_of(frame, "higher")
    np.testing.assert_array_equal(task.values, [[1.0, np.nan], [2.0, 4.0]])


def test_a_column_of_mixed_objects_reads_numbers_text_and_missing_values():
    # a parquet file's object column: numbers, text of numbers, None and NaN (missing), "NA" (missing)
    frame = long_frame(["0.5", None, np.nan, 0.25, " 1e-1 ", "NA"], cases=["c1", "c1", "c2", "c2", "c3", "c3"])
    (task,) = tasks_of(frame, "higher")
    np.testing.assert_array_equal(task.values, [[0.5, np.nan, 0.1], [np.nan, 0.25, np.nan]])


@pytest.mark.parametrize(("text", "shown"), [("x" * 40, "x" * 40), ("y" * 41, "y" * 37 + "...")])
def test_a_long_bad_value_is_shown_cut_to_forty_characters(text, shown):
    with pytest.raises(CasesError, match=f"^row 3: value {re.escape(repr(shown))} is not a number \\(a missing result is empty or NA\\)$"):
        tasks_of(long_frame(["1", text]), "higher", first_row=2)


# ---------------------------------------------------------------- ranking a task


# two algorithms whose per-case values overlap, so that resamples of the cases rank them differently
CLOSE = [("t", f"c{i}", a, v) for i, (x, y) in enumerate([(0.9, 0.1), (0.2, 0.8), (0.6, 0.5), (0.4, 0.7), (0.5, 0.45)])
         for a, v in (("A", x), ("B", y))]


def test_the_bootstrap_is_seeded_by_the_seed_given_and_zero_by_default():
    from leaderboard.ranking import bootstrap

    table = table_of(CLOSE, "higher")
    (task,) = table.tasks
    by_seed = {seed: bootstrap(task.values, True, "mean", resamples=200, seed=seed).bootstrap_ranks for seed in (0, 1)}
    assert not np.array_equal(by_seed[0], by_seed[1])  # the seed matters for these values
    np.testing.assert_array_equal(case_boards(table, resamples=200)[0].stability.bootstrap_ranks, by_seed[0])
    np.testing.assert_array_equal(case_boards(table, resamples=200, seed=1)[0].stability.bootstrap_ranks, by_seed[1])


def test_a_single_algorithm_is_ranked_under_the_rules_given():
    # challengeR's rules refuse a missing result for the mean, even of an algorithm alone on its task
    alone = table_of([("t", "c1", "solo", 0.3), ("t", "c2", "solo", float("nan"))], "higher")
    with pytest.raises(MissingValues, match="^task 't': 1 missing result"):
        case_boards(alone, rules=CHALLENGER)
    (board,) = case_boards(alone)  # Podium's give it its case's worst value
    assert board.stability.ranks.tolist() == [1] and board.stability.note == "only 1 algorithm"


def test_a_task_of_one_case_is_ranked_under_the_rules_given():
    # one case, a tie: challengeR's rules with ties="max" put both second, as its rank(ties.method="max")
    (board,) = case_boards(table_of([("t", "c1", "A", 0.5), ("t", "c1", "B", 0.5)], "higher"), rules=CHALLENGER.with_(ties="max"))
    assert board.stability.ranks.tolist() == [2, 2] and not board.stability.resampled


def test_a_board_table_shows_each_mean_over_the_cases_it_has_and_no_bootstrap_when_not_resampled():
    # A: 1, 2, - (mean 1.5); B: nothing (no mean); C: 4, -, - (mean 4); one case each has values in
    rows = [("t", "c1", "A", 1.0), ("t", "c2", "A", 2.0), ("t", "c3", "A", "NA"), ("t", "c1", "B", ""), ("t", "c2", "B", "NA"),
            ("t", "c3", "B", "NA"), ("t", "c1", "C", 4.0), ("t", "c2", "C", ""), ("t", "c3", "C", "")]
    (board,) = case_boards(table_of(rows, "higher"), resamples=20)
    table = board.table()
    assert list(table.columns) == ["rank", "label", "model", "method", "mean", "bootstrap median rank", "95% rank interval", "P(first)"]
    means = dict(zip(table["label"], table["mean"]))
    assert means["A"] == 1.5 and means["C"] == 4.0 and np.isnan(means["B"])
    assert table["mean"].dtype == np.float64
    (one,) = case_boards(table_of([("t", "c1", "A", 1.0), ("t", "c1", "B", 2.0)], "higher"))
    blank = one.table()
    assert list(blank.columns) == list(table.columns)
    assert blank[["bootstrap median rank", "95% rank interval", "P(first)"]].values.tolist() == [["-", "-", "-"]] * 2
