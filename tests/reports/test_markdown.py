"""The markdown report: one file per track with its leaderboards, failures and provenance."""
from __future__ import annotations

import numpy as np
from tests.reports.report_records import CPU, GPU, github_tables

from leaderboard.significance import leaderboard_with_ties
from reports.markdown import write_reports
from reports.tables import render_leaderboard


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section."""
    body = text.split(f"## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def test_one_file_per_track(store, tmp_path):
    out = tmp_path / "reports" / "nested"  # created
    paths = write_reports(store, out)
    assert paths == [out / "kd.md", out / "scaling.md"]
    assert sorted(p.name for p in out.iterdir()) == ["kd.md", "scaling.md"]
    kd, scaling = (p.read_text(encoding="utf-8") for p in paths)
    assert kd.startswith("# Track `kd`\n") and scaling.startswith("# Track `scaling`\n")
    assert "vit-b-32" not in kd and "resnet8" not in scaling


def test_report_holds_the_tracks_leaderboard(store, tmp_path):
    kd = write_reports(store, tmp_path)[0].read_text(encoding="utf-8")
    assert "from 8 successful and 2 failed runs" in kd
    assert "`test` split" in kd
    assert render_leaderboard(leaderboard_with_ties(store, "kd"), "md") in section(kd, "Leaderboards")  # ties tested as podium leaderboard tests them
    headings = [line for line in kd.splitlines() if line.startswith("### ")]
    assert headings == [
        "### kd / distillation / cifar10 / accuracy (higher is better)",
        "### kd / distillation / cifar10 / loss (lower is better)",
        "### kd / distillation / digits / accuracy (higher is better)",
        "### kd / distillation / digits / loss (lower is better)",
    ]


def test_report_lists_entries_with_only_failed_runs(store, tmp_path):
    kd, scaling = (p.read_text(encoding="utf-8") for p in write_reports(store, tmp_path))
    [failures] = github_tables(section(kd, "Entries with only failed runs"))
    assert [(r["model"], r["method"], r["failed"], r["last_error"]) for r in failures] == [
        ("resnet56", "vanilla_kd", "1", "RuntimeError: boom")
    ]
    assert "Entries with only failed runs" not in scaling


def test_provenance_table_comes_from_the_records(store, tmp_path):
    kd, scaling = (p.read_text(encoding="utf-8") for p in write_reports(store, tmp_path))
    [rows] = github_tables(section(kd, "Provenance"))
    assert {k for k in rows[0]} >= {"device", "hardware", "torch", "cuda", "podium", "commit", "runs"}
    got = {(r["device"], r["hardware"], r["torch"], r["cuda"], r["podium"], r["commit"], r["runs"]) for r in rows}
    assert got == {
        ("cuda:0", GPU["device_name"], GPU["torch"], GPU["cuda"], "0.1.0", GPU["git_commit"], "7"),
        ("cpu", CPU["device_name"], CPU["torch"], "-", "0.1.0", CPU["git_commit"], "3"),  # no CUDA: shown as -
    }
    assert [r["runs"] for r in rows] == ["7", "3"]  # most runs first
    [rows] = github_tables(section(scaling, "Provenance"))
    assert [(r["device"], r["torch"], r["commit"], r["runs"]) for r in rows] == [("cpu", CPU["torch"], CPU["git_commit"], "2")]


def test_report_of_another_split(store, tmp_path):
    kd = write_reports(store, tmp_path, split="val")[0].read_text(encoding="utf-8")
    assert "`val` split" in kd
    assert "loss" not in section(kd, "Leaderboards")  # only accuracy was measured on val
    assert render_leaderboard(leaderboard_with_ties(store, "kd", "val"), "md") in kd


def test_an_empty_store_writes_no_report(tmp_path):
    from leaderboard.store import Store

    with Store(tmp_path / "empty.duckdb") as store:
        assert write_reports(store, tmp_path / "out") == []


def test_report_draws_a_blob_plot_per_board_with_per_case_values(tmp_path):
    """Three algorithms with per-image accuracies: the report gets one rank-distribution plot."""
    from leaderboard.store import Store
    from tests.reports.report_records import make_record

    rng = np.random.default_rng(0)
    records = []
    for model, skill in [("resnet8", 0.9), ("small_cnn", 0.7), ("resnet20", 0.8)]:
        for seed in (0, 1):
            correct = (rng.random(60) < skill).astype(float).tolist()
            record = make_record(model, "vanilla_kd", seed, metrics={"test": {"accuracy": float(np.mean(correct))}})
            records.append(record.model_copy(update={"cases": {"accuracy": correct}}))
    with Store(tmp_path / "podium.duckdb") as store:
        store.ingest((r, 1.0) for r in records)
        kd = write_reports(store, tmp_path / "out")[0].read_text(encoding="utf-8")
    body = section(kd, "Ranking stability")
    assert "![kd-ranks-accuracy-distillation-digits](kd-ranks-accuracy-distillation-digits.png)" in body
    png = tmp_path / "out" / "kd-ranks-accuracy-distillation-digits.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_ranking_section_without_per_case_values(store, tmp_path):
    kd = write_reports(store, tmp_path)[0].read_text(encoding="utf-8")
    assert "## Ranking stability" not in kd
    assert not list(tmp_path.glob("*ranks*.png"))


def test_report_boards_are_configurations_with_the_teacher_as_an_unranked_reference(tmp_path):
    """Two configurations of one spec (hidden 16 and 64), a tied entry of another spec, and a teacher
    with the best mean: the report's board ranks the competitors, shows the teacher as ``ref`` after
    them, lists the ties Welch's test over the seeds finds, and prints no interval past an accuracy of 1."""
    from leaderboard.store import Store
    from tests.reports.report_records import configuration_records, intervals

    with Store(tmp_path / "podium.duckdb") as store:
        store.ingest((r, 1.0) for r in configuration_records())
        kd = write_reports(store, tmp_path / "out")[0].read_text(encoding="utf-8")
    board = section(kd, "Leaderboards")
    [table] = github_tables(board)
    assert [(r["rank"], r["label"], r["model"], r["method"], r["n"], r["tied with"]) for r in table] == [
        ("1", "sweep[hidden=64]", "mlp", "vanilla_kd", "3", "2"),
        ("2", "baseline", "small_cnn", "student_only", "3", "1"),
        ("3", "sweep[hidden=16]", "mlp", "vanilla_kd", "3", "none"),
        ("ref", "sweep", "resnet56", "teacher", "3", ""),  # a reference is not tested
    ]
    assert "ref: a reference (teacher, published result), not ranked" in board
    assert "tied with: the ranks of the entries this one cannot be separated from by Welch's t-test over seeds, two-sided " \
           "(p-values adjusted by holm over 3 pairs, alpha 0.05)" in board
    assert "`tied with` lists the ranks" in kd
    assert all(high <= 1 for _, high in intervals(board)) and "[0.9823, 1.0000]" in board
    assert "An entry is one configuration" in kd
