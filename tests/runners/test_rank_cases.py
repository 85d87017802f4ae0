"""``podium rank --cases FILE`` and ``podium report --cases FILE``: a challenge's results ranked from a
file in challengeR's long format, with no results folder; every bad file is one `error: FILE: ...`
line and exit 2. And the rules on the command line and in a ranking spec."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from runners.cli import main
from tests.conftest import PROJECT
from tests.runners.test_cli_inputs import as_user, assert_one_error_line, one_error
from tests.runners.test_manage_cli import write_results

DEMO = PROJECT / "specs/challenges/cases_demo.csv"


def test_the_shipped_cases_file_is_ranked_by_every_method_with_its_bootstrap(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no results folder anywhere near
    capsys.readouterr()
    assert main(["rank", "--cases", str(DEMO), "--bootstrap", "40"]) == 0
    out = capsys.readouterr().out
    assert f"{DEMO}: 2 tasks, 4 algorithms, 24 cases, 1 missing result" in out
    assert "task liver_dice: 4 algorithms, 12 cases, higher is better" in out and "task liver_hd95: 4 algorithms, 12 cases, lower is better" in out
    for method in ("mean", "median", "rank_then_mean", "test"):
        assert f"liver_dice / {method}: ranking over 12 cases, 40 bootstrap resamples" in out
        assert f"consensus of 2 tasks by {method} (mean rank):" in out
    assert "ranks by method:" in out and "Kendall's tau between the full ranking and the bootstrap rankings: median" in out
    assert "podium rules: ties within a case: mean; ties: min; missing: ranked below its case's worst" in out
    assert not (tmp_path / "results").exists()


def test_the_challenger_preset_refuses_the_missing_result_where_a_method_needs_a_value(capsys):
    line = one_error(capsys, ["rank", "--cases", str(DEMO), "--bootstrap", "10", "--preset", "challengeR"], says=f"{DEMO}: task 'liver_dice': ")
    assert "1 missing result: method mean needs a value for each (missing: worst, remove or a number)" in line
    capsys.readouterr()
    assert main(["rank", "--cases", str(DEMO), "--bootstrap", "10", "--preset", "challengeR", "--method", "rank_then_mean"]) == 0
    out = capsys.readouterr().out
    assert "challengeR rules: ties within a case: min; ties: min; missing: ranked below its case's worst; bootstrap: a case drawn more than once is ranked once among its copies" in out
    assert main(["rank", "--cases", str(DEMO), "--bootstrap", "10", "--preset", "challengeR", "--missing", "0", "--method", "test", "--p-adjust", "BH"]) == 0
    out = capsys.readouterr().out
    assert "challengeR rules: one-sided Wilcoxon signed-rank, normal approximation with continuity correction, p-values adjusted by BH" in out
    assert "missing: counts as 0" in out and "consensus of 2 tasks by test" in out


def write(tmp_path, text: str, name: str = "cases.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "task,case,algorithm,value\nT,c1,a,0.9\nT,c1,b,0.5\nT,c2,a,0.8\nT,c2,b,0.6\nT,c3,a,0.7\nT,c3,b,0.4\n"


@pytest.mark.parametrize(("text", "says"), [
    ("", "empty file"),
    ("task,case,algorithm,value\n", "no rows"),
    ("task,case,value\nT,c1,0.5\n", "missing column algorithm (challengeR's long format: task, case, algorithm, value; found: task, case, value)"),
    ("id,score\n1,2\n", "missing columns case, algorithm, value"),
    ("task,case,algorithm,value\nT,c1,a,0.9\nT,c1,b,high\n", "row 3: value 'high' is not a number (a missing result is empty or NA)"),
    ("task,case,algorithm,value\nT,c1,a,0.9\nT,c1,b,inf\n", "row 3: value 'inf' is not a finite number"),
    ("task,case,algorithm,value\nT,c1,a,0.9\nT,c1,b,1,5\n", "cannot read it as CSV"),
    ("task,case,algorithm,value\nT,c1,a,0.9\nT,c1,b,TRUE\n", "row 3: value 'TRUE' is not a number"),
    ("task,case,algorithm,value\nT,c1,,0.9\n", "row 2: empty algorithm name"),
    ("task,case,algorithm,value\nT,c1,a,0.9\nT,c1,a,0.8\n", "row 3: algorithm 'a' has case 'c1' twice in task 'T'"),
    ("task,case,algorithm,value,direction\nT,c1,a,0.9,up\nT,c1,b,0.8,up\n", "row 2: unknown direction 'up': expected higher or lower"),
    ("task,case,algorithm,value,direction\nT,c1,a,0.9,higher\nT,c1,b,0.8,lower\n", "task 'T' declares both higher and lower"),
    ("task,case,algorithm,value,direction\nT,c1,a,0.9,\nT,c1,b,0.8,\n", "task 'T': no direction declared"),
    ("task,case,algorithm,value\nT,c1,a,0.9\nT,c1,b,0.8,7\n", "cannot read it as CSV"),
])
def test_a_bad_cases_file_is_one_error_line(tmp_path, capsys, text, says):
    path = write(tmp_path, text)
    one_error(capsys, ["rank", "--cases", str(path), "--direction", "higher"] if "direction" not in text else ["rank", "--cases", str(path)],
              says=f"error: {path}: {says}")


def test_a_direction_is_needed_and_must_agree_with_the_files(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    one_error(capsys, ["rank", "--cases", str(path)], says=f"{path}: no direction: give --direction higher or lower, or a direction column")
    declared = write(tmp_path, "case,algorithm,value,direction\nc1,a,1,lower\nc1,b,2,lower\n", "declared.csv")
    one_error(capsys, ["rank", "--cases", str(declared), "--direction", "higher"], says="--direction higher, but the file declares lower for task 'declared'")
    one_error(capsys, ["rank", "--cases", str(path), "--direction", "up"], says="Invalid value for '--direction'")


def test_files_that_are_not_cases_files(tmp_path, capsys):
    one_error(capsys, ["rank", "--cases", str(tmp_path / "nowhere.csv"), "--direction", "higher"], says=f"{tmp_path / 'nowhere.csv'}: no such file")
    one_error(capsys, ["rank", "--cases", str(tmp_path), "--direction", "higher"], says=f"{tmp_path}: not a file")
    json_file = write(tmp_path, "{}", "cases.json")
    one_error(capsys, ["rank", "--cases", str(json_file), "--direction", "higher"], says="unknown file type '.json': expected .csv, .tsv or .parquet")
    damaged = tmp_path / "cases.parquet"
    damaged.write_bytes(b"PAR1 not really parquet")
    one_error(capsys, ["rank", "--cases", str(damaged), "--direction", "higher"], says=f"{damaged}: cannot read it as parquet")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"task,case\xff\xfe,algorithm,value\n")
    one_error(capsys, ["rank", "--cases", str(binary), "--direction", "higher"], says=f"{binary}: not UTF-8 text")


def test_a_byte_order_mark_and_spaces_are_not_part_of_the_names(tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftask, case, algorithm, value\nT, c1, a, 0.9\nT, c1, b, 0.5\nU, c1, a, 0.1\nU, c1, b, 0.2\n".encode("utf-8"))
    capsys.readouterr()
    assert main(["rank", "--cases", str(path), "--direction", "higher", "--method", "mean", "--bootstrap", "5"]) == 0
    out = capsys.readouterr().out
    assert "2 tasks, 2 algorithms" in out and "task T:" in out and "task U:" in out


def test_a_task_too_sparse_to_hold_is_refused(tmp_path, capsys, monkeypatch):
    import leaderboard.cases

    monkeypatch.setattr(leaderboard.cases, "MOST_CELLS", 8)
    rows = "".join(f"T,c{k},a{k},0.5\n" for k in range(3))  # 3 algorithms x 3 cases, 3 of 9 results present
    path = write(tmp_path, "task,case,algorithm,value\n" + rows)
    one_error(capsys, ["rank", "--cases", str(path), "--direction", "higher"], says="task 'T': 3 algorithms x 3 cases is more than the 8 results")


def test_a_bad_cases_file_as_a_user_sees_it(tmp_path):
    path = write(tmp_path, "task,case,algorithm,value\nT,c1,a,x\n")
    assert_one_error_line(as_user("rank", "--cases", str(path), "--direction", "lower"), f"error: {path}: row 2: value 'x' is not a number")
    assert_one_error_line(as_user("report", "--cases", str(tmp_path / "empty.csv"), "--out", str(tmp_path / "r")), "no such file")


def test_a_parquet_file_with_missing_values_and_no_task_column(tmp_path, capsys):
    frame = pd.DataFrame({"case": ["c1", "c1", "c2", "c2", "c3", "c3"], "algorithm": ["a", "b"] * 3,
                          "value": [0.2, 0.4, None, 0.5, 0.1, 0.3], "direction": "lower"})
    path = tmp_path / "seg.parquet"
    frame.to_parquet(path)
    capsys.readouterr()
    assert main(["rank", "--cases", str(path), "--bootstrap", "20", "--method", "rank_then_mean"]) == 0
    out = capsys.readouterr().out
    assert f"{path}: 1 task, 2 algorithms, 3 cases, 1 missing result" in out and "task seg: 2 algorithms, 3 cases, lower is better" in out
    text = write(tmp_path, "case,algorithm,value\nc1,a,NA\nc1,b,0.4\nc2,a,0.3\nc2,b,0.5\n", "text.csv")
    assert main(["rank", "--cases", str(text), "--direction", "lower", "--bootstrap", "20", "--method", "median"]) == 0
    assert "1 missing result" in capsys.readouterr().out


def test_a_task_of_one_case_is_ranked_but_not_resampled(tmp_path, capsys):
    path = write(tmp_path, GOOD + "U,c1,a,0.1\nU,c1,b,0.2\n")
    capsys.readouterr()
    assert main(["rank", "--cases", str(path), "--direction", "higher", "--bootstrap", "20", "--method", "mean"]) == 0
    out = capsys.readouterr().out
    assert "U / mean: ranking over 1 cases, not resampled (only 1 test case: bootstrapping with 1 test case is not sensible)" in out
    assert "note: task U not resampled (a single test case or algorithm)" in out


@pytest.mark.parametrize(("args", "says"), [
    (["--track", "kd"], "--cases ranks the file alone: leave out --track"),
    (["--missing", "zero"], "--missing: expected one of worst, last, remove, error or a finite number, got 'zero'"),
    (["--alpha", "2"], "--alpha: Input should be less than 1"),
    (["--p-adjust", "fdr"], "Invalid value for '--p-adjust'"),
    (["--preset", "R"], "Invalid value for '--preset'"),
    (["--bootstrap", "0"], "--bootstrap 0: expected a positive number of resamples"),
])
def test_rank_cases_refuses_options_it_cannot_use(tmp_path, capsys, args, says):
    path = write(tmp_path, GOOD)
    one_error(capsys, ["rank", "--cases", str(path), "--direction", "higher", *args], says=says)


def test_report_draws_every_method_of_a_cases_file(tmp_path, capsys):
    out = tmp_path / "challenge-report"
    capsys.readouterr()
    assert main(["report", "--cases", str(DEMO), "--out", str(out), "--bootstrap", "30", "--missing", "worst", "--preset", "challengeR"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out / 'cases_demo.md'}"
    text = (out / "cases_demo.md").read_text(encoding="utf-8")
    assert text.startswith("# Challenge results `cases_demo.csv`")
    assert "## Task `liver_dice`" in text and "### rank\\_then\\_mean" not in text and "### rank_then_mean" in text
    assert "challengeR rules: ties: min; missing: its case's worst value" in text and "## Consensus over the tasks" in text
    images = sorted(p.name for p in out.glob("*.png"))
    assert images == sorted(f"cases_demo-{task}-{method}.png" for task in ("liver_dice", "liver_hd95")
                            for method in ("mean", "median", "rank_then_mean", "test"))
    assert "![cases\\_demo-liver\\_dice-test](cases_demo-liver_dice-test.png)" in text or "(cases_demo-liver_dice-test.png)" in text


def test_report_cases_refuses_what_it_cannot_do(tmp_path, capsys):
    one_error(capsys, ["report", "--cases", str(DEMO), "--format", "html", "--out", str(tmp_path / "x")], says="--cases: the report of a cases file is markdown")
    one_error(capsys, ["report", "--cases", str(DEMO), "--results", str(tmp_path), "--out", str(tmp_path / "x")], says="leave out --results")
    one_error(capsys, ["report", "--preset", "challengeR", "--results", str(tmp_path)], says="--preset: only with --cases")
    one_error(capsys, ["report", "--cases", str(DEMO), "--preset", "challengeR", "--out", str(tmp_path / "x"), "--bootstrap", "5"],
              says="task 'liver_dice': 1 missing result: method mean needs a value")


# ---------------------------------------------------------------- the rules over a results folder and in a ranking spec


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    records = write_results(root, [("small_cnn", "vanilla_kd", [0.90, 0.92], "ok"), ("small_cnn", "student_only", [0.85, 0.86], "ok"),
                                   ("mlp", "student_only", [0.8], "ok")])
    rng = np.random.default_rng(0)
    skill = {"vanilla_kd": 0.9, "student_only": 0.7}
    for record in records:
        path = root / "runs" / record.run_id / "record.json"
        data = json.loads(path.read_text())
        data["cases"] = {"accuracy": (rng.random(30) < skill[record.method] - (0.2 if record.model == "mlp" else 0)).astype(float).tolist()}
        path.write_text(json.dumps(data))
    return root


def test_rank_over_a_results_folder_takes_the_rules(results, capsys):
    capsys.readouterr()
    assert main(["rank", "--track", "kd", "--metric", "accuracy", "--method", "test", "--preset", "challengeR", "--bootstrap", "20",
                 "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "challengeR rules: one-sided Wilcoxon signed-rank, normal approximation with continuity correction, p-values not adjusted" in out
    assert main(["rank", "--track", "kd", "--metric", "accuracy", "--method", "rank_then_mean", "--case-ties", "max", "--bootstrap", "20",
                 "--results", str(results)]) == 0
    assert "podium rules: ties within a case: max; ties: min" in capsys.readouterr().out
    one_error(capsys, ["rank", "--track", "kd", "--metric", "accuracy", "--direction", "lower", "--results", str(results)],
              says="--direction is for --cases")


def test_a_ranking_spec_sets_the_rules_and_flags_override_them(results, tmp_path, capsys):
    spec = tmp_path / "ranking.yaml"
    spec.write_text("kind: ranking\nname: r\ntrack: kd\nmetrics: [accuracy]\nmethod: test\nbootstrap: 20\npreset: challengeR\np_adjust: holm\n")
    capsys.readouterr()
    assert main(["validate", str(spec)]) == 0
    assert "ranking of track kd by accuracy (test, challengeR rules, 20 resamples)" in capsys.readouterr().out
    assert main(["rank", str(spec), "--results", str(results)]) == 0
    assert "challengeR rules: one-sided Wilcoxon signed-rank, normal approximation with continuity correction, p-values adjusted by holm" in capsys.readouterr().out
    assert main(["rank", str(spec), "--p-adjust", "bonferroni", "--wilcoxon", "exact", "--results", str(results)]) == 0
    assert "exact, p-values adjusted by bonferroni" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ranking\nname: r\ntrack: kd\nmetrics: [accuracy]\npreset: challenger\nmissing: zero\nties: average\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: preset: Input should be 'podium' or 'challengeR'" in err
    assert f"{bad}: missing: expected one of worst, last, remove, error or a finite number, got 'zero'" in err
    assert f"{bad}: ties: Input should be 'min', 'mean' or 'max'" in err


def test_rank_and_report_of_a_cases_file_never_import_torch(tmp_path):
    script = (
        "import sys; from runners.cli import main; "
        f"code = main(['rank', '--cases', {str(DEMO)!r}, '--bootstrap', '5']) + "
        f"main(['report', '--cases', {str(DEMO)!r}, '--bootstrap', '5', '--out', {str(tmp_path / 'r')!r}]); "
        "loaded = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; assert code == 0 and not loaded, (code, loaded[:3])"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
