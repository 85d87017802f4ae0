"""`podium plan` end to end: the committed kd baseline, the formats, current results and bad input."""
import json
import math

import pytest
from scipy import optimize, stats

from leaderboard.plan import detectable, seeds_for, welch_power
from runners.cli import main
from tests.conftest import PROJECT
from tests.leaderboard.test_plan import simulated_power
from tests.runners.test_check_cli import write_results

BASELINE = PROJECT / "baselines" / "kd-digits.json"


def lines_of(out, label, metric):
    return [line for line in out.splitlines() if f" {label} " in line and f" {metric} " in line]


def test_the_committed_kd_baseline_is_planned_row_by_row(capsys):
    assert main(["plan", "--baseline", str(BASELINE)]) == 0
    out = capsys.readouterr().out
    saved = json.loads(BASELINE.read_text())
    values = next(r["values"] for r in saved["rows"] if r["label"] == "kd-digits[method=vanilla_kd]" and r["metric"] == "accuracy")
    sd = stats.tstd(list(values.values()))  # 0.0105
    # 6 rows tested (accuracy and macro_f1 of 3 configurations), 3 seeds a side at level 0.05 / 6:
    # a drop of 0.0551 (5.24 sd) is caught with power 0.8 by the gate's Welch test, as simulating it says
    [vanilla] = lines_of(out, "kd-digits[method=vanilla_kd]", "accuracy")
    assert "welch at 0.05/6" in vanilla and "3/3" in vanilla and vanilla.split()[-1] == "0.0551"
    simulated, error = simulated_power(sd * detectable(3, 3, 0.05 / 6), 3, 3, 0.05 / 6, sd, sd, seed=11)
    assert simulated == pytest.approx(0.8, abs=4.5 * error)
    # Student's noncentral t planned 0.044 (4.18 sd): the gate's test catches that only with power 0.62
    critical = stats.t.isf(0.05 / 6, 4)
    promised = optimize.brentq(lambda s: stats.nct.sf(critical, 4, s) - 0.8, 0, 100) * sd * math.sqrt(2 / 3)
    assert f"{promised:.3g}" == "0.044"
    simulated, error = simulated_power(promised, 3, 3, 0.05 / 6, sd, sd, seed=12)
    assert simulated == pytest.approx(0.6188, abs=4.5 * error)  # welch_power: 0.6188
    [flat] = lines_of(out, "kd-digits[method=vanilla_kd]", "top5_accuracy")
    assert "rel 0.02 (default: no seed variance)" in flat and "no test: worse by > 0.02 fails" in flat
    [teacher] = lines_of(out, "kd-digits", "accuracy")
    assert "rel 0.02 (default: < 2 seeds)" in teacher and "1/1" in teacher
    assert "6 of 12 rows are tested by one-sided Welch t-tests; planned at level 0.05/6 = 0.00833" in out
    assert "the power of Welch's test itself, its df estimated from the seeds as the gate does" in out
    assert "duration_s" not in out


def test_a_difference_as_json_gives_seeds_per_side(capsys):
    assert main(["plan", "--baseline", str(BASELINE), "--difference", "rel:0.01", "--power", "0.9", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["power"] == 0.9 and data["difference"] == "rel:0.01" and data["tested"] == 6
    rows = {(r["label"], r["metric"]): r for r in data["rows"]}
    vanilla = rows["kd-digits[method=vanilla_kd]", "accuracy"]
    effect = vanilla["difference"] / vanilla["sd"]  # a 1% drop: 0.00957, 0.91 sd
    # 35 seeds a side: Welch's power 0.909 at 35, 0.899 at 34 (Student's noncentral t, 0.909 and 0.899 too:
    # with that many seeds the estimated df costs next to nothing)
    assert vanilla["seeds_needed"] == seeds_for(effect, 0.05 / 6, 0.9) == 35
    assert welch_power(effect, 35, 35, 0.05 / 6) >= 0.9 > welch_power(effect, 34, 34, 0.05 / 6)
    simulated, error = simulated_power(vanilla["detectable"], 3, 3, 0.05 / 6, vanilla["sd"], vanilla["sd"], seed=13)
    assert vanilla["detectable"] == pytest.approx(0.0653, abs=5e-5) and simulated == pytest.approx(0.9, abs=4.5 * error)
    assert rows["kd-digits[method=vanilla_kd]", "top5_accuracy"]["fails"] is False  # 0.01 is within rel 0.02
    assert main(["plan", "--baseline", str(BASELINE), "--format", "md", "--timings"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Podium plan") and "rel 0.5 (default: timings)" in out


def test_current_results_bring_their_seeds_and_their_spec_checks(tmp_path, capsys):
    before = write_results(tmp_path / "before")
    baseline = tmp_path / "b.json"
    assert main(["baseline", "save", "--results", str(before), "--out", str(baseline)]) == 0
    after = write_results(tmp_path / "after", accuracy=(0.90, 0.92, 0.94, 0.91, 0.93), check={"loss": {"abs": 0.05}})
    capsys.readouterr()
    assert main(["plan", "--baseline", str(baseline), "--results", str(after)]) == 0
    out = capsys.readouterr().out
    [accuracy] = lines_of(out, "kd-digits[method=vanilla_kd]", "accuracy")
    assert "3/5" in accuracy and "welch at 0.05/2" in accuracy
    [loss] = lines_of(out, "kd-digits[method=vanilla_kd]", "loss")
    assert "abs 0.05 (spec)" in loss and "no test: worse by > 0.05 fails" in loss


@pytest.mark.parametrize("args, message", [
    (["--baseline", "nope.json"], "nope.json: no such baseline file"),
    (["--difference", "x"], "--difference 'x': expected a positive number"),
    (["--difference", "rel:-1"], "--difference 'rel:-1': expected a positive number"),
    (["--power", "1.5"], "--power 1.5: expected a probability"),
    (["--alpha", "0"], "--alpha 0.0: expected a level between 0 and 1"),
    (["--tolerance", "accuracy=0.1"], "--tolerance 'accuracy=0.1': expected METRIC=abs:AMOUNT"),
    (["--track", "firecube"], "no rows of track 'firecube' (tracks: kd)"),
    (["--results", "no-such-folder"], "--results no-such-folder: no such results folder"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, capsys):
    given = args if args[0] == "--baseline" else ["--baseline", str(BASELINE), *args]
    assert main(["plan", *given]) == 2
    captured = capsys.readouterr()
    [line] = captured.err.strip().splitlines()
    assert line.startswith("error: ") and message in line and not captured.out
