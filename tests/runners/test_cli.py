"""The podium command end to end on the shipped digits spec, with reduced epochs."""
import json
import re
import subprocess
import sys

import pytest

from runners.cli import main
from tests.conftest import PROJECT

# two epochs, with a distillation schedule that completes in them (t_max <= epochs, psi = 1 by the last epoch)
QUICK = ["--set", "task.params.epochs=2", "--set", "task.params.teacher_epochs=2", "--set", "task.params.t_max=2",
         "--set", "task.params.psi_ramp=1"]


@pytest.fixture(scope="module")
def digits_results(tmp_path_factory):
    results = tmp_path_factory.mktemp("cli") / "results"
    code = main(["run", str(PROJECT / "specs/kd/digits.yaml"), *QUICK, "--results", str(results)])
    assert code == 0
    return results


def test_leaderboard_shows_three_methods_with_three_seeds(digits_results, capsys):
    capsys.readouterr()
    assert main(["leaderboard", "--track", "kd", "--results", str(digits_results), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    accuracy = {r["method"]: r for r in rows if r["metric"] == "accuracy"}
    assert set(accuracy) == {"student_only", "vanilla_kd", "continuation_kd", "teacher"}
    teacher = accuracy.pop("teacher")
    assert teacher["reference"] and teacher["rank"] is None and teacher["n"] == 1  # one teacher for every seed (teacher_seed)
    assert all(r["n"] == 3 and r["configs"] == 1 for r in accuracy.values())
    for row in accuracy.values():
        assert 0 <= row["ci_low"] <= row["mean"] <= row["ci_high"] <= 1  # accuracy's interval stays in [0, 1]
        assert row["label"] == f"kd-digits[method={row['method']}]"
    assert sorted(r["rank"] for r in accuracy.values())[0] == 1


def test_second_identical_run_is_answered_from_the_cache(digits_results, capsys):
    capsys.readouterr()
    assert main(["run", str(PROJECT / "specs/kd/digits.yaml"), *QUICK, "--results", str(digits_results)]) == 0
    out = capsys.readouterr().out
    assert "0 ran (0 failed), 9 cached" in out


def test_table_markdown_csv_and_report(digits_results, capsys, tmp_path):
    for fmt in ("table", "md", "csv"):
        assert main(["leaderboard", "--results", str(digits_results), "--format", fmt]) == 0
        assert "continuation_kd" in capsys.readouterr().out
    assert main(["report", "--results", str(digits_results), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "kd.md").read_text()
    assert "continuation_kd" in text and "## Provenance" in text


def test_a_failed_run_makes_the_command_exit_1(tmp_path, misbehaving_tasks, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "name: fails\ntrack: kd\ndataset: {name: digits}\nmodel: {name: small_cnn}\n"
        "task: {name: test_raises}\nmetrics: [accuracy]\nseeds: [0, 1]\n"
    )
    assert main(["run", str(spec), "--results", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert out.count("failed") >= 2 and "RuntimeError: boom" in out
    assert main(["leaderboard", "--results", str(tmp_path / "r")]) == 0
    assert "all 2 runs failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "specs/kd/digits.yaml", "--device", "tpu"], "--device"),
        (["run", "specs/kd/digits.yaml", "--set", "task.params.methd=x"], "task.params.methd"),
        (["run", "specs/kd/digits.yaml", "--set", "nonsense"], "--set"),
        (["leaderboard", "--results", "/nonexistent/results"], "no such results folder"),
        (["run", "specs/kd/missing.yaml"], "spec file not found"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, expected, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(PROJECT)
    monkeypatch.setenv("PODIUM_RESULTS", str(tmp_path))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0] and err[0].startswith("error: ")
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_console_script_bad_spec_no_traceback(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: x\ntrack: kd\ndataset: {name: digts}\nmodel: {name: small_cnn}\ntask: {name: distillation}\nmetrics: [accuracy]\n")
    proc = subprocess.run([sys.executable, "-m", "runners.cli", "run", str(spec)], cwd=PROJECT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: {spec}: dataset.name: unknown dataset 'digts'; did you mean 'digits'? (`podium list datasets` shows all)"


@pytest.mark.parametrize("method", ["mean", "rank_then_mean", "test"])
def test_rank_prints_each_method_with_its_stability(digits_results, capsys, method):
    capsys.readouterr()
    assert main(["rank", "--track", "kd", "--metric", "accuracy", "--method", method, "--bootstrap", "50", "--results", str(digits_results)]) == 0
    out = capsys.readouterr().out
    assert "kd / distillation / digits / accuracy" in out and "over 360 cases" in out
    assert all(m in out for m in ("student_only", "vanilla_kd", "continuation_kd")) and "Kendall's tau" in out


def test_rank_without_per_case_values_exits_2(digits_results, capsys):
    assert main(["rank", "--track", "kd", "--metric", "macro_f1", "--results", str(digits_results)]) == 2
    assert "no per-case 'macro_f1' values" in capsys.readouterr().err


def test_rank_from_the_shipped_ranking_spec_and_flags_override_it(digits_results, capsys):
    capsys.readouterr()
    spec = str(PROJECT / "specs/challenges/ranking_demo.yaml")
    assert main(["rank", spec, "--bootstrap", "40", "--results", str(digits_results)]) == 0
    out = capsys.readouterr().out
    assert "kd / distillation / digits / accuracy: mean ranking over 360 cases, 40 bootstrap resamples" in out
    assert "consensus" not in out  # one ranking only


def test_rank_needs_a_spec_or_track_and_metric_and_run_refuses_a_ranking_spec(capsys):
    assert main(["rank", "--track", "kd"]) == 2
    assert "give a ranking spec, or --track and --metric" in capsys.readouterr().err
    spec = str(PROJECT / "specs/challenges/ranking_demo.yaml")
    assert main(["run", spec]) == 2
    assert f"is a ranking spec (kind: ranking): rank stored results with `podium rank {spec}`" in capsys.readouterr().err


def test_a_bad_ranking_spec_names_its_key(tmp_path, capsys):
    bad = tmp_path / "r.yaml"
    bad.write_text("kind: ranking\nname: r\ntrack: kd\nmetrics: [accuracy]\nmethod: best\nbootstrap: 0\nrunz: x.yaml\n")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: method: Input should be 'mean', 'median', 'rank_then_mean' or 'test'" in err
    assert f"{bad}: bootstrap: Input should be greater than 0" in err
    assert f"{bad}: runz: unknown key; did you mean 'runs'?" in err


def test_survey_smoke_spec_end_to_end(tmp_path, capsys):
    """The survey statistics on synthetic responses: stored as metrics, and the report's table in the
    paper's layout with the published figures beside."""
    results = tmp_path / "results"
    assert main(["run", str(PROJECT / "specs/challenges/survey_smoke.yaml"), "--results", str(results)]) == 0
    assert main(["leaderboard", "--track", "challenges", "--results", str(results), "--format", "csv"]) == 0
    board = capsys.readouterr().out
    assert "share/deep_learning" in board and "published" in board and "eisenmann-2022" in board
    assert main(["report", "--results", str(results)]) == 0
    report = (results / "reports" / "challenges.md").read_text(encoding="utf-8")
    survey = report.split("## Participation survey", 1)[1]
    assert "reported (Eisenmann et al. 2022, arXiv 2212.08568)" in survey
    line = next(line for line in survey.splitlines() if line.startswith("| deep-learning-based solution"))
    value, low, high, reported = re.search(r"\| ([\d.]+)% \[([\d.]+), ([\d.]+)\] .*\| (\d+)%", line).groups()
    assert float(low) < float(value) < float(high) and reported == "94"


def test_rank_never_imports_torch(digits_results):
    """Ranking reads stored results only: it must start fast."""
    script = (
        "import sys; from runners.cli import main; "
        f"code = main(['rank', {str(PROJECT / 'specs/challenges/ranking_demo.yaml')!r}, '--bootstrap', '20', '--results', {str(digits_results)!r}]); "
        "loaded = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; assert code == 0 and not loaded, (code, loaded[:3])"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_survey_over_the_method_cards_of_a_challenges_submissions(tmp_path, capsys):
    """Three submissions to a challenge, two with a method card: the survey counts two responses of
    three participants, and the shares of what the cards say."""
    from tests.runners.conftest import digits_spec, write_spec

    results = tmp_path / "results"
    cards = {"team-a": {"deep_learning": True, "hours_spent": 10, "incentives": ["knowledge_exchange"]},
             "team-b": {"deep_learning": False, "hours_spent": 30, "incentives": ["prize_money", "knowledge_exchange"]}, "team-c": None}
    for team, card in cards.items():
        spec = {**digits_spec(), "name": team, "track": "challenge-x", **({"method_card": card} if card else {})}
        assert main(["run", str(write_spec(tmp_path, spec, f"{team}.yaml")), "--results", str(results)]) == 0
    survey = ["run", str(PROJECT / "specs/challenges/survey_cards.yaml"), "--set", "dataset.params.track=challenge-x", "--results", str(results)]
    assert main(survey) == 0
    [record] = [json.loads(p.read_text()) for p in (results / "runs").glob("*/record.json") if json.loads(p.read_text())["task"] == "survey_stats"]
    test = record["metrics"]["test"]
    assert record["dataset"] == "survey-challenge-x"
    assert test["response_rate/challenge-x"] == pytest.approx(2 / 3)
    assert test["share/deep_learning"] == pytest.approx(1 / 2)
    assert test["share/incentives/knowledge_exchange"] == 1.0 and test["share/incentives/prize_money"] == pytest.approx(1 / 2)
    assert test["median/hours_spent"] == pytest.approx(20.0)
