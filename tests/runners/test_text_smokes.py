"""The text smoke specs end to end, offline: PEFT methods and text distillation on GLUE-shaped tasks."""
import json

import pytest

from runners.cli import main
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow  # a shipped smoke spec end to end: minutes on 2 cores; .ci/run runs it

SMALL = ["--set", "dataset.params.size=100"]


def board(results, capsys):
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(results), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def peft(tmp_path_factory):
    results = tmp_path_factory.mktemp("peft") / "results"
    assert main(["run", str(PROJECT / "specs/peft/smoke.yaml"), *SMALL, "--results", str(results)]) == 0
    return results


@pytest.fixture(scope="module")
def kd(tmp_path_factory):
    results = tmp_path_factory.mktemp("kd") / "results"
    assert main(["run", str(PROJECT / "specs/kd/glue_smoke.yaml"), *SMALL, "--results", str(results)]) == 0
    return results


def test_peft_leaderboard_has_task_metrics_average_and_trainable_share(peft, capsys):
    rows = board(peft, capsys)
    metrics = {(r["dataset"], r["metric"]) for r in rows}
    assert {("glue-synthetic-sst2", "accuracy"), ("glue-synthetic-mrpc", "f1"), ("glue-synthetic-mrpc", "accuracy"),
            ("glue-synthetic-stsb", "pearson"), ("glue-synthetic-stsb", "spearman")} <= metrics
    average = {r["method"]: r for r in rows if r["dataset"] == "glue-synthetic-average-3tasks"}
    assert set(average) == {"full", "head", "lora", "krona", "krona_b_res"}
    share = {r["method"]: r["mean"] for r in rows if r["metric"] == "trainable_pct" and r["dataset"] == "glue-synthetic-sst2"}
    assert share["full"] == 100 and all(0 < share[m] < 1 for m in ("head", "lora", "krona", "krona_b_res"))
    assert share["head"] < share["krona_b_res"] < share["krona"] < share["lora"]


def test_text_distillation_records_teacher_and_students(kd, capsys):
    rows = board(kd, capsys)
    averages = {(r["model"], r["method"]) for r in rows if r["dataset"].startswith("glue-synthetic-average")}
    assert {("minilm", "teacher"), ("tiny_transformer", "student_only"), ("tiny_transformer", "continuation_kd"),
            ("tiny_transformer", "vanilla_kd")} <= averages
    stsb = {r["method"] for r in rows if r["dataset"] == "glue-synthetic-stsb"}
    assert stsb == {"teacher", "student_only", "continuation_kd"}  # vanilla_kd needs class probabilities
