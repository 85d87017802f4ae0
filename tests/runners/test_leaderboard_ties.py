"""``podium leaderboard``'s "tied with": the column and the note under each board, the options that
choose the test, the adjustment and alpha, and the JSON and CSV carrying the same verdicts."""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from runners.cli import main
from tests.leaderboard.test_significance import THREE, case_records
from tests.runners.test_cli_inputs import one_error


@pytest.fixture
def results(tmp_path):
    """Three competitors right or wrong on 50 cases (one seed each; McNemar: A ~ B ~ C but A !~ C under
    holm), and a teacher (a reference), as record files."""
    root = tmp_path / "results"
    for record in case_records({"a": [THREE[0]], "b": [THREE[1]], "c": [THREE[2]], "teacher": [np.ones(50)]}):
        folder = root / "runs" / record.run_id
        folder.mkdir(parents=True)
        (folder / "record.json").write_text(record.model_dump_json())
    return root


def board(capsys, results, *args: str) -> str:
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(results), *args]) == 0
    return capsys.readouterr().out


def tied_column(text: str) -> dict[str, str]:
    """model -> the last column of each competitor's row in the terminal table."""
    rows = [line.split() for line in text.splitlines() if line.split() and line.split()[0] in ("1", "2", "3")]
    return {row[2]: " ".join(row[row.index("0", 5) + 1:]) for row in rows}  # after the failed count (0)


def test_the_table_lists_the_ranks_each_entry_is_tied_with_and_names_the_test(capsys, results):
    text = board(capsys, results)
    assert "tied with" in text.splitlines()[1]
    assert tied_column(text) == {"a": "2", "b": "1, 3", "c": "2"}
    assert ("tied with: the ranks of the entries this one cannot be separated from by McNemar's exact test on 50 test cases "
            "(seeds averaged per case, pairs over the cases both have), two-sided (p-values adjusted by holm over 3 pairs, alpha 0.05)") in text


def test_no_adjustment_separates_the_near_pair(capsys, results):
    text = board(capsys, results, "--p-adjust", "none")
    assert tied_column(text) == {"a": "none", "b": "3", "c": "2"} and "p-values not adjusted, alpha 0.05" in text
    loose = board(capsys, results, "--alpha", "0.1")
    assert tied_column(loose) == {"a": "none", "b": "3", "c": "2"} and "holm over 3 pairs, alpha 0.1" in loose  # .077 <= .1


def test_the_test_can_be_chosen(capsys, results):
    welch = board(capsys, results, "--test", "welch")  # one seed each: nothing to test over seeds
    assert tied_column(welch) == {"a": "not testable", "b": "not testable", "c": "not testable"}
    assert "no pair of this board could be tested (Welch's test needs two seeds on each side)" in welch
    wilcoxon = board(capsys, results, "--test", "wilcoxon")
    assert "by the Wilcoxon signed-rank test on 50 test cases" in wilcoxon
    bootstrap = board(capsys, results, "--test", "bootstrap", "--bootstrap", "2000", "--seed", "1")
    assert "a paired bootstrap of the mean difference on 50 test cases (seeds averaged per case, pairs over the cases both have; 2000 resamples, seed 1)" in bootstrap
    assert board(capsys, results, "--test", "bootstrap", "--bootstrap", "2000", "--seed", "1") == bootstrap  # seeded: the same verdicts


def test_json_and_csv_carry_the_verdicts_the_table_shows(capsys, results):
    rows = {r["model"]: r for r in json.loads(board(capsys, results, "--format", "json"))}
    assert {m: rows[m]["tied_with"] for m in "abc"} == {"a": "2", "b": "1, 3", "c": "2"}
    assert {m: rows[m]["tied"] for m in "abc"} == {"a": False, "b": True, "c": False}
    assert {rows[m]["test"] for m in "abc"} == {"mcnemar"} and rows["a"]["test_note"].startswith("tied with: the ranks")
    assert rows["teacher"]["reference"] and rows["teacher"]["tied_with"] is None and rows["teacher"]["tied"] is None
    csv = pd.read_csv(io.StringIO(board(capsys, results, "--format", "csv")), keep_default_na=False).set_index("model")
    assert csv.loc[["a", "b", "c"], "tied_with"].astype(str).tolist() == ["2", "1, 3", "2"]
    assert csv.loc[["a", "b", "c", "teacher"], "tied"].astype(str).tolist() == ["False", "True", "False", ""]
    md = board(capsys, results, "--format", "md")
    assert "| tied with   |" in md and "| 1, 3        |" in md


@pytest.mark.parametrize(("args", "says"), [
    (["--alpha", "0"], "--alpha 0: expected a number between 0 and 1"),
    (["--alpha", "1.5"], "--alpha 1.5: expected a number between 0 and 1"),
    (["--test", "bootstrap", "--bootstrap", "0"], "--bootstrap 0: expected a positive number of resamples"),
    (["--test", "bootstrap", "--seed", "-1"], "--seed -1: expected a non-negative integer"),
    (["--bootstrap", "100"], "--bootstrap: only with --test bootstrap"),
    (["--seed", "2", "--test", "welch"], "--seed: only with --test bootstrap"),
    (["--wide", "--test", "welch"], "--test: the wide table shows no ties; leave out --wide"),
    (["--test", "student"], "Invalid value for '--test'"),
    (["--p-adjust", "fdr"], "Invalid value for '--p-adjust'"),
])
def test_options_that_cannot_be_used_are_one_error_line(capsys, results, args, says):
    one_error(capsys, ["leaderboard", "--results", str(results), *args], says=says)
