"""The wrapper the runner hands tasks for each metric (runners.metric_guard): transparent to tasks,
but a metric's exception is remembered and gives no value instead of failing the whole run."""
from __future__ import annotations

import math

import numpy as np
import pytest

from registry.context import RunTimeout
from registry.metrics import build_metric
from registry.metrics.binary import BinaryMetric
from registry.metrics.segmentation import SegmentationMetric, confusion_stats
from registry.tasks.segmentation import score
from runners.metric_guard import GuardedMetric, MetricFailures


def guarded(*names: str) -> tuple[list, MetricFailures]:
    built = [build_metric(name) for name in names]
    failures = MetricFailures([m.name for m in built])
    return [GuardedMetric(m, failures) for m in built], failures


def test_the_wrapper_is_transparent():
    [auroc, accuracy], failures = guarded("auroc", "accuracy")
    assert isinstance(auroc, BinaryMetric) and not isinstance(accuracy, BinaryMetric)
    assert (auroc.name, auroc.higher_is_better, auroc.uses_threshold) == ("auroc", True, False)
    auroc.threshold = 0.3  # the fire task sets the threshold chosen on validation
    assert auroc._metric.threshold == 0.3 and auroc.threshold == 0.3
    labels = np.array([0, 1, 1, 0])
    scores = np.array([[2.0, 0.0], [0.0, 1.0], [0.5, 1.0], [0.0, -1.0]])
    assert auroc(scores, labels) == build_metric("auroc")(scores, labels) == 1.0
    assert accuracy.per_case(scores, labels).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert auroc.per_case(scores, labels) is None
    assert not failures and failures.message() == ""


def test_an_exception_is_remembered_and_gives_no_value():
    [auroc, brier], failures = guarded("auroc", "brier")
    three_classes = np.zeros((4, 3))
    assert math.isnan(auroc(three_classes, np.array([0, 1, 2, 1])))
    assert brier.per_case(three_classes, np.array([0, 1, 1, 0])) is None
    assert math.isnan(auroc(three_classes, np.array([0, 1, 2, 1])))  # again: the first error is kept
    assert failures and "auroc" in failures and "brier" in failures
    assert failures.message() == (
        "metric 'auroc' failed: MetricInputError: binary scores must have shape (N,) or (N, 2); got (4, 3); "
        "metric 'brier' failed: MetricInputError: binary scores must have shape (N,) or (N, 2); got (4, 3)"
    )
    assert "Traceback" in failures.details()


def test_a_segmentation_metric_that_fails_gives_no_values_and_the_others_stay():
    [iou, f1], failures = guarded("seg_iou", "seg_f1")
    assert isinstance(iou, SegmentationMetric)
    stats = confusion_stats(np.array([[[0, 1], [1, 1]]]), np.array([[[0, 1], [0, 1]]]), 2)
    values = score([iou, f1], stats, type("Data", (), {"names": ("a", "b", "c")})())  # three names for two classes: both raise
    assert math.isnan(values["seg_iou"]) and math.isnan(values["seg_f1"]) and "seg_iou" in failures
    [iou], failures = guarded("seg_iou")
    assert iou.per_image_average(stats).tolist() == pytest.approx([(1 / 2 + 2 / 3) / 2])
    assert iou.per_image_average("not stats").tolist() == [] and "seg_iou" in failures


def test_a_timeout_inside_a_metric_is_not_swallowed():
    class Slow(BinaryMetric):
        def from_probability(self, probability, positive):
            raise RunTimeout("run exceeded its timeout_s")

    failures = MetricFailures(["slow"])
    slow = Slow()
    slow.name = "slow"
    with pytest.raises(RunTimeout):
        GuardedMetric(slow, failures)(np.array([0.1, 0.9]), np.array([0, 1]))
    assert not failures
