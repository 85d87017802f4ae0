"""Boards from a cases table (challengeR's long format), read without a results folder: what each
board holds, the single-algorithm case, and the consensus over tasks, with known answers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leaderboard.cases import CaseTable, case_boards, cases_consensus, tasks_of
from leaderboard.ranking import CHALLENGER


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
