"""The GLUE average: per seed, the mean over tasks of each task's official metrics, then over seeds."""
from __future__ import annotations

import math

import pytest
from scipy import stats

from leaderboard.aggregate import leaderboard


def glue(task: str) -> dict:
    """The dataset as a GLUE spec names it: one entry of the registry, the task a parameter."""
    return {"name": "glue", "params": {"task": task}}


def test_glue_average_per_seed_then_over_seeds(store, record):
    runs = []
    for seed, (f1, acc, mcc, extra) in enumerate([(0.8, 0.7, 0.4, 0.1), (0.9, 0.8, 0.5, 0.2)]):
        runs.append(record("bert", "full", seed, metrics={"test": {"f1": f1, "accuracy": acc, "macro_f1": extra}}, track="peft", task="finetune", dataset="glue-mrpc", dataset_spec=glue("mrpc"), spec_name="peft-glue"))
        runs.append(record("bert", "full", seed, metrics={"test": {"matthews": mcc, "accuracy": extra}}, track="peft", task="finetune", dataset="glue-cola", dataset_spec=glue("cola"), spec_name="peft-glue"))
    runs.append(record("bert", "lora", 0, metrics={"test": {"accuracy": 0.9}}, track="peft", task="finetune", dataset="glue-sst2", dataset_spec=glue("sst2"), spec_name="peft-glue"))
    store.ingest((r, 1.0) for r in runs)
    board = leaderboard(store, track="peft")
    row = board[(board["dataset"] == "glue-average-2tasks") & (board["method"] == "full")].iloc[0]
    per_seed = [((0.8 + 0.7) / 2 + 0.4) / 2, ((0.9 + 0.8) / 2 + 0.5) / 2]  # macro_f1 and CoLA accuracy are not official
    assert row["metric"] == "glue_score" and row["n"] == 2
    assert row["mean"] == pytest.approx(sum(per_seed) / 2)
    half = stats.t.ppf(0.975, 1) * stats.tstd(per_seed) / math.sqrt(2)
    assert row["mean"] - row["ci_low"] == pytest.approx(half)
    assert row["mean"] + half > 1 and row["ci_high"] == 1.0  # a mean of scores in [-1, 1] stays in [-1, 1]
    lora = board[board["method"] == "lora"]
    assert set(lora["dataset"]) == {"glue-sst2", "glue-average-1tasks"}  # another task set, another board
    assert board[board["dataset"].str.startswith("glue-average")]["rank"].tolist() == [1, 1]


def test_no_glue_runs_no_average(store, record):
    store.ingest([(record("m", "x", 0, metrics={"test": {"accuracy": 0.5}}), 1.0)])
    assert not leaderboard(store)["dataset"].str.startswith("glue-average").any()


def test_configurations_that_differ_beyond_the_task_are_averaged_apart(store, record):
    # the same model and method with two widths, and with another dataset parameter: three GLUE entries,
    # each the mean of its own two tasks (only dataset.params.task and the metric list may differ within one)
    runs = []
    for hidden, length, scores in ((16, 128, (0.6, 0.2)), (64, 128, (0.9, 0.6)), (16, 64, (0.5, 0.1))):
        for task, value in zip(("sst2", "rte"), scores):
            dataset = {"name": "glue", "params": {"task": task, "max_length": length}}
            runs.append(record("bert", "full", 0, metrics={"test": {"accuracy": value}}, params={"hidden": hidden}, track="peft",
                               task="finetune", dataset=f"glue-{task}", dataset_spec=dataset, spec_name="peft-glue",
                               run_id=f"{task}-{hidden}-{length}"))
    store.ingest((r, 1.0) for r in runs)
    board = leaderboard(store, track="peft")
    average = board[board["dataset"] == "glue-average-2tasks"]
    assert sorted(average["mean"].round(6).tolist()) == [0.3, 0.4, 0.75]
    assert (average["n"] == 1).all() and average["entry"].nunique() == 3


def test_runs_whose_specs_list_their_tasks_own_metrics_are_one_entry(store, record):
    """Each GLUE task's spec lists its own metrics; that list, like the task, does not split the entry."""
    runs = []
    for task, metrics, value in (("sst2", ["accuracy"], 0.9), ("mrpc", ["f1", "accuracy"], 0.7)):
        run = record("bert", "full", 0, metrics={"test": {m: value for m in metrics}}, track="peft", task="finetune",
                     dataset=f"glue-{task}", dataset_spec=glue(task), spec_name="peft-glue")
        runs.append(run.model_copy(update={"spec": {**run.spec, "metrics": metrics}}))
    store.ingest((r, 1.0) for r in runs)
    average = leaderboard(store, track="peft").query("metric == 'glue_score'")
    assert average["dataset"].tolist() == ["glue-average-2tasks"]
    assert average["mean"].tolist() == pytest.approx([(0.9 + 0.7) / 2])


def test_the_glue_average_is_pooled_like_other_rows_and_follows_the_filters(store, record):
    """Two widths of bert full, one seed each, and a roberta: pooled by model and method, bert's two configurations
    give one GLUE row (n 2, configs 2); a --model filter leaves roberta's average out too."""
    runs = []
    for model, hidden, scores in (("bert", 16, (0.6, 0.2)), ("bert", 64, (0.9, 0.6)), ("roberta", 16, (0.5, 0.5))):
        for task, value in zip(("sst2", "rte"), scores):
            runs.append(record(model, "full", 0, metrics={"test": {"accuracy": value}}, params={"hidden": hidden}, track="peft", task="finetune",
                               dataset=f"glue-{task}", dataset_spec=glue(task), spec_name="peft-glue"))
    store.ingest((r, 1.0) for r in runs)
    pooled = leaderboard(store, group_by=["model", "method"]).query("dataset == 'glue-average-2tasks'").set_index("model")
    assert pooled.loc["bert", ["n", "configs"]].tolist() == [2, 2] and pooled.loc["bert", "label"] == "bert full"
    assert pooled.loc["bert", "mean"] == pytest.approx(((0.6 + 0.2) / 2 + (0.9 + 0.6) / 2) / 2)
    assert pooled.loc["bert", "entry"].startswith("pooled:")
    from leaderboard.filters import Filters

    only_bert = leaderboard(store, filters=Filters(models=("bert",))).query("dataset == 'glue-average-2tasks'")
    assert set(only_bert["model"]) == {"bert"} and sorted(only_bert["mean"].round(6)) == [0.4, 0.75]


def test_glue_averages_rank_higher_first_pool_by_spec_and_stay_above_minus_one(store, record):
    """Two specs on one GLUE board: the higher average ranks first; by spec they pool apart; an interval of CoLA
    correlations near -1 is cut at -1, the lowest a GLUE score can be."""
    runs = []
    for spec, scores in (("weak", (-0.95, -1.0, -0.5)), ("strong", (0.8, 0.85, 0.9))):
        runs += [record("bert", "full", s, metrics={"test": {"matthews": v}}, track="peft", task="finetune", dataset="glue-cola",
                        dataset_spec=glue("cola"), spec_name=spec) for s, v in enumerate(scores)]
    store.ingest((r, 1.0) for r in runs)
    average = leaderboard(store, track="peft").query("dataset == 'glue-average-1tasks'").set_index("spec_name")
    assert average.loc["strong", "rank"] == 1 and average.loc["weak", "rank"] == 2 and average["higher_is_better"].all()
    weak = [-0.95, -1.0, -0.5]
    half = stats.t.ppf(0.975, 2) * stats.tstd(weak) / math.sqrt(3)
    assert sum(weak) / 3 - half < -1 and average.loc["weak", "ci_low"] == -1.0
    assert average.loc["weak", "ci_high"] == pytest.approx(sum(weak) / 3 + half)
    by_spec = leaderboard(store, track="peft", group_by=["spec"]).query("dataset == 'glue-average-1tasks'")
    assert sorted(zip(by_spec["label"], by_spec["n"], by_spec["rank"])) == [("strong", 3, 1), ("weak", 3, 2)]


def test_a_glue_average_pooled_over_two_specs_marks_the_spec_as_mixed(store, record):
    """Pooled by model and method, a GLUE row over two specs says ``*`` for the spec, as pooled run rows do."""
    runs = [record("bert", "full", 0, metrics={"test": {"accuracy": v}}, track="peft", task="finetune", dataset="glue-sst2",
                   dataset_spec=glue("sst2"), spec_name=spec) for spec, v in (("one", 0.8), ("two", 0.6))]
    store.ingest((r, 1.0) for r in runs)
    board = leaderboard(store, track="peft", group_by=["model", "method"]).set_index("dataset")
    assert board.loc["glue-sst2", "spec_name"] == "*"  # the run rows' own pooling
    row = board.loc["glue-average-1tasks"]
    assert (row["spec_name"], row["model"], row["method"], row["configs"]) == ("*", "bert", "full", 2)
    assert row["mean"] == pytest.approx(0.7)


def test_the_offline_stand_in_is_averaged_apart_and_an_unknown_task_is_left_out(store, record):
    """glue-synthetic-<task> gets its own average; a task without official GLUE metrics (the AX diagnostic) counts in none;
    the average's label is the spec's name."""
    runs = []
    for dataset, task, value in (("glue-sst2", "sst2", 0.9), ("glue-synthetic-sst2", "sst2", 0.5), ("glue-synthetic-rte", "rte", 0.7),
                                 ("glue-ax", "ax", 0.1)):
        runs.append(record("bert", "full", 0, metrics={"test": {"accuracy": value}}, track="peft", task="finetune", dataset=dataset,
                           dataset_spec=glue(task), spec_name="peft-glue", run_id=dataset))
    store.ingest((r, 1.0) for r in runs)
    average = leaderboard(store, track="peft").query("metric == 'glue_score'").set_index("dataset")
    assert sorted(average.index) == ["glue-average-1tasks", "glue-synthetic-average-2tasks"]
    assert average.loc["glue-average-1tasks", "mean"] == pytest.approx(0.9)
    assert average.loc["glue-synthetic-average-2tasks", "mean"] == pytest.approx((0.5 + 0.7) / 2)
    assert set(average["label"]) == {"peft-glue"}
