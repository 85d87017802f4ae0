"""Leaderboards from the store, checked against the same statistics computed with pandas and scipy."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leaderboard import LEADERBOARD_COLUMNS, leaderboard
from leaderboard.aggregate import failed_only

GROUP = ["track", "task", "dataset", "model", "method"]
BOARD = ["track", "task", "dataset", "metric"]


@pytest.fixture
def records(record):
    """Two tracks; in kd/distillation/digits:
    - resnet8 vanilla_kd and resnet8 continuation_kd tie on test accuracy (0.5, 0.75, 1.0);
    - small_cnn (no method) has 3 ok seeds and a failed one that still carries a metric;
    - resnet20 has one seed (no interval);
    - resnet56 only failed.
    ``loss`` is lower-is-better."""
    def ok(model, method, seed, accuracy, loss, val_accuracy, **fields):
        return record(model, method, seed, metrics={"test": {"accuracy": accuracy, "loss": loss}, "val": {"accuracy": val_accuracy}}, **fields)

    return [
        ok("resnet8", "vanilla_kd", 0, 0.5, 0.40, 0.6),
        ok("resnet8", "vanilla_kd", 1, 0.75, 0.30, 0.7),
        ok("resnet8", "vanilla_kd", 2, 1.0, 0.20, 0.8),
        ok("resnet8", "continuation_kd", 0, 1.0, 0.35, 0.9),
        ok("resnet8", "continuation_kd", 1, 0.5, 0.25, 0.95),
        ok("resnet8", "continuation_kd", 2, 0.75, 0.15, 0.85),
        ok("small_cnn", None, 0, 0.61, 0.9, 0.5),
        ok("small_cnn", None, 1, 0.64, 0.8, 0.55),
        ok("small_cnn", None, 2, 0.70, 0.7, 0.52),
        record("small_cnn", None, 3, status="failed", metrics={"test": {"accuracy": 0.0}}),  # partial: must not count
        ok("resnet20", "vanilla_kd", 0, 0.95, 0.05, 0.9),
        record("resnet56", "vanilla_kd", 0, status="failed", error="RuntimeError: CUDA out of memory",
               started_at="2024-05-01T10:00:00+00:00"),
        record("resnet56", "vanilla_kd", 1, status="failed", error="RunTimeout: run exceeded its timeout_s",
               started_at="2024-05-01T11:00:00+00:00"),
        # another dataset of the same track, and another track
        ok("resnet8", "vanilla_kd", 0, 0.4, 1.2, 0.4, dataset="cifar10"),
        ok("resnet8", "vanilla_kd", 1, 0.5, 1.1, 0.5, dataset="cifar10"),
        ok("vit-b-32", None, 0, 0.6, 2.0, 0.6, track="scaling", task="fit", dataset="laion"),
        ok("vit-b-32", None, 1, 0.7, 1.8, 0.7, track="scaling", task="fit", dataset="laion"),
    ]


@pytest.fixture
def filled(store, records):
    store.ingest((r, 1.0) for r in records)
    return store


def expected_board(records, split: str, track: str | None = None) -> pd.DataFrame:
    """The leaderboard computed from the records with pandas and scipy."""
    rows = [
        {"track": r.track, "task": r.task, "dataset": r.dataset, "model": r.model, "method": r.method or "",
         "metric": metric, "value": value}
        for r in records if r.status == "ok" and (track is None or r.track == track)
        for metric, value in r.metrics.get(split, {}).items()
    ]
    values = pd.DataFrame(rows)
    board = values.groupby([*GROUP, "metric"], as_index=False)["value"].agg(mean="mean", std=lambda v: v.std(ddof=1), n="count")
    failed = pd.DataFrame(
        [{"track": r.track, "task": r.task, "dataset": r.dataset, "model": r.model, "method": r.method or ""}
         for r in records if r.status == "failed"], columns=GROUP,
    ).value_counts().rename("failed").reset_index()
    board = board.merge(failed, on=GROUP, how="left").fillna({"failed": 0})
    half = [stats.t.ppf(0.975, n - 1) * s / math.sqrt(n) if n > 1 else math.nan for s, n in zip(board["std"], board["n"])]
    board["ci_low"], board["ci_high"] = board["mean"] - half, board["mean"] + half
    lower_is_better = board["metric"] == "loss"
    board["higher_is_better"] = ~lower_is_better
    signed = board["mean"].where(~lower_is_better, -board["mean"])
    board["rank"] = signed.groupby([board[c] for c in BOARD]).rank(method="min", ascending=False)
    return board


def compare(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    keys = [*GROUP, "metric"]
    actual = actual.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True).reindex(columns=actual.columns)
    assert actual[keys].values.tolist() == expected[keys].values.tolist()
    for column in ("mean", "std", "ci_low", "ci_high"):
        np.testing.assert_allclose(actual[column].astype(float), expected[column].astype(float), rtol=1e-9, equal_nan=True, err_msg=column)
    for column in ("n", "rank", "failed"):
        assert actual[column].astype(int).tolist() == expected[column].astype(int).tolist(), column
    assert actual["higher_is_better"].tolist() == expected["higher_is_better"].tolist()


@pytest.mark.parametrize("split", ["test", "val"])
def test_leaderboard_matches_pandas(filled, records, split):
    board = leaderboard(filled, split=split)
    assert list(board.columns) == LEADERBOARD_COLUMNS
    compare(board, expected_board(records, split))


def test_statistics_of_one_entry_by_hand(filled):
    board = leaderboard(filled, "kd")
    row = board[(board.model == "small_cnn") & (board.dataset == "digits") & (board.metric == "accuracy")].iloc[0]
    values = [0.61, 0.64, 0.70]  # the failed seed's 0.0 is left out
    assert row["n"] == 3 and row["failed"] == 1 and row["method"] == ""
    assert row["mean"] == pytest.approx(np.mean(values))
    assert row["std"] == pytest.approx(np.std(values, ddof=1))
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((np.mean(values) - half, np.mean(values) + half))


def test_ranks_follow_the_metric_direction_and_ties_share_the_better_rank(filled):
    board = leaderboard(filled, "kd").query("dataset == 'digits'")

    def ranks(metric):
        rows = board[board.metric == metric]
        return dict(zip(rows.model + "/" + rows.method, rows["rank"]))

    # accuracy (higher is better): resnet20 0.95, the two resnet8 tie at 0.75, small_cnn 0.65
    assert ranks("accuracy") == {"resnet20/vanilla_kd": 1, "resnet8/vanilla_kd": 2, "resnet8/continuation_kd": 2, "small_cnn/": 4}
    # loss (lower is better): resnet20 0.05, continuation 0.25, vanilla 0.30, small_cnn 0.8
    assert ranks("loss") == {"resnet20/vanilla_kd": 1, "resnet8/continuation_kd": 2, "resnet8/vanilla_kd": 3, "small_cnn/": 4}
    assert not board[board.metric == "loss"]["higher_is_better"].any()
    assert board[board.metric == "accuracy"]["higher_is_better"].all()
    # rows come ordered by board, then rank
    for _, rows in board.groupby(BOARD):
        assert rows["rank"].is_monotonic_increasing


def test_ranks_are_per_board(filled):
    board = leaderboard(filled)
    cifar = board[(board.dataset == "cifar10")]
    assert cifar["rank"].tolist() == [1, 1]  # alone on its boards (accuracy, loss), whatever digits says
    assert leaderboard(filled, "scaling")["rank"].tolist() == [1, 1]


def test_single_seed_has_no_interval(filled):
    row = leaderboard(filled, "kd").query("model == 'resnet20' and metric == 'accuracy'").iloc[0]
    assert row["n"] == 1 and row["mean"] == 0.95
    assert math.isnan(row["std"]) and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


def test_only_failed_entries_are_not_on_the_board_but_in_failed_only(filled):
    board = leaderboard(filled)
    assert "resnet56" not in set(board.model)
    failures = failed_only(filled)
    assert failures[["model", "method", "failed"]].values.tolist() == [["resnet56", "vanilla_kd", 2]]
    assert failures["last_error"].tolist() == ["RunTimeout: run exceeded its timeout_s"]  # the later one
    assert failures["track"].tolist() == ["kd"]
    assert failed_only(filled, "scaling").empty


def test_track_filter(filled, records):
    kd = leaderboard(filled, "kd")
    assert set(kd.track) == {"kd"}
    compare(kd, expected_board(records, "test", track="kd"))
    scaling = leaderboard(filled, "scaling")
    assert set(scaling.model) == {"vit-b-32"} and scaling["n"].tolist() == [2, 2]
    assert leaderboard(filled, "no-such-track").empty


def test_an_unknown_split_gives_an_empty_board(filled):
    board = leaderboard(filled, split="train")
    assert board.empty and list(board.columns) == LEADERBOARD_COLUMNS


def test_an_empty_store_gives_an_empty_board(store):
    board = leaderboard(store)
    assert board.empty and list(board.columns) == LEADERBOARD_COLUMNS
    assert failed_only(store).empty


def test_confidence_level_is_a_parameter(filled):
    row90 = leaderboard(filled, "kd", confidence=0.90).query("model == 'small_cnn' and metric == 'accuracy'").iloc[0]
    row95 = leaderboard(filled, "kd").query("model == 'small_cnn' and metric == 'accuracy'").iloc[0]
    half90 = stats.t.ppf(0.95, 2) * row90["std"] / math.sqrt(3)
    assert row90["ci_high"] - row90["mean"] == pytest.approx(half90)
    assert row90["ci_high"] < row95["ci_high"]


# ---------------------------------------------------------------- a board row is one configuration


@pytest.fixture
def sweep(store, record):
    """One spec sweeping a hidden size (16, 64) of one model and method, 3 seeds each; a second spec
    with the same model and method; a teacher that beats them all."""
    rows = []
    for hidden, values in ((16, (0.80, 0.82, 0.84)), (64, (0.90, 0.91, 0.95))):
        rows += [record("mlp", "vanilla_kd", s, metrics={"test": {"accuracy": v}}, params={"hidden": hidden}, spec_name="sweep",
                        bounds={"accuracy": (0.0, 1.0)}) for s, v in enumerate(values)]
    rows += [record("mlp", "vanilla_kd", s, metrics={"test": {"accuracy": v}}, params={"hidden": 16}, spec_name="other-spec",
                    bounds={"accuracy": (0.0, 1.0)}) for s, v in enumerate((0.50, 0.55, 0.60))]
    rows += [record("resnet20", "teacher", s, metrics={"test": {"accuracy": 0.99}}, spec_name="sweep") for s in range(3)]
    store.ingest((r, 1.0) for r in rows)
    return store


def test_a_swept_parameter_gives_one_row_per_value_and_specs_are_not_pooled(sweep):
    board = leaderboard(sweep).query("metric == 'accuracy' and not reference")
    assert sorted(board["label"]) == ["other-spec", "sweep[hidden=16]", "sweep[hidden=64]"]
    assert board["n"].tolist() == [3, 3, 3] and board["configs"].tolist() == [1, 1, 1]
    wide = board[board["label"] == "sweep[hidden=64]"].iloc[0]
    assert wide["mean"] == pytest.approx(np.mean([0.90, 0.91, 0.95])) and wide["rank"] == 1
    assert set(board["model"]) == {"mlp"} and set(board["method"]) == {"vanilla_kd"}  # still columns


def test_pooling_is_asked_for_by_name_and_says_how_many_configurations(sweep):
    pooled = leaderboard(sweep, group_by=["model", "method"]).query("metric == 'accuracy' and not reference")
    assert len(pooled) == 1
    row = pooled.iloc[0]
    assert row["configs"] == 3 and row["n"] == 9 and row["entry"].startswith("pooled:")
    assert row["mean"] == pytest.approx(np.mean([0.80, 0.82, 0.84, 0.90, 0.91, 0.95, 0.50, 0.55, 0.60]))
    by_spec = leaderboard(sweep, group_by=["spec"]).query("metric == 'accuracy' and not reference")
    assert sorted(zip(by_spec["spec_name"], by_spec["configs"], by_spec["n"])) == [("other-spec", 1, 3), ("sweep", 2, 6)]


def test_a_reference_is_unranked_and_never_the_leader(sweep):
    board = leaderboard(sweep).query("metric == 'accuracy'")
    teacher = board[board["method"] == "teacher"].iloc[0]
    assert teacher["reference"] and pd.isna(teacher["rank"]) and teacher["mean"] == pytest.approx(0.99)
    assert board.iloc[0]["label"] == "sweep[hidden=64]" and board.iloc[0]["rank"] == 1  # the best competitor leads
    assert board.iloc[-1]["method"] == "teacher"  # references come after the competitors


def test_intervals_of_bounded_metrics_stay_inside_their_bounds(store, record):
    values = (0.99, 1.0, 1.0)
    store.ingest((record("m", "x", s, metrics={"test": {"accuracy": v, "loss": v}}, bounds={"accuracy": (0.0, 1.0)}), 1.0) for s, v in enumerate(values))
    board = leaderboard(store).set_index("metric")
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)
    assert np.mean(values) + half > 1  # the plain t-interval would pass 1 ...
    assert board.loc["accuracy", "ci_high"] == 1.0  # ... the board's stops at the bound
    assert board.loc["accuracy", "ci_low"] == pytest.approx(np.mean(values) - half)  # the other side is the t-interval's
    assert board.loc["loss", "ci_high"] == pytest.approx(np.mean(values) + half)  # an unbounded metric is not clipped


def test_filters_by_metric_dataset_model_method_and_tag(filled, store):
    from leaderboard.filters import Filters

    def entries(**given):
        board = leaderboard(filled, filters=Filters(**given))
        return sorted(set(zip(board["dataset"], board["model"], board["method"], board["metric"])))

    assert {m for *_, m in entries(metrics=("loss",))} == {"loss"}
    assert {d for d, *_ in entries(datasets=("cifar10",))} == {"cifar10"}
    assert {m for _, m, *_ in entries(models=("small_cnn", "resnet20"))} == {"small_cnn", "resnet20"}
    assert {m for _, _, m, _ in entries(methods=("continuation_kd",))} == {"continuation_kd"}
    run = filled.query("SELECT run_id FROM runs WHERE model = 'resnet20'").run_id[0]
    filled.set_tags(run, ["best"], None)
    assert entries(tags=("best",)) == [("digits", "resnet20", "vanilla_kd", "accuracy"), ("digits", "resnet20", "vanilla_kd", "loss")]
    assert entries(tags=("nothing-tagged",)) == []


def test_three_entries_tied_share_the_best_rank_and_the_next_skips_to_four(store, record):
    """Ties take the best (minimum) rank of the places they share, as in sports: 1, 1, 1, 4."""
    means = {"a": 0.8, "b": 0.8, "c": 0.8, "d": 0.7}
    store.ingest((record(model, "x", s, metrics={"test": {"accuracy": v}}), 1.0) for model, v in means.items() for s in range(2))
    board = leaderboard(store)
    assert dict(zip(board["model"], board["rank"])) == {"a": 1, "b": 1, "c": 1, "d": 4}


def test_counts_and_ranks_are_whole_numbers_and_a_reference_has_no_rank(filled, store, record):
    """n, configs, failed and rank are integer columns (a reference's rank is missing), written as 3, not 3.0."""
    import csv
    import io

    from reports.tables import render_leaderboard

    store.ingest((record("resnet20", "teacher", s, metrics={"test": {"accuracy": 0.99}}), 1.0) for s in range(2))
    board = leaderboard(filled, "kd")
    assert all(pd.api.types.is_integer_dtype(board[c]) for c in ("n", "configs", "failed", "rank")), board.dtypes
    assert str(board["rank"].dtype) == "Int64" and pd.isna(board.loc[board["reference"], "rank"]).all()
    rows = list(csv.DictReader(io.StringIO(render_leaderboard(board, "csv"))))
    small = next(r for r in rows if r["model"] == "small_cnn" and r["metric"] == "accuracy")
    assert (small["n"], small["configs"], small["failed"], small["rank"]) == ("3", "1", "1", "4")
    teacher = next(r for r in rows if r["method"] == "teacher")
    assert (teacher["n"], teacher["rank"]) == ("2", "")


def test_intervals_are_clipped_at_the_lower_bound_too(store, record):
    values = (0.0, 0.0, 0.03)
    store.ingest((record("m", "x", s, metrics={"test": {"accuracy": v}}, bounds={"accuracy": (0.0, 1.0)}), 1.0) for s, v in enumerate(values))
    row = leaderboard(store).iloc[0]
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / math.sqrt(3)  # 0.0430: the plain interval starts at -0.033
    assert np.mean(values) - half < 0
    assert row["ci_low"] == 0.0 and row["ci_high"] == pytest.approx(np.mean(values) + half)


def test_a_lower_is_better_board_lists_the_smallest_mean_first(store, record):
    """Competitors come best first whatever their labels: on a loss board the lowest loss leads."""
    for spec, loss in (("alpha", 0.9), ("beta", 0.1), ("gamma", 0.5)):
        store.ingest((record("m", "x", s, metrics={"test": {"loss": loss + s / 100}}, spec_name=spec), 1.0) for s in range(2))
    board = leaderboard(store)
    assert board["label"].tolist() == ["beta", "gamma", "alpha"] and board["rank"].tolist() == [1, 2, 3]


def test_entries_tied_on_the_mean_are_listed_by_label(store, record):
    """A tie is broken by the configuration's label, not by the model's name."""
    for spec, model in (("alpha", "zeta"), ("beta", "eta")):
        store.ingest((record(model, "x", s, metrics={"test": {"accuracy": 0.5 + s / 10}}, spec_name=spec), 1.0) for s in range(2))
    board = leaderboard(store)
    assert board["label"].tolist() == ["alpha", "beta"] and board["model"].tolist() == ["zeta", "eta"]
    assert board["rank"].tolist() == [1, 1]
