"""A model whose scores are NaN when evaluated: every metric refuses them (MetricInputError), the metric
guard stores each one's error, and the run is failed with no number, instead of NaN read as class 0."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from registry import MODELS, load_all
from registry.metrics import build_metric
from runners.metric_guard import GuardedMetric, MetricFailures
from tests.runners.conftest import digits_spec, write_spec

FINITE = (r"MetricInputError: class scores must be finite \(-inf alone is allowed\), but (\d+) of \1 cases have NaN or \+inf "
          r"scores or no finite one, the first at index 0: a model that diverged has no score")


class NanAtEval(nn.Module):
    """Trains as a linear classifier; evaluates to NaN, as a model that diverged does."""

    def __init__(self, num_classes: int, in_channels: int):
        super().__init__()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 64, num_classes))  # digits: 8 x 8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(x)
        return out if self.training else torch.full_like(out, math.nan)


@pytest.fixture
def nan_model():
    load_all()

    def nan_at_eval(num_classes: int, in_channels: int) -> nn.Module:
        """Linear when training, NaN when evaluated."""
        return NanAtEval(num_classes, in_channels)

    MODELS.register("test_nan_at_eval")(nan_at_eval)
    yield "test_nan_at_eval"
    MODELS._entries.pop("test_nan_at_eval", None)


def test_the_guard_keeps_the_metrics_error_for_nan_scores():
    built = [build_metric(name) for name in ("accuracy", "auroc")]
    failures = MetricFailures([m.name for m in built])
    accuracy, auroc = (GuardedMetric(m, failures) for m in built)
    scores, labels = np.array([[0.0, 1.0], [math.nan, 0.0], [1.0, 0.0]]), np.array([1, 0, 0])
    assert math.isnan(accuracy(scores, labels)) and accuracy.per_case(scores, labels) is None
    assert math.isnan(auroc(scores, labels))
    finite = ("class scores must be finite (-inf alone is allowed), but 1 of 3 cases have NaN or +inf scores or no finite one, "
              "the first at index 1: a model that diverged has no score")
    assert failures.message() == f"metric 'accuracy' failed: MetricInputError: {finite}; metric 'auroc' failed: MetricInputError: {finite}"


def test_a_run_whose_scores_are_nan_is_stored_failed_with_each_metrics_error(tmp_path, nan_model, capsys):
    from runners.cli import main

    spec = {**digits_spec(epochs=1), "model": {"name": nan_model}, "metrics": ["accuracy", "macro_f1", "top5_accuracy"]}
    path = write_spec(tmp_path, spec)
    assert main(["run", str(path), "--results", str(tmp_path / "results")]) == 1
    [folder] = (tmp_path / "results" / "runs").iterdir()
    record = json.loads((folder / "record.json").read_text())
    assert record["status"] == "failed"
    errors = record["error"].split("; ")  # MetricFailures joins the metrics' errors with "; "
    assert [e.split(" failed: ")[0] for e in errors] == ["metric 'accuracy'", "metric 'macro_f1'", "metric 'top5_accuracy'"]
    for error in errors:
        assert re.fullmatch(r"metric '\w+' failed: " + FINITE, error), error
    assert not any(record["metrics"].get(split) for split in ("val", "test"))  # no number stands for NaN scores
    assert not record.get("cases")
    assert "metric 'accuracy' failed: MetricInputError: class scores must be finite" in capsys.readouterr().out
