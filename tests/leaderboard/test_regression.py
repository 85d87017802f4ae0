"""The regression gate on hand-made stores: baselines, tolerances, the statistical default, verdicts."""
import itertools
import json

import pytest
from scipy import stats

from leaderboard.regression import (
    DURATION,
    Baseline,
    BaselineError,
    ToleranceError,
    baseline_from_store,
    beyond,
    check,
    parse_tolerance,
    read_baseline,
    render,
    snapshot,
    write_baseline,
)
from leaderboard.store import Store
from specs.schema import Tolerance
from tests.leaderboard.conftest import make_record

ROW = "small_cnn vanilla_kd accuracy"  # how ``verdicts`` names a row: model, method, metric
LINE = "kd / distillation / digits / kd-digits (small_cnn vanilla_kd) / accuracy"  # how the check names it: its configuration's label
STORES = itertools.count()


def entry(values, model="small_cnn", method="vanilla_kd", metric="accuracy", check=None, durations=None, **fields):
    """Records of one entry, one per seed, with ``metric`` = each of ``values`` on the test split."""
    records = []
    for seed, value in enumerate(values):
        record = make_record(model, method, seed, metrics={"test": {metric: value}, "val": {metric: 0.0}}, **fields)
        update = {"spec": {**record.spec, "check": check or {}}}
        if durations is not None:
            update["duration_s"] = durations[seed]
        records.append(record.model_copy(update=update))
    return records


def store_of(tmp_path, name, *entries):
    store = Store(tmp_path / f"{name}-{next(STORES)}.duckdb")  # a fresh database each time
    store.ingest((record, 1.0) for records in entries for record in records)
    return store


def gate(tmp_path, before, after, **options):
    """Check the results ``after`` against a baseline saved from ``before`` (lists of entries)."""
    with store_of(tmp_path, "before", *before) as old, store_of(tmp_path, "after", *after) as new:
        return check(baseline_from_store(old), snapshot(new), **options)


def verdicts(result):
    """Each compared row's verdict by model, method and metric (the tests' configurations differ in those)."""
    return {" ".join(part for part in (*row.shown[1:], row.key[-1]) if part): row.verdict for row in result.rows}


def test_identical_results_pass(tmp_path):
    same = entry([0.90, 0.92, 0.94])
    result = gate(tmp_path, [same], [same])
    assert verdicts(result) == {ROW: "ok"}
    assert result.passed


def test_a_drop_beyond_seed_noise_regresses_and_names_the_row(tmp_path):
    result = gate(tmp_path, [entry([0.90, 0.92, 0.94])], [entry([0.70, 0.72, 0.71])])
    assert verdicts(result) == {ROW: "regressed"}
    assert not result.passed
    text = render(result)
    assert f"regressed: {LINE}: 0.92 -> 0.71" in text
    assert "welch" in text


def test_a_drop_within_seed_noise_passes_under_the_statistical_default(tmp_path):
    result = gate(tmp_path, [entry([0.90, 0.93, 0.96])], [entry([0.89, 0.92, 0.95])])
    assert verdicts(result) == {ROW: "ok"}
    assert result.rows[0].difference == pytest.approx(-0.01)


def test_a_clear_gain_is_an_improvement(tmp_path):
    result = gate(tmp_path, [entry([0.70, 0.72, 0.71])], [entry([0.90, 0.92, 0.94])])
    assert verdicts(result) == {ROW: "improved"}
    assert result.passed


def test_lower_is_better_metrics_regress_upwards(tmp_path):
    loss = ROW.replace("accuracy", "loss")
    before = [entry([0.30, 0.31, 0.32], metric="loss")]
    assert verdicts(gate(tmp_path, before, [entry([0.50, 0.52, 0.51], metric="loss")])) == {loss: "regressed"}
    assert verdicts(gate(tmp_path, before, [entry([0.10, 0.12, 0.11], metric="loss")])) == {loss: "improved"}


def test_missing_rows_fail_unless_allowed_and_new_rows_do_not(tmp_path):
    kept = entry([0.9, 0.9, 0.9])
    before = [kept, entry([0.8, 0.8, 0.8], model="resnet8")]
    after = [kept, entry([0.7, 0.7, 0.7], model="mlp")]
    result = gate(tmp_path, before, after)
    assert verdicts(result) == {ROW: "ok", ROW.replace("small_cnn", "resnet8"): "missing", ROW.replace("small_cnn", "mlp"): "new"}
    assert [row.verdict for row in result.failing] == ["missing"]
    assert gate(tmp_path, before, after, allow_missing=True).passed


def test_spec_tolerances_absolute_and_relative(tmp_path):
    before = [entry([0.90, 0.90, 0.90])]
    loose = gate(tmp_path, before, [entry([0.87, 0.87, 0.87], check={"accuracy": {"abs": 0.05}})])
    assert verdicts(loose) == {ROW: "ok"} and loose.rows[0].rule == "abs 0.05 (spec)"
    tight = gate(tmp_path, before, [entry([0.87, 0.87, 0.87], check={"accuracy": {"abs": 0.01}})])
    assert verdicts(tight) == {ROW: "regressed"}
    relative = gate(tmp_path, before, [entry([0.86, 0.86, 0.86], check={"accuracy": {"rel": 0.05}})])  # 0.045 allowed
    assert verdicts(relative) == {ROW: "ok"} and relative.rows[0].rule == "rel 0.05 (spec)"
    assert verdicts(gate(tmp_path, before, [entry([0.85, 0.85, 0.85], check={"accuracy": {"rel": 0.05}})])) == {ROW: "regressed"}


def test_a_change_of_exactly_the_tolerance_passes(tmp_path):
    result = gate(tmp_path, [entry([0.95])], [entry([0.94])], tolerances={"accuracy": Tolerance(abs=0.01)})
    assert verdicts(result) == {ROW: "ok"}


def test_a_gain_beyond_a_fixed_tolerance_is_an_improvement_with_both_sides_values(tmp_path):
    """Under a spec's abs 0.01, a mean up by 0.05 is an improvement, and the row keeps both sides' values and direction."""
    result = gate(tmp_path, [entry([0.80, 0.82])], [entry([0.86, 0.86], check={"accuracy": {"abs": 0.01}})])
    assert verdicts(result) == {ROW: "improved"} and result.passed
    row = result.rows[0]
    assert row.rule == "abs 0.01 (spec)" and row.higher_is_better is True
    assert (row.baseline, row.current) == ((0.80, 0.82), (0.86, 0.86))
    assert row.difference == pytest.approx(0.05)
    loss = gate(tmp_path, [entry([0.30, 0.30], metric="loss")], [entry([0.20, 0.20], metric="loss", check={"loss": {"abs": 0.01}})])
    assert verdicts(loss) == {ROW.replace("accuracy", "loss"): "improved"} and loss.rows[0].higher_is_better is False


def test_an_unchanged_mean_under_a_zero_tolerance_is_ok(tmp_path):
    """abs 0: identical values are neither a regression nor an improvement (the round-off slack is positive, even at 0)."""
    same = entry([0.0, 0.0, 0.0], check={"accuracy": {"abs": 0.0}})
    assert verdicts(gate(tmp_path, [same], [same])) == {ROW: "ok"}


def test_beyond_is_strict_at_the_round_off_slack():
    """A change of exactly the tolerance plus its round-off slack (1e-9 of the larger of tolerance and mean, plus 1e-12) is not beyond it."""
    allowed, reference = 0.5, 2.0
    slack = allowed + 1e-9 * reference + 1e-12
    assert not beyond(slack, allowed, reference)
    assert beyond(slack + 1e-9, allowed, reference)
    assert not beyond(0.0, 0.0, 0.0) and beyond(2e-12, 0.0, 0.0)  # at zero, only the 1e-12 is left
    assert beyond(1e-9, 0.0, 1e-6) and not beyond(5e-13, 0.0, 1e-6)  # a tiny mean leaves a tiny slack


def test_command_line_tolerance_overrides_the_spec(tmp_path):
    after = [entry([0.87, 0.87, 0.87], check={"accuracy": {"abs": 0.01}})]
    result = gate(tmp_path, [entry([0.90, 0.90, 0.90])], after, tolerances={"accuracy": Tolerance(abs=0.1)})
    assert verdicts(result) == {ROW: "ok"} and result.rows[0].rule == "abs 0.1 (--tolerance)"


def test_one_seed_falls_back_to_the_stated_relative_default(tmp_path):
    assert verdicts(gate(tmp_path, [entry([0.90])], [entry([0.89])])) == {ROW: "ok"}
    result = gate(tmp_path, [entry([0.90])], [entry([0.85])])
    assert verdicts(result) == {ROW: "regressed"} and result.rows[0].rule == "rel 0.02 (default: < 2 seeds)"


def test_values_without_seed_variance_fall_back_to_the_relative_default(tmp_path):
    """No variance on either side: the t-test is undefined, so a small shift (another CPU) passes and a real drop fails."""
    assert verdicts(gate(tmp_path, [entry([1.0, 1.0, 1.0])], [entry([1.0, 1.0, 1.0])])) == {ROW: "ok"}
    result = gate(tmp_path, [entry([1.0, 1.0, 1.0])], [entry([0.99, 0.99, 0.99])])
    assert verdicts(result) == {ROW: "ok"} and result.rows[0].rule == "rel 0.02 (default: no seed variance)"
    result = gate(tmp_path, [entry([1.0, 1.0, 1.0])], [entry([0.9, 0.9, 0.9])])
    assert verdicts(result) == {ROW: "regressed"}
    assert verdicts(gate(tmp_path, [entry([1.0, 1.0, 1.0])], [entry([1.0, 1.0, 0.99])])) == {ROW: "ok"}  # one seed: noise


def test_p_values_are_adjusted_over_all_tested_rows(tmp_path):
    """A modest drop that one test calls significant is not, among twenty rows where nothing changed."""
    before, after = [0.90, 0.91, 0.92], [0.875, 0.885, 0.895]
    assert verdicts(gate(tmp_path, [entry(before)], [entry(after)])) == {ROW: "regressed"}
    steady = [entry([0.5, 0.6, 0.7], model=f"m{i}") for i in range(19)]
    result = gate(tmp_path, [entry(before), *steady], [entry(after), *steady])
    assert result.passed and result.count("ok") == 20


# Unequal variances and seed counts, where Welch's and Student's t-tests disagree. The one-sided
# p-values that the current mean is lower, scipy.stats.ttest_ind(current, baseline, alternative="less"):
TIGHT_MANY, LOOSE_FEW = [0.900, 0.901, 0.899, 0.900, 0.902, 0.898], [0.80, 0.86]  # Welch .1288 (ok); Student .0013 would regress
LOOSE_MANY, TIGHT_FEW = [0.80, 0.95, 0.85, 0.90, 0.82, 0.93, 0.88, 0.87], [0.825, 0.83, 0.835]  # Welch .0216 (regressed); Student .0891


@pytest.mark.parametrize("before, after, verdict, welch, student", [
    (TIGHT_MANY, LOOSE_FEW, "ok", 0.1288, 0.0013), (LOOSE_MANY, TIGHT_FEW, "regressed", 0.0216, 0.0891),
], ids=["student-would-regress", "student-would-pass"])
def test_the_default_test_is_welchs_where_students_would_decide_otherwise(tmp_path, before, after, verdict, welch, student):
    assert stats.ttest_ind(after, before, equal_var=False, alternative="less").pvalue == pytest.approx(welch, abs=1e-4)
    assert stats.ttest_ind(after, before, equal_var=True, alternative="less").pvalue == pytest.approx(student, abs=1e-4)
    result = gate(tmp_path, [entry(before)], [entry(after)])
    assert verdicts(result) == {ROW: verdict}
    assert result.rows[0].rule == f"welch p={welch:.2g} vs 0.05 (BH over 1)"
    assert [len(result.rows[0].baseline), len(result.rows[0].current)] == [len(before), len(after)]


def test_timings_are_checked_only_when_asked(tmp_path):
    before = [entry([0.9, 0.9], durations=[10.0, 12.0])]
    after = [entry([0.9, 0.9], durations=[20.0, 22.0])]
    assert DURATION not in {row.key[-1] for row in gate(tmp_path, before, after).rows}
    result = gate(tmp_path, before, after, timings=True)
    slow = next(row for row in result.rows if row.key[-1] == DURATION)
    assert slow.verdict == "regressed" and slow.rule == "rel 0.5 (default: timings)" and not slow.higher_is_better
    assert gate(tmp_path, before, after, timings=True, tolerances={DURATION: Tolerance(rel=1.5)}).passed


def test_the_latest_run_of_a_row_and_seed_is_the_current_one(tmp_path):
    old = entry([0.9, 0.9])
    new = [r.model_copy(update={"run_id": r.run_id + "-b", "started_at": "2024-06-01T00:00:00+00:00",
                                "metrics": {"test": {"accuracy": 0.5}}}) for r in old]
    with store_of(tmp_path, "both", old, new) as store:
        current = snapshot(store)
    [row] = [row for row in current.rows.values() if row.metric == "accuracy"]
    assert row.values == {0: 0.5, 1: 0.5}
    assert current.superseded == 2


def test_a_baseline_file_round_trips_with_per_seed_values_and_provenance(tmp_path):
    with store_of(tmp_path, "s", entry([0.9, 0.8, 0.7])) as store:
        baseline = baseline_from_store(store, track="kd")
    path = write_baseline(baseline, tmp_path / "sub" / "baseline.json")
    text = path.read_text()
    data = json.loads(text)
    assert read_baseline(path) == baseline
    assert data["podium_baseline"] == 2 and data["track"] == "kd" and data["split"] == "test" and data["created_at"]
    assert data["provenance"] == {"device": ["cpu"], "git_commit": ["abc123"], "torch": ["2.13.0"]}
    accuracy = next(row for row in data["rows"] if row["metric"] == "accuracy")
    assert accuracy["values"] == {"0": 0.9, "1": 0.8, "2": 0.7}
    record = entry([0.9])[0]
    assert (accuracy["config_id"], accuracy["label"], accuracy["model"], accuracy["method"]) == (record.config_id, "kd-digits", "small_cnn", "vanilla_kd")
    assert '\n    "1": 0.8,\n' in text  # one value per line: a changed number is a one-line diff
    assert {row["metric"] for row in data["rows"]} == {"accuracy", DURATION}


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"rows": []}', "not a Podium baseline: created_at: Field required"),
    ('{"podium_baseline": 3, "created_at": "x", "split": "test", "rows": []}', "podium_baseline"),
    ('{"podium_baseline": 2, "created_at": "x", "split": "test", "rows": [{"track": "kd"}]}', "rows.0.task"),
    ('{"podium_baseline": 2, "created_at": "x", "split": "test", "rows": [{"track": "kd", "task": "t", "dataset": "d", "label": "l", '
     '"model": "m", "method": "", "metric": "a", "higher_is_better": true, "values": {"0": 1}}]}', "rows.0.config_id: Field required"),
    ('{"podium_baseline": 2, "created_at": "x", "split": "test", "rows": [], "extra": 1}', "extra: Extra inputs"),
])
def test_malformed_baseline_files_name_the_file_and_the_key(tmp_path, content, message):
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(BaselineError, match=str(path)) as err:
        read_baseline(path)
    assert message in str(err.value)


def test_duplicate_rows_and_missing_files_are_refused(tmp_path):
    row = {"track": "kd", "task": "t", "dataset": "d", "config_id": "c1", "label": "spec", "model": "m", "method": "", "metric": "accuracy",
           "higher_is_better": True, "values": {"0": 1.0}}
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps({"podium_baseline": 2, "created_at": "x", "split": "test", "rows": [row, row]}))
    with pytest.raises(BaselineError, match=r"duplicate row kd / t / d / c1 / accuracy \(spec\)"):
        read_baseline(path)
    with pytest.raises(BaselineError, match="nowhere.json: no such baseline file"):
        read_baseline(tmp_path / "nowhere.json")


def test_tolerance_syntax():
    assert parse_tolerance("accuracy=abs:0.01") == ("accuracy", Tolerance(abs=0.01))
    assert parse_tolerance("seg_iou/vessel=rel:0.5") == ("seg_iou/vessel", Tolerance(rel=0.5))
    for bad in ("accuracy", "accuracy=0.01", "accuracy=abs:x", "=abs:1", "accuracy=abs:-1", "accuracy=pct:1"):
        with pytest.raises(ToleranceError, match="expected METRIC=abs:AMOUNT"):
            parse_tolerance(bad)


def test_markdown_for_a_pull_request_comment(tmp_path):
    result = gate(tmp_path, [entry([0.90, 0.92, 0.94])], [entry([0.70, 0.72, 0.71])])
    text = render(result, "md")
    assert text.startswith("### Podium regression check: FAILED")
    assert f"- **regressed: {LINE}" in text
    assert "| track " in text and "| regressed " in text


def test_an_empty_baseline_is_valid_and_everything_is_new(tmp_path):
    baseline = Baseline(created_at="x", split="test", rows=[])
    with store_of(tmp_path, "s", entry([0.9])) as store:
        result = check(baseline, snapshot(store))
    assert verdicts(result) == {ROW: "new"} and result.passed


# ---------------------------------------------------------------- rows are configurations
def sweep(low, high, **fields):
    """Two configurations of one spec, mlp vanilla_kd with hidden 16 (values ``low``) and 64 (``high``)."""
    return [entry(low, model="mlp", params={"hidden": 16}, spec_name="sweep", **fields),
            entry(high, model="mlp", params={"hidden": 64}, spec_name="sweep", **fields)]


def by_label(result):
    return {row.shown[0]: row.verdict for row in result.rows}


def test_a_baseline_round_trips_by_configuration(tmp_path):
    """Two configurations of one model and method are two rows: saved, read back and checked apart."""
    with store_of(tmp_path, "s", *sweep([0.80, 0.81, 0.82], [0.90, 0.91, 0.92])) as store:
        baseline = baseline_from_store(store, track="kd")
    path = write_baseline(baseline, tmp_path / "baseline.json")
    back = read_baseline(path)
    accuracy = [row for row in back.rows if row.metric == "accuracy"]
    assert sorted((row.label, row.model, row.method, len(row.values)) for row in accuracy) == [
        ("sweep[hidden=16]", "mlp", "vanilla_kd", 3), ("sweep[hidden=64]", "mlp", "vanilla_kd", 3)]
    assert len({row.config_id for row in accuracy}) == 2
    with store_of(tmp_path, "same", *sweep([0.80, 0.81, 0.82], [0.90, 0.91, 0.92])) as store:
        assert by_label(check(back, snapshot(store))) == {"sweep[hidden=16]": "ok", "sweep[hidden=64]": "ok"}
    with store_of(tmp_path, "worse", *sweep([0.60, 0.61, 0.62], [0.90, 0.91, 0.92])) as store:  # only hidden=16 got worse
        result = check(back, snapshot(store))
    assert by_label(result) == {"sweep[hidden=16]": "regressed", "sweep[hidden=64]": "ok"}
    text = render(result)
    assert "regressed: kd / distillation / digits / sweep[hidden=16] (mlp vanilla_kd) / accuracy: 0.81 -> 0.61" in text
    header = text.splitlines()[0].split()
    assert header[:7] == ["track", "task", "dataset", "label", "model", "method", "metric"]


def test_a_changed_spec_is_another_configuration_and_the_missing_row_says_so(tmp_path):
    before = [entry([0.90, 0.91, 0.92], params={"epochs": 5})]
    after = [entry([0.70, 0.71, 0.72], params={"epochs": 1})]
    result = gate(tmp_path, before, after)
    assert sorted(row.verdict for row in result.rows) == ["missing", "new"] and not result.passed
    text = render(result)
    assert ("missing: kd / distillation / digits / kd-digits (small_cnn vanilla_kd) / accuracy: 0.91 -> - (no values; "
            "new configurations of the same model and method, whose resolved spec differs: kd-digits)") in text


def test_a_version_1_baseline_asks_for_a_new_one_in_one_line(tmp_path):
    path = tmp_path / "kd.json"
    row = {"track": "kd", "task": "t", "dataset": "d", "model": "m", "method": "", "metric": "accuracy", "higher_is_better": True, "values": {"0": 1.0}}
    path.write_text(json.dumps({"podium_baseline": 1, "created_at": "x", "split": "test", "track": "kd", "rows": [row]}))
    with pytest.raises(BaselineError) as err:
        read_baseline(path)
    message = str(err.value)
    assert "\n" not in message
    assert message == (f"{path}: a version-1 baseline, whose rows pooled the configurations of a model and method; "
                       f"save a new one from results you trust with `podium baseline save --track kd --out {path}`")


def test_a_baseline_of_one_track_and_split_holds_only_their_rows_in_key_order(tmp_path):
    """``--track`` keeps that track's rows, ``split`` picks the values, the rows come sorted by key whatever the runs'
    order, and the time stamp is UTC."""
    late = entry([0.5, 0.6], model="zzz", started_at="2024-06-01T00:00:00+00:00")  # the newest runs: the smaller key
    early = entry([0.7, 0.8], model="aaa", started_at="2024-01-01T00:00:00+00:00")
    other = entry([0.1, 0.2], track="scaling")
    with store_of(tmp_path, "s", late, early, other) as store:
        kd = baseline_from_store(store, track="kd")
        val = baseline_from_store(store, split="val")
        assert [row.key for row in snapshot(store, "kd").rows.values()] == [row.key for row in kd.rows]
    assert {row.track for row in kd.rows} == {"kd"} and kd.track == "kd"
    assert [row.key for row in kd.rows] == sorted(row.key for row in kd.rows)
    assert [row.model for row in kd.rows if row.metric == "accuracy"] == ["zzz", "aaa"]  # by config id, not by time
    assert {row.track for row in val.rows} == {"kd", "scaling"}
    assert {v for row in val.rows if row.metric == "accuracy" for v in row.values.values()} == {0.0}  # entry's val values
    assert kd.created_at.endswith("+00:00")


def test_provenance_names_each_device_with_its_hardware(tmp_path):
    gpu = [r.model_copy(update={"device": "cuda:0", "provenance": {**r.provenance, "device_name": "NVIDIA H100 80GB HBM3"}})
           for r in entry([0.9, 0.8])]
    with store_of(tmp_path, "s", gpu, entry([0.9], model="mlp")) as store:
        provenance = baseline_from_store(store).provenance
    assert provenance["device"] == ["cpu", "cuda:0 (NVIDIA H100 80GB HBM3)"]  # cpu's device name is cpu: said once


def test_a_family_tolerance_judges_its_per_class_metrics_and_a_class_s_own_wins(tmp_path):
    """``check: {seg_iou: ...}`` and ``--tolerance seg_iou=...`` cover ``seg_iou/vessel``; a tolerance of the class itself comes first."""
    before = [entry([0.90, 0.90], metric="seg_iou/vessel"), entry([0.90, 0.90], metric="seg_iou/cell", model="mlp")]

    def after(check):
        return [entry([0.87, 0.87], metric="seg_iou/vessel", check=check), entry([0.87, 0.87], metric="seg_iou/cell", model="mlp", check=check)]

    family = gate(tmp_path, before, after({"seg_iou": {"abs": 0.05}}))
    assert [(row.verdict, row.rule) for row in family.rows] == [("ok", "abs 0.05 (spec)")] * 2
    own = gate(tmp_path, before, after({"seg_iou": {"abs": 0.05}, "seg_iou/vessel": {"abs": 0.01}}))
    assert {row.key[-1]: (row.verdict, row.rule) for row in own.rows} == {
        "seg_iou/vessel": ("regressed", "abs 0.01 (spec)"), "seg_iou/cell": ("ok", "abs 0.05 (spec)")}
    command_line = gate(tmp_path, before, after(None), tolerances={"seg_iou": Tolerance(abs=0.05)})
    assert [(row.verdict, row.rule) for row in command_line.rows] == [("ok", "abs 0.05 (--tolerance)")] * 2


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5])
def test_alpha_must_lie_strictly_between_0_and_1(tmp_path, alpha):
    with pytest.raises(ToleranceError, match="--alpha"):
        gate(tmp_path, [entry([0.9, 0.8])], [entry([0.9, 0.8])], alpha=alpha)


def test_new_and_missing_rows_keep_their_values_and_direction(tmp_path):
    result = gate(tmp_path, [entry([0.3, 0.4], metric="loss")], [entry([0.9, 0.8], model="mlp")])
    rows = {row.verdict: row for row in result.rows}
    assert (rows["new"].baseline, rows["new"].current, rows["new"].higher_is_better, rows["new"].rule) == ((), (0.9, 0.8), True, "")
    assert (rows["missing"].baseline, rows["missing"].current, rows["missing"].higher_is_better, rows["missing"].rule) == ((0.3, 0.4), (), False, "")


def test_a_p_value_equal_to_the_level_is_not_significant(tmp_path):
    """The gate regresses (or improves) when p < alpha: at alpha equal to the row's p-value (scipy's Welch test, alone: BH leaves it), it passes."""
    before, after = [0.90, 0.91, 0.92], [0.875, 0.885, 0.895]
    p = stats.ttest_ind(after, before, equal_var=False, alternative="less").pvalue
    assert verdicts(gate(tmp_path, [entry(before)], [entry(after)], alpha=p)) == {ROW: "ok"}
    assert verdicts(gate(tmp_path, [entry(before)], [entry(after)], alpha=min(1 - 1e-9, p * (1 + 1e-9)))) == {ROW: "regressed"}
    assert verdicts(gate(tmp_path, [entry(after)], [entry(before)], alpha=p)) == {ROW: "ok"}  # the same shift upwards
    assert verdicts(gate(tmp_path, [entry(after)], [entry(before)], alpha=min(1 - 1e-9, p * (1 + 1e-9)))) == {ROW: "improved"}


# The same data mirrored upwards around 0.9: the one-sided p-values that the current mean is higher.
@pytest.mark.parametrize("before, after, verdict, welch, student", [
    (TIGHT_MANY, [1.80 - v for v in LOOSE_FEW], "ok", 0.1288, 0.0013),
    (LOOSE_MANY, [1.80 - v for v in TIGHT_FEW], "improved", 0.0216, 0.0891),
], ids=["student-would-improve", "student-would-not"])
def test_an_improvement_is_judged_by_welchs_one_sided_test_too(tmp_path, before, after, verdict, welch, student):
    before = [1.80 - v for v in before]
    assert stats.ttest_ind(after, before, equal_var=False, alternative="greater").pvalue == pytest.approx(welch, abs=1e-4)
    assert stats.ttest_ind(after, before, equal_var=True, alternative="greater").pvalue == pytest.approx(student, abs=1e-4)
    result = gate(tmp_path, [entry(before)], [entry(after)])
    assert verdicts(result) == {ROW: verdict}
    assert result.rows[0].rule == f"welch p={welch:.2g} vs 0.05 (BH over 1)"  # the p-value of the direction it moved
    assert result.rows[0].higher_is_better is True


def test_a_row_whose_mean_did_not_move_shows_the_adjusted_p_value_of_a_gain(tmp_path):
    """Worse by exactly 0: not worse, so the rule shows the p-value that it got better, adjusted with the other rows (BH)."""
    steady_before, steady_after = [1.0, 2.0, 3.0], [1.5, 2.0, 2.5]  # both means exactly 2.0: t = 0, each one-sided p 0.5
    drop_before, drop_after = [0.90, 0.91, 0.92], [0.50, 0.51, 0.52]
    better = [stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue
              for b, a in ((steady_before, steady_after), (drop_before, drop_after))]
    adjusted = stats.false_discovery_control(better)[0]  # min(0.5 * 2 / 1, ~1): about 1, where the worse side's stays 0.5
    result = gate(tmp_path, [entry(steady_before), entry(drop_before, model="mlp")], [entry(steady_after), entry(drop_after, model="mlp")])
    steady = next(row for row in result.rows if row.shown[1] == "small_cnn")
    assert steady.verdict == "ok" and steady.rule == f"welch p={adjusted:.2g} vs 0.05 (BH over 2)" and f"{adjusted:.2g}" != "0.5"
