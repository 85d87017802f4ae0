"""Leaderboards rendered as text: terminal table, markdown, CSV, JSON."""
from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from tests.reports.report_records import TEACHER, configuration_records, github_tables, intervals

from leaderboard import LEADERBOARD_COLUMNS, leaderboard
from leaderboard.filters import Filters
from leaderboard.significance import SIGNIFICANCE_COLUMNS, leaderboard_with_ties, tie_text
from reports.tables import FORMATS, render_leaderboard, render_wide

PROJECT = Path(__file__).resolve().parents[2]
BOARD_KEYS = ["track", "task", "dataset", "metric"]
REQUIRED_JSON_KEYS = {"track", "task", "dataset", "model", "method", "metric", "mean", "std", "n", "ci_low", "ci_high", "rank"}
COLUMNS = [*LEADERBOARD_COLUMNS, *SIGNIFICANCE_COLUMNS]  # a board as podium leaderboard prints it: its ties tested


@pytest.fixture
def board(store) -> pd.DataFrame:
    return leaderboard_with_ties(store)


def _refuse_nan(constant: str):
    raise ValueError(f"{constant} is not JSON")


def test_json_is_a_list_of_objects_with_nan_as_null(board):
    rows = json.loads(render_leaderboard(board, "json"), parse_constant=_refuse_nan)  # strict JSON: no NaN
    assert isinstance(rows, list) and len(rows) == len(board)
    for row, (_, expected) in zip(rows, board.iterrows()):
        assert REQUIRED_JSON_KEYS <= set(row)
        assert set(row) == set(COLUMNS)
        assert row["tied"] is None or isinstance(row["tied"], bool)
        assert row["tied_with"] == (None if pd.isna(expected["tied_with"]) else expected["tied_with"])
        for key in ("track", "task", "dataset", "model", "method", "metric"):
            assert row[key] == expected[key]
        assert isinstance(row["n"], int) and isinstance(row["rank"], int) and isinstance(row["failed"], int)
        assert isinstance(row["higher_is_better"], bool)
        for key in ("mean", "std", "ci_low", "ci_high"):
            if math.isnan(expected[key]):
                assert row[key] is None
            else:
                assert row[key] == pytest.approx(expected[key], rel=1e-12)
    single = [r for r in rows if r["model"] == "resnet20"]
    assert single and all(r["n"] == 1 and r["std"] is None and r["ci_low"] is None and r["ci_high"] is None for r in single)


def test_csv_round_trips_through_pandas(board):
    back = pd.read_csv(io.StringIO(render_leaderboard(board, "csv")))
    assert list(back.columns) == COLUMNS
    assert len(back) == len(board)
    for column in ("track", "task", "dataset", "model", "metric"):
        assert back[column].tolist() == board[column].tolist()
    assert back["method"].fillna("").tolist() == board["method"].tolist()  # no method: an empty cell
    for column in ("mean", "std", "ci_low", "ci_high"):
        np.testing.assert_allclose(back[column], board[column].astype(float), rtol=1e-12, equal_nan=True)
    for column in ("n", "rank", "failed"):
        assert back[column].tolist() == board[column].tolist()
    assert back["higher_is_better"].tolist() == board["higher_is_better"].tolist()


def test_markdown_has_a_github_table_per_board(board):
    text = render_leaderboard(board, "md")
    boards = board.groupby(BOARD_KEYS, sort=False)
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert len(headings) == boards.ngroups == 6
    tables = github_tables(text)
    assert len(tables) == boards.ngroups
    for heading, table, ((track, task, dataset, metric), rows) in zip(headings, tables, boards):
        arrow = "lower is better" if metric == "loss" else "higher is better"
        assert heading == f"### {track} / {task} / {dataset} / {metric} ({arrow})"
        assert list(table[0]) == ["rank", "label", "model", "method", "mean", "std", "95% CI (t, clipped)", "n", "failed", "tied with"]
        assert [(r["rank"], r["label"], r["model"], r["method"]) for r in table] == [
            (str(k), label, m, me) for k, label, m, me in zip(rows["rank"], rows["label"], rows["model"], rows["method"])
        ]
        for shown, (_, row) in zip(table, rows.iterrows()):
            assert shown["mean"] == f"{row['mean']:.4f}"
            assert shown["n"] == str(row["n"]) and shown["failed"] == str(row["failed"])
            assert shown["tied with"] == ("" if row["reference"] else tie_text(row["tied_with"], row["untested"]))  # the JSON's columns
            if row["n"] > 1:
                assert shown["95% CI (t, clipped)"] == f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
            else:
                assert shown["95% CI (t, clipped)"] == "-" and shown["std"] == "-"


def test_markdown_rows_by_hand(board):
    table = github_tables(render_leaderboard(board, "md"))[0]  # kd / distillation / cifar10 / accuracy comes first
    assert [r["model"] for r in table] == ["resnet8"]
    digits_accuracy = next(t for t in github_tables(render_leaderboard(board, "md")) if any(r["model"] == "small_cnn" for r in t))
    row = next(r for r in digits_accuracy if r["model"] == "small_cnn")
    assert (row["mean"], row["n"], row["failed"], row["method"]) == ("0.8100", "2", "1", "")


def test_terminal_table_titles_every_board(board):
    text = render_leaderboard(board, "table")
    assert "|" not in text  # a plain table, not markdown
    for (track, task, dataset, metric), _ in board.groupby(BOARD_KEYS):
        assert f"{track} / {task} / {dataset} / {metric}" in text
    assert render_leaderboard(board) == text  # the default format


@pytest.mark.parametrize("fmt, expected", [("table", "(no results)"), ("md", "(no results)"), ("json", "[]")])
def test_an_empty_board(fmt, expected):
    assert render_leaderboard(pd.DataFrame(columns=LEADERBOARD_COLUMNS), fmt) == expected


def test_an_empty_board_as_csv_keeps_the_header():
    back = pd.read_csv(io.StringIO(render_leaderboard(pd.DataFrame(columns=LEADERBOARD_COLUMNS), "csv")))
    assert list(back.columns) == LEADERBOARD_COLUMNS and back.empty


def test_every_format_renders(board):
    assert FORMATS == ("table", "md", "csv", "json")
    for fmt in FORMATS:
        assert "resnet8" in render_leaderboard(board, fmt)


def test_results_paths_never_import_torch(tmp_path):
    """`podium leaderboard` and `podium report` must start fast: no torch on their path."""
    subprocess.run(
        [sys.executable, "-c", "import leaderboard, reports, sys; assert 'torch' not in sys.modules"],
        cwd=PROJECT, check=True, timeout=60,
    )
    script = f"""
import sys
from leaderboard import Store, leaderboard
from leaderboard.aggregate import failed_only
from reports import render_leaderboard, write_reports
from specs.record import RunRecord
with Store({str(tmp_path / 'p.duckdb')!r}) as store:
    store.ingest([(RunRecord(run_id='r', spec_name='s', track='kd', task='t', dataset='d', model='m', seed=0, status='ok',
                             started_at='2024-01-01T00:00:00+00:00', duration_s=1.0, device='cpu', spec={{}},
                             metrics={{'test': {{'accuracy': 1.0}}}}), 1.0)])
    for fmt in ('table', 'md', 'csv', 'json'):
        render_leaderboard(leaderboard(store), fmt)
    failed_only(store)
    assert write_reports(store, {str(tmp_path / 'out')!r})
loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))
assert not loaded, loaded
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- configurations, references, ties
@pytest.fixture
def configured(tmp_path):
    """A board of configurations (see ``report_records.configuration_records``)."""
    from leaderboard.store import Store

    with Store(tmp_path / "configs.duckdb") as opened:
        opened.ingest((r, 1.0) for r in configuration_records())
        yield opened


def test_two_configurations_of_one_spec_are_two_rows_with_their_labels(configured):
    board = leaderboard(configured)
    sweep = board[board["model"] == "mlp"]
    assert sweep["label"].tolist() == ["sweep[hidden=64]", "sweep[hidden=16]"] and sweep["n"].tolist() == [3, 3]
    assert sweep["configs"].tolist() == [1, 1] and sweep["entry"].nunique() == 2
    text = render_leaderboard(board)
    assert [line.split()[:2] for line in text.splitlines() if " mlp " in line] == [["1", "sweep[hidden=64]"], ["3", "sweep[hidden=16]"]]
    [table] = github_tables(render_leaderboard(board, "md"))
    assert {r["label"]: r["n"] for r in table if r["model"] == "mlp"} == {"sweep[hidden=64]": "3", "sweep[hidden=16]": "3"}
    rows = json.loads(render_leaderboard(board, "json"))
    assert {r["label"]: (r["n"], r["configs"], r["method"]) for r in rows if r["model"] == "mlp"} == {
        "sweep[hidden=64]": (3, 1, "vanilla_kd"), "sweep[hidden=16]": (3, 1, "vanilla_kd")}
    assert "pooled" not in text


def test_pooling_by_model_and_method_is_one_row_and_the_table_says_so(configured):
    board = leaderboard(configured, group_by=["model", "method"])
    [mlp] = board[board["model"] == "mlp"].to_dict("records")
    assert (mlp["configs"], mlp["n"], mlp["label"]) == (2, 6, "mlp vanilla_kd") and mlp["entry"].startswith("pooled:")
    text = render_leaderboard(board)
    assert "mlp vanilla_kd: pooled 2 configurations" in text.splitlines()
    md = render_leaderboard(board, "md")
    assert "\n\nmlp vanilla_kd: pooled 2 configurations" in md  # a paragraph of its own under the board
    [table] = github_tables(md)
    assert [r["n"] for r in table if r["label"] == "mlp vanilla_kd"] == ["6"]


def test_a_teacher_with_the_best_mean_is_ref_and_not_the_leader(configured):
    board = leaderboard(configured)
    teacher = board[board["model"] == "resnet56"].iloc[0]
    assert teacher["mean"] == board["mean"].max() and teacher["reference"] and pd.isna(teacher["rank"])
    [table] = github_tables(render_leaderboard(board, "md"))
    assert (table[0]["rank"], table[0]["label"]) == ("1", "sweep[hidden=64]")  # the leader is a competitor
    assert [(r["rank"], r["model"], r["method"]) for r in table][-1] == ("ref", "resnet56", "teacher")  # after the competitors
    assert [r["rank"] for r in table] == ["1", "2", "3", "ref"]
    text = render_leaderboard(board)
    rows = [line.split() for line in text.splitlines() if line.split() and line.split()[0] in ("1", "2", "3", "ref")]
    assert [(r[0], r[2]) for r in rows] == [("1", "mlp"), ("2", "small_cnn"), ("3", "mlp"), ("ref", "resnet56")]
    assert "ref: a reference (teacher, published result), not ranked" in text
    rows = json.loads(render_leaderboard(board, "json"))
    assert [r["rank"] for r in rows if r["reference"]] == [None]


def test_tied_with_lists_the_ranks_the_test_cannot_separate_and_the_note_names_the_test(configured):
    """No per-case values: Welch's test over the three seeds cannot separate baseline from the leader
    (p = .44) and separates both from sweep[hidden=16] (t > 11); the teacher is not tested."""
    board = leaderboard_with_ties(configured)
    [table] = github_tables(render_leaderboard(board, "md"))
    assert {r["label"]: r["tied with"] for r in table} == {"sweep[hidden=64]": "2", "baseline": "1", "sweep[hidden=16]": "none", "sweep": ""}
    text = render_leaderboard(board)
    marks = {line.split()[1]: line.split()[-1] for line in text.splitlines() if line.split() and line.split()[0] in ("1", "2", "3")}
    assert marks == {"sweep[hidden=64]": "2", "baseline": "1", "sweep[hidden=16]": "none"}  # the last column
    note = "tied with: the ranks of the entries this one cannot be separated from by Welch's t-test over seeds, two-sided (p-values adjusted by holm over 3 pairs, alpha 0.05)"
    assert note in text and "≈ leader" not in text
    rows = {r["label"]: r for r in json.loads(render_leaderboard(board, "json"))}
    assert rows["baseline"]["tied"] is True and rows["sweep[hidden=16]"]["tied"] is False and rows["sweep[hidden=64]"]["tied"] is False
    assert rows["sweep"]["tied"] is None and rows["sweep"]["test"] is None  # the reference: no verdict
    assert {r["test"] for r in rows.values() if not r["reference"]} == {"welch"}
    plain = render_leaderboard(leaderboard(configured))  # a board whose ties were not tested shows no tie column
    assert "tied with" not in plain and "sweep[hidden=64]" in plain


def test_no_printed_interval_of_a_bounded_accuracy_passes_one(configured):
    board = leaderboard(configured)
    teacher = board[board["model"] == "resnet56"].iloc[0]
    half = stats.t.ppf(0.975, 2) * np.std(TEACHER, ddof=1) / math.sqrt(3)
    assert teacher["mean"] + half > 1 and teacher["ci_high"] == 1.0  # clipped to the metric's range
    texts = [render_leaderboard(board, fmt) for fmt in ("table", "md")] + [render_wide(board, fmt) for fmt in ("table", "md")]
    for text in texts:
        pairs = intervals(text)
        assert len(pairs) >= 4 and all(0 <= low <= high <= 1 for low, high in pairs), text
    assert "[0.9823, 1.0000]" in texts[0]
    assert all(r["ci_high"] <= 1 for r in json.loads(render_leaderboard(board, "json")))


def test_wide_cells_are_mean_and_interval_and_the_table_says_what_the_brackets_are(configured, board):
    wide = render_wide(leaderboard(configured))
    header, rule, *rows = wide.splitlines()[1:7]
    assert header.split() == ["ref", "label", "model", "method", "n", "accuracy"]
    assert rows[0].split() == ["sweep[hidden=64]", "mlp", "vanilla_kd", "3", "0.9100", "[0.8852,", "0.9348]"]
    assert rows[-1].split() == ["ref", "sweep", "resnet56", "teacher", "3", "0.9967", "[0.9823,", "1.0000]"]
    assert "cells: mean [95% CI (t, clipped)], the 95% Student-t interval of the mean over seeds, clipped to the metric's range" in wide
    assert "±" not in wide
    digits = render_wide(board, "md").split("### kd / distillation / digits\n", 1)[1].split("### ", 1)[0]
    [table] = github_tables(digits)  # the report records: one seed has no interval
    cells = {r["label"]: (r["n"], r["accuracy"], r["loss"]) for r in table}
    resnet8 = board[(board["model"] == "resnet8") & (board["dataset"] == "digits")].set_index("metric")
    assert cells[resnet8.loc["accuracy", "label"]] == ("3", *(f"{r['mean']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]" for _, r in resnet8.iterrows()))
    assert [v for label, v in cells.items() if "resnet20" in label] == [("1", "0.9500", "0.2000")]  # one seed: the mean alone
    assert "ref" not in table[0]  # no reference on this table: no ref column


def test_wide_json_and_csv_carry_each_metrics_mean_and_interval(configured):
    board = leaderboard(configured)
    rows = json.loads(render_wide(board, "json"), parse_constant=_refuse_nan)
    assert [r["label"] for r in rows] == ["sweep[hidden=64]", "baseline", "sweep[hidden=16]", "sweep"]
    teacher = rows[-1]
    assert teacher["reference"] is True and teacher["n"] == 3 and teacher["accuracy ci_high"] == 1.0
    back = pd.read_csv(io.StringIO(render_wide(board, "csv")))
    assert list(back.columns) == ["track", "task", "dataset", "entry", "label", "model", "method", "reference", "n",
                                  "accuracy", "accuracy ci_low", "accuracy ci_high"]


def test_per_class_tables_are_by_entry_label(store, tmp_path):
    from leaderboard.store import Store
    from tests.reports.report_records import make_record

    with Store(tmp_path / "parts.duckdb") as parts:
        parts.ingest((make_record("unet", None, s, metrics={"test": {"seg_iou": 0.5, "seg_iou/cell": 0.4 + h / 1000}}, params={"depth": h},
                                  track="mtneuro", task="segmentation", dataset="xray"), 1.0) for h in (2, 3) for s in range(2))
        text = render_leaderboard(leaderboard(parts), "md")
    [_, per_class] = github_tables(text)
    assert [(r["label"], r["cell"]) for r in per_class] == [("mtneuro-xray[depth=3]", "0.4030"), ("mtneuro-xray[depth=2]", "0.4020")]
