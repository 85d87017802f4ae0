"""Which entries of a board a test cannot tell apart: each test against scipy's own on hand-built data
where the variants part (unequal variances, ties, a pair that holm and no adjustment decide apart),
the grouping when ties are not transitive, missing cases, one seed, references, and boards read from
a store."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leaderboard import significance
from leaderboard.ranking import PODIUM, adjust_p
from leaderboard.significance import (
    SIGNIFICANCE_COLUMNS, Significance, SignificanceError, compare_pairs, leaderboard_with_ties, tie_text, ties,
)
from tests.leaderboard.conftest import make_record

# Three entries right (1) or wrong (0) on 50 cases, as (A, B, C) patterns and how often each occurs.
# Discordant cases: A-B 10 to 2 (McNemar p = .0386), A-C 15 to 0 (p = 6.1e-5), B-C 15 to 8 (p = .21).
# Holm over the three pairs takes A-B to .077: tied; unadjusted it is separated. So under holm A ~ B,
# B ~ C but A !~ C: the ties are not transitive.
PATTERNS = {(1, 0, 0): 2, (0, 1, 0): 2, (1, 0, 1): 8, (1, 1, 0): 13, (1, 1, 1): 20, (0, 0, 0): 5}
THREE = np.array([pattern for pattern, count in PATTERNS.items() for _ in range(count)], dtype=float).T  # (3, 50)


def three(settings: Significance = Significance()):
    return compare_pairs(THREE, THREE.mean(axis=1), np.zeros(3), np.ones(3), settings)


def pair(tests, i: int, j: int) -> int:
    return int(np.flatnonzero((tests.first == i) & (tests.second == j))[0])


# ---------------------------------------------------------------- each test against scipy


def test_mcnemar_is_the_exact_binomial_test_of_the_discordant_cases():
    tests = three()
    assert list(tests.test) == ["mcnemar"] * 3  # every value 0 or 1: auto takes McNemar
    for (i, j), (b, c) in {(0, 1): (10, 2), (0, 2): (15, 0), (1, 2): (15, 8)}.items():
        assert ((THREE[i] == 1) & (THREE[j] == 0)).sum() == b and ((THREE[i] == 0) & (THREE[j] == 1)).sum() == c
        assert tests.p[pair(tests, i, j)] == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-12)
    assert tests.p[pair(tests, 0, 1)] == pytest.approx(0.0386, abs=1e-4)



def test_mcnemar_of_as_many_cases_each_way_is_1():
    """b == c (and b = c = 0, entries that agree on every case): binomtest gives 1, never above it."""
    values = np.array([[1, 1, 1, 0, 0, 0, 1, 0], [0, 0, 0, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0, 1, 0]], dtype=float)  # A-B: 3 to 3
    tests = compare_pairs(values, values.mean(axis=1), np.zeros(3), np.ones(3))
    assert stats.binomtest(3, 6).pvalue == 1.0
    assert list(tests.test) == ["mcnemar"] * 3 and list(tests.p) == [1.0, 1.0, 1.0]


def test_a_board_of_one_case_and_a_pair_sharing_one_case_are_tested():
    """One case is enough for a per-case test: one discordant case, McNemar p = binomtest(1, 1) = 1."""
    one = compare_pairs(np.array([[1.0], [0.0]]), [1.0, 0.0], [0, 0], [1, 1])
    assert list(one.test) == ["mcnemar"] and one.p[0] == stats.binomtest(1, 1).pvalue == 1.0 and one.cases == 1
    shared = compare_pairs(np.array([[1.0, np.nan], [0.0, 1.0]]), [1.0, 0.5], [0, 0], [1, 1])  # they share case 0 only
    assert list(shared.test) == ["mcnemar"] and shared.p[0] == 1.0


def test_correct_or_incorrect_given_as_booleans_are_read_as_0_and_1():
    booleans = THREE.astype(bool)
    for test in ("auto", "wilcoxon", "bootstrap"):
        settings = Significance(test=test, resamples=200)
        expected = compare_pairs(THREE, THREE.mean(axis=1), np.zeros(3), np.ones(3), settings)
        tests = compare_pairs(booleans, booleans.mean(axis=1), np.zeros(3), np.ones(3), settings)
        assert list(tests.test) == list(expected.test) and list(tests.p) == list(expected.p)
    # Wilcoxon of A - B: scipy on the 0/1 differences (ties: the approximation with continuity correction)
    tests = compare_pairs(booleans, booleans.mean(axis=1), np.zeros(3), np.ones(3), Significance(test="wilcoxon"))
    assert tests.p[pair(tests, 0, 1)] == pytest.approx(stats.wilcoxon(THREE[0], THREE[1], method="approx", correction=True).pvalue, rel=1e-9)


def test_untested_pairs_are_left_out_of_the_adjustment():
    """Three pairs tested beside three untested ones: holm over the three, as on the board without the untested entry."""
    values = np.vstack([THREE, np.full(50, np.nan)])  # D: no per-case values and one seed
    tests = compare_pairs(values, [0.86, 0.70, 0.56, 0.60], [0.02] * 4, [3, 3, 3, 1])
    tested = tests.tested
    assert tested.sum() == 3 and np.isnan(tests.adjusted[~tested]).all()
    np.testing.assert_allclose(tests.adjusted[tested], adjust_p(tests.p[tested], "holm"))
    np.testing.assert_allclose(tests.adjusted[tested], three().adjusted)  # A-B: 2 x .0386 = .077, as over three pairs


def test_a_near_significant_pair_is_separated_unadjusted_and_tied_under_holm():
    holm, none = three(), three(Significance.of(p_adjust="none"))
    ab = pair(holm, 0, 1)
    assert holm.p[ab] == none.p[ab] < 0.05
    assert holm.adjusted[ab] == pytest.approx(2 * holm.p[ab]) and holm.adjusted[ab] > 0.05  # the second smallest of three: x2
    assert not holm.separated[ab] and none.separated[ab]
    assert holm.separated[pair(holm, 0, 2)] and none.separated[pair(none, 0, 2)]
    assert not holm.separated[pair(holm, 1, 2)] and not none.separated[pair(none, 1, 2)]
    bonferroni = three(Significance.of(p_adjust="bonferroni"))
    np.testing.assert_allclose(bonferroni.adjusted, np.minimum(1, 3 * bonferroni.p))


def test_ties_that_are_not_transitive_are_listed_per_entry():
    """A ~ B and B ~ C, but A !~ C: B is tied with both, A and C each with B only."""
    tied_with, untested, tied = ties(three(), np.array([1, 2, 3]))
    assert tied_with == ["2", "1, 3", "2"] and untested == ["", "", ""]
    assert tied == [False, True, False]  # the leader itself is not 'tied with the leader'; C is separated from it
    tied_with, _, tied = ties(three(Significance.of(p_adjust="none")), np.array([1, 2, 3]))
    assert tied_with == ["", "3", "2"] and tied == [False, False, False]  # unadjusted, A is separated from both
    assert tie_text(tied_with[0], "") == "none" and tie_text("1, 3", "", mark="#") == "#1, #3"


def test_ties_that_are_transitive_make_one_group():
    values = np.vstack([THREE[1], THREE[2], THREE[2][::-1]])  # B, C and C's values in another order: no pair separable
    tests = compare_pairs(values, values.mean(axis=1), np.zeros(3), np.ones(3))
    assert not tests.separated.any()
    tied_with, _, tied = ties(tests, np.array([1, 2, 2]))  # two entries share rank 2
    assert tied_with == ["2", "1, 2", "1, 2"] and tied == [False, True, True]


def test_an_entry_is_tied_with_the_leader_when_any_rank_1_entry_cannot_be_separated_from_it():
    """Two entries share rank 1 (equal means); the third is separated from the steady one but not
    from the noisy one, so it is tied with the leader."""
    tests = compare_pairs(None, [0.90, 0.90, 0.85], [0.001, 0.1, 0.001], [10, 3, 10])
    assert tests.separated[pair(tests, 0, 2)] and not tests.separated[pair(tests, 1, 2)]
    tied_with, _, tied = ties(tests, np.array([1, 1, 3]))
    assert tied_with == ["1", "1, 3", "1"] and tied == [False, False, True]


def test_wilcoxon_is_scipys_two_sided_test_exact_without_ties_and_approximate_with_them():
    rng = np.random.default_rng(4)
    a = rng.normal(0.6, 0.1, 30)
    b = a - rng.normal(0.03, 0.05, 30)  # distinct differences: auto is exact (below 50)
    tests = compare_pairs(np.vstack([a, b]), [a.mean(), b.mean()], [0, 0], [1, 1])
    assert list(tests.test) == ["wilcoxon"]
    assert tests.p[0] == pytest.approx(stats.wilcoxon(a, b, method="exact").pvalue, rel=1e-9)
    c = np.round(b, 2)
    d = np.round(a, 2)  # rounded: tied differences and zeros; auto takes the normal approximation with continuity correction
    tests = compare_pairs(np.vstack([d, c]), [d.mean(), c.mean()], [0, 0], [1, 1])
    expected = stats.wilcoxon(d, c, method="approx", correction=True).pvalue
    assert tests.p[0] == pytest.approx(expected, rel=1e-9)
    assert tests.p[0] != pytest.approx(stats.wilcoxon(d, c, method="approx", correction=False).pvalue, rel=1e-6)  # the variant matters
    exact = compare_pairs(np.vstack([d, c]), [d.mean(), c.mean()], [0, 0], [1, 1], Significance(rules=PODIUM.with_(wilcoxon="exact")))
    assert exact.p[0] != tests.p[0]  # the rules' wilcoxon setting reaches the test



def test_wilcoxon_of_a_balanced_pair_is_1():
    """Differences 1, -2, -3, 4: T+ = 5, the middle of the exact distribution; both one-sided p-values
    pass 1/2, and the two-sided p is capped at 1 as scipy gives it."""
    a = np.array([2.0, 1.0, 1.0, 5.0])
    b = a - np.array([1.0, -2.0, -3.0, 4.0])
    tests = compare_pairs(np.vstack([a, b]), [a.mean(), b.mean()], [0, 0], [1, 1])
    assert list(tests.test) == ["wilcoxon"] and tests.p[0] == stats.wilcoxon(a, b).pvalue == 1.0


def test_wilcoxon_in_several_blocks_of_pairs_gives_the_one_blocks_p_values(monkeypatch):
    rng = np.random.default_rng(5)
    values = rng.normal(0.5, 0.2, (5, 12))  # ten pairs
    whole = compare_pairs(values, values.mean(axis=1), np.zeros(5), np.ones(5))
    for block in (12, 36):  # one or three pairs per block
        monkeypatch.setattr(significance, "PAIR_BLOCK", block)
        assert list(compare_pairs(values, values.mean(axis=1), np.zeros(5), np.ones(5)).p) == list(whole.p)
    for (i, j) in ((0, 1), (3, 4)):
        assert whole.p[pair(whole, i, j)] == pytest.approx(stats.wilcoxon(values[i], values[j]).pvalue, rel=1e-9)


def test_welch_is_scipys_unequal_variance_t_test_over_seeds():
    steady = np.array([0.800, 0.805, 0.795, 0.802, 0.798])
    noisy = np.array([0.70, 0.93, 0.62, 0.95, 0.76, 0.88, 0.66])
    tests = compare_pairs(None, [steady.mean(), noisy.mean()], [steady.std(ddof=1), noisy.std(ddof=1)], [5, 7])
    assert list(tests.test) == ["welch"]  # no per-case values
    welch = stats.ttest_ind(steady, noisy, equal_var=False).pvalue
    student = stats.ttest_ind(steady, noisy, equal_var=True).pvalue
    assert tests.p[0] == pytest.approx(welch, rel=1e-10) and abs(welch - student) > 0.01  # unequal variances: the variants part


def test_welch_without_spread_separates_different_means_and_ties_equal_ones():
    tests = compare_pairs(None, [0.9, 0.9, 0.8], [0.0, 0.0, 0.0], [3, 3, 3])
    assert tests.p[pair(tests, 0, 1)] == 1.0 and tests.p[pair(tests, 0, 2)] == 0.0 and tests.p[pair(tests, 1, 2)] == 0.0



def test_welch_needs_two_seeds_on_each_side_and_two_are_enough():
    a, b = np.array([0.80, 0.82]), np.array([0.70, 0.75])
    tests = compare_pairs(None, [a.mean(), b.mean()], [a.std(ddof=1), b.std(ddof=1)], [2, 2])
    assert list(tests.test) == ["welch"]
    assert tests.p[0] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-10)
    for n in ([1, 2], [2, 1]):
        assert not compare_pairs(None, [a.mean(), b.mean()], [0.01, 0.01], n).tested.any()


def test_the_paired_bootstrap_is_seeded_and_agrees_with_the_paired_t_test_on_many_cases():
    rng = np.random.default_rng(7)
    a = rng.normal(0.70, 0.2, 400)
    b = a - rng.normal(0.02, 0.2, 400)  # a mean difference of about 1.4 standard errors
    settings = Significance(test="bootstrap", resamples=4000, seed=3)
    values = np.vstack([a, b])
    tests = compare_pairs(values, values.mean(axis=1), [0, 0], [1, 1], settings)
    assert list(tests.test) == ["bootstrap"]
    assert tests.p[0] == pytest.approx(stats.ttest_rel(a, b).pvalue, abs=0.03)
    assert compare_pairs(values, values.mean(axis=1), [0, 0], [1, 1], settings).p[0] == tests.p[0]  # reproducible
    other = compare_pairs(values, values.mean(axis=1), [0, 0], [1, 1], Significance(test="bootstrap", resamples=4000, seed=4))
    assert other.p[0] != tests.p[0] and other.p[0] == pytest.approx(tests.p[0], abs=0.03)
    same = compare_pairs(np.vstack([a, a]), [a.mean()] * 2, [0, 0], [1, 1], settings)
    assert same.p[0] == 1.0  # no difference at all


def test_the_bootstrap_over_cases_one_entry_lacks_uses_the_shared_ones():
    rng = np.random.default_rng(8)
    values = rng.normal(0.5, 0.2, (3, 300))
    values[0] += 0.1
    values[1, :100] = np.nan  # B lacks a third of the cases
    settings = Significance(test="bootstrap", resamples=3000)
    tests = compare_pairs(values, np.nanmean(values, axis=1), [0] * 3, [1] * 3, settings)
    shared = ~np.isnan(values[1])
    assert tests.p[pair(tests, 0, 1)] == pytest.approx(stats.ttest_rel(values[0, shared], values[1, shared]).pvalue, abs=0.03)
    assert tests.p[pair(tests, 0, 1)] < 0.01 and tests.p[pair(tests, 1, 2)] > 0.05



def exact_bootstrap_p(values: np.ndarray, i: int, j: int) -> float:
    """The paired bootstrap's p-value over every one of the K^K equally likely resamples of K cases:
    the share whose mean difference over the drawn shared cases is at least as far from the observed
    one as the observed one is from 0 (or that draws no shared case)."""
    cases = values.shape[1]
    shared = ~np.isnan(values[i]) & ~np.isnan(values[j])
    difference = np.where(shared, values[i] - values[j], 0.0)
    observed = difference[shared].mean()
    beyond = 0
    for draw in itertools.product(range(cases), repeat=cases):
        drawn = [case for case in draw if shared[case]]
        if not drawn or abs(np.mean(difference[drawn]) - observed) >= abs(observed):
            beyond += 1
    return beyond / cases**cases


def test_the_paired_bootstrap_on_five_cases_is_the_exact_bootstrap_of_all_resamples():
    """20,000 resamples against the enumeration of all 5^5 (the standard error of the estimate is
    below .004); B lacks cases 0 and 3, so its pairs use the other three, C-A all five."""
    values = np.array([
        [0.91, 0.35, 0.62, 0.48, 0.77],
        [np.nan, 0.41, 0.30, np.nan, 0.52],
        [0.66, 0.12, 0.58, 0.21, 0.80],
    ])
    tests = compare_pairs(values, np.nanmean(values, axis=1), np.zeros(3), np.ones(3), Significance(test="bootstrap", resamples=20_000, seed=1))
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert tests.p[pair(tests, i, j)] == pytest.approx(exact_bootstrap_p(values, i, j), abs=0.015)
    # A-B by the enumeration: 243 of 3125 resamples, 32 of them (2/5)^5 drawing none of the shared cases
    assert exact_bootstrap_p(values, 0, 1) == pytest.approx(243 / 3125) and tests.p[pair(tests, 0, 1)] == pytest.approx(0.0778, abs=0.015)


def test_the_bootstrap_in_several_blocks_gives_the_one_blocks_p_values(monkeypatch):
    """Blocks of three resamples (the last of two) and one pair per block give the same draws, so the same p-values."""
    rng = np.random.default_rng(9)
    values = rng.normal(0.5, 0.2, (4, 5))
    values[1, 0] = np.nan  # B's three pairs are over four cases
    settings = Significance(test="bootstrap", resamples=20, seed=2)
    whole = compare_pairs(values, np.nanmean(values, axis=1), np.zeros(4), np.ones(4), settings)
    monkeypatch.setattr(significance, "BOOTSTRAP_BLOCK", 15)  # 3 resamples of 5 cases
    monkeypatch.setattr(significance, "PAIR_BLOCK", 5)  # 1 pair of 5 cases
    blocks = compare_pairs(values, np.nanmean(values, axis=1), np.zeros(4), np.ones(4), settings)
    assert list(blocks.p) == list(whole.p) and (whole.p <= 1).all() and len(set(whole.p)) > 1


def test_a_bootstrap_p_value_equal_to_alpha_separates():
    """19 resamples of a pair that differs on every case: p = 1/20 = .05, alpha itself (p <= alpha), and no warning."""
    values = np.vstack([np.ones(40), np.zeros(40)])
    tests = compare_pairs(values, [1.0, 0.0], [0, 0], [1, 1], Significance(test="bootstrap", resamples=19))
    assert tests.p[0] == 1 / 20 == tests.settings.rules.alpha
    assert tests.separated[0] and "no bootstrap p-value" not in tests.describe()


def test_too_few_bootstrap_resamples_for_the_adjustment_say_so():
    values = np.vstack([np.ones(40), np.zeros(40), np.r_[np.ones(20), np.zeros(20)]])
    tests = compare_pairs(values, values.mean(axis=1), [0] * 3, [1] * 3, Significance(test="bootstrap", resamples=20))
    assert tests.p.min() == pytest.approx(1 / 21)  # nothing beyond the observed difference: the smallest p it can give
    assert not tests.separated.any()  # holm over 3 pairs: at least 3/21 = .14
    assert "with 20 resamples no bootstrap p-value is below 0.048, which holm over 3 pairs raises above alpha" in tests.describe()
    # the advice: twice the resamples whose floor holm over 3 pairs takes to alpha, 2 x 3 / .05 = 120
    assert tests.describe().endswith("no pair can be separated (give --bootstrap 120 or more)")
    advised = compare_pairs(values, values.mean(axis=1), [0] * 3, [1] * 3, Significance(test="bootstrap", resamples=120))
    assert advised.p.max() == pytest.approx(1 / 121) and advised.separated.all()  # holm: 3 / 121 = .025
    assert "no bootstrap p-value" not in advised.describe()
    enough = compare_pairs(values, values.mean(axis=1), [0] * 3, [1] * 3, Significance(test="bootstrap", resamples=200))
    assert enough.separated.all() and "no bootstrap p-value" not in enough.describe()


# ---------------------------------------------------------------- which test, and pairs without one


def test_cases_an_entry_lacks_are_left_out_of_its_pairs():
    values = THREE.copy()
    values[1, :10] = np.nan  # B lacks the first ten cases
    tests = compare_pairs(values, np.nanmean(values, axis=1), np.zeros(3), np.ones(3))
    shared = ~np.isnan(values[1])
    b = int(((values[0] == 1) & (values[1] == 0) & shared).sum())
    c = int(((values[0] == 0) & (values[1] == 1) & shared).sum())
    assert (b, c) != (10, 2)  # the missing cases held discordant ones
    assert tests.p[pair(tests, 0, 1)] == pytest.approx(stats.binomtest(b, b + c).pvalue, rel=1e-12)
    assert tests.p[pair(tests, 0, 2)] == pytest.approx(stats.binomtest(15, 15).pvalue, rel=1e-12)  # A-C keeps all 50
    assert tests.cases == 50


def test_an_entry_without_per_case_values_is_tested_over_its_seeds_or_not_at_all():
    values = np.vstack([THREE, np.full(50, np.nan)])
    mean, std = [0.86, 0.70, 0.56, 0.60], [0.02, 0.02, 0.02, 0.03]
    tests = compare_pairs(values, mean, std, [3, 3, 3, 3])
    assert tests.used() == ["mcnemar", "welch"]
    assert list(tests.test[tests.second == 3]) == ["welch"] * 3 and list(tests.test[tests.second != 3]) == ["mcnemar"] * 3
    assert tests.p[pair(tests, 0, 3)] == pytest.approx(stats.ttest_ind_from_stats(0.86, 0.02, 3, 0.60, 0.03, 3, equal_var=False).pvalue)
    assert "McNemar's exact test on 50 test cases (seeds averaged per case, pairs over the cases both have) for 3 pairs" in tests.describe()
    assert "Welch's t-test over seeds for 3 pairs" in tests.describe() and "holm over 6 pairs" in tests.describe()
    one_seed = compare_pairs(values, mean, std, [3, 3, 3, 1])
    assert not one_seed.tested[one_seed.second == 3].any()
    tied_with, untested, tied = ties(one_seed, np.array([1, 2, 3, 4]))
    assert tied_with[3] is None and untested[3] == "1-3" and tied[3] is pd.NA
    assert untested[:3] == ["4", "4", "4"]
    assert [tie_text(t, u) for t, u in zip(tied_with, untested)] == ["2; untested: 4", "1, 3; untested: 4", "2; untested: 4", "not testable"]
    assert "3 pairs untested (neither per-case values that both entries have, nor two seeds on each side)" in one_seed.describe()


def test_one_seed_and_no_per_case_values_test_nothing():
    tests = compare_pairs(None, [0.9, 0.8, 0.7], [np.nan] * 3, [1, 1, 1])
    assert not tests.tested.any() and np.isnan(tests.p).all() and not tests.separated.any()
    tied_with, untested, tied = ties(tests, np.array([1, 2, 3]))
    assert tied_with == [None, None, None] and untested == ["2, 3", "1, 3", "1, 2"] and tied == [False, pd.NA, pd.NA]
    assert tests.describe() == "tied with: no pair of this board could be tested (neither per-case values that both entries have, nor two seeds on each side)"


def test_a_test_asked_for_by_name_tests_only_what_it_can():
    mcnemar = compare_pairs(THREE / 2, THREE.mean(axis=1) / 2, np.zeros(3), np.full(3, 2))  # halves: not 0/1
    assert list(mcnemar.test) == ["wilcoxon"] * 3  # auto
    forced = compare_pairs(THREE / 2, THREE.mean(axis=1) / 2, np.full(3, 0.01), np.full(3, 2), Significance(test="mcnemar"))
    assert not forced.tested.any() and forced.describe() == ("tied with: no pair of this board could be tested (McNemar's test needs per-case "
                                                             "values of 0 or 1, and this board's are not: a mean over several seeds is a fraction)")
    welch = compare_pairs(THREE, [0.86, 0.70, 0.56], [0.02] * 3, [3] * 3, Significance(test="welch"))
    assert list(welch.test) == ["welch"] * 3 and welch.cases == 0
    wilcoxon = compare_pairs(None, [0.86, 0.70, 0.56], [0.02] * 3, [3] * 3, Significance(test="wilcoxon"))
    assert not wilcoxon.tested.any() and "no per-case values that both entries have; --test welch tests over seeds" in wilcoxon.describe()


@pytest.mark.parametrize(("given", "says"), [
    ({"test": "t"}, "test 't': expected one of auto, wilcoxon, bootstrap, mcnemar, welch"),
    ({"resamples": 0}, "0 bootstrap resamples: expected a positive whole number"),
    ({"seed": -1}, "seed -1: expected a non-negative whole number"),
    ({"alpha": 1.5}, "alpha 1.5: expected a number between 0 and 1"),
    ({"p_adjust": "fdr"}, "p-adjust 'fdr': expected one of none, holm, hochberg, bonferroni, BH, BY"),
    ({"resamples": True}, "True bootstrap resamples: expected a positive whole number"),
    ({"resamples": 2.5}, "2.5 bootstrap resamples: expected a positive whole number"),
    ({"seed": True}, "seed True: expected a non-negative whole number"),
    ({"seed": 1.5}, "seed 1.5: expected a non-negative whole number"),
    ({"alpha": 0}, "alpha 0: expected a number between 0 and 1"),
    ({"alpha": 1}, "alpha 1: expected a number between 0 and 1"),
    ({"alpha": True}, "alpha True: expected a number between 0 and 1"),
    ({"alpha": "0.05"}, "alpha '0.05': expected a number between 0 and 1"),
])
def test_settings_that_cannot_be_used_are_refused_by_name(given, says):
    with pytest.raises(SignificanceError, match=says.replace("(", r"\(").replace(")", r"\)")):
        Significance.of(**given)


def test_the_smallest_settings_that_can_be_used_are_accepted():
    settings = Significance.of(resamples=1, seed=0, alpha=0.001)
    assert (settings.resamples, settings.seed, settings.rules.alpha) == (1, 0, 0.001)
    assert Significance.of(alpha=0.999).rules.alpha == 0.999 and Significance(resamples=1).resamples == 1


def test_a_given_alpha_decides_which_pairs_are_separated():
    """Under holm A-B's adjusted p is .077: tied at alpha .05, separated at .1."""
    tests = three(Significance.of(alpha=0.1))
    assert tests.settings.rules.alpha == 0.1 and tests.adjusted[pair(tests, 0, 1)] == pytest.approx(0.0772, abs=1e-4)
    assert tests.separated[pair(tests, 0, 1)] and not three().separated[pair(tests, 0, 1)]


def test_ranks_given_in_any_order_and_as_floats_are_listed_sorted_with_runs_as_ranges():
    """Seven entries no test can separate (equal means, spread): each is tied with every other rank."""
    tests = compare_pairs(None, [0.5] * 7, [0.1] * 7, [3] * 7)
    assert (tests.p == 1.0).all()
    expected = {1: "2-7", 2: "1, 3-7", 3: "1, 2, 4-7", 4: "1-3, 5-7", 5: "1-4, 6, 7", 6: "1-5, 7", 7: "1-6"}
    ranks = np.array([4, 1, 7, 2, 6, 3, 5])
    for given in (ranks, ranks.astype(float)):  # a float rank column reads as whole ranks
        tied_with, untested, tied = ties(tests, given)
        assert tied_with == [expected[r] for r in ranks] and untested == [""] * 7
        assert tied == [r != 1 for r in ranks]


# ---------------------------------------------------------------- boards from a store


def case_records(entries: dict[str, list[list[float]]], **fields) -> list:
    """Records of configurations (spec ``sweep``, a model each) with per-case accuracies per seed."""
    records = []
    for model, seeds in entries.items():
        for seed, cases in enumerate(seeds):
            record = make_record(model, "teacher" if model == "teacher" else "vanilla_kd", seed, metrics={"test": {"accuracy": float(np.mean(cases))}},
                                 spec_name="sweep", bounds={"accuracy": (0.0, 1.0)}, **fields)
            records.append(record.model_copy(update={"cases": {"accuracy": list(map(float, cases))}}))
    return records


def test_a_board_from_the_store_groups_its_ties_and_leaves_the_reference_out(store):
    entries = {"a": [THREE[0]], "b": [THREE[1]], "c": [THREE[2]], "teacher": [np.ones(50)]}
    store.ingest((r, 1.0) for r in case_records(entries))
    board = leaderboard_with_ties(store).set_index("model")
    assert list(board.columns[-len(SIGNIFICANCE_COLUMNS):]) == SIGNIFICANCE_COLUMNS
    assert board.loc[["a", "b", "c"], "tied_with"].tolist() == ["2", "1, 3", "2"]
    assert board.loc[["a", "b", "c"], "tied"].tolist() == [False, True, False]
    assert set(board.loc[["a", "b", "c"], "test"]) == {"mcnemar"} and "holm over 3 pairs" in board.loc["a", "test_note"]
    teacher = board.loc["teacher"]
    assert teacher["reference"] and pd.isna(teacher["test"]) and pd.isna(teacher["tied_with"]) and teacher["tied"] is pd.NA
    unadjusted = leaderboard_with_ties(store, significance=Significance.of(p_adjust="none")).set_index("model")
    assert unadjusted.loc[["a", "b", "c"], "tied_with"].tolist() == ["", "3", "2"]


def test_seeds_are_averaged_per_case_before_the_test(store):
    rng = np.random.default_rng(2)
    seeds = {name: [(rng.random(60) < skill).astype(float) for _ in range(2)] for name, skill in (("a", 0.8), ("b", 0.7))}
    store.ingest((r, 1.0) for r in case_records(seeds))
    board = leaderboard_with_ties(store).set_index("model")
    assert set(board["test"]) == {"wilcoxon"}  # means of two 0/1 seeds hold halves: not McNemar's
    a, b = (np.mean(seeds[name], axis=0) for name in ("a", "b"))
    expected = stats.wilcoxon(a, b, method="approx", correction=True).pvalue  # ties: the approximation
    tests = compare_pairs(np.vstack([a, b]), [a.mean(), b.mean()], [0, 0], [2, 2])
    assert tests.p[0] == pytest.approx(expected, rel=1e-9)
    assert board.loc["b", "tied"] == (expected > 0.05)
    assert "on 60 test cases (seeds averaged per case" in board.loc["a", "test_note"]


def test_another_split_has_no_per_case_values_and_is_tested_over_seeds(store):
    rng = np.random.default_rng(3)
    records = []
    for record in case_records({"a": [rng.random(20) < 0.8 for _ in range(3)], "b": [rng.random(20) < 0.5 for _ in range(3)]}):
        records.append(record.model_copy(update={"metrics": {**record.metrics, "val": {"accuracy": record.metrics["test"]["accuracy"]}}}))
    store.ingest((r, 1.0) for r in records)
    assert set(leaderboard_with_ties(store)["test"]) == {"wilcoxon"}  # three seeds averaged per case
    assert set(leaderboard_with_ties(store, split="val")["test"]) == {"welch"}
    assert set(leaderboard_with_ties(store, significance=Significance(test="welch"))["test"]) == {"welch"}


def test_pooled_rows_pool_their_configurations_cases(store):
    entries = {"a": [THREE[0]], "b": [THREE[1]]}
    records = case_records(entries) + case_records({"a": [THREE[2]]}, params={"width": 2})  # a second configuration of model a
    store.ingest((r, 1.0) for r in records)
    by_config = leaderboard_with_ties(store)
    assert len(by_config) == 3
    pooled = leaderboard_with_ties(store, group_by=["model"]).set_index("model")
    assert pooled.loc["a", "configs"] == 2 and set(pooled["test"]) == {"wilcoxon"}  # a's per-case means of two configurations: halves
    a, b = (THREE[0] + THREE[2]) / 2, THREE[1]
    expected = stats.wilcoxon(a, b, method="approx", correction=True).pvalue
    assert pooled.loc["b", "tied"] == (expected > 0.05)


def test_a_board_with_one_competitor_has_nothing_to_compare(store):
    store.ingest((r, 1.0) for r in case_records({"a": [THREE[0]], "teacher": [np.ones(50)]}))
    board = leaderboard_with_ties(store).set_index("model")
    assert board.loc["a", "test"] == "none" and pd.isna(board.loc["a", "tied_with"]) and board.loc["a", "test_note"] == ""
    assert tie_text(board.loc["a", "tied_with"], board.loc["a", "untested"]) == "-"


def seed_records(entries: dict[str, list[float]], **fields) -> list:
    """Records of configurations (spec ``sweep``) with a test accuracy per seed and no per-case values."""
    return [make_record(model, "vanilla_kd", seed, metrics={"test": {"accuracy": value}}, spec_name="sweep", bounds={"accuracy": (0.0, 1.0)}, **fields)
            for model, values in entries.items() for seed, value in enumerate(values)]


def test_a_board_of_several_tests_names_them_all_and_lists_untested_ranks(store):
    """a and b have per-case values (Wilcoxon), c only seeds (Welch against them), d one seed and no cases (untested)."""
    records = case_records({"a": [THREE[0], THREE[2]], "b": [THREE[1], THREE[1]], "teacher": [np.ones(50)]})
    store.ingest((r, 1.0) for r in records + seed_records({"c": [0.55, 0.57], "d": [0.40]}))
    board = leaderboard_with_ties(store).set_index("model")
    assert board.loc[["a", "b", "c", "d"], "rank"].tolist() == [1, 2, 3, 4]
    assert set(board.loc[["a", "b", "c", "d"], "test"]) == {"wilcoxon+welch"}
    assert board.loc[["a", "b", "c", "d"], "untested"].tolist() == ["4", "4", "4", "1-3"]
    assert board.loc["d", "tied_with"] is None and board.loc["d", "tied"] is pd.NA
    assert board["tied"].dtype == "boolean"
    teacher = board.loc["teacher"]  # a reference: no test, nothing tied or untested
    assert all(pd.isna(teacher[column]) for column in ("test", "tied_with", "untested", "test_note")) and teacher["tied"] is pd.NA


def test_a_board_without_per_case_values_beside_one_with_them_is_tested_over_seeds(store):
    """Per-case accuracies but no per-case loss: the loss board gets Welch's test of the seeds' losses."""
    losses = {"a": [0.30, 0.36], "b": [0.50, 0.53]}
    records = []
    for model, cases in (("a", THREE[0]), ("b", THREE[1])):
        for seed, loss in enumerate(losses[model]):
            record = make_record(model, "vanilla_kd", seed, metrics={"test": {"accuracy": float(cases.mean()), "loss": loss}}, spec_name="sweep")
            records.append(record.model_copy(update={"cases": {"accuracy": list(map(float, cases))}}))
    store.ingest((r, 1.0) for r in records)
    board = leaderboard_with_ties(store)
    assert set(board.loc[board["metric"] == "accuracy", "test"]) == {"mcnemar"}
    loss = board[board["metric"] == "loss"].set_index("model")
    assert set(loss["test"]) == {"welch"}
    p = stats.ttest_ind(losses["a"], losses["b"], equal_var=False).pvalue  # one pair: holm leaves it as it is
    assert 0.05 < p < 0.1 and loss.loc["b", "tied"]


def test_mcnemar_asked_for_on_fractions_says_why_when_one_entry_has_per_case_values(store):
    store.ingest((r, 1.0) for r in case_records({"a": [THREE[0], THREE[2]]}) + seed_records({"b": [0.55, 0.57]}))
    board = leaderboard_with_ties(store, significance=Significance(test="mcnemar")).set_index("model")
    assert set(board["test"]) == {"none"}
    assert "McNemar's test needs per-case values of 0 or 1, and this board's are not" in board.loc["a", "test_note"]


def test_the_track_split_and_confidence_asked_for_reach_the_board(store):
    test, val = {"a": [0.80, 0.84, 0.82], "b": [0.70, 0.71, 0.75]}, {"a": [0.60, 0.64, 0.65], "b": [0.50, 0.55, 0.51]}
    records = [r.model_copy(update={"metrics": {"test": r.metrics["test"], "val": {"accuracy": val[r.model][r.seed]}}}) for r in seed_records(test)]
    store.ingest((r, 1.0) for r in records + seed_records({"c": [0.5, 0.6]}, track="other"))
    assert set(leaderboard_with_ties(store)["track"]) == {"kd", "other"}
    kd = leaderboard_with_ties(store, track="kd").set_index("model")
    assert set(kd["track"]) == {"kd"} and set(kd["test"]) == {"welch"}
    half = stats.t.ppf(0.975, 2) * np.std(test["a"], ddof=1) / np.sqrt(3)  # Student t over three seeds, 95% by default
    assert kd.loc["a", "ci_low"] == pytest.approx(np.mean(test["a"]) - half)
    narrow = leaderboard_with_ties(store, track="kd", confidence=0.9).set_index("model")
    assert narrow.loc["a", "ci_low"] == pytest.approx(np.mean(test["a"]) - stats.t.ppf(0.95, 2) * np.std(test["a"], ddof=1) / np.sqrt(3))
    on_val = leaderboard_with_ties(store, track="kd", split="val").set_index("model")
    assert on_val.loc[["a", "b"], "mean"].tolist() == pytest.approx([np.mean(val["a"]), np.mean(val["b"])])
    assert on_val.loc["b", "tied"] == (stats.ttest_ind(val["a"], val["b"], equal_var=False).pvalue > 0.05)
