"""The fire-forecasting task on a tiny synthetic cube: torch and scikit-learn models, the threshold."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from registry import DATASETS, MODELS, TASKS, load_all
from registry.context import RunContext
from registry.metrics import build_metric
from registry.metrics.binary import best_threshold
from registry.models.firecube import flat_features
from specs.schema import Component

PARAMS = {"size": 14, "patch": 5, "window": 4, "first_year": 2017, "last_year": 2020, "fire_rate": 0.01, "eval_negative_ratio": 4.0}
METRICS = ["auroc", "auprc", "f1", "precision", "recall", "overall_accuracy", "iou", "brier", "accuracy"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    load_all()
    return DATASETS.get("firecube-synthetic").build(harness={"cache_dir": tmp_path_factory.mktemp("cache")}, params=PARAMS)


def run(data, tmp_path, model: Component, seed: int = 0, **params):
    def build_model(component: Component):
        entry = MODELS.get(component.name)
        return entry.build(harness={k: data.model_args[k] for k in entry.harness_names}, params=component.params)

    torch.manual_seed(seed)
    ctx = RunContext(seed=seed, device=torch.device("cpu"), data=data, model=model, dataset=Component(name="firecube-synthetic"),
                     metrics=[build_metric(m) for m in METRICS], cache_dir=tmp_path, run_dir=tmp_path, build_model=build_model)
    return TASKS.get("fire_forecasting").build(ctx, params=params)


def test_torch_model_trains_and_reports_every_metric(data, tmp_path):
    # podium_v1: the official network needs patches of 15 pixels and windows of 8 days; this cube's are 5 and 4
    model = Component(name="loade_cnn", params={"width": 4, "variant": "podium_v1"})
    result = run(data, tmp_path, model, epochs=2, lr=1e-3, batch_size=32)
    assert set(result.metrics["test"]) == set(METRICS)
    assert result.info["best_epoch"] in (0, 1) and 0 <= result.info["threshold"] <= 1
    assert result.metrics["test"]["auroc"] > 0.5
    # per test sample: correctness at the validation threshold and the Brier score, as the metrics average
    assert set(result.cases) == {"overall_accuracy", "brier"}
    for name in ("overall_accuracy", "brier"):
        assert len(result.cases[name]) == len(data.test)
        assert np.mean(result.cases[name]) == pytest.approx(result.metrics["test"][name])


def test_sklearn_baseline_is_seeded_and_scored_with_the_validation_threshold(data, tmp_path):
    forest = Component(name="random_forest", params={"n_estimators": 20})
    first, again, other = run(data, tmp_path, forest, 0), run(data, tmp_path, forest, 0), run(data, tmp_path, forest, 1)
    assert first.metrics == again.metrics and first.info["random_state"] == 0
    assert first.metrics != other.metrics
    # the threshold is the validation split's best F1 threshold, applied unchanged to the test split
    estimator = MODELS.get("random_forest").build(params={"n_estimators": 20}).set_params(random_state=0)
    estimator.fit(flat_features(data.train.x), data.train.y.numpy())
    p_val = estimator.predict_proba(flat_features(data.val.x))[:, 1]
    threshold = best_threshold(p_val, data.val.y.numpy())
    assert first.info["threshold"] == pytest.approx(threshold)
    p_test = estimator.predict_proba(flat_features(data.test.x))[:, 1]
    predicted = p_test >= threshold
    truth = data.test.y.numpy() == 1
    assert first.metrics["test"]["recall"] == pytest.approx((predicted & truth).sum() / truth.sum())
    # metrics of class scores take the argmax of (1 - p, p): a tie at 0.5 goes to "no fire"
    assert first.metrics["test"]["accuracy"] == pytest.approx(np.mean((p_test > 0.5) == truth))


def test_logistic_regression_runs(data, tmp_path):
    result = run(data, tmp_path, Component(name="logistic_regression"))
    assert result.metrics["test"]["auroc"] > 0.7
