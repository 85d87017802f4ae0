"""The ranking rules one by one, on hand-made cases whose answers differ between the variants of a
rule (a test that would pass with one variant in place of another is not a test of it): tie rules,
missing-value rules, exact and approximate Wilcoxon p-values, the p-value adjustments, and how the
bootstrap treats a case drawn twice. scipy serves as an independent reference for p-values only."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from leaderboard.ranking import (
    CHALLENGER, PODIUM, MissingValues, Rules, adjust_p, bootstrap, case_ranks, merged_case_ranks, pairwise_p, rank, rank_scores,
    scores, signed_rank_p, significant_wins,
)
from specs.ranking import RankingRules, RankingSpec

ADJUSTMENTS = ["none", "holm", "hochberg", "bonferroni", "BH", "BY"]


# ---------------------------------------------------------------- presets


def test_the_presets_are_what_podium_and_challenger_default_to():
    assert PODIUM == Rules(preset="podium", ties="min", case_ties="mean", p_adjust="holm", wilcoxon="auto", alpha=0.05, missing=None, duplicates="separate")
    assert CHALLENGER == Rules(preset="challengeR", ties="min", case_ties="min", p_adjust="none", wilcoxon="approx", alpha=0.05,
                               missing="last", duplicates="merged")
    assert [PODIUM.missing_for(m) for m in ("mean", "median", "rank_then_mean", "test")] == ["worst", "worst", "last", "worst"]
    assert {CHALLENGER.missing_for(m) for m in ("mean", "median", "rank_then_mean", "test")} == {"last"}
    assert Rules.of("challengeR", p_adjust="holm", missing=None) == CHALLENGER.with_(p_adjust="holm")


def test_unknown_presets_rules_and_values_are_refused():
    with pytest.raises(ValueError, match="preset 'challenger': expected one of podium, challengeR"):
        Rules.of("challenger")
    with pytest.raises(ValueError, match="unknown rule 'tie'"):
        Rules.of("podium", tie="min")
    for bad, says in ({"p_adjust": "fdr"}, "p_adjust 'fdr'"), ({"wilcoxon": "normal"}, "wilcoxon 'normal'"), ({"alpha": 1.0}, "alpha 1.0"), \
                     ({"missing": "zero"}, "got 'zero'"), ({"missing": math.inf}, "finite"), ({"duplicates": "twice"}, "duplicates 'twice'"):
        with pytest.raises(ValueError, match=says):
            Rules(**bad)


def test_alpha_must_be_a_number_strictly_between_0_and_1():
    assert Rules(alpha=0.999).alpha == 0.999 and Rules(alpha=1e-9).alpha == 1e-9
    for bad in (0, 0.0, 1, -0.1, True, False, "0.05", None):
        with pytest.raises(ValueError, match=rf"^alpha {bad!r}: expected a number between 0 and 1$"):
            Rules(alpha=bad)


def test_missing_rules_given_as_text_are_read_as_their_rule_or_number():
    assert Rules(missing="0").missing == 0.0 and type(Rules(missing="-1.5").missing) is float
    assert Rules(missing=" remove ").missing == "remove"
    assert Rules(missing="0.25") == Rules(missing=0.25)
    assert Rules(missing="0").describe("mean") == "podium rules: ties: min; missing: counts as 0"


def test_rules_of_defaults_to_podium_and_names_the_rules_it_knows():
    assert Rules.of() == PODIUM
    assert Rules.of(ties="max") == PODIUM.with_(ties="max")
    # the preset is chosen by name, not a rule to give: the rules listed leave it out
    with pytest.raises(ValueError, match=r"^unknown rule 'tie': expected one of alpha, case_ties, duplicates, missing, p_adjust, ties, wilcoxon$"):
        Rules.of("podium", tie="min")


def test_a_ranking_spec_takes_rules_over_its_preset():
    spec = RankingSpec(kind="ranking", name="r", track="kd", metrics=["accuracy"], preset="challengeR", p_adjust="BH", missing="0")
    assert spec.resolved() == {"preset": "challengeR", "ties": "min", "case_ties": "min", "p_adjust": "BH", "wilcoxon": "approx",
                               "alpha": 0.05, "missing": 0.0, "duplicates": "merged"}
    assert RankingRules().resolved()["missing"] is None  # podium: the rule per method
    with pytest.raises(ValueError, match="expected one of worst, last, remove, error or a finite number"):
        RankingRules(missing="nan")


def test_the_rules_describe_themselves_per_method():
    assert PODIUM.describe("mean") == "podium rules: ties: min; missing: its case's worst value"
    assert PODIUM.describe("rank_then_mean") == "podium rules: ties within a case: mean; ties: min; missing: ranked below its case's worst"
    assert CHALLENGER.describe("test") == (
        "challengeR rules: one-sided Wilcoxon signed-rank, normal approximation with continuity correction, p-values not adjusted, "
        "alpha 0.05; ties: min; missing: refused (this method needs a value); bootstrap: a case drawn more than once is tested once")


# ---------------------------------------------------------------- ties

# X ties with Z in two cases where Z and Y share the last place; with "min" ties that share counts
# as second place for both, with "mean" as 2.5
#          c1   c2   c3
TIES = np.array([
    [0.0, 1.0, 1.0],  # X: 3, 1, 1
    [0.5, 0.0, 0.0],  # Y: 2, 2|2.5|3, 2|2.5|3
    [1.0, 0.0, 0.0],  # Z: 1, 2|2.5|3, 2|2.5|3
])


def test_ties_within_a_case_min_mean_max_give_different_rankings():
    assert scores(TIES, True, "rank_then_mean", PODIUM.with_(case_ties="min")).tolist() == pytest.approx([5 / 3, 2, 5 / 3])
    assert rank(TIES, True, "rank_then_mean", PODIUM.with_(case_ties="min")).tolist() == [1, 3, 1]
    assert scores(TIES, True, "rank_then_mean", PODIUM).tolist() == pytest.approx([5 / 3, 7 / 3, 2])  # mean: Podium's
    assert rank(TIES, True, "rank_then_mean", PODIUM).tolist() == [1, 3, 2]
    assert scores(TIES, True, "rank_then_mean", PODIUM.with_(case_ties="max")).tolist() == pytest.approx([5 / 3, 8 / 3, 7 / 3])
    assert rank(TIES, True, "rank_then_mean", CHALLENGER).tolist() == [1, 3, 1]  # challengeR's min within the case


def test_final_ties_min_mean_max():
    min_ties = PODIUM.with_(case_ties="min")
    assert rank(TIES, True, "rank_then_mean", min_ties).tolist() == [1, 3, 1]
    assert rank(TIES, True, "rank_then_mean", min_ties.with_(ties="mean")).tolist() == [1.5, 3, 1.5]
    assert rank(TIES, True, "rank_then_mean", min_ties.with_(ties="max")).tolist() == [2, 3, 2]
    values = np.array([[0.7, 0.7], [0.9, 0.9], [0.7, 0.7]])
    assert [rank(values, False, "mean", PODIUM.with_(ties=t)).tolist() for t in ("min", "mean", "max")] == [[1, 3, 1], [1.5, 3, 1.5], [2, 3, 2]]


def test_rank_scores_defaults_to_min_ties_and_takes_integer_and_boolean_scores():
    assert rank_scores(np.array([0.5, 0.5, 0.1]), True).tolist() == [1.0, 1.0, 3.0]  # min: the tied share the best place
    assert rank_scores(np.array([2, 0, 1, 2]), True).tolist() == [1.0, 4.0, 3.0, 1.0]  # win counts
    assert rank_scores(np.array([True, False, True]), True, "mean").tolist() == [1.5, 3.0, 1.5]  # passed or not
    assert rank_scores(np.array([], dtype=int), True).dtype == float


def test_rank_scores_along_rows_puts_each_rows_missing_scores_after_its_worst():
    # lower is better, ranked along axis 1 (one ranking per row): rankNA2 per row
    scores = np.array([[0.1, np.nan, 0.3], [np.nan, 0.2, np.nan]])
    assert rank_scores(scores, False, "min", axis=1).tolist() == [[1.0, 3.0, 2.0], [2.0, 1.0, 2.0]]
    assert rank_scores(scores, False, "max", axis=1).tolist() == [[1.0, 3.0, 2.0], [3.0, 1.0, 3.0]]
    assert rank_scores(scores.T, False, "mean", axis=0).tolist() == [[1.0, 2.5], [3.0, 1.0], [2.0, 2.5]]


def test_first_place_shared_counts_as_first_in_the_bootstrap():
    values = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.1, 0.2, 0.3]])
    for ties in ("min", "mean", "max"):
        stability = bootstrap(values, True, "mean", resamples=20, seed=0, rules=PODIUM.with_(ties=ties))
        assert stability.first_share().tolist() == [1.0, 1.0, 0.0]  # tied first in every resample, whatever the tie rule


@pytest.mark.parametrize("ties", ["min", "mean", "max"])
def test_first_share_counts_a_shared_first_place_whatever_rank_it_is_given(ties):
    """A wins cases 0 and 1, B cases 2 and 3: A is first (alone or tied) in a resample that draws
    at least two of A's cases, B in one that draws at most two; a tie shares rank 1, 1.5 or 2 by the
    tie rule, and counts as first for both whatever the untied resamples' first rank is."""
    values = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [-1.0, -1.0, -1.0, -1.0]])
    stability = bootstrap(values, True, "mean", resamples=40, seed=0, rules=PODIUM.with_(ties=ties))
    drawn_of_a = (np.random.default_rng(0).integers(0, 4, size=(40, 4)) < 2).sum(axis=1)
    assert 0 < (drawn_of_a == 2).sum() < 40  # some resamples tie, some do not
    assert stability.first_share().tolist() == [np.mean(drawn_of_a >= 2), np.mean(drawn_of_a <= 2), 0.0]


def test_first_share_of_an_unresampled_ranking_is_undefined_for_each_algorithm():
    from leaderboard.ranking import Stability

    share = Stability.unresampled(np.array([2.0, 1.0, 3.0]), "only 1 test case").first_share()
    assert share.shape == (3,) and share.dtype == float and np.isnan(share).all()


# ---------------------------------------------------------------- missing values


def test_rank_na2_places_missing_results_after_the_worst_present_rank():
    """challengeR's rankNA2: the worst present rank plus 1 ("min"), plus the mean of 1..m for m
    missing ("average"); Podium carries the pattern on to "max" (plus m)."""
    tied_then_missing = np.array([[0.5], [0.5], [np.nan]])
    assert case_ranks(tied_then_missing, True, CHALLENGER).ravel().tolist() == [1, 1, 2]  # not 3: one after the worst present rank
    assert case_ranks(tied_then_missing, True, CHALLENGER.with_(case_ties="mean")).ravel().tolist() == [1.5, 1.5, 2.5]
    assert case_ranks(tied_then_missing, True, CHALLENGER.with_(case_ties="max")).ravel().tolist() == [2, 2, 3]
    two_missing = np.array([[0.5], [np.nan], [np.nan], [0.7]])
    assert case_ranks(two_missing, True, CHALLENGER.with_(case_ties="mean")).ravel().tolist() == [2, 3.5, 3.5, 1]
    assert rank_scores(np.array([np.nan, np.nan]), True, "min").tolist() == [1, 1]  # nothing present: rankNA2's worst rank is 0


#                  c1      c2
MISSING = np.array([
    [0.9, 0.1],      # A
    [0.5, 0.6],      # B
    [np.nan, 0.7],   # C: no result for c1
])


def test_missing_rules_give_different_rank_then_aggregate_rankings():
    """last: c1 ranks A, B, C(missing) 1, 2, 3 and c2 C, B, A: all mean 2, all tied; worst: C takes
    c1's worst value 0.5 and ties with B at 2.5, which costs B; remove: C is ranked on c2 alone."""
    expected = {"last": ([2, 2, 2], [1, 1, 1]), "worst": ([2, 2.25, 1.75], [2, 3, 1]), "remove": ([2, 2, 1], [2, 2, 1]),
                1.0: ([2.5, 2.5, 1], [2, 2, 1])}
    for rule, (mean_ranks, ranks) in expected.items():
        assert scores(MISSING, True, "rank_then_mean", PODIUM.with_(missing=rule)).tolist() == mean_ranks, rule
        assert rank(MISSING, True, "rank_then_mean", PODIUM.with_(missing=rule)).tolist() == ranks, rule
    assert rank(MISSING, True, "rank_then_mean", PODIUM).tolist() == [1, 1, 1]  # Podium's default here: last
    with pytest.raises(MissingValues, match="1 missing result; choose what a missing result counts as"):
        rank(MISSING, True, "rank_then_mean", PODIUM.with_(missing="error"))


def test_missing_rules_give_different_aggregate_rankings():
    assert scores(MISSING, True, "mean", PODIUM).tolist() == pytest.approx([0.5, 0.55, 0.6])  # worst: 0.5 for C in c1
    assert rank(MISSING, True, "mean", PODIUM).tolist() == [3, 2, 1]
    assert scores(MISSING, True, "mean", PODIUM.with_(missing="remove")).tolist() == pytest.approx([0.5, 0.55, 0.7])
    assert scores(MISSING, True, "mean", PODIUM.with_(missing=0)).tolist() == pytest.approx([0.5, 0.55, 0.35])
    assert rank(MISSING, True, "mean", PODIUM.with_(missing=0)).tolist() == [2, 1, 3]
    for rule in ("last", "error"):
        with pytest.raises(MissingValues):
            rank(MISSING, True, "mean", PODIUM.with_(missing=rule))


def test_integer_and_boolean_results_are_treated_as_numbers():
    """Pass/fail (bool) or count (int) results per case: treated as floats, ranked as 1/0 values."""
    from leaderboard.ranking import treat_missing

    passed = np.array([[True, True, False], [False, True, False], [True, True, True]])
    for values in (passed, passed.astype(int)):
        assert treat_missing(values, True, "mean").dtype == float
        assert treat_missing(values, True, "mean").tolist() == passed.astype(float).tolist()
    slope, intercept, _ = merged_case_ranks(passed, True, CHALLENGER)  # min ties within a case, one copy each
    assert (slope + intercept).tolist() == [[1, 1, 2], [3, 1, 2], [1, 1, 1]]


def test_a_case_nobody_has_a_value_for_is_dropped():
    values = np.array([[0.9, np.nan, 0.1], [0.5, np.nan, 0.6]])
    for rule in ("worst", "last", "remove", 0.0):
        assert rank(values, True, "rank_then_mean", PODIUM.with_(missing=rule)).tolist() == [1, 1], rule
    with pytest.raises(MissingValues, match="2 missing results"):
        rank(values, True, "mean", PODIUM.with_(missing="error"))


def test_removed_missing_values_in_the_bootstrap_rank_an_emptied_algorithm_last():
    values = np.array([[0.9, np.nan, np.nan, np.nan], [0.5, 0.6, 0.4, 0.5], [0.3, 0.2, 0.1, 0.2]])
    stability = bootstrap(values, True, "mean", resamples=200, seed=0, rules=PODIUM.with_(missing="remove"))
    assert stability.ranks.tolist() == [1, 2, 3]
    boot = stability.bootstrap_ranks
    empty = np.random.default_rng(0).integers(0, 4, size=(200, 4)).min(axis=1) > 0  # resamples without case 0: A has nothing
    assert empty.any() and (boot[empty, 0] == 3).all() and (boot[~empty, 0] == 1).all()


# ---------------------------------------------------------------- the Wilcoxon signed-rank test


def test_signed_rank_p_known_answers():
    # 1, 2, 3, 4: V = 10, the largest of 16 equally likely sums
    greater, less = signed_rank_p(np.array([1.0, 2.0, 3.0, 4.0]), "exact")
    assert greater[0] == pytest.approx(1 / 16) and less[0] == 1.0
    greater, _ = signed_rank_p(np.array([1.0, 2.0, 3.0, 4.0]), "approx")
    assert greater[0] == pytest.approx(stats.norm.sf((10 - 5 - 0.5) / math.sqrt(7.5)), rel=1e-12)  # 0.0502: R's continuity correction
    # a zero and a tie: 0 dropped, |d| 1, 1, 2, 3 ranked 1.5, 1.5, 3, 4, V = 7; exactly, 5 of the 16 sign patterns reach 7
    d = np.array([0.0, 1.0, 1.0, -2.0, 3.0])
    assert signed_rank_p(d, "exact")[0][0] == pytest.approx(5 / 16, rel=1e-12)
    assert signed_rank_p(d, "approx")[0][0] == pytest.approx(stats.norm.sf(1.5 / math.sqrt(7.5 - 6 / 48)), rel=1e-12)
    assert signed_rank_p(d, "auto")[0][0] == signed_rank_p(d, "approx")[0][0]  # a tie and a zero: R's default takes the approximation
    # seven differences, all positive and distinct: exactly 1/128 = .0078, approximately .0112; auto is exact here
    seven = np.arange(1.0, 8.0)
    assert signed_rank_p(seven, "auto")[0][0] == signed_rank_p(seven, "exact")[0][0] == pytest.approx(1 / 128, rel=1e-12)
    assert signed_rank_p(seven, "approx")[0][0] == pytest.approx(stats.norm.sf((28 - 14 - 0.5) / math.sqrt(35)), rel=1e-12)
    assert 0.011 < signed_rank_p(seven, "approx")[0][0] < 0.0113
    # no non-zero difference: p = 1 either way, as R's wilcox.test gives
    for method in ("exact", "approx"):
        assert [p[0] for p in signed_rank_p(np.zeros(4), method)] == [1.0, 1.0]


def test_signed_rank_p_defaults_to_auto_and_takes_any_float_dtype():
    seven = np.arange(1.0, 8.0)
    assert signed_rank_p(seven)[0][0] == pytest.approx(1 / 128, rel=1e-12)  # auto: exact for 7 untied differences
    d = np.array([0.5, -1.25, 2.0, 3.5, 1.0])  # ranks 1, 3, 4, 5, 2; V = 12 of 15: 5 of the 32 sign patterns reach 12
    for dtype in (np.float64, np.float32, np.int64):
        greater, less = signed_rank_p((d * 4).astype(dtype), "exact")  # x 4: whole numbers, exact in every dtype
        assert (greater[0], less[0]) == pytest.approx((5 / 32, 29 / 32), rel=1e-12), dtype


def test_signed_rank_p_of_pairs_with_no_shared_case_is_one():
    greater, less = signed_rank_p(np.empty((3, 0)))
    assert greater.tolist() == less.tolist() == [1.0, 1.0, 1.0]


def test_signed_rank_p_of_untied_rows_at_once_is_each_row_alone():
    """Several rows without ties ranked in one block (the no-tie shortcut): each row keeps its own V."""
    d = np.array([[1.0, 2.0, 3.0, -4.0, 5.0, 6.0], [-1.5, -2.5, 3.5, 4.5, -5.5, 0.5], [6.0, -5.0, -4.0, -3.0, -2.0, -1.0]])
    greater, less = signed_rank_p(d, "approx")
    for row, g, l in zip(d, greater, less):
        assert g == pytest.approx(stats.wilcoxon(row, alternative="greater", method="approx", correction=True).pvalue, rel=1e-12)
        assert l == pytest.approx(stats.wilcoxon(row, alternative="less", method="approx", correction=True).pvalue, rel=1e-12)
    assert len(set(greater.tolist())) == 3


def test_a_pair_without_non_zero_differences_is_not_warned_about():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sigma 0 gives p = 1, said, not warned about
        for method in ("approx", "auto", "exact"):
            assert [p.tolist() for p in signed_rank_p(np.array([[0.0, 0.0, np.nan], [1.0, 2.0, 0.0]]), method)][0][0] == 1.0


def test_signed_rank_p_matches_scipy():
    """The approximation is scipy's method="approx" with its continuity correction; the exact test is
    scipy's exact distribution without ties and its permutation distribution with them."""
    rng = np.random.default_rng(3)
    with_ties = 0
    for trial in range(80):
        n = int(rng.integers(2, 14))
        d = np.round(rng.normal(0.3, 1, n), 1) if trial % 2 else rng.normal(0.3, 1, n)
        if not np.any(d != 0):
            continue
        for alternative, index in (("greater", 0), ("less", 1)):
            approx = stats.wilcoxon(d, alternative=alternative, method="approx", correction=True).pvalue
            assert signed_rank_p(d, "approx")[index][0] == pytest.approx(approx, rel=1e-10, abs=1e-15)
            nonzero = d[d != 0]
            if len(np.unique(np.abs(nonzero))) == len(nonzero):
                reference = stats.wilcoxon(nonzero, alternative=alternative, method="exact").pvalue
            elif len(nonzero) <= 8:  # scipy's permutation distribution enumerates all 2^n sign patterns
                reference = stats.wilcoxon(nonzero, alternative=alternative, method=stats.PermutationMethod(n_resamples=np.inf)).pvalue
                with_ties += 1
            else:
                continue
            assert signed_rank_p(d, "exact")[index][0] == pytest.approx(reference, rel=1e-9)
    assert with_ties >= 10


def test_signed_rank_p_of_many_rows_at_once_is_each_row_alone(monkeypatch):
    """Rows are ranked together in blocks: rows with ties and without, unshared cases (NaN) and zeros,
    each gets scipy's p-values for that row alone, and ``auto`` decides exact or approx per row."""
    from leaderboard import ranking

    monkeypatch.setattr(ranking, "SIGNED_RANK_BLOCK", 64)  # two rows a block: 20 blocks
    rng = np.random.default_rng(11)
    d = rng.normal(0.2, 1, (40, 30))
    d[::2] = np.round(d[::2], 1)  # even rows: ties and zeros
    d[rng.random(d.shape) < 0.1] = np.nan
    greater, less = signed_rank_p(d, "approx")
    for row, g, l in zip(d, greater, less):
        kept = row[~np.isnan(row)]
        assert g == pytest.approx(stats.wilcoxon(kept, alternative="greater", method="approx", correction=True).pvalue, rel=1e-10)
        assert l == pytest.approx(stats.wilcoxon(kept, alternative="less", method="approx", correction=True).pvalue, rel=1e-10)
    auto = signed_rank_p(d, "auto")
    alone = np.array([[p[0] for p in signed_rank_p(row, "auto")] for row in d])
    assert np.array_equal(np.column_stack(auto), alone)
    assert not np.array_equal(auto[0][1::2], greater[1::2])  # the untied odd rows took the exact distribution


def test_auto_is_exact_below_fifty_differences_without_ties_or_zeros():
    d = np.linspace(-0.2, 1.0, 50)  # 50 non-zero distinct differences
    assert len(np.unique(np.abs(d))) == 50 and (d != 0).all()
    assert signed_rank_p(d, "auto")[0][0] == signed_rank_p(d, "approx")[0][0] != signed_rank_p(d, "exact")[0][0]
    assert signed_rank_p(d[1:], "auto")[0][0] == signed_rank_p(d[1:], "exact")[0][0] != signed_rank_p(d[1:], "approx")[0][0]
    tie = np.append(d[1:-1], d[1])
    assert signed_rank_p(tie, "auto")[0][0] == signed_rank_p(tie, "approx")[0][0]
    zero = np.append(d[1:-1], 0.0)
    assert signed_rank_p(zero, "auto")[0][0] == signed_rank_p(zero, "approx")[0][0]


def test_exact_and_approximate_p_values_decide_a_bonferroni_ranking_differently():
    """Three algorithms, seven cases: 0 beats 1 and 1 beats 2 on all seven, by seven different
    margins; 0 beats 2 by the same margin everywhere. Bonferroni over the 6 ordered pairs asks for
    .05 / 6 = .0083: for the first two the exact 1/128 = .0078 passes and the approximation's .0112
    does not; the seven tied margins pass either way (approximation .0054, which auto takes for ties)."""
    values = np.array([np.arange(1.0, 8.0) + 10, np.zeros(7) + 10, np.zeros(7) - 50 + np.arange(7.0)])
    bonferroni = Rules(p_adjust="bonferroni")
    assert rank(values, True, "test", bonferroni).tolist() == [1, 2, 3]  # auto: exact for the untied pairs
    assert rank(values, True, "test", bonferroni.with_(wilcoxon="approx")).tolist() == [1, 2, 2]
    assert rank(values, True, "test", bonferroni.with_(wilcoxon="exact")).tolist() == [1, 2, 3]


# ---------------------------------------------------------------- p-value adjustment

P = np.array([0.012, 0.9, 0.01, 0.5, 0.011])


def test_adjust_p_known_answers_as_r_defines_them():
    """R's p.adjust on these five p-values, worked by hand (in the order given)."""
    expected = {
        "none": [0.012, 0.9, 0.01, 0.5, 0.011],
        "bonferroni": [0.06, 1.0, 0.05, 1.0, 0.055],  # min(1, 5 p)
        "holm": [0.05, 1.0, 0.05, 1.0, 0.05],  # running max of 5 x .010, 4 x .011, 3 x .012, 2 x .5, 1 x .9
        "hochberg": [0.036, 0.9, 0.036, 0.9, 0.036],  # running min from the top of 1 x .9, 2 x .5, 3 x .012, 4 x .011, 5 x .010
        "BH": [0.02, 0.9, 0.02, 0.625, 0.02],  # running min from the top of 5/5 x .9, 5/4 x .5, 5/3 x .012, 5/2 x .011, 5 x .010
        "BY": [0.02 * 137 / 60, 1.0, 0.02 * 137 / 60, 1.0, 0.02 * 137 / 60],  # BH x (1 + 1/2 + ... + 1/5)
    }
    for method, values in expected.items():
        assert adjust_p(P, method).tolist() == pytest.approx(values, rel=1e-12), method


def test_adjust_p_caps_at_one_and_gives_floats():
    # holm: sorted .02 x 3 = .06, .6 x 2 = 1.2, .7 x 1 = .7; running max .06, 1.2, 1.2; capped at 1 (R: 0.06 1 1)
    assert adjust_p(np.array([0.6, 0.02, 0.7]), "holm").tolist() == pytest.approx([1.0, 0.06, 1.0], rel=1e-12)
    assert adjust_p(np.array([0.6, 0.02, 0.7]), "bonferroni").tolist() == pytest.approx([1.0, 0.06, 1.0], rel=1e-12)
    for method in ADJUSTMENTS:  # p-values 0 and 1 given as integers come back as floats
        adjusted = adjust_p(np.array([0, 1]), method)
        assert adjusted.dtype == float and adjusted.tolist()[0] == 0.0, method


def test_adjust_p_bh_and_by_match_scipy():
    rng = np.random.default_rng(0)
    p = rng.random(30) ** 3
    assert adjust_p(p, "BH") == pytest.approx(stats.false_discovery_control(p, method="bh"), rel=1e-12)
    assert adjust_p(p, "BY") == pytest.approx(stats.false_discovery_control(p, method="by"), rel=1e-12)


# Four algorithms x 11 cases (higher is better) with near-significant pairs. The one-sided p-values
# (normal approximation, checked against scipy below) of the ordered pairs, smallest first:
#   2>3 .0019, 1>3 .0044, 0>3 .0082, 2>0 .0309, 2>1 .0597, then .34 and more.
# none (at .05): four wins, 2 beats 3 and 0, 1 and 0 beat 3        -> wins 1 1 2 0, ranks 2 2 1 4
# holm (12 tests): .0019 x 12 = .023, .0044 x 11 = .048, then .0082 x 10 = .082 stops -> wins 0 1 1 0, ranks 3 1 1 3
# bonferroni: .0019 x 12 = .023, .0044 x 12 = .052 fails            -> wins 0 0 1 0, ranks 2 2 1 2
# BH: the largest k with p_(k) <= k/12 x .05 is k = 3 (.0082 <= .0125; .0309 > .0167) -> wins 1 1 1 0, ranks 1 1 1 4
# BY: q = 1 + 1/2 + ... + 1/12 = 3.10; .0019 > .05 / (12 x 3.10) = .0013, and no k passes -> no wins, ranks 1 1 1 1
NEAR = np.array([
    [1.2, 1.0, -1.8, -1.6, 0.8, 0.7, -0.1, -1.0, -1.3, 0.9, 0.0],
    [1.1, -2.0, 2.7, -0.9, 0.2, 0.1, 0.2, 0.4, -0.5, 0.7, -0.5],
    [-0.6, 0.4, 0.8, 0.6, 1.5, 0.5, 0.5, 2.8, 0.2, 2.5, 1.3],
    [-0.7, -0.6, -0.2, -1.7, -2.5, -2.0, -1.8, -1.2, -2.7, -0.2, -2.3],
])
NEAR_RANKS = {"none": [2, 2, 1, 4], "holm": [3, 1, 1, 3], "hochberg": [3, 1, 1, 3], "bonferroni": [2, 2, 1, 2], "BH": [1, 1, 1, 4], "BY": [1, 1, 1, 1]}

# Three algorithms x 13 cases where Holm's step-down and Hochberg's step-up part: the two smallest
# of six p-values are .00875 and .00928 (2>1, 2>0). Holm: .00875 x 6 = .0525 > .05 stops at once;
# Hochberg: .00928 x 5 = .0464 <= .05 decides both. The exact test gives .0081 and .0085 instead,
# so there Holm decides both too (.0081 x 6 = .049).
STEP = np.array([
    [0.7, 0.0, -0.4, 0.2, 1.7, 1.0, 0.5, -0.7, -1.0, -0.8, 0.4, -0.8, 0.7],
    [-0.7, -0.9, 1.7, 0.5, 0.2, -1.2, -1.0, 0.8, 0.6, -0.2, -0.1, 1.3, -0.2],
    [0.0, 2.1, 0.6, 0.2, 0.1, 1.7, 0.6, 1.0, 1.3, 2.6, 2.0, 1.7, 1.8],
])
STEP_RANKS = {"none": [2, 2, 1], "holm": [1, 1, 1], "hochberg": [2, 2, 1], "bonferroni": [1, 1, 1], "BH": [2, 2, 1], "BY": [1, 1, 1]}


@pytest.mark.parametrize(("values", "expected"), [(NEAR, NEAR_RANKS), (STEP, STEP_RANKS)], ids=["near", "step"])
def test_each_adjustment_decides_the_near_significant_pairs_its_own_way(values, expected):
    approx = Rules(wilcoxon="approx")
    first, second, p = pairwise_p(values, True, approx)
    for i, j, value in zip(first, second, p):  # the p-values the comments above quote: scipy's
        reference = stats.wilcoxon(values[i], values[j], alternative="greater", method="approx", correction=True).pvalue
        assert value == pytest.approx(reference, rel=1e-10)
    for method in ADJUSTMENTS:
        assert rank(values, True, "test", approx.with_(p_adjust=method)).tolist() == expected[method], method
    assert len({tuple(r) for r in expected.values()}) >= 2


def test_near_significant_pairs_under_podiums_rules_and_challengers():
    assert rank(NEAR, True, "test", PODIUM).tolist() == [3, 1, 1, 3]  # exact p-values, Holm
    assert rank(NEAR, True, "test", CHALLENGER).tolist() == [2, 2, 1, 4]  # approximate, unadjusted
    assert rank(STEP, True, "test", PODIUM).tolist() == [2, 2, 1]  # exact: Holm decides both
    assert rank(STEP, True, "test", Rules(wilcoxon="approx")).tolist() == [1, 1, 1]
    assert significant_wins(STEP, True, level=0.1, rules=Rules(wilcoxon="approx")).tolist() == [0, 0, 2]


def test_a_p_value_equal_to_alpha_is_a_win_as_challenger_decides():
    """challengeR's Decision(): p.adjust(p) <= alpha. Four cases won by four different margins: the
    exact one-sided p is 1/16 (only the all-positive sign pattern reaches V = 10), exactly .0625."""
    values = np.array([[4.0, 3.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    exact = Rules(wilcoxon="exact", p_adjust="none")
    assert significant_wins(values, True, level=1 / 16, rules=exact).tolist() == [1, 0]
    assert significant_wins(values, True, rules=exact.with_(alpha=1 / 16)).tolist() == [1, 0]
    assert significant_wins(values, True, level=1 / 16 - 1e-12, rules=exact).tolist() == [0, 0]
    # Bonferroni over the two ordered pairs: 2 x 1/32 = 1/16 with five cases
    five = np.array([[5.0, 4.0, 3.0, 2.0, 1.0], np.zeros(5)])
    assert significant_wins(five, True, rules=exact.with_(p_adjust="bonferroni", alpha=1 / 16)).tolist() == [1, 0]


def test_significant_wins_are_counted_in_integers():
    wins = significant_wins(NEAR, True, rules=Rules(wilcoxon="approx", p_adjust="none"))
    assert wins.tolist() == [1, 1, 2, 0] and all(type(w) is int for w in wins.tolist())  # 2, not 2.0


def test_near_significant_pairs_with_a_missing_value():
    """The worst algorithm misses case 2: counted as that case's worst value (-1.8, algorithm 0's) its
    difference to algorithm 0 is zero and dropped; removed, its pairs use ten cases. Holm decides
    otherwise in each."""
    values = NEAR.copy()
    values[3, 2] = np.nan
    approx = Rules(wilcoxon="approx")
    assert rank(values, True, "test", approx).tolist() == [1, 1, 1, 4]
    assert rank(values, True, "test", approx.with_(missing="remove")).tolist() == [1, 3, 1, 3]
    with pytest.raises(MissingValues):
        rank(values, True, "test", CHALLENGER)


# ---------------------------------------------------------------- the bootstrap and cases drawn twice


def copies_ranked_together(column: np.ndarray, higher: bool, copies: int, rules: Rules) -> np.ndarray:
    """The rank each algorithm's c copies get when c copies of every algorithm's value in one case are
    ranked together (all copies of an algorithm tie, so they share one rank), by brute force: the
    missing rule applied by hand (worst: the case's worst value; a number; remove: NaN, left out;
    last: rankNA2, below the worst present rank)."""
    ties = {"min": "min", "mean": "average", "max": "max"}[rules.case_ties]
    rule = rules.missing_for("rank_then_mean")
    column = column.astype(float).copy()
    if rule == "worst":
        column[np.isnan(column)] = np.nanmin(column) if higher else np.nanmax(column)
    elif rule not in ("remove", "last"):
        column[np.isnan(column)] = rule
    rows = np.repeat(column, copies)
    present = ~np.isnan(rows)
    ranks = np.full(len(rows), np.nan)
    ranks[present] = stats.rankdata(-rows[present] if higher else rows[present], method=ties)
    missing = int((~present).sum())
    if missing and rule == "last":
        ranks[~present] = (ranks[present].max() if present.any() else 0.0) + {"min": 1, "average": np.mean(np.arange(1, missing + 1)), "max": missing}[ties]
    return ranks[::copies]


def challenger_resample_ranks(values: np.ndarray, higher: bool, drawn: np.ndarray, rules: Rules) -> np.ndarray:
    """Rank-then-aggregate of one resample as challengeR's bootstrap computes it: every draw of a
    case adds a copy of its rows; rows are ranked within each case id (all copies together,
    ``copies_ranked_together``); an algorithm's score is the mean of all its rows' ranks left in
    (NaN, ranked last, with none)."""
    sums, counts = np.zeros(len(values)), np.zeros(len(values))
    for case in np.unique(drawn):
        copies = int((drawn == case).sum())
        ranks = copies_ranked_together(values[:, case], higher, copies, rules)
        kept = ~np.isnan(ranks)
        sums[kept] += copies * ranks[kept]
        counts[kept] += copies
    with np.errstate(invalid="ignore"):
        return rank_scores(sums / counts, False, rules.ties)


@pytest.mark.parametrize("case_ties", ["min", "mean", "max"])
def test_merged_duplicates_rank_the_copies_of_a_case_together_as_challenger_does(case_ties):
    rng = np.random.default_rng(7)
    values = np.round(rng.random((4, 9)), 1)  # coarse values: ties within cases
    values[1, 3] = values[2, 5] = values[0, 5] = np.nan
    rules = CHALLENGER.with_(case_ties=case_ties)
    stability = bootstrap(values, True, "rank_then_mean", resamples=30, seed=5, rules=rules)
    cases = np.random.default_rng(5).integers(0, 9, size=(30, 9))
    for r in range(30):
        assert stability.bootstrap_ranks[r].tolist() == challenger_resample_ranks(values, True, cases[r], rules).tolist(), r
    separate = bootstrap(values, True, "rank_then_mean", resamples=30, seed=5, rules=rules.with_(duplicates="separate"))
    assert not np.array_equal(separate.bootstrap_ranks, stability.bootstrap_ranks)


# four algorithms x four cases: all present ones tied above a missing one; one present value; none missing; two tied and one missing
MERGED = np.array([
    [0.5, 0.2, 0.1, np.nan],
    [0.5, np.nan, 0.3, 0.7],
    [np.nan, np.nan, 0.3, 0.2],
    [0.5, np.nan, 0.9, 0.2],
])


@pytest.mark.parametrize("higher", [True, False], ids=["higher", "lower"])
@pytest.mark.parametrize("case_ties", ["min", "mean", "max"])
@pytest.mark.parametrize("rules", [CHALLENGER, PODIUM, PODIUM.with_(missing="worst"), PODIUM.with_(missing="remove"), PODIUM.with_(missing=0.25)],
                         ids=["challengeR", "podium", "worst", "remove", "number"])
def test_merged_case_ranks_are_the_ranks_of_c_copies_ranked_together(rules, case_ties, higher):
    """c x slope + intercept is the rank of an algorithm's copies when each case is drawn c times,
    for each missing rule (Podium's default for rank-then-aggregate is last, as challengeR's);
    a result left out has weight 0 and rank 0, every other weight 1."""
    rules = rules.with_(case_ties=case_ties)
    slope, intercept, weight = merged_case_ranks(MERGED, higher, rules)
    assert slope.dtype == intercept.dtype == weight.dtype == float and slope.shape == MERGED.shape
    removed = np.isnan(MERGED) & (rules.missing_for("rank_then_mean") == "remove")
    assert weight.tolist() == (~removed).astype(float).tolist()
    for copies in (1, 2, 3):
        expected = np.column_stack([copies_ranked_together(MERGED[:, k], higher, copies, rules) for k in range(MERGED.shape[1])])
        np.testing.assert_array_equal(copies * slope + intercept, np.where(removed, 0.0, expected), err_msg=f"{copies} copies")


@pytest.mark.parametrize("rules", [CHALLENGER.with_(ties="max", case_ties="mean"), PODIUM.with_(missing="remove", duplicates="merged", ties="mean")],
                         ids=["last", "remove"])
def test_merged_duplicates_in_several_chunks_rank_each_resample_as_its_copies_ranked_together(rules, monkeypatch):
    """Brute force per resample (challenger_resample_ranks) under another missing rule than
    challengeR's; the resamples ranked a few at a time (a tiny chunk) as in one go. Algorithm 2 has
    one value only."""
    from leaderboard import ranking

    values = MERGED.copy()
    values[2] = [np.nan, np.nan, 0.3, np.nan]
    monkeypatch.setattr(ranking, "CHUNK_VALUES", 3 * values.size)  # chunks of 3 resamples
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an algorithm with nothing drawn is NaN, not a warning
        stability = bootstrap(values, True, "rank_then_mean", resamples=20, seed=6, rules=rules)
    cases = np.random.default_rng(6).integers(0, 4, size=(20, 4))
    for r in range(20):
        assert stability.bootstrap_ranks[r].tolist() == challenger_resample_ranks(values, True, cases[r], rules).tolist(), r
    assert len({tuple(row) for row in stability.bootstrap_ranks.tolist()}) > 1


@pytest.mark.parametrize("method", ["mean", "rank_then_mean"])
def test_separate_duplicates_in_several_chunks_rank_each_resample_as_the_full_data(method, monkeypatch):
    from leaderboard import ranking

    values = np.round(np.random.default_rng(12).random((3, 6)), 1)
    monkeypatch.setattr(ranking, "CHUNK_VALUES", 2 * values.size)  # chunks of 2 resamples
    stability = bootstrap(values, True, method, resamples=9, seed=3)
    cases = np.random.default_rng(3).integers(0, 6, size=(9, 6))
    for r in range(9):
        assert stability.bootstrap_ranks[r].tolist() == rank(values[:, cases[r]], True, method).tolist(), r


def test_merged_duplicates_weigh_a_case_by_its_copies_squared():
    slope, intercept, weight = merged_case_ranks(np.array([[0.9], [0.5], [0.1]]), True, CHALLENGER)
    assert (3 * slope + intercept).ravel().tolist() == [1, 4, 7]  # three copies: ranks 1, 4, 7 of 9 rows, not 1, 2, 3
    assert weight.ravel().tolist() == [1, 1, 1]


def test_merged_duplicates_test_each_drawn_case_once():
    values = NEAR
    rules = CHALLENGER
    stability = bootstrap(values, True, "test", resamples=15, seed=2, rules=rules)
    cases = np.random.default_rng(2).integers(0, 11, size=(15, 11))
    for r in range(15):
        assert stability.bootstrap_ranks[r].tolist() == rank(values[:, np.unique(cases[r])], True, "test", rules).tolist()
    separate = bootstrap(values, True, "test", resamples=15, seed=2, rules=rules.with_(duplicates="separate"))
    for r in range(15):
        assert separate.bootstrap_ranks[r].tolist() == rank(values[:, cases[r]], True, "test", rules).tolist()
    assert not np.array_equal(separate.bootstrap_ranks, stability.bootstrap_ranks)


def test_duplicates_do_not_change_aggregate_then_rank():
    values = np.random.default_rng(1).random((5, 12))
    for method in ("mean", "median"):
        merged = bootstrap(values, True, method, resamples=25, seed=4, rules=CHALLENGER)
        separate = bootstrap(values, True, method, resamples=25, seed=4, rules=CHALLENGER.with_(duplicates="separate"))
        assert np.array_equal(merged.bootstrap_ranks, separate.bootstrap_ranks)


@pytest.mark.parametrize("rules", [PODIUM, CHALLENGER, PODIUM.with_(missing="remove", case_ties="max", ties="mean")], ids=["podium", "challengeR", "mixed"])
@pytest.mark.parametrize("method", ["mean", "median", "rank_then_mean", "test"])
def test_every_resample_is_ranked_as_the_full_data_is(rules, method):
    """Separate duplicates: each bootstrap ranking is the method's ranking of the resampled matrix."""
    rules = rules.with_(duplicates="separate")
    rng = np.random.default_rng(9)
    values = np.round(rng.random((4, 10)), 1)
    if rules.missing_for(method) not in ("last", "error") or method == "rank_then_mean":
        values[2, 4] = np.nan
    stability = bootstrap(values, True, method, resamples=12, seed=1, rules=rules)
    cases = np.random.default_rng(1).integers(0, 10, size=(12, 10))
    for r in range(12):
        assert stability.bootstrap_ranks[r].tolist() == rank(values[:, cases[r]], True, method, rules).tolist()


def brute_force_signed_rank(d: np.ndarray) -> tuple[float, float]:
    """(P(V >= v), P(V <= v)) by enumerating every sign pattern of the non-zero differences' mid-ranks."""
    nonzero = d[~np.isnan(d) & (d != 0)]
    if len(nonzero) == 0:
        return 1.0, 1.0
    ranks = stats.rankdata(np.abs(nonzero))
    v = ranks[nonzero > 0].sum()
    signs = np.array(np.meshgrid(*[[0, 1]] * len(ranks))).reshape(len(ranks), -1).T  # 2^n patterns
    sums = signs @ ranks
    return float(np.mean(sums >= v - 1e-9)), float(np.mean(sums <= v + 1e-9))


@pytest.mark.parametrize("block", [None, 40], ids=["one block", "many blocks"])
def test_exact_p_values_of_many_rows_at_once_match_enumeration(block, monkeypatch):
    """Rows with different lengths, ties, zeros and missing cases in one call, each against the
    enumeration of its 2^n sign patterns; with a tiny block the rows are spread over several blocks."""
    if block is not None:
        monkeypatch.setattr("leaderboard.ranking.EXACT_BLOCK", block)
    rng = np.random.default_rng(3)
    rows = []
    for n in [1, 1, 2, 3, 5, 7, 9, 11]:
        row = np.full(11, np.nan)
        row[:n] = rng.choice([-3.0, -2.0, -1.0, 0.0, 1.0, 1.0, 2.0, 2.5], size=n)  # ties and zeros
        rows.append(row)
    rows.append(np.r_[[1.0], np.full(10, np.nan)])  # one positive difference: P(V >= 1) = 1/2
    rows.append(np.zeros(11))  # nothing but zeros: no evidence either way
    d = np.array(rows)
    greater, less = signed_rank_p(d, "exact")
    expected = np.array([brute_force_signed_rank(row) for row in d])
    np.testing.assert_allclose(greater, expected[:, 0], rtol=1e-12)
    np.testing.assert_allclose(less, expected[:, 1], rtol=1e-12)
    assert greater[-2] == 0.5 and less[-2] == 1.0
    assert [p[0] for p in signed_rank_p(np.array([1.0]), "exact")] == [0.5, 1.0]  # a single case of a single pair
