"""Challenge ranking methods and their stability, on hand-made cases with known answers."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leaderboard.ranking import (
    aggregate_then_rank, bootstrap, consensus, fill_missing, rank, rank_then_aggregate, scores, significant_wins,
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


def test_rank_ranks_by_the_mean_unless_told_otherwise():
    assert rank(VALUES, True).tolist() == [1, 2, 3]  # means .84, .74, .5; the median would give 2, 1, 3
    assert rank(VALUES, True).tolist() != rank(VALUES, True, "median").tolist()


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
    from leaderboard.challenge import Algorithm, Board, consensus_table

    def board(name, algorithms, values):
        values = np.array(values, dtype=float)
        return Board("task", name, [Algorithm(f"spec[model.name={a}]", a, "", f"pooled:{a}") for a in algorithms], values, True,
                     bootstrap(values, True, "mean", resamples=10, seed=0), pooled=("model",))

    first = board("d1", ["a", "b", "c"], [[0.9, 0.8], [0.5, 0.6], [0.7, 0.7]])  # ranks a1 c2 b3
    second = board("d2", ["a", "b"], [[0.1, 0.2], [0.9, 0.8]])  # b1 a2, c absent -> 3
    table = consensus_table([("accuracy", first), ("accuracy", second)])
    assert table["model"].tolist() == ["a", "b", "c"] and table["label"].tolist() == ["spec[model.name=a]", "spec[model.name=b]", "spec[model.name=c]"]
    assert table["mean rank"].tolist() == [1.5, 2.0, 2.5]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table["task/d2/accuracy"].tolist() == [2, 1, 3]


def test_kendall_tau_is_reported_undefined_when_the_full_ranking_ties_everyone():
    values = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]])
    stability = bootstrap(values, True, "mean", resamples=20, seed=0)
    assert np.isnan(stability.tau_summary()).all()
    assert stability.tau_text() == "undefined (the full ranking ties every entry)"
    assert bootstrap(VALUES, True, "mean", resamples=20, seed=0).tau_text().startswith("median ")


# ---------------------------------------------------------------- rankings of configurations in the store
def per_case_records(skills):
    """Records with per-image accuracies (60 images, two seeds) of each (model, method, params, hit rate) of ``skills``."""
    from tests.leaderboard.conftest import make_record

    rng = np.random.default_rng(0)
    records = []
    for model, method, params, skill in skills:
        for seed in (0, 1):
            correct = (rng.random(60) < skill).astype(float).tolist()
            record = make_record(model, method, seed, metrics={"test": {"accuracy": float(np.mean(correct))}}, params=params, spec_name="sweep")
            records.append(record.model_copy(update={"cases": {"accuracy": correct}}))
    return records


SKILLS = [("mlp", "vanilla_kd", {"hidden": 16}, 0.6), ("mlp", "vanilla_kd", {"hidden": 64}, 0.9),
          ("small_cnn", "student_only", {}, 0.75), ("resnet56", "teacher", {}, 0.99)]


@pytest.fixture
def ranked_store(store):
    store.ingest((r, 1.0) for r in per_case_records(SKILLS))
    return store


def test_rank_ranks_configurations_of_one_model_and_method_apart_and_leaves_the_teacher_out(ranked_store):
    from leaderboard.challenge import challenge_boards

    [board] = challenge_boards(ranked_store, "kd", "accuracy", resamples=50)
    assert board.pooled == () and "one configuration" in board.note
    table = board.table()
    assert list(table.columns[:4]) == ["rank", "label", "model", "method"] and "configs" not in table
    assert table[["rank", "label", "model", "method"]].values.tolist() == [
        [1, "sweep[model.name=mlp,hidden=64,method=vanilla_kd]", "mlp", "vanilla_kd"],
        [2, "sweep[model.name=small_cnn,hidden=-,method=student_only]", "small_cnn", "student_only"],
        [3, "sweep[model.name=mlp,hidden=16,method=vanilla_kd]", "mlp", "vanilla_kd"],
    ]  # the teacher, best of all, is a reference: not a participant
    assert board.values.shape == (3, 60)
    values = pd.DataFrame([(r.config_id, r.seed, np.array(r.cases["accuracy"])) for r in per_case_records(SKILLS)], columns=["entry", "seed", "cases"])
    for algorithm, row in zip(board.algorithms, board.values):  # per case: the mean over the configuration's seeds
        np.testing.assert_allclose(row, np.mean(values[values["entry"] == algorithm.entry]["cases"].tolist(), axis=0))


def test_rank_pools_configurations_only_when_asked_and_says_so(ranked_store):
    from leaderboard.aggregate import GroupingError
    from leaderboard.challenge import challenge_boards

    [board] = challenge_boards(ranked_store, "kd", "accuracy", resamples=50, group_by=["model", "method"])
    assert board.pooled == ("model", "method") and board.note.startswith("pooled by model,method")
    table = board.table()
    assert table[["label", "model", "method", "configs"]].values.tolist() == [
        ["small_cnn student_only", "small_cnn", "student_only", 1], ["mlp vanilla_kd", "mlp", "vanilla_kd", 2]]
    with pytest.raises(GroupingError, match="unknown field 'seed'"):
        challenge_boards(ranked_store, "kd", "accuracy", group_by=["seed"])


def test_a_consensus_over_metrics_matches_configurations(ranked_store):
    from leaderboard.challenge import challenge_boards, consensus_table

    boards = challenge_boards(ranked_store, "kd", "accuracy", resamples=20) + challenge_boards(ranked_store, "kd", "accuracy", "median", resamples=20)
    table = consensus_table([("accuracy", b) for b in boards])
    assert len(table) == 3 and table["label"].iloc[0] == "sweep[model.name=mlp,hidden=64,method=vanilla_kd]"


def test_a_bootstrap_beyond_its_memory_bound_is_refused_naming_the_bound():
    from leaderboard.ranking import BOOTSTRAP_BYTES, BootstrapTooLarge, bootstrap_bytes, most_resamples

    values = np.random.default_rng(0).random((3, 40))
    most = most_resamples(3, 40)
    assert bootstrap_bytes(3, 40, most) <= BOOTSTRAP_BYTES < bootstrap_bytes(3, 40, most + 1)
    with pytest.raises(BootstrapTooLarge, match=rf"3 algorithms x 40 cases x {most + 1} resamples would take 1 GiB; the bound is 1 GiB, {most} resamples here"):
        bootstrap(values, True, "mean", resamples=most + 1)
    with pytest.raises(BootstrapTooLarge, match="would take 44.7 GiB"):
        bootstrap(np.ones((2, 4)), True, "mean", resamples=10**9)
    for bad in ({"resamples": 0}, {"resamples": -1}, {"seed": -1}):
        with pytest.raises(ValueError):
            bootstrap(values, True, "mean", **{"resamples": 10, **bad})


def test_bootstrap_defaults_to_a_thousand_seed_0_resamples_ranked_by_mean():
    result = bootstrap(VALUES, True)
    cases = np.random.default_rng(0).integers(0, 5, size=(1000, 5))
    assert result.bootstrap_ranks.shape == (1000, 3)
    for r in (0, 1, 500, 999):
        assert result.bootstrap_ranks[r].tolist() == rank(VALUES[:, cases[r]], True, "mean").tolist()


def test_a_single_resample_is_allowed_and_a_bootstrap_exactly_at_the_bound_runs(monkeypatch):
    from leaderboard import ranking

    cases = np.random.default_rng(4).integers(0, 5, size=(1, 5))
    one = bootstrap(VALUES, True, "mean", resamples=1, seed=4)
    assert one.bootstrap_ranks.tolist() == [rank(VALUES[:, cases[0]], True, "mean").tolist()]
    monkeypatch.setattr(ranking, "BOOTSTRAP_BYTES", ranking.bootstrap_bytes(3, 5, 10))  # the bound: 10 resamples exactly
    assert bootstrap(VALUES, True, "mean", resamples=10).bootstrap_ranks.shape == (10, 3)
    with pytest.raises(ranking.BootstrapTooLarge, match="x 11 resamples"):
        bootstrap(VALUES, True, "mean", resamples=11)


def test_kendall_tau_b_of_two_algorithms_is_one_or_minus_one():
    from leaderboard.ranking import kendall_tau_b

    # one pair: concordant 1 / sqrt(1 x 1), discordant -1, as scipy gives
    assert kendall_tau_b(np.array([1, 2]), np.array([[1, 2], [2, 1]])).tolist() == [1.0, -1.0]
    assert stats.kendalltau([1, 2], [2, 1]).statistic == pytest.approx(-1.0)


def test_whole_ranks_are_integers_and_others_stay_floats():
    from leaderboard.ranking import tidy

    assert tidy(np.array([2.0, 1.0, 2.0])).dtype.kind == "i" and tidy(np.array([2.0, 1.0, 2.0])).tolist() == [2, 1, 2]
    assert all(type(r) is int for r in rank(VALUES, True, "mean").tolist())
    assert tidy(np.array([1.5, 1.5, 3.0])).tolist() == [1.5, 1.5, 3.0] and tidy(np.array([1.5, 1.5, 3.0])).dtype == float
    assert tidy(np.array([1.0, np.inf])).dtype == float and tidy(np.array([1.0, np.nan])).dtype == float


def test_kendall_tau_b_of_a_ranking_that_ties_everyone_is_nan_without_a_warning():
    from leaderboard.ranking import kendall_tau_b

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # undefined is said (NaN), not warned about
        taus = kendall_tau_b(np.array([1, 1, 1]), np.array([[1, 2, 3], [3, 2, 1]]))
        assert np.isnan(taus).all()
        assert np.isnan(kendall_tau_b(np.array([1, 2, 3]), np.array([[2, 2, 2]]))).all()


def test_vectorised_kendall_tau_is_scipys_with_ties_and_undefined_rankings():
    from leaderboard.ranking import kendall_tau_b

    rng = np.random.default_rng(1)
    for n in (2, 3, 5, 12):
        full = rng.integers(1, 4, n)
        rows = np.vstack([rng.integers(1, 4, (200, n)), np.ones((1, n), dtype=int)])  # ties, and a row that ties everyone
        expected = np.array([stats.kendalltau(full, row).statistic for row in rows])
        np.testing.assert_allclose(kendall_tau_b(full, rows), expected, equal_nan=True)


def test_scores_of_each_method_by_hand():
    """challengeR's aggregate column: mean or median value, mean per-case rank, share of significant wins."""
    values = np.array([[1.0, 2.0, 9.0, 0.0], [3.0, 3.0, 3.0, 3.0], [0.0, 5.0, 5.0, 4.0]])
    np.testing.assert_allclose(scores(values, True, "mean"), [3.0, 3.0, 3.5])
    np.testing.assert_allclose(scores(values, True, "median"), [1.5, 3.0, 4.5])  # the median differs from the mean here
    # per case (higher better, ties share the mean rank): (2, 1, 3), (3, 2, 1), (1, 3, 2), (3, 2, 1)
    np.testing.assert_allclose(scores(values, True, "rank_then_mean"), [9 / 4, 2.0, 7 / 4])
    # ten cases where A beats B and C, and B beats C, each by a margin on every case: exact one-sided
    # p = 1/1024 per pair, significant after Holm; wins 2, 1, 0 of the A - 1 = 2 others
    base = np.arange(10.0)
    clear = np.stack([base + 20, base + 10, base])
    np.testing.assert_allclose(scores(clear, True, "test"), [1.0, 0.5, 0.0])


def test_scores_rank_the_mean_value_unless_told_otherwise():
    np.testing.assert_allclose(scores(VALUES, True), [0.84, 0.74, 0.5])  # A: 4.2 / 5, B: 3.7 / 5, C: 0.5
    np.testing.assert_allclose(scores(VALUES, True), scores(VALUES, True, "mean"))


def test_consensus_ties_follow_the_rule_given():
    # mean ranks 1.5, 1.5, 3: the two tied algorithms share the best rank (min) or the worst (max)
    rankings = [np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 3.0])]
    assert consensus(rankings).tolist() == consensus(rankings, ties="min").tolist() == [1, 1, 3]
    assert consensus(rankings, ties="max").tolist() == [2, 2, 3]


@pytest.mark.parametrize("algorithms, cases", [(3, 40), (1, 1), (2, 1), (50, 10_000), (1_000, 100_000), (7, 3_000_000), (2, 2**21)])
def test_most_resamples_is_the_largest_count_within_the_memory_bound(algorithms, cases):
    # small tables rank a chunk of resamples at once; for tables of more than CHUNK_VALUES cells a chunk is one resample
    from leaderboard.ranking import BOOTSTRAP_BYTES, bootstrap_bytes, most_resamples

    most = most_resamples(algorithms, cases)
    assert isinstance(most, int) and most >= 1
    assert bootstrap_bytes(algorithms, cases, most) <= BOOTSTRAP_BYTES < bootstrap_bytes(algorithms, cases, most + 1)


def test_most_resamples_is_zero_when_not_even_one_resample_fits():
    # 2 x 2**27 cells: one resample's values alone take 8 x 2**28 bytes = 2 GiB, twice the bound
    from leaderboard.ranking import BOOTSTRAP_BYTES, bootstrap_bytes, most_resamples

    assert bootstrap_bytes(2, 2**27, 1) > BOOTSTRAP_BYTES
    assert most_resamples(2, 2**27) == 0


def test_challenge_boards_are_sorted_skip_single_algorithm_datasets_and_keep_the_metric_direction(store):
    """Per (task, dataset) in name order; a dataset with one algorithm has no ranking and is skipped, the
    others still come; a lower-is-better metric ranks the smallest error first."""
    from leaderboard.challenge import challenge_boards
    from leaderboard.ranking import CHALLENGER
    from tests.leaderboard.conftest import make_record

    rng = np.random.default_rng(1)
    records = []
    for dataset, models in (("z", {"mlp": 0.1, "cnn": 0.4}), ("a", {"mlp": 0.2}), ("b", {"mlp": 0.5, "cnn": 0.05})):
        for model, rate in models.items():
            errors = (rng.random(30) * rate).tolist()  # per-image error rates
            record = make_record(model, "student_only", 0, metrics={"test": {"error": float(np.mean(errors))}}, dataset=dataset,
                                 higher_is_better={"error": False})
            records.append(record.model_copy(update={"cases": {"error": errors}}))
    store.ingest((r, 1.0) for r in records)
    boards = challenge_boards(store, "kd", "error", "median", resamples=30, rules=CHALLENGER)
    assert [(b.task, b.dataset) for b in boards] == [("distillation", "b"), ("distillation", "z")]
    assert all(not b.higher_is_better and b.ranked_by == "median" and b.rules == CHALLENGER for b in boards)
    best = {b.dataset: b.algorithms[int(np.argmin(b.stability.ranks))].model for b in boards}
    assert best == {"b": "cnn", "z": "mlp"}  # the fewer errors, the better
    default = challenge_boards(store, "kd", "error")[0]
    assert default.ranked_by == "mean" and default.stability.bootstrap_ranks.shape[0] == 1000
    np.testing.assert_array_equal(default.stability.bootstrap_ranks,
                                  challenge_boards(store, "kd", "error", "mean", 1000, 0)[0].stability.bootstrap_ranks)


def test_challenge_boards_bootstrap_with_the_seed_given_and_zero_by_default(store):
    from leaderboard.challenge import challenge_boards

    store.ingest((r, 1.0) for r in per_case_records([("mlp", "vanilla_kd", {"hidden": 16}, 0.7), ("mlp", "vanilla_kd", {"hidden": 64}, 0.72)]))
    [board] = challenge_boards(store, "kd", "accuracy", resamples=200)
    by_seed = {seed: bootstrap(board.values, True, "mean", resamples=200, seed=seed).bootstrap_ranks for seed in (0, 1)}
    assert not np.array_equal(by_seed[0], by_seed[1])  # the seed matters for these close configurations
    np.testing.assert_array_equal(board.stability.bootstrap_ranks, by_seed[0])
    np.testing.assert_array_equal(challenge_boards(store, "kd", "accuracy", resamples=200, seed=1)[0].stability.bootstrap_ranks, by_seed[1])
    assert board.higher_is_better is True


def test_a_store_ranked_by_challenge_boards_still_takes_new_runs(store):
    """Ranking leaves no unfinished result on the store's connection: the same process can ingest after it."""
    from leaderboard.challenge import challenge_boards

    store.ingest((r, 1.0) for r in per_case_records(SKILLS))
    [before] = challenge_boards(store, "kd", "accuracy", resamples=10)
    store.ingest((r, 1.0) for r in per_case_records([("mlp", "vanilla_kd", {"hidden": 256}, 0.8)]))
    [after] = challenge_boards(store, "kd", "accuracy", resamples=10)
    assert len(after.algorithms) == len(before.algorithms) + 1


def test_challenge_boards_hold_only_the_track_asked_for(ranked_store):
    from leaderboard.challenge import challenge_boards
    from tests.leaderboard.conftest import make_record

    other = [make_record(m, "student_only", 0, metrics={"test": {"accuracy": 0.5}}, track="other").model_copy(update={"cases": {"accuracy": [0.5] * 60}})
             for m in ("mlp", "small_cnn")]  # the same task, dataset and metric on another track
    ranked_store.ingest((r, 1.0) for r in other)
    [board] = challenge_boards(ranked_store, "kd", "accuracy", resamples=10)
    assert [a.entry for a in board.algorithms] == sorted({r.config_id for r in per_case_records(SKILLS) if r.method != "teacher"})
    [theirs] = challenge_boards(ranked_store, "other", "accuracy", resamples=10)
    assert [a.entry for a in theirs.algorithms] == sorted(r.config_id for r in other)
    np.testing.assert_array_equal(theirs.values, np.full((2, 60), 0.5))


def test_a_configuration_the_store_has_no_label_for_is_shown_by_its_id(ranked_store):
    from leaderboard.challenge import challenge_boards

    ranked_store.con.execute("DELETE FROM configs")  # the configs table labels each configuration; without it, the id stands in
    [board] = challenge_boards(ranked_store, "kd", "accuracy", resamples=10)
    assert [a.label for a in board.algorithms] == [a.entry for a in board.algorithms]
    assert all(len(a.entry) > 0 and a.entry != "None" for a in board.algorithms)


def test_challenge_boards_pool_by_spec_averaging_every_run_of_a_spec_per_case(store):
    from leaderboard.challenge import challenge_boards

    records = [r.model_copy(update={"spec_name": spec, "spec": {**r.spec, "name": spec}})
               for spec, skills in (("wide", [("mlp", "vanilla_kd", {"hidden": 16}, 0.6), ("mlp", "vanilla_kd", {"hidden": 64}, 0.9)]),
                                    ("cnn", [("small_cnn", "student_only", {}, 0.75)]))
               for r in per_case_records(skills)]
    store.ingest((r, 1.0) for r in records)
    [board] = challenge_boards(store, "kd", "accuracy", resamples=10, group_by=["spec"])
    assert board.pooled == ("spec",)
    got = {a.label: (a.configs, row) for a, row in zip(board.algorithms, board.values)}
    assert sorted(got) == ["cnn", "wide"] and got["wide"][0] == 2 and got["cnn"][0] == 1
    for spec, (_, row) in got.items():  # per case: the mean over the spec's runs (two configurations x two seeds for "wide")
        np.testing.assert_allclose(row, np.mean([r.cases["accuracy"] for r in records if r.spec_name == spec], axis=0))


def test_case_values_matrix_lays_out_the_cases_any_entry_has():
    from leaderboard.challenge import CaseValues

    # entry 0 has cases 3 and 5, entry 1 case 5, entry 2 cases 3 and 7
    cases = CaseValues(pd.DataFrame(), np.array([0, 0, 1, 2, 2]), np.array([3, 5, 5, 3, 7]), np.array([0.1, 0.2, 0.3, 0.4, 0.5]))
    np.testing.assert_array_equal(cases.matrix([2, 0]), [[0.4, np.nan, 0.5], [0.1, 0.2, np.nan]])  # columns: cases 3, 5, 7
    np.testing.assert_array_equal(cases.matrix([1]), [[0.3]])
    assert cases.matrix([]).shape == (0, 0)


def test_bootstrap_columns_are_the_median_and_the_2_5_and_97_5_percentiles_of_the_resampled_ranks():
    from leaderboard.challenge import bootstrap_columns
    from leaderboard.ranking import Stability

    # 40 resamples; A's sorted ranks 1, 2 x 19, 3 x 19, 4. Linear interpolation (numpy's default, R's
    # quantile type 7) at (40 - 1) q: q = 2.5% -> 0.975 between 1 and 2: 1.975; 50% -> 19.5 between
    # 2 and 3: 2.5; 97.5% -> 38.025 between 3 and 4: 3.025. B is first in every resample.
    a = np.array([1] + [2] * 19 + [3] * 19 + [4], dtype=float)
    boot = np.column_stack([a, np.ones(40)])
    columns = bootstrap_columns(Stability(np.array([2, 1]), boot, np.zeros(40)))
    assert list(columns) == ["bootstrap median rank", "95% rank interval", "P(first)"]
    assert columns["bootstrap median rank"].tolist() == [2.5, 1.0]
    assert columns["95% rank interval"] == ["[1.975, 3.025]", "[1, 1]"]
    assert columns["P(first)"].tolist() == [1 / 40, 1.0]  # A ties B for first once


def test_tau_summary_is_the_median_and_percentile_interval_of_the_resampled_taus():
    from leaderboard.ranking import Stability

    taus = np.array([0.2, 0.4, 0.5, 0.6, 0.9, 1.0, np.nan, 0.3, 0.7, 0.8])  # a nan: a resample that tied everyone
    stability = Stability(np.array([1, 2]), np.ones((10, 2)), taus)
    finite = taus[~np.isnan(taus)]
    assert stability.tau_summary() == pytest.approx((np.median(finite), *np.percentile(finite, [2.5, 97.5])))
    assert stability.tau_summary(0.8) == pytest.approx((np.median(finite), *np.percentile(finite, [10, 90])))
    assert stability.tau_summary(0.8)[1] > stability.tau_summary()[1]  # a narrower interval at a lower level
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # undefined is said, not warned about
        assert np.isnan(Stability(np.array([1, 2]), np.ones((3, 2)), np.full(3, np.nan)).tau_summary()).all()
    unresampled = Stability.unresampled(np.array([2.0, 1.0]), "only 1 test case")
    assert unresampled.kendall_tau.shape == (0,) and unresampled.bootstrap_ranks.shape == (0, 2)
    assert np.isnan(unresampled.tau_summary()).all() and unresampled.ranks.tolist() == [2, 1]


def test_kendall_tau_b_by_hand_where_tau_c_differs():
    """Ranks 1 2 3 4 against 1 1 2 2, worked by hand: of the 6 pairs, 4 concordant, 0 discordant and
    2 tied only in the second ranking. tau-b = 4 / sqrt(6 x 4) = 0.8165; tau-c (Stuart's) would be
    2 x 4 / (4^2 (2 - 1) / 2) = 1, and tau-a 4 / 6."""
    from leaderboard.ranking import kendall_tau_b

    assert kendall_tau_b(np.array([1, 2, 3, 4]), np.array([[1, 1, 2, 2]])).tolist() == pytest.approx([4 / math.sqrt(24)])
    assert stats.kendalltau([1, 2, 3, 4], [1, 1, 2, 2]).statistic == pytest.approx(4 / math.sqrt(24))
    assert stats.kendalltau([1, 2, 3, 4], [1, 1, 2, 2], variant="c").statistic == pytest.approx(1.0)
