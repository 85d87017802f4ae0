"""Challenge ranking methods and their stability, on hand-made cases with known answers."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from leaderboard.ranking import (
    aggregate_then_rank, bootstrap, consensus, fill_missing, rank, rank_then_aggregate, significant_wins,
)

# three algorithms x five cases (higher is better)
VALUES = np.array([
    [0.9, 0.8, 0.9, 0.7, 0.9],   # A: best on average
    [0.1, 0.95, 0.95, 0.75, 0.95],  # B: wins 4 of 5 cases but fails one badly
    [0.5, 0.5, 0.5, 0.5, 0.5],   # C
])


def test_aggregate_then_rank_mean_and_median_disagree_as_they_should():
    assert aggregate_then_rank(VALUES, True, "mean").tolist() == [1, 2, 3]  # B's failure drags its mean down
    assert aggregate_then_rank(VALUES, True, "median").tolist() == [2, 1, 3]  # the median ignores it


def test_rank_then_aggregate_rewards_winning_cases():
    # per-case ranks: A = 1,2,2,2,2 (mean 1.8); B = 3,1,1,1,1 (1.4); C = 2,3,3,3,3 (2.8)
    assert rank_then_aggregate(VALUES, True).tolist() == [2, 1, 3]


def test_ties_share_the_best_rank_and_lower_is_better_works():
    ties = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    assert aggregate_then_rank(ties, True).tolist() == [2, 2, 1]
    assert aggregate_then_rank(ties, False).tolist() == [1, 1, 3]


def test_missing_results_take_the_worst_value_of_their_case():
    values = np.array([[0.9, np.nan], [0.5, 0.6], [0.7, 0.2]])
    assert fill_missing(values, True).tolist() == [[0.9, 0.2], [0.5, 0.6], [0.7, 0.2]]
    assert fill_missing(values, False)[0, 1] == 0.6


def test_test_based_ranking_counts_holm_corrected_wilcoxon_wins():
    rng = np.random.default_rng(0)
    base = rng.random(30)
    values = np.stack([base + 0.3, base + 0.1 + rng.normal(0, 0.01, 30), base])
    wins = significant_wins(values, True)
    assert wins.tolist() == [2, 1, 0]
    assert rank(values, True, "test").tolist() == [1, 2, 3]
    p = stats.wilcoxon(values[0], values[2], alternative="greater").pvalue
    assert p * 6 < 0.05  # the strongest pair survives even Bonferroni over the 6 ordered pairs


def test_bootstrap_stability_matches_scipy_kendall_tau():
    rng = np.random.default_rng(1)
    values = rng.random((6, 40)) + np.linspace(0, 2.5, 6)[:, None]  # a clear order with noise
    result = bootstrap(values, True, "mean", resamples=200, seed=3)
    assert result.ranks.tolist() == [6, 5, 4, 3, 2, 1]
    assert result.bootstrap_ranks.shape == (200, 6)
    assert result.kendall_tau[7] == pytest.approx(stats.kendalltau(result.ranks, result.bootstrap_ranks[7]).statistic)
    median, low, high = result.tau_summary()
    assert low <= median <= high <= 1 and median > 0.8
    same = bootstrap(values, True, "mean", resamples=200, seed=3)
    assert np.array_equal(same.bootstrap_ranks, result.bootstrap_ranks)  # seeded


@pytest.mark.parametrize("method", ["median", "rank_then_mean"])
def test_vectorised_bootstrap_equals_ranking_each_resample(method):
    rng = np.random.default_rng(2)
    values = rng.random((4, 15))
    result = bootstrap(values, True, method, resamples=20, seed=0)
    cases = np.random.default_rng(0).integers(0, 15, size=(20, 15))
    for r in range(20):
        assert result.bootstrap_ranks[r].tolist() == rank(values[:, cases[r]], True, method).tolist()


def test_consensus_of_rankings():
    assert consensus([np.array([1, 2, 3]), np.array([2, 1, 3]), np.array([1, 3, 2])]).tolist() == [1, 2, 3]


def test_consensus_table_merges_boards_by_mean_rank():
    """Three algorithms on two boards; 'c' is missing from the second and counts as its worst plus one."""
    from leaderboard.challenge import Board, consensus_table

    def board(name, algorithms, values):
        values = np.array(values, dtype=float)
        return Board("task", name, algorithms, values, True, bootstrap(values, True, "mean", resamples=10, seed=0))

    first = board("d1", [("a", ""), ("b", ""), ("c", "")], [[0.9, 0.8], [0.5, 0.6], [0.7, 0.7]])  # ranks a1 c2 b3
    second = board("d2", [("a", ""), ("b", "")], [[0.1, 0.2], [0.9, 0.8]])  # b1 a2, c absent -> 3
    table = consensus_table([("accuracy", first), ("accuracy", second)])
    assert table["model"].tolist() == ["a", "b", "c"]
    assert table["mean rank"].tolist() == [1.5, 2.0, 2.5]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["task/d2/accuracy"].tolist() == [2, 1, 3]


def test_kendall_tau_is_reported_undefined_when_the_full_ranking_ties_everyone():
    values = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]])
    stability = bootstrap(values, True, "mean", resamples=20, seed=0)
    assert np.isnan(stability.tau_summary()).all()
    assert stability.tau_text() == "undefined (the full ranking ties every entry)"
    assert bootstrap(VALUES, True, "mean", resamples=20, seed=0).tau_text().startswith("median ")
