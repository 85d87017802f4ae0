"""specs/mtneuro/smoke.yaml end to end: trained models clearly beat chance on the synthetic volumes,
and the leaderboard shows them with the paper's published rows."""
import json

import numpy as np
import pytest

from registry import DATASETS, load_all
from registry.metrics import build_metric
from registry.metrics.segmentation import confusion_stats
from runners.cli import main
from specs.loader import load_spec
from tests.conftest import PROJECT

pytestmark = pytest.mark.slow  # a shipped smoke spec end to end: minutes on 2 cores; .ci/run runs it

SMOKE = PROJECT / "specs/mtneuro/smoke.yaml"


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    results = tmp_path_factory.mktemp("mtneuro") / "results"
    assert main(["run", str(SMOKE), "--set", "seeds=[0]", "--results", str(results)]) == 0
    return results


def rows(results, capsys):
    capsys.readouterr()
    assert main(["leaderboard", "--track", "mtneuro", "--results", str(results), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def all_background_iou(class_name: str) -> float:
    """What predicting background everywhere scores on the smoke spec's synthetic test split."""
    load_all()
    params = {**load_spec(SMOKE).dataset.params, "task": "segmentation_4class"}
    data = DATASETS.get("mtneuro-synthetic").build(params=params)
    target = data.test.y.numpy()
    stats = confusion_stats(np.zeros_like(target), target, data.num_classes)
    return build_metric("seg_iou").from_stats(stats, data.names)[f"seg_iou/{class_name}"]


def test_region_classification_beats_chance(board, capsys):
    values = {(r["dataset"], r["metric"]): r for r in rows(board, capsys) if r["method"] != "published"}
    accuracy = values[("mtneuro-synthetic-region-2d", "accuracy")]
    assert accuracy["n"] == 1 and accuracy["mean"] > 0.6  # four balanced regions: chance is 0.25


def test_segmentation_beats_an_all_background_predictor(board, capsys):
    values = {(r["dataset"], r["metric"]): r["mean"] for r in rows(board, capsys) if r["method"] != "published"}
    for name in ("cell", "vessel"):
        trained = values[("mtneuro-synthetic-segmentation_4class-2d", f"seg_iou/{name}")]
        assert trained > all_background_iou(name) + 0.3, name


def test_published_rows_are_on_the_same_leaderboard(board, capsys):
    published = [r for r in rows(board, capsys) if r["method"] == "published"]
    assert {(r["dataset"], r["metric"]) for r in published} >= {("mtneuro-region-2d", "accuracy"), ("mtneuro-segmentation_4class-2d", "seg_iou")}
    assert all(r["rank"] is None and "Quesada" in r["citation"] for r in published)
    capsys.readouterr()
    assert main(["leaderboard", "--track", "mtneuro", "--results", str(board)]) == 0
    text = capsys.readouterr().out
    assert "mtneuro-synthetic-segmentation_4class-2d / seg_iou per class" in text
    assert "published: Quesada et al." in text
