"""`podium baseline save` and `podium check` end to end on hand-made records; a spec's ``check`` block."""
import json

import pytest

from runners.cli import main
from runners.identity import resolved_spec, run_id
from specs.errors import SpecError
from specs.loader import expand
from tests.leaderboard.conftest import make_record
from tests.runners.conftest import digits_spec, write_spec

ROW = "kd / distillation / digits / kd-digits[method=vanilla_kd] (small_cnn vanilla_kd) / accuracy"


def write_results(root, accuracy=(0.90, 0.92, 0.94), methods=("vanilla_kd", "student_only"), check=None):
    """A results folder as `podium run` leaves it: one record file per run (the store is built on demand)."""
    for method in methods:
        for seed, value in enumerate(accuracy):
            record = make_record("small_cnn", method, seed, metrics={"test": {"accuracy": value, "loss": 1 - value}})
            record = record.model_copy(update={"spec": {**record.spec, "check": check or {}}})
            folder = root / "runs" / record.run_id
            folder.mkdir(parents=True)
            (folder / "record.json").write_text(record.model_dump_json())
    return root


@pytest.fixture
def saved(tmp_path, capsys):
    """A baseline saved from a results folder; returns (results folder, baseline file)."""
    results = write_results(tmp_path / "before")
    baseline = tmp_path / "baselines" / "kd.json"
    assert main(["baseline", "save", "--track", "kd", "--results", str(results), "--out", str(baseline)]) == 0
    assert f"wrote {baseline}: 6 rows" in capsys.readouterr().out  # 2 entries x (accuracy, loss, duration_s)
    return results, baseline


def run_check(*args):
    return main(["check", *map(str, args)])


def test_unchanged_results_pass(saved, capsys):
    results, baseline = saved
    assert run_check("--baseline", baseline, "--results", results) == 0
    out = capsys.readouterr().out
    assert "4 rows compared: 0 regressed, 0 missing, 0 improved, 0 new, 4 ok" in out
    assert "duration_s" not in out


def test_a_planted_drop_fails_with_exit_1_naming_the_row(saved, tmp_path, capsys):
    _, baseline = saved
    worse = write_results(tmp_path / "after", accuracy=(0.70, 0.72, 0.71))
    assert run_check("--baseline", baseline, "--results", worse) == 1
    out = capsys.readouterr().out
    assert f"regressed: {ROW}: 0.92 -> 0.71" in out
    assert f"regressed: {ROW.replace('accuracy', 'loss')}: 0.08 -> 0.29" in out  # lower is better


def test_markdown_format(saved, tmp_path, capsys):
    _, baseline = saved
    worse = write_results(tmp_path / "after", accuracy=(0.70, 0.72, 0.71))
    assert run_check("--baseline", baseline, "--results", worse, "--format", "md") == 1
    out = capsys.readouterr().out
    assert out.startswith("### Podium regression check: FAILED")
    assert "| track " in out and "|-" in out


def test_tolerances_from_the_command_line_and_the_spec(saved, tmp_path, capsys):
    _, baseline = saved
    worse = write_results(tmp_path / "after", accuracy=(0.70, 0.72, 0.71))
    assert run_check("--baseline", baseline, "--results", worse, "--tolerance", "accuracy=abs:0.3", "--tolerance", "loss=rel:5") == 0
    lenient = write_results(tmp_path / "spec", accuracy=(0.70, 0.72, 0.71), check={"accuracy": {"abs": 0.3}, "loss": {"rel": 5}})
    assert run_check("--baseline", baseline, "--results", lenient) == 0
    assert "abs 0.3 (spec)" in capsys.readouterr().out


def test_missing_rows_fail_unless_allowed(saved, tmp_path, capsys):
    _, baseline = saved
    fewer = write_results(tmp_path / "after", methods=("vanilla_kd",))
    assert run_check("--baseline", baseline, "--results", fewer) == 1
    assert "missing: kd / distillation / digits / kd-digits[method=student_only] (small_cnn student_only) / accuracy" in capsys.readouterr().out
    assert run_check("--baseline", baseline, "--results", fewer, "--allow-missing") == 0


def test_timings_on_request(saved, capsys):
    results, baseline = saved
    assert run_check("--baseline", baseline, "--results", results, "--timings") == 0
    assert "rel 0.5 (default: timings)" in capsys.readouterr().out


@pytest.mark.parametrize("content, message", [
    (None, "no such baseline file"),
    ("[1, 2", "not valid JSON"),
    ('{"podium_baseline": 2, "split": "test", "rows": []}', "not a Podium baseline: created_at: Field required"),
    ('{"podium_baseline": 1, "split": "test", "rows": []}', "a version-1 baseline"),
])
def test_bad_baseline_files_exit_2_naming_the_file(saved, tmp_path, capsys, content, message):
    results, _ = saved
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    assert run_check("--baseline", path, "--results", results) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--tolerance", "accuracy=0.1"], "--tolerance 'accuracy=0.1': expected METRIC=abs:AMOUNT"),
    (["--alpha", "1.5"], "--alpha 1.5: expected a level between 0 and 1"),
    (["--track", "firecube"], "no rows of track 'firecube' (tracks: kd)"),
])
def test_bad_options_exit_2(saved, capsys, args, message):
    results, baseline = saved
    assert run_check("--baseline", baseline, "--results", results, *args) == 2
    assert message in capsys.readouterr().err


def test_welchs_test_decides_where_students_would_not(tmp_path, capsys):
    """Baseline and current results with unequal seed counts and variances (p-values in
    tests/leaderboard/test_regression.py, from scipy): six tight seeds against two loose ones 0.07 lower
    pass (Welch p .13; Student's .0013 would fail the build); eight loose seeds against three tight
    ones 0.045 lower fail (Welch p .022; Student's .089 would pass)."""
    from tests.leaderboard.test_regression import LOOSE_FEW, LOOSE_MANY, TIGHT_FEW, TIGHT_MANY

    for name, before, after, code, says in [("a", TIGHT_MANY, LOOSE_FEW, 0, "welch p=0.13 vs 0.05 (BH over 4)"),
                                            ("b", LOOSE_MANY, TIGHT_FEW, 1, f"regressed: {ROW}: 0.875 -> 0.83 (welch p=0.022 vs 0.05 (BH over 4))")]:
        baseline = tmp_path / name / "baseline.json"
        assert main(["baseline", "save", "--results", str(write_results(tmp_path / name / "before", accuracy=before)), "--out", str(baseline)]) == 0
        assert run_check("--baseline", baseline, "--results", write_results(tmp_path / name / "after", accuracy=after)) == code
        out = capsys.readouterr().out
        assert says in out and f" {len(before)}/{len(after)} " in out


def test_saving_without_results_exits_2(tmp_path, capsys):
    (tmp_path / "empty" / "runs").mkdir(parents=True)
    assert main(["baseline", "save", "--results", str(tmp_path / "empty"), "--out", str(tmp_path / "b.json")]) == 2
    assert "no successful runs" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()


def test_a_check_block_does_not_change_run_ids_and_reaches_the_record(tmp_path):
    """Tolerances are a CI setting, not what is measured: the runs are the same, and their stored spec carries them."""
    plain = expand(write_spec(tmp_path, digits_spec(), "plain.yaml"))
    checked = expand(write_spec(tmp_path, {**digits_spec(), "check": {"accuracy": {"abs": 0.01}, "macro_f1": {"rel": 0.05}}}, "c.yaml"))
    assert [run_id(r) for r in plain] == [run_id(r) for r in checked]
    assert resolved_spec(checked[0])["check"] == {"accuracy": {"abs": 0.01, "rel": None}, "macro_f1": {"abs": None, "rel": 0.05}}


@pytest.mark.parametrize("entry", [{}, {"abs": 0.1, "rel": 0.1}, {"abs": -1}, {"pct": 1}])
def test_a_check_entry_needs_exactly_one_non_negative_abs_or_rel(tmp_path, entry):
    with pytest.raises(SpecError) as err:
        expand(write_spec(tmp_path, {**digits_spec(), "check": {"accuracy": entry}}))
    assert "check.accuracy" in str(err.value.problems[0])


@pytest.mark.slow
def test_a_weakened_training_fails_the_gate_and_a_changed_spec_is_a_new_configuration(tmp_path, capsys, monkeypatch):
    """Real runs: a student trained for 5 epochs, its baseline saved. The same spec trained by code that
    stops after 1 epoch (a regression in the code) fails the check; the spec itself changed to 1 epoch
    is another configuration: its baseline row is missing and the new one is new."""
    import registry.tasks.distillation as distillation

    spec = write_spec(tmp_path, {**digits_spec(epochs=5), "seeds": [0, 1, 2]})
    baseline = tmp_path / "baseline.json"
    assert main(["run", str(spec), "--results", str(tmp_path / "a")]) == 0
    assert main(["baseline", "save", "--results", str(tmp_path / "a"), "--out", str(baseline)]) == 0
    capsys.readouterr()
    assert run_check("--baseline", baseline, "--results", tmp_path / "a") == 0
    original = distillation.TrainConfig
    with monkeypatch.context() as patched:
        patched.setattr(distillation, "TrainConfig", lambda epochs, *rest: original(1, *rest))
        assert main(["run", str(spec), "--results", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    assert run_check("--baseline", baseline, "--results", tmp_path / "c") == 1
    assert "regressed: kd / distillation / digits / quick-digits (small_cnn student_only) / accuracy" in capsys.readouterr().out
    assert main(["run", str(spec), "--set", "task.params.epochs=1", "--results", str(tmp_path / "d")]) == 0
    capsys.readouterr()
    assert run_check("--baseline", baseline, "--results", tmp_path / "d") == 1
    out = capsys.readouterr().out
    assert "missing: kd / distillation / digits / quick-digits (small_cnn student_only) / accuracy" in out
    assert "whose resolved spec differs: quick-digits" in out
    assert json.loads(baseline.read_text())["rows"]
