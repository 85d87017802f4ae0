"""Hostile command lines: every mistake is one `error:` line on stderr and exit 2, never a traceback;
a damaged store or a poisoned record is one note or warning line, and the command still answers."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from runners.cli import main
from tests.conftest import PROJECT
from tests.runners.test_manage_cli import write_results


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    records = write_results(root, [("small_cnn", "vanilla_kd", [0.90, 0.92, 0.94], "ok"), ("small_cnn", "student_only", [0.85, 0.86], "ok")])
    for record in records:  # per-case values, for `podium rank`
        path = root / "runs" / record.run_id / "record.json"
        data = json.loads(path.read_text())
        data["cases"] = {"accuracy": [1.0, 0.0, 1.0, 0.5]}
        path.write_text(json.dumps(data))
    return root


@pytest.fixture
def baseline(results, tmp_path, capsys):
    path = tmp_path / "baseline.json"
    assert main(["baseline", "save", "--results", str(results), "--out", str(path)]) == 0
    capsys.readouterr()
    return path


def one_error(capsys, argv: list[str], *, says: str = "") -> str:
    """Run ``podium argv`` in this process; it must exit 2 with exactly one `error:` line (containing ``says``)."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert says in errors[0], err
    return errors[0]


def as_user(*argv: str) -> subprocess.CompletedProcess:
    """``python -m runners.cli ARGV`` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "runners.cli", *argv], cwd=PROJECT, capture_output=True, text=True, timeout=120)


def assert_one_error_line(done: subprocess.CompletedProcess, says: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.stderr


# ---------------------------------------------------------------- podium rank


@pytest.mark.parametrize(("args", "says"), [
    (["--bootstrap", "0"], "--bootstrap 0: expected a positive number of resamples"),
    (["--bootstrap", "-3"], "--bootstrap -3"),
    (["--bootstrap", "1000000000"], "the bound is 1 GiB"),
    (["--bootstrap", "40000000"], "2 algorithms x 4 cases x 40000000 resamples"),
    (["--seed", "-1"], "--seed -1: expected a non-negative integer"),
    (["--bootstrap", "ten"], "'ten' is not a valid integer"),
])
def test_rank_refuses_resamples_and_seeds_it_cannot_use(results, capsys, args, says):
    one_error(capsys, ["rank", "--track", "kd", "--metric", "accuracy", *args, "--results", str(results)], says=says)


def test_rank_refuses_empty_names_and_a_spec_override_out_of_range(results, capsys):
    one_error(capsys, ["rank", "--track", "", "--metric", "accuracy", "--results", str(results)], says="--track")
    one_error(capsys, ["rank", "--track", "kd", "--metric", "", "--results", str(results)], says="--metric")
    spec = str(PROJECT / "specs/challenges/ranking_demo.yaml")
    one_error(capsys, ["rank", spec, "--bootstrap", "0", "--results", str(results)], says="--bootstrap 0")


def test_rank_bootstrap_bound_names_the_bound_as_a_user_sees_it(results):
    done = as_user("rank", "--track", "kd", "--metric", "accuracy", "--bootstrap", "1000000000", "--results", str(results))
    assert_one_error_line(done, "2 algorithms x 4 cases x 1000000000 resamples would take 44.7 GiB; the bound is 1 GiB, ")
    most = int(done.stderr.split("the bound is 1 GiB, ")[1].split()[0])
    assert 10**6 < most < 10**9
    assert_one_error_line(as_user("rank", "--track", "kd", "--metric", "accuracy", "--bootstrap", "0", "--results", str(results)), "--bootstrap 0")


# ---------------------------------------------------------------- report, export, baseline save: where they write


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("taken")
    return path


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_report_out_must_be_a_folder_it_can_make(results, capsys, a_file, fmt):
    report = ["report", "--format", fmt, "--results", str(results), "--out"]
    one_error(capsys, [*report, str(a_file)], says=f"--out {a_file}: a file, not a folder")
    one_error(capsys, [*report, str(a_file / "below")], says="cannot create the folder")
    one_error(capsys, [*report, "/proc/podium-cannot-be-here"], says="cannot create the folder")  # not writable, even by root
    one_error(capsys, [*report, ""], says="--out")
    assert a_file.read_text() == "taken"


def test_export_out_must_be_a_file_it_can_write(results, capsys, a_file, tmp_path):
    export = ["export", "--results", str(results), "--out"]
    one_error(capsys, [*export, str(a_file / "x.parquet")], says=f"{a_file} is a file, not a folder")
    one_error(capsys, [*export, str(tmp_path)], says="a folder; give the bundle's file name")
    one_error(capsys, [*export, "/proc/podium/x.parquet"], says="cannot write the bundle")
    one_error(capsys, [*export, ""], says="give the bundle's file name")
    assert main([*export, str(tmp_path / "missing" / "deeper" / "x.parquet")]) == 0  # a missing folder is made


def test_baseline_save_out_must_be_a_file_it_can_write(results, capsys, a_file, tmp_path):
    save = ["baseline", "save", "--results", str(results)]
    one_error(capsys, [*save, "--out", str(tmp_path)], says="a folder; give a file name")
    one_error(capsys, [*save, "--out", str(a_file / "b.json")], says="a file, not a folder")
    one_error(capsys, [*save, "--out", "/proc/podium.json"], says="/proc/podium.json")
    one_error(capsys, [*save, "--out", str(tmp_path / "b.json"), "--track", ""], says="--track")


def test_report_out_a_file_as_a_user_sees_it(results, a_file):
    assert_one_error_line(as_user("report", "--results", str(results), "--out", str(a_file)), "a file, not a folder")
    assert_one_error_line(as_user("export", "--results", str(results), "--out", str(a_file / "x.parquet")), "is a file, not a folder")


# ---------------------------------------------------------------- podium check: baselines outside their allowed values


def edit(path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def row0(data: dict) -> dict:
    return data["rows"][0]


BASELINE_FAULTS = {
    "a negative seed": (lambda d: row0(d)["values"].update({"-1": 0.5}), "greater than or equal to 0"),
    "a seed beyond 64 bits": (lambda d: row0(d)["values"].update({str(2**70): 0.5}), "less than or equal to 9223372036854775807"),
    "a seed that is no number": (lambda d: row0(d)["values"].update({"first": 0.5}), "valid integer"),
    "NaN": (lambda d: row0(d)["values"].update({"0": float("nan")}), "finite number"),
    "infinity": (lambda d: row0(d)["values"].update({"0": float("-inf")}), "finite number"),
    "a value as text": (lambda d: row0(d)["values"].update({"0": "0.9"}), "valid number"),
    "a value that is true": (lambda d: row0(d)["values"].update({"0": True}), "valid number"),
    "no values": (lambda d: row0(d).update(values={}), "at least 1 item"),
    "a direction as text": (lambda d: row0(d).update(higher_is_better="yes"), "rows.0.higher_is_better"),
    "an unknown verdict field": (lambda d: row0(d).update(verdict="ok"), "rows.0.verdict: Extra inputs are not permitted"),
    "an unknown top-level field": (lambda d: d.update(verdicts={}), "verdicts: Extra inputs"),
    "a track that is a number": (lambda d: row0(d).update(track=5), "rows.0.track"),
    "an empty metric": (lambda d: row0(d).update(metric=""), "rows.0.metric"),
    "an empty split": (lambda d: d.update(split=""), "split"),
    "provenance that is no list": (lambda d: d.update(provenance={"torch": "2.0"}), "provenance.torch"),
    "another format version": (lambda d: d.update(podium_baseline=3), "podium_baseline"),
    "rows that are no list": (lambda d: d.update(rows={"a": 1}), "rows"),
}


@pytest.mark.parametrize("fault", BASELINE_FAULTS)
def test_check_refuses_a_baseline_outside_its_allowed_values(results, baseline, capsys, fault):
    change, says = BASELINE_FAULTS[fault]
    edit(baseline, change)
    line = one_error(capsys, ["check", "--baseline", str(baseline), "--results", str(results)], says=says)
    assert f"{baseline}: not a Podium baseline: " in line


@pytest.mark.parametrize(("content", "says"), [
    ("", "not valid JSON"),
    ("[" * 100_000, "not valid JSON"),  # nested past Python's recursion limit
    ("[1, 2]", "(top level)"),
    ("\xff\xfe", "not valid JSON"),
])
def test_check_refuses_a_baseline_that_is_not_one(results, tmp_path, capsys, content, says):
    path = tmp_path / "b.json"
    path.write_text(content, encoding="latin-1")
    one_error(capsys, ["check", "--baseline", str(path), "--results", str(results)], says=says)


def test_check_refuses_a_folder_for_a_baseline_and_bad_tolerances(results, baseline, tmp_path, capsys):
    one_error(capsys, ["check", "--baseline", str(tmp_path), "--results", str(results)], says="no such baseline file")
    for text in ("accuracy=abs:nan", "accuracy=abs:-1", "=abs:1", "accuracy=pct:1", "accuracy"):
        one_error(capsys, ["check", "--baseline", str(baseline), "--results", str(results), "--tolerance", text], says="--tolerance")
    one_error(capsys, ["check", "--baseline", str(baseline), "--results", str(results), "--alpha", "nan"], says="--alpha")


def test_check_of_a_bad_baseline_as_a_user_sees_it(results, baseline):
    edit(baseline, lambda d: row0(d)["values"].update({"-4": 0.5}))
    assert_one_error_line(as_user("check", "--baseline", str(baseline), "--results", str(results)), "not a Podium baseline")


def test_a_stored_spec_with_an_invalid_check_leaves_the_default_rule(results, baseline, capsys):
    for path in (results / "runs").glob("*/record.json"):  # hand-edited records: a check the spec schema would refuse
        edit(path, lambda d: d["spec"].update(check={"accuracy": {"abs": "lots"}, "loss": [1]}))
    capsys.readouterr()
    assert main(["check", "--baseline", str(baseline), "--results", str(results)]) == 0
    assert "Traceback" not in capsys.readouterr().err


# ---------------------------------------------------------------- podium import


def test_import_refuses_truncated_and_foreign_files(results, tmp_path, capsys, a_file):
    bundle = tmp_path / "b.parquet"
    assert main(["export", "--results", str(results), "--out", str(bundle)]) == 0
    data = bundle.read_bytes()
    target = ["--results", str(tmp_path / "merged")]
    for cut in (0, 4, 100, len(data) // 2, len(data) - 1):
        (tmp_path / "t.parquet").write_bytes(data[:cut])
        one_error(capsys, ["import", str(tmp_path / "t.parquet"), *target], says="not a parquet file")
    one_error(capsys, ["import", str(a_file), *target], says="not a parquet file")
    one_error(capsys, ["import", str(tmp_path), *target], says="no such bundle file")
    one_error(capsys, ["import", str(bundle), "--results", str(a_file)], says="a file, not a results folder")
    assert_one_error_line(as_user("import", str(tmp_path / "t.parquet"), *target), "not a parquet file")


def test_import_refuses_a_run_id_that_is_a_path(results, tmp_path, capsys):
    import hashlib

    import pyarrow.parquet as pq

    bundle = tmp_path / "b.parquet"
    assert main(["export", "--results", str(results), "--out", str(bundle)]) == 0
    table = pq.read_table(bundle)
    frame = table.to_pandas()
    record = json.loads(frame.loc[0, "record_json"])
    record["run_id"] = "../../escaped"
    text = json.dumps(record)
    frame.loc[0, ["run_id", "record_json", "sha256"]] = ["../../escaped", text, hashlib.sha256(text.encode()).hexdigest()]
    import pyarrow as pa

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(table.schema.metadata), bundle)
    capsys.readouterr()
    merged = tmp_path / "merged"
    assert main(["import", str(bundle), "--results", str(merged)]) == 0
    err = capsys.readouterr().err
    assert "warning: refused" in err and "is not a plain name" in err
    assert not (tmp_path / "escaped").exists() and not (merged.parent / "escaped").exists()
    assert len(list((merged / "runs").glob("*/record.json"))) == len(frame) - 1


# ---------------------------------------------------------------- the store: damaged, locked, poisoned


def test_a_damaged_store_is_one_note_and_the_command_answers(results):
    (results / "podium.duckdb").write_bytes(b"\0" * 5000)
    done = as_user("leaderboard", "--results", str(results), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"note: {results / 'podium.duckdb'} ") and "moved aside" in lines[0], done.stderr
    assert list(results.glob("podium.duckdb.broken-*"))


def test_a_poisoned_record_is_one_warning_and_the_command_answers(results):
    path = next((results / "runs").glob("*/record.json"))
    edit(path, lambda d: d.update(seed=2**70))
    done = as_user("runs", "--results", str(results), "--format", "json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 4
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: skipped {path}: cannot be stored: seed"), done.stderr


def test_a_store_locked_by_another_process_is_one_error(results, capsys, monkeypatch):
    from leaderboard import store as store_module

    def locked(path, read_only, wait_s):
        raise store_module.StoreLocked(f"{path} is in use by another process: IO Error: Could not set lock on file")

    monkeypatch.setattr(store_module, "_connect", locked)
    one_error(capsys, ["leaderboard", "--results", str(results)], says="is in use by another process")


def test_run_into_a_file_is_one_error_and_nothing_runs(tmp_path, capsys, a_file):
    from tests.runners.conftest import digits_spec, write_spec

    spec = write_spec(tmp_path, digits_spec())
    one_error(capsys, ["run", str(spec), "--results", str(a_file)], says=f"{a_file}: a file, not a results folder")
    assert a_file.read_text() == "taken"


@pytest.mark.parametrize("argv", [
    ["leaderboard", "--track", "\udcff"], ["runs", "show", "ab\udcfe"], ["runs", "--spec=x\udcff"], ["rank", "--track", "kd", "--metric", "\udcff"],
])
def test_names_that_are_not_utf8_are_one_error(results, capsys, argv):
    one_error(capsys, [*argv, "--results", str(results)], says="is not UTF-8 text")


def test_a_name_that_is_not_utf8_as_a_user_sees_it_and_a_path_that_is_not_is_fine(results, tmp_path):
    done = subprocess.run([sys.executable, "-m", "runners.cli", "leaderboard", "--track", b"\xff", "--results", str(results)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert_one_error_line(done, "is not UTF-8 text")
    out = str(tmp_path).encode() + b"/report-\xff"
    done = subprocess.run([sys.executable, "-m", "runners.cli", "report", "--results", str(results), "--out", out], cwd=PROJECT,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
