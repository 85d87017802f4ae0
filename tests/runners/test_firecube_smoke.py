"""specs/firecube/smoke.yaml end to end: LOADE, its ablations and the baselines ranked by AUROC."""
import json

import pytest

from runners.cli import main
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow  # a shipped smoke spec end to end: minutes on 2 cores; .ci/run runs it

SMOKE = PROJECT / "specs/firecube/smoke.yaml"
ENTRIES = {"loade_cnn", "loade_cnn-no_loade", "loade_cnn-no_temporal_encoding", "lstm", "convlstm", "logistic_regression", "random_forest"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("firecube") / "results"
    assert main(["run", str(SMOKE), "--set", "seeds=[0]", "--results", str(folder)]) == 0
    return folder


def test_every_model_and_ablation_is_ranked_by_auroc(results, capsys):
    capsys.readouterr()
    assert main(["leaderboard", "--track", "firecube", "--results", str(results), "--format", "json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["metric"] == "auroc"]
    assert {r["model"] for r in rows} == ENTRIES and all(r["n"] == 1 for r in rows)
    assert sorted(r["rank"] for r in rows) == list(range(1, len(ENTRIES) + 1))
    ordered = sorted(rows, key=lambda r: r["rank"])
    assert [r["mean"] for r in ordered] == sorted((r["mean"] for r in rows), reverse=True)
    assert all(r["mean"] > 0.75 for r in rows)  # chance is 0.5; ignition follows the weather


def test_records_keep_the_validation_threshold(results):
    for path in (results / "runs").glob("*/record.json"):
        record = json.loads(path.read_text())
        assert 0 <= record["info"]["threshold"] <= 1
        assert record["info"]["positives"]["test"] > 0
        assert set(record["metrics"]["test"]) == {"auroc", "auprc", "f1", "precision", "recall", "overall_accuracy", "brier"}
        assert set(record["cases"]) == {"overall_accuracy", "brier"}
