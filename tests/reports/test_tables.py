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
from tests.reports.report_records import github_tables

from leaderboard import LEADERBOARD_COLUMNS, leaderboard
from reports.tables import FORMATS, render_leaderboard

PROJECT = Path(__file__).resolve().parents[2]
BOARD_KEYS = ["track", "task", "dataset", "metric"]
REQUIRED_JSON_KEYS = {"track", "task", "dataset", "model", "method", "metric", "mean", "std", "n", "ci_low", "ci_high", "rank"}


@pytest.fixture
def board(store) -> pd.DataFrame:
    return leaderboard(store)


def _refuse_nan(constant: str):
    raise ValueError(f"{constant} is not JSON")


def test_json_is_a_list_of_objects_with_nan_as_null(board):
    rows = json.loads(render_leaderboard(board, "json"), parse_constant=_refuse_nan)  # strict JSON: no NaN
    assert isinstance(rows, list) and len(rows) == len(board)
    for row, (_, expected) in zip(rows, board.iterrows()):
        assert REQUIRED_JSON_KEYS <= set(row)
        assert set(row) == set(LEADERBOARD_COLUMNS)
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
    assert list(back.columns) == LEADERBOARD_COLUMNS
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
        assert [(r["rank"], r["model"], r["method"]) for r in table] == [
            (str(k), m, me) for k, m, me in zip(rows["rank"], rows["model"], rows["method"])
        ]
        for shown, (_, row) in zip(table, rows.iterrows()):
            assert shown["mean"] == f"{row['mean']:.4f}"
            assert shown["n"] == str(row["n"]) and shown["failed"] == str(row["failed"])
            if row["n"] > 1:
                assert shown["95% CI"] == f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
            else:
                assert shown["95% CI"] == "-" and shown["std"] == "-"


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
