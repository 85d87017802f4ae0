"""Planning the gate's seeds: the power of the gate's own Welch test against simulations of the gate's
decision and a direct integration, Student's noncentral t against published sample sizes, and the plan
of a baseline row by row under the gate's own rules."""
import json
import math

import numpy as np
import pytest
from scipy import optimize, special, stats

from leaderboard.plan import (
    MOST_SEEDS, Difference, PlanError, detectable, parse_difference, plan, render, seeds_for, student_power, welch_df, welch_power,
)
from leaderboard.regression import FEW_SEEDS, Baseline, BaselineRow, Snapshot, ToleranceError, _tested
from specs.schema import Tolerance

DRAWS = 40_000


def simulated_seeds(difference, n1, n2, sd1=1.0, sd2=1.0, draws=DRAWS, seed=0):
    """Normal seeds of a higher-is-better metric: the baseline's n1 of mean 0, and n2 current ones worse by ``difference``."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, sd1, (draws, n1)), rng.normal(-difference, sd2, (draws, n2))


def worse_p(before, after):
    """The p-values of the gate's one-sided Welch test that the current seeds are worse, draw by draw
    (as ``leaderboard.regression._one_sided`` calls scipy, vectorised)."""
    return stats.ttest_ind(after, before, axis=1, equal_var=False, alternative="less").pvalue


def simulated_power(difference, n1, n2, level, sd1=1.0, sd2=1.0, draws=DRAWS, seed=0):
    """How often the gate's test rejects at ``level``, and the binomial standard error of that fraction."""
    rejected = float(np.mean(worse_p(*simulated_seeds(difference, n1, n2, sd1, sd2, draws, seed)) < level))
    return rejected, math.sqrt(max(rejected * (1 - rejected), 1 / draws) / draws)


def direct_power(difference, n1, n2, level, sd1=1.0, sd2=1.0, points=200):
    """The power as the two-dimensional integral over the sample variances, without welch_power's reduction
    to one: E over s_i^2 ~ sd_i^2 chi2(k_i) / k_i of P(mean difference > t_crit(df(s1, s2)) SE(s1, s2)),
    the mean difference N(difference, sd1^2/n1 + sd2^2/n2), by Gauss-Legendre on the chi-squares' quantiles."""
    x, w = special.roots_legendre(points)
    p, w = (x + 1) / 2, w / 2
    k1, k2 = n1 - 1, n2 - 1
    v1 = sd1**2 / n1 * stats.chi2.ppf(p, k1)[:, None] / k1
    v2 = sd2**2 / n2 * stats.chi2.ppf(p, k2)[None, :] / k2
    df = (v1 + v2) ** 2 / (v1 * v1 / k1 + v2 * v2 / k2)
    tau = math.sqrt(sd1**2 / n1 + sd2**2 / n2)
    return float(w @ stats.norm.cdf((difference - stats.t.isf(level, df) * np.sqrt(v1 + v2)) / tau) @ w)


def test_the_simulation_decides_as_the_gate_does():
    before, after = simulated_seeds(1.5, 3, 5, draws=200, seed=1)
    pairs = [(row(list(b)), row(list(a))) for b, a in zip(before, after)]
    verdicts = [_tested([pair], 0.05 / 6)[0].verdict == "regressed" for pair in pairs]  # one row: BH leaves its p-value as it is
    assert verdicts == list(worse_p(before, after) < 0.05 / 6) and 0 < sum(verdicts) < 200


# Welch's power at the difference Student's noncentral t plans for power 0.8 (the old plan's), and at the
# plan's own detectable difference (power 0.8 by construction), with one sd and with two; unequal seeds.
CASES = [(3, 3, 0.05), (3, 3, 0.05 / 6), (5, 5, 0.05), (5, 5, 0.05 / 6), (10, 10, 0.05), (10, 10, 0.05 / 6), (3, 5, 0.05 / 6),
         (2, 6, 0.05), (10, 3, 0.05 / 6)]


@pytest.mark.parametrize("n1, n2, level", CASES)
def test_welch_power_is_what_the_gate_s_test_does_in_simulation(n1, n2, level):
    planned = detectable(n1, n2, level)
    promised = student_detectable(n1, n2, level)
    for difference, sd1, sd2 in [(planned, 1.0, 1.0), (promised, 1.0, 1.0), (planned, 1.0, 2.0), (planned, 0.5, 1.0)]:
        exact = welch_power(difference, n1, n2, level, sd1=sd1, sd2=sd2)
        simulated, error = simulated_power(difference, n1, n2, level, sd1, sd2, seed=n1 * 100 + n2)
        assert simulated == pytest.approx(exact, abs=4.5 * error)
        assert exact == pytest.approx(direct_power(difference, n1, n2, level, sd1, sd2), abs=2e-5)
    assert welch_power(planned, n1, n2, level) == pytest.approx(0.8, abs=1e-8)


def student_detectable(n1, n2, level, target=0.8):
    return optimize.brentq(lambda d: student_power(d, n1, n2, level) - target, 0, 100, xtol=1e-12)


def test_with_three_seeds_welch_s_test_has_far_less_power_than_student_s_noncentral_t():
    level = 0.05 / 6  # the shipped kd baseline's: 3 seeds a side, 6 rows tested
    promised = student_detectable(3, 3, level)
    assert student_power(promised, 3, 3, level) == pytest.approx(0.8)
    assert welch_power(promised, 3, 3, level) == pytest.approx(0.6188, abs=1e-4)
    simulated, error = simulated_power(promised, 3, 3, level, draws=50_000, seed=7)
    assert abs(simulated - 0.6188) < 4.5 * error and 0.8 - simulated > 50 * error  # the simulation tells them apart
    assert detectable(3, 3, level) > promised * 1.2  # 4.184 -> 5.24 sd
    for effect in (0.5, 1.0, 3.0, 6.0):
        assert welch_power(effect, 3, 3, level) < student_power(effect, 3, 3, level)
    # many seeds: the estimated df costs next to nothing
    assert welch_power(0.5, 64, 64, 0.05) == pytest.approx(student_power(0.5, 64, 64, 0.05), abs=1e-3)


def test_welch_s_test_with_nothing_changed_rejects_at_about_its_level():
    # not at it: with one sd on both sides the estimated df makes Welch's test conservative with equal
    # seeds, and liberal with very unequal ones (simulated here as well)
    for n1, n2, size in [(3, 3, 0.0397), (2, 50, 0.0816), (20, 20, 0.0498)]:
        assert welch_power(0.0, n1, n2, 0.05) == pytest.approx(size, abs=1e-4)
        simulated, error = simulated_power(0.0, n1, n2, 0.05, seed=n2)
        assert simulated == pytest.approx(size, abs=4.5 * error)
    assert detectable(2, 50, 0.05, 0.06) == 0.0  # it rejects more often than asked already


def test_the_integration_holds_at_the_extremes_of_the_seeds():
    assert welch_power(0.004, 10**6, 10**6, 0.05) == pytest.approx(student_power(0.004, 10**6, 10**6, 0.05), abs=1e-9)
    assert welch_power(2.0, 2, 10**6, 0.05 / 6) == pytest.approx(direct_power(2.0, 2, 10**6, 0.05 / 6), abs=1e-5)
    assert welch_power(3.0, 1000, 2, 0.05) == pytest.approx(direct_power(3.0, 1000, 2, 0.05), abs=1e-5)
    # two-sided: either tail at level / 2
    assert welch_power(1.2, 4, 7, 0.05, 2) == pytest.approx(welch_power(1.2, 4, 7, 0.025) + welch_power(-1.2, 4, 7, 0.025), abs=1e-12)


def normal_seeds(effect, alpha, target, sides):
    """The normal approximation's sample size per group, 2 ((z_a + z_b) / d)^2 rounded up: what the
    noncentral t must not give (it ignores that the sd is estimated)."""
    return math.ceil(2 * ((stats.norm.isf(alpha / sides) + stats.norm.isf(1 - target)) / effect) ** 2)


# Sample sizes per group of Student's two-sample t-test at power 0.8, alpha 0.05, from the noncentral t:
# d = 0.5 two-sided: 64 and d = 0.8 two-sided: 26 (Cohen 1992, "A power primer", Psychological
# Bulletin 112(1), Table 2: medium 64, large 26; Cohen 1988, Table 2.4.1); d = 0.5 one-sided: 51
# (G*Power 3, Faul et al. 2007, "t tests - means: difference between two independent means", one tail).
# The normal approximation gives 63, 25 and 50.
@pytest.mark.parametrize("effect, sides, expected, normal", [(0.5, 2, 64, 63), (0.8, 2, 26, 25), (0.5, 1, 51, 50)])
def test_student_s_power_gives_the_published_t_test_sample_sizes(effect, sides, expected, normal):
    assert normal_seeds(effect, 0.05, 0.8, sides) == normal  # the approximation would fail this test
    assert student_power(effect, expected, expected, 0.05, sides) >= 0.8 > student_power(effect, expected - 1, expected - 1, 0.05, sides)


def test_student_s_power_is_the_noncentral_t():
    # G*Power's "actual power" of d = 0.5, two-sided, alpha 0.05, 64 per group: 0.8014596
    assert student_power(0.5, 64, 64, 0.05, 2) == pytest.approx(0.8014596, abs=1e-7)
    assert student_power(0.0, 5, 5, 0.05, 1) == pytest.approx(0.05)  # no difference: rejected at the level
    assert student_power(0.0, 5, 5, 0.05, 2) == pytest.approx(0.05)
    # unequal seeds: Student's df n1 + n2 - 2, its pooled sd
    assert student_power(1.0, 2, 6, 0.05) == pytest.approx(stats.nct.sf(stats.t.isf(0.05, 6), 6, 1.0 / math.sqrt(1 / 2 + 1 / 6)))


def test_the_detectable_difference_and_the_seeds_invert_welch_s_power():
    d = detectable(64, 64, 0.05, 0.8, 2)
    assert welch_power(d, 64, 64, 0.05, 2) == pytest.approx(0.8, abs=1e-9)
    assert 0.49907 < d < 0.5  # Student's: 0.49907; the normal approximation: (1.96 + 0.8416) sqrt(2/64) = 0.4953
    for n in (2, 3, 10, 40):
        assert seeds_for(detectable(n, n, 0.01, 0.9) * 1.000001, 0.01, 0.9) == n
    for effect, sides in [(0.5, 2), (0.8, 2), (0.5, 1), (1.0, 1)]:
        n = seeds_for(effect, 0.05, 0.8, sides)
        assert welch_power(effect, n, n, 0.05, sides) >= 0.8 > welch_power(effect, n - 1, n - 1, 0.05, sides)
    assert detectable(3, 3, 0.05 / 6) > detectable(3, 3, 0.05) > detectable(6, 6, 0.05)
    assert detectable(3, 5, 0.05) < detectable(3, 3, 0.05)


def test_welch_satterthwaite_df():
    assert welch_df(3, 3) == 4
    assert welch_df(10, 10) == 18
    assert welch_df(2, 6) == pytest.approx((1 / 2 + 1 / 6) ** 2 / (1 / 4 + 1 / 180))  # 1.739, not Student's 6
    assert welch_df(3, 5, 1e-6, 1.0) == pytest.approx(4)  # one side's variance vanishes: the other's df
    assert welch_power(1.0, 2, 6, 0.05) < student_power(1.0, 2, 6, 0.05)


def test_seeds_beyond_the_bound_and_bad_arguments():
    assert seeds_for(1e-4, 0.05, 0.8, most=1000) is None
    assert seeds_for(6.0, 0.05) == 2  # Welch's power 0.81 with 2 seeds a side
    assert seeds_for(5.0, 0.05) == 3  # 0.71 with 2 (Student's noncentral t: 0.92)
    for call in (lambda: seeds_for(0.0, 0.05), lambda: detectable(1, 3, 0.05), lambda: detectable(3, 3, 0.05, 0.04),
                 lambda: seeds_for(1.0, 1.5)):
        with pytest.raises(ValueError):
            call()


def test_welch_satterthwaite_df_of_two_different_sds():
    # sds 1 and 2, 3 seeds a side: a = 1/3, b = 4/3, df = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2) = 50/17,
    # what scipy's Welch test uses for seeds of those sds
    assert welch_df(3, 3, 1.0, 2.0) == pytest.approx(50 / 17)
    assert welch_df(3, 3, 1.0, 2.0) == pytest.approx(stats.ttest_ind([-1, 0, 1], [-2, 0, 2], equal_var=False).df)


@pytest.mark.parametrize("level, target", [(0.0, 0.8), (1.0, 0.8), (1.5, 0.8), (0.05, 0.0), (0.05, 1.0), (0.05, 1.5)])
def test_a_level_or_power_outside_0_and_1_is_refused(level, target):
    for call in (lambda: seeds_for(1.0, level, target, most=8), lambda: detectable(3, 3, level, target)):
        with pytest.raises(ValueError, match="expected numbers between 0 and 1"):
            call()


def test_a_power_no_more_than_the_level_and_one_seed_on_either_side_are_refused():
    with pytest.raises(ValueError, match="expected more than the level"):
        seeds_for(1.0, 0.05, 0.05)  # no difference at all is rejected that often
    with pytest.raises(ValueError, match="1 seeds: a t-test needs at least 2 a side"):
        detectable(3, 1, 0.05)


def test_a_power_reached_exactly_is_enough():
    # the target is the power of these seeds or this difference itself: those are the answer
    assert seeds_for(1.0, 0.05, welch_power(1.0, 5, 5, 0.05)) == 5
    assert detectable(3, 3, 0.05, welch_power(1.0, 3, 3, 0.05)) == 1.0


def test_the_bound_on_the_seeds_is_kept_when_it_is_not_a_power_of_two():
    assert seeds_for(1.7, 0.05) == 6  # Welch's power of 6 seeds a side >= 0.8 > that of 5
    assert welch_power(1.7, 6, 6, 0.05) >= 0.8 > welch_power(1.7, 5, 5, 0.05)
    for most in (6, 7, 9):
        found = seeds_for(1.7, 0.05, most=most)
        assert found == 6 and isinstance(found, int)  # whole seeds, found by bisection below the bound
    assert seeds_for(1.7, 0.05, most=5) is None
    assert seeds_for(5.0, 0.05, most=2) is None  # 3 needed


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
    # one-sided, at alpha / m = 0.025, power 0.8 of the gate's Welch test, the sd 0.02 on both sides
    assert welch_power(tested.detectable, 3, 3, 0.025, sd1=0.02, sd2=0.02) == pytest.approx(0.8, abs=1e-8)
    simulated, error = simulated_power(tested.detectable, 3, 3, 0.025, 0.02, 0.02, seed=3)
    assert simulated == pytest.approx(0.8, abs=4.5 * error)
    assert tested.detectable > 0.02 * student_detectable(3, 3, 0.025)  # what the noncentral t would have said
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


def test_only_the_track_asked_for_is_planned():
    saved = baseline(row(A), row(B, config="c2").model_copy(update={"track": "seg"}))
    assert [r.key[3] for r in plan(saved, track="kd").rows] == ["c1"]
    assert [r.key[3] for r in plan(saved, track="seg").rows] == ["c2"]
    assert len(plan(saved).rows) == 2


def test_a_row_missing_from_the_results_does_not_stop_the_rows_after_it():
    saved = baseline(row(B, config="c2"), row(A))
    current = Snapshot(rows={row(A).key: row(A)}, checks={}, provenance={}, superseded=0)
    rows = by_row(plan(saved, current))
    assert rows["c2", "accuracy"].rule.startswith("missing") and rows["c2", "accuracy"].seeds == (4, 0)  # no current seeds
    assert rows["c1", "accuracy"].rule == "welch" and rows["c1", "accuracy"].seeds == (3, 3)


def test_rows_are_ordered_as_podium_check_orders_them():
    # by track, task, dataset, then the label, model and method shown, then config and metric: not by config first
    saved = baseline(row(A, config="c1", label="zeta"), row(B, config="c2", label="alpha"))
    assert [r.key[3] for r in plan(saved).rows] == ["c2", "c1"]
    same = baseline(row(A, config="c2", label="same"), row(B, config="c1", label="same"))
    assert [r.key[3] for r in plan(same).rows] == ["c1", "c2"]  # one label: by config


def test_the_plan_says_whether_its_sd_is_pooled_with_current_results():
    saved = baseline(row(A))
    assert plan(saved).pooled is False
    assert plan(saved, Snapshot(rows={row(A).key: row(A)}, checks={}, provenance={}, superseded=0)).pooled is True


def test_a_power_other_than_the_default_is_planned_for():
    result = plan(baseline(row(A)), target=0.9, difference=Difference(0.03))
    tested = result.rows[0]
    assert result.power == 0.9 and result.level == 0.05
    assert welch_power(tested.detectable / 0.02, 3, 3, 0.05) == pytest.approx(0.9, abs=1e-8)
    n = tested.needed  # the fewest seeds a side with power 0.9 at 0.03 / 0.02 = 1.5 sd
    assert welch_power(1.5, n, n, 0.05) >= 0.9 > welch_power(1.5, n - 1, n - 1, 0.05)
    assert n > seeds_for(1.5, 0.05, 0.8)


def test_a_row_keeps_its_direction_and_two_seeds_give_an_sd():
    rows = by_row(plan(baseline(row([0.90, 0.94]), row([2.0, 2.5, 3.5], metric="loss", higher=False))))
    assert rows["c1", "accuracy"].higher_is_better is True and rows["c1", "loss"].higher_is_better is False
    assert rows["c1", "accuracy"].rule == "welch" and rows["c1", "accuracy"].sd == pytest.approx(0.04 / math.sqrt(2))  # ddof 1


def test_alpha_and_power_at_their_bounds_are_refused():
    for alpha in (1.0, 1.5):
        with pytest.raises(ToleranceError, match=f"--alpha {alpha}"):
            plan(baseline(row(A)), alpha=alpha)
    for target in (0.05, 1.0):
        with pytest.raises(PlanError, match=f"--power {target}"):
            plan(baseline(row(A)), alpha=0.05, target=target)


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
