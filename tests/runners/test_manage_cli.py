"""Managing results: podium runs (list, show, rm, tag), export and import, leaderboard filters."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from runners.cli import main
from specs.hashing import stable_hash
from tests.leaderboard.conftest import make_record


def write_results(root, entries):
    """Record files as `podium run` leaves them; ``entries``: (model, method, [values per seed], status)."""
    records = []
    for model, method, values, status in entries:
        for seed, value in enumerate(values):
            record = make_record(model, method, seed, status=status, metrics={"test": {"accuracy": value}} if status == "ok" else {},
                                 bounds={"accuracy": (0.0, 1.0)}, run_id=stable_hash([model, method, seed]))  # hex, as real ids
            folder = root / "runs" / record.run_id
            folder.mkdir(parents=True)
            (folder / "record.json").write_text(record.model_dump_json(indent=1))
            if status == "failed":
                (folder / "error.txt").write_text("Traceback ...\nRuntimeError: boom\n")
            records.append(record)
    return records


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    write_results(root, [("small_cnn", "vanilla_kd", [0.90, 0.92, 0.94], "ok"), ("small_cnn", "student_only", [0.85, 0.86], "ok"),
                         ("resnet56", "vanilla_kd", [0.0], "failed")])
    return root


def board(results, capsys, *args) -> list[dict]:
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(results), "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def listed(results, capsys, *args) -> list[dict]:
    capsys.readouterr()
    assert main(["runs", "--results", str(results), "--format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_runs_lists_with_filters(results, capsys):
    assert len(listed(results, capsys)) == 6
    assert {r["status"] for r in listed(results, capsys, "--status", "failed")} == {"failed"}
    assert {r["method"] for r in listed(results, capsys, "--method", "student_only")} == {"student_only"}
    assert [r["seed"] for r in listed(results, capsys, "--seed", "2")] == [2]
    assert {r["model"] for r in listed(results, capsys, "--model", "resnet56")} == {"resnet56"}
    assert listed(results, capsys, "--spec", "no-such-spec") == []
    capsys.readouterr()
    assert main(["runs", "list", "--results", str(results)]) == 0
    assert "6 runs (5 ok, 1 failed)" in capsys.readouterr().out


def test_runs_show_by_prefix_and_a_bad_prefix_exits_2(results, capsys):
    run = listed(results, capsys, "--method", "student_only", "--seed", "0")[0]["run_id"]
    capsys.readouterr()
    assert main(["runs", "show", run[:8], "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert run in out and "accuracy" in out and "0.85" in out
    assert main(["runs", "show", run, "--format", "json", "--results", str(results)]) == 0
    assert json.loads(capsys.readouterr().out)["run_id"] == run
    assert main(["runs", "show", "", "--results", str(results)]) == 2  # the start of every id
    assert "give more of it" in capsys.readouterr().err
    assert main(["runs", "show", "zzz", "--results", str(results)]) == 2


def test_rm_removes_a_run_from_every_board_and_its_folder(results, capsys):
    before = {r["method"]: r["n"] for r in board(results, capsys)}
    run = listed(results, capsys, "--method", "vanilla_kd", "--seed", "1", "--status", "ok")[0]["run_id"]
    capsys.readouterr()
    assert main(["runs", "rm", run, "--results", str(results)]) == 0
    assert f"removed {run}" in capsys.readouterr().out
    assert not (results / "runs" / run).exists()
    after = {r["method"]: r["n"] for r in board(results, capsys)}
    assert after == {**before, "vanilla_kd": before["vanilla_kd"] - 1}
    (results / "podium.duckdb").unlink()  # rebuilt from the records: the run stays gone
    assert {r["method"]: r["n"] for r in board(results, capsys)} == after


def test_rm_failed_and_by_spec_and_dry_run(results, capsys):
    assert main(["runs", "rm", "--failed", "--dry-run", "--results", str(results)]) == 0
    assert "1 runs would be removed" in capsys.readouterr().out
    assert len(listed(results, capsys, "--status", "failed")) == 1
    assert main(["runs", "rm", "--failed", "--results", str(results)]) == 0
    assert listed(results, capsys, "--status", "failed") == []
    assert main(["runs", "rm", "--results", str(results)]) == 2  # says which runs
    assert main(["runs", "rm", "--spec", "kd-digits", "--results", str(results)]) == 0
    assert listed(results, capsys) == []


def test_a_record_folder_removed_by_hand_disappears_at_the_next_command(results, capsys):
    runs = listed(results, capsys, "--method", "student_only")
    shutil.rmtree(results / "runs" / runs[0]["run_id"])
    row = next(r for r in board(results, capsys, "--method", "student_only"))
    assert row["n"] == 1


def test_tags_filter_the_leaderboard(results, capsys):
    run = listed(results, capsys, "--method", "student_only", "--seed", "0")[0]["run_id"]
    capsys.readouterr()
    assert main(["runs", "tag", run, "paper", "--results", str(results)]) == 0
    assert json.loads((results / "runs" / run / "tags.json").read_text()) == ["paper"]
    tagged = board(results, capsys, "--tag", "paper")
    assert [(r["method"], r["n"]) for r in tagged] == [("student_only", 1)]
    assert listed(results, capsys, "--tag", "paper")[0]["tags"] == "paper"
    assert main(["runs", "tag", run, "paper", "--remove", "--results", str(results)]) == 0
    assert board(results, capsys, "--tag", "paper") == []


def test_leaderboard_filters_by_metric_dataset_model_and_method(results, capsys):
    assert {r["metric"] for r in board(results, capsys, "--metric", "accuracy")} == {"accuracy"}
    assert board(results, capsys, "--metric", "loss") == []
    assert board(results, capsys, "--dataset", "cifar10") == []
    assert {r["model"] for r in board(results, capsys, "--model", "small_cnn")} == {"small_cnn"}
    assert {r["method"] for r in board(results, capsys, "--method", "vanilla_kd", "--method", "student_only")} == {"vanilla_kd", "student_only"}


def test_export_then_import_elsewhere_skips_what_is_present(results, tmp_path, capsys):
    bundle = tmp_path / "bundle.parquet"
    assert main(["export", "--out", str(bundle), "--results", str(results)]) == 0
    assert "6 runs" in capsys.readouterr().out
    frame = pd.read_parquet(bundle)
    assert len(frame) == 6 and {"run_id", "config_id", "record_json", "sha256", "tags"} <= set(frame.columns)
    other = tmp_path / "other"
    assert main(["import", str(bundle), "--results", str(other)]) == 0
    assert "6 runs added, 0 already present, 0 refused" in capsys.readouterr().out
    assert board(results, capsys) == board(other, capsys)
    failed = next(r for r in listed(other, capsys, "--status", "failed"))
    assert (other / "runs" / failed["run_id"] / "error.txt").read_text().endswith("RuntimeError: boom\n")
    capsys.readouterr()
    assert main(["import", str(bundle), "--results", str(other)]) == 0  # twice: nothing changes
    assert "0 runs added, 6 already present" in capsys.readouterr().out


def test_a_tampered_bundle_row_is_refused_and_the_rest_imported(results, tmp_path, capsys):
    bundle = tmp_path / "bundle.parquet"
    assert main(["export", "--out", str(bundle), "--results", str(results)]) == 0
    import pyarrow.parquet as pq

    table = pq.read_table(bundle)
    frame = table.to_pandas()
    frame.loc[0, "record_json"] = frame.loc[0, "record_json"].replace('"device": "cpu"', '"device": "cuda:0"')
    import pyarrow as pa

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(table.schema.metadata), bundle)
    capsys.readouterr()
    assert main(["import", str(bundle), "--results", str(tmp_path / "other")]) == 0
    captured = capsys.readouterr()
    assert "5 runs added, 0 already present, 1 refused" in captured.out
    assert "does not match its sha256" in captured.err


def test_import_of_a_file_that_is_not_a_bundle_exits_2(tmp_path, capsys):
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(plain)
    assert main(["import", str(plain), "--results", str(tmp_path / "r")]) == 2
    assert "not a Podium results bundle" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "missing.parquet"), "--results", str(tmp_path / "r")]) == 2
