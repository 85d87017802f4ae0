"""Planning the gate's seeds: the t-test's power against published sample sizes, and the plan of a
baseline row by row under the gate's own rules."""
import json
import math

import numpy as np
import pytest
from scipy import stats

from leaderboard.plan import (
    MOST_SEEDS, Difference, PlanError, detectable, parse_difference, plan, power, render, seeds_for, welch_df,
)
from leaderboard.regression import FEW_SEEDS, Baseline, BaselineRow, Snapshot, ToleranceError
from specs.schema import Tolerance


def normal_seeds(effect, alpha, target, sides):
    """The normal approximation's sample size per group, 2 ((z_a + z_b) / d)^2 rounded up: what the
    noncentral t must not give (it ignores that the sd is estimated)."""
    return math.ceil(2 * ((stats.norm.isf(alpha / sides) + stats.norm.isf(1 - target)) / effect) ** 2)


# Sample sizes per group of the two-sample t-test at power 0.8, alpha 0.05, from the noncentral t:
# d = 0.5 two-sided: 64 and d = 0.8 two-sided: 26 (Cohen 1992, "A power primer", Psychological
# Bulletin 112(1), Table 2: medium 64, large 26; Cohen 1988, Table 2.4.1); d = 0.5 one-sided: 51
# (G*Power 3, Faul et al. 2007, "t tests - means: difference between two independent means", one tail).
# The normal approximation gives 63, 25 and 50.
@pytest.mark.parametrize("effect, sides, expected, normal", [(0.5, 2, 64, 63), (0.8, 2, 26, 25), (0.5, 1, 51, 50)])
def test_seeds_for_a_difference_are_the_published_t_test_sample_sizes(effect, sides, expected, normal):
    assert normal_seeds(effect, 0.05, 0.8, sides) == normal  # the approximation would fail this test
    assert seeds_for(effect, 0.05, 0.8, sides) == expected
    assert power(effect, expected, expected, 0.05, sides) >= 0.8 > power(effect, expected - 1, expected - 1, 0.05, sides)


def test_power_is_the_noncentral_t():
    # G*Power's "actual power" of d = 0.5, two-sided, alpha 0.05, 64 per group: 0.8014596
    assert power(0.5, 64, 64, 0.05, 2) == pytest.approx(0.8014596, abs=1e-7)
    assert power(0.0, 5, 5, 0.05, 1) == pytest.approx(0.05)  # no difference: rejected at the level
    assert power(0.0, 5, 5, 0.05, 2) == pytest.approx(0.05)


def test_the_detectable_difference_inverts_the_power():
    d = detectable(64, 64, 0.05, 0.8, 2)
    assert power(d, 64, 64, 0.05, 2) == pytest.approx(0.8, abs=1e-9)
    assert d == pytest.approx(0.49907, abs=1e-5)  # the normal approximation: (1.96 + 0.8416) sqrt(2/64) = 0.4953
    for n in (2, 3, 10, 40):
        assert seeds_for(detectable(n, n, 0.01, 0.9) * 1.000001, 0.01, 0.9) == n
    assert detectable(3, 3, 0.05 / 6) > detectable(3, 3, 0.05) > detectable(6, 6, 0.05)


def test_welch_satterthwaite_df_of_one_common_sd():
    assert welch_df(3, 3) == 4
    assert welch_df(10, 10) == 18
    assert welch_df(2, 6) == pytest.approx((1 / 2 + 1 / 6) ** 2 / (1 / 4 + 1 / 180))  # 1.739, not Student's 6
    # unequal seeds: power at the Welch df, below what Student's df (n1 + n2 - 2) would promise
    shift = 1.0 / math.sqrt(1 / 2 + 1 / 6)
    student = stats.nct.sf(stats.t.isf(0.05, 6), 6, shift)
    assert power(1.0, 2, 6, 0.05) == pytest.approx(stats.nct.sf(stats.t.isf(0.05, welch_df(2, 6)), welch_df(2, 6), shift))
    assert power(1.0, 2, 6, 0.05) < student


def test_seeds_beyond_the_bound_and_bad_arguments():
    assert seeds_for(1e-4, 0.05, 0.8, most=1000) is None
    assert seeds_for(5.0, 0.05) == 2
    for call in (lambda: seeds_for(0.0, 0.05), lambda: detectable(1, 3, 0.05), lambda: detectable(3, 3, 0.05, 0.04),
                 lambda: seeds_for(1.0, 1.5)):
        with pytest.raises(ValueError):
            call()


# ---------------------------------------------------------------- the plan of a baseline


def row(values, metric="accuracy", config="c1", higher=True, **fields):
    return BaselineRow(track="kd", task="distillation", dataset="digits", config_id=config, label=fields.pop("label", f"kd-digits[{config}]"),
                       model="small_cnn", method=fields.pop("method", "vanilla_kd"), metric=metric, higher_is_better=higher,
                       values=dict(enumerate(values)), **fields)


def baseline(*rows):
    return Baseline(created_at="2024-05-01T00:00:00+00:00", split="test", track="kd", rows=list(rows))


A = [0.90, 0.92, 0.94]  # sd 0.02
B = [0.80, 0.85, 0.81, 0.84]  # sd 0.0238


def by_row(result):
    return {(r.key[3], r.key[4]): r for r in result.rows}


def test_each_row_is_planned_by_the_rule_the_gate_applies():
    saved = baseline(row(A), row(B, config="c2"), row([0.9], config="one"), row([1.0, 1.0, 1.0], metric="top5_accuracy"),
                     row([4.0, 5.0, 6.0], metric="duration_s", higher=False))
    result = plan(saved)
    rows = by_row(result)
    assert set(rows) == {("c1", "accuracy"), ("c2", "accuracy"), ("one", "accuracy"), ("c1", "top5_accuracy")}  # no timings
    assert result.tested == 2 and result.level == pytest.approx(0.025)
    tested = rows["c1", "accuracy"]
    assert tested.rule == "welch" and tested.seeds == (3, 3) and tested.sd == pytest.approx(0.02)
    # one-sided, at alpha / m = 0.025, power 0.8, df 4: computed from scipy's noncentral t directly
    shift = stats.nct.sf(stats.t.isf(0.025, 4), 4, tested.detectable / (0.02 * math.sqrt(2 / 3)))
    assert shift == pytest.approx(0.8, abs=1e-9)
    assert rows["c2", "accuracy"].detectable == pytest.approx(np.std(B, ddof=1) * detectable(4, 4, 0.025))
    few = rows["one", "accuracy"]
    assert few.rule == "rel 0.02 (default: < 2 seeds)" and few.detectable is None and few.allowed == pytest.approx(0.02 * 0.9)
    flat = rows["c1", "top5_accuracy"]
    assert flat.rule == "rel 0.02 (default: no seed variance)" and flat.allowed == pytest.approx(FEW_SEEDS.rel)
    assert by_row(plan(saved, timings=True))["c1", "duration_s"].rule == "rel 0.5 (default: timings)"


def test_a_difference_asks_for_seeds_per_side_and_tolerance_rows_say_whether_it_fails():
    saved = baseline(row(A), row(B, config="c2"), row([0.9], config="one"))
    rows = by_row(plan(saved, difference=Difference(0.03)))
    assert rows["c1", "accuracy"].needed == seeds_for(0.03 / 0.02, 0.025)
    assert rows["c1", "accuracy"].difference == 0.03
    assert rows["one", "accuracy"].needed is None and rows["one", "accuracy"].fails() is True  # 0.03 > 0.018
    relative = by_row(plan(saved, difference=Difference(0.01, relative=True)))
    assert relative["c1", "accuracy"].difference == pytest.approx(0.0092)
    assert relative["one", "accuracy"].fails() is False  # 0.009 <= 0.018
    assert by_row(plan(saved, difference=Difference(1e-7)))["c1", "accuracy"].needed is None  # more than MOST_SEEDS
    assert MOST_SEEDS == 10**6
    centred = plan(baseline(row([-0.01, 0.0, 0.01], metric="margin")), difference=Difference(0.1, relative=True))
    assert centred.rows[0].difference == 0 and centred.rows[0].needed is None and "no change to detect" in render(centred)
    assert "seeds_needed_more_than" not in json.loads(render(centred, "json"))["rows"][0]


def test_command_line_tolerances_and_the_results_spec_checks_override_the_test():
    saved = baseline(row(A), row(B, config="c2"))
    rows = by_row(plan(saved, tolerances={"accuracy": Tolerance(abs=0.01)}))
    assert rows["c1", "accuracy"].rule == "abs 0.01 (--tolerance)" and rows["c1", "accuracy"].allowed == 0.01
    current = Snapshot(rows={r.key: r for r in (row(A + [0.91, 0.93]), row(B, config="c2"))},
                       checks={row(B, config="c2").key: Tolerance(rel=0.05)}, provenance={}, superseded=0)
    result = plan(saved, current)
    rows = by_row(result)
    assert result.tested == 1 and result.level == 0.05
    assert rows["c1", "accuracy"].seeds == (3, 5)
    pooled = math.sqrt((2 * np.var(A, ddof=1) + 4 * np.var(A + [0.91, 0.93], ddof=1)) / 6)
    assert rows["c1", "accuracy"].sd == pytest.approx(pooled)
    assert rows["c1", "accuracy"].detectable == pytest.approx(pooled * detectable(3, 5, 0.05))
    assert rows["c2", "accuracy"].rule == "rel 0.05 (spec)"
    gone = plan(saved, Snapshot(rows={}, checks={}, provenance={}, superseded=0))
    assert {r.rule for r in gone.rows} == {"missing: not in the results, nothing to compare"} and gone.tested == 0


def test_differences_parse_and_bad_ones_are_refused():
    assert parse_difference("0.01") == Difference(0.01) and str(parse_difference("rel:0.02")) == "rel:0.02"
    for bad in ("", "x", "rel:", "-0.1", "0", "nan", "inf", "abs:0.1"):
        with pytest.raises(PlanError, match="--difference"):
            parse_difference(bad)
    with pytest.raises(PlanError, match="--power 1.2"):
        plan(baseline(row(A)), target=1.2)
    with pytest.raises(ToleranceError, match="--alpha 0"):
        plan(baseline(row(A)), alpha=0.0)


def test_renderings_say_what_the_numbers_mean():
    saved = baseline(row(A), row([0.9], config="one"))
    result = plan(saved, difference=Difference(0.05))
    table = render(result)
    assert "welch at 0.05" in table and "no test: worse by > 0.018 fails" in table and "no test: fails" in table
    assert "1 of 2 rows are tested by one-sided Welch t-tests" in table and "seeds needed" in table
    assert render(result, "md").startswith("### Podium plan")
    hostile = render(plan(baseline(row(A, label="a|b <i>"))), "md")
    assert "a\\|b &lt;i&gt;" in hostile and "<i>" not in hostile  # escaped as `podium check --format md` is
    data = json.loads(render(result, "json"))
    assert data["tested"] == 1 and data["level"] == 0.05 and data["difference"] == "0.05"
    tested, few = sorted(data["rows"], key=lambda r: r["config_id"])
    assert tested["tested"] and tested["detectable"] == pytest.approx(result.rows[0].detectable) and tested["seeds_needed"] >= 2
    assert not few["tested"] and few["sd"] is None and few["fails"] is True and few["seeds_needed"] is None
