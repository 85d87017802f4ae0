"""The MTNeuro segmentation metrics: counts and values worked out by hand, and counts against scikit-learn."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from registry import METRICS
from registry.metrics import build_metric
from registry.metrics.segmentation import ConfusionStats, SegmentationMetric, confusion_stats

NAMES = ["seg_f1", "seg_iou", "seg_balanced_accuracy"]
CLASS_NAMES = ["background", "vessel", "cell"]

# Two 4x4 images, three classes (0 background, 1 vessel, 2 cell). Image 1 has no cell in either map.
TARGET = np.array([
    [[0, 0, 1, 1],
     [0, 0, 1, 1],
     [0, 2, 2, 0],
     [0, 2, 2, 0]],
    [[0, 0, 0, 0],
     [0, 1, 1, 0],
     [0, 1, 1, 0],
     [0, 0, 0, 0]],
])
PREDICTED = np.array([
    [[0, 0, 1, 0],
     [0, 1, 1, 1],
     [0, 2, 0, 0],
     [2, 2, 2, 0]],
    [[0, 0, 0, 0],
     [0, 1, 1, 1],
     [0, 0, 1, 0],
     [0, 0, 0, 0]],
])
# Confusion [target][predicted] by hand.
# image 0: target 0 -> predicted (0: 6, 1: 1, 2: 1); target 1 -> (0: 1, 1: 3); target 2 -> (0: 1, 2: 3)
# image 1: target 0 -> predicted (0: 11, 1: 1);      target 1 -> (0: 1, 1: 3); no class 2 at all
TP = [[6, 3, 3], [11, 3, 0]]
FP = [[2, 1, 1], [1, 1, 0]]  # column sum - tp: image 0 columns (8, 4, 4), image 1 columns (12, 4, 0)
FN = [[2, 1, 1], [1, 1, 0]]  # row sum - tp: image 0 rows (8, 4, 4), image 1 rows (12, 4, 0)
TN = [[6, 11, 11], [3, 11, 16]]  # 16 - tp - fp - fn


def random_masks(n: int, shape: tuple[int, ...], classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, target) class maps of shape (n, *shape); predicted agrees with target ~half the time."""
    rng = np.random.default_rng(seed)
    target = rng.integers(0, classes, size=(n, *shape))
    noise = rng.integers(0, classes, size=target.shape)
    predicted = np.where(rng.random(target.shape) < 0.5, target, noise)
    return predicted, target


def assert_stats_equal(actual: ConfusionStats, expected: ConfusionStats) -> None:
    for field in ("tp", "fp", "fn", "tn"):
        np.testing.assert_array_equal(getattr(actual, field), getattr(expected, field), err_msg=field)


def test_confusion_stats_by_hand():
    stats = confusion_stats(PREDICTED, TARGET, 3)
    for field, expected in zip(("tp", "fp", "fn", "tn"), (TP, FP, FN, TN)):
        value = getattr(stats, field)
        assert value.dtype == np.int64 and value.shape == (2, 3)
        np.testing.assert_array_equal(value, expected, err_msg=field)
    assert (stats.num_images, stats.num_classes) == (2, 3)


def test_f1_by_hand():
    # per image 2tp / (2tp + fp + fn):
    #   image 0: 12/16, 6/8, 6/8;  image 1: 22/24, 6/8, 0/0 -> 1.0 (cell absent from both maps)
    values = build_metric("seg_f1").from_stats(confusion_stats(PREDICTED, TARGET, 3), CLASS_NAMES)
    expected = {"seg_f1/background": 5 / 6, "seg_f1/vessel": 3 / 4, "seg_f1/cell": 7 / 8}
    expected["seg_f1"] = (5 / 6 + 3 / 4 + 7 / 8) / 3  # = 59/72, background included
    assert values == pytest.approx(expected, abs=1e-12)
    assert list(values) == ["seg_f1", "seg_f1/background", "seg_f1/vessel", "seg_f1/cell"]


def test_iou_by_hand():
    # per image tp / (tp + fp + fn):
    #   image 0: 6/10, 3/5, 3/5;  image 1: 11/13, 3/5, 0/0 -> 1.0
    values = build_metric("seg_iou").from_stats(confusion_stats(PREDICTED, TARGET, 3), CLASS_NAMES)
    expected = {"seg_iou/background": (3 / 5 + 11 / 13) / 2, "seg_iou/vessel": 3 / 5, "seg_iou/cell": 4 / 5}
    expected["seg_iou"] = 46 / 65  # (47/65 + 3/5 + 4/5) / 3
    assert values == pytest.approx(expected, abs=1e-12)
    assert sum(expected[f"seg_iou/{name}"] for name in CLASS_NAMES) / 3 == pytest.approx(46 / 65)


@pytest.mark.parametrize("name", NAMES)
def test_per_image_averages_are_the_per_case_values_and_average_to_the_metric(name):
    stats = confusion_stats(PREDICTED, TARGET, 3)
    metric = build_metric(name)
    per_image = metric.per_image_average(stats)
    assert per_image.shape == (2,)
    assert per_image.mean() == pytest.approx(metric.average(stats), abs=1e-12)


def test_per_image_iou_by_hand():
    # image 0: (6/10 + 3/5 + 3/5) / 3; image 1: (11/13 + 3/5 + 1.0) / 3 (cell absent from both -> 1.0)
    per_image = build_metric("seg_iou").per_image_average(confusion_stats(PREDICTED, TARGET, 3))
    assert per_image == pytest.approx([0.6, (11 / 13 + 3 / 5 + 1) / 3], abs=1e-12)


def test_balanced_accuracy_by_hand():
    # per image (tp + tn) / 16:
    #   image 0: 12/16, 14/16, 14/16;  image 1: 14/16, 14/16, 16/16
    # background left out of the average and of the entries
    values = build_metric("seg_balanced_accuracy").from_stats(confusion_stats(PREDICTED, TARGET, 3), CLASS_NAMES)
    expected = {
        "seg_balanced_accuracy": (7 / 8 + 15 / 16) / 2,
        "seg_balanced_accuracy/vessel": 7 / 8,
        "seg_balanced_accuracy/cell": 15 / 16,
    }
    assert values == pytest.approx(expected, abs=1e-12)
    assert set(values) == set(expected)


def test_zero_division_counts_an_absent_class_as_one():
    stats = confusion_stats(PREDICTED, TARGET, 3)
    f1, iou = (build_metric(name).per_image(stats) for name in ("seg_f1", "seg_iou"))
    assert f1[1, 2] == 1.0 and iou[1, 2] == 1.0  # cell: absent from image 1's prediction and label
    # a class predicted but not labelled (or labelled but not predicted) scores 0, not 1
    target = np.zeros((1, 2, 2), dtype=int)
    predicted = np.array([[[0, 2], [0, 0]]])
    stats = confusion_stats(predicted, target, 3)
    np.testing.assert_array_equal(build_metric("seg_f1").per_image(stats), [[6 / 7, 1.0, 0.0]])
    np.testing.assert_array_equal(build_metric("seg_iou").per_image(stats), [[3 / 4, 1.0, 0.0]])
    stats = confusion_stats(target, predicted, 3)
    np.testing.assert_array_equal(build_metric("seg_iou").per_image(stats), [[3 / 4, 1.0, 0.0]])


@pytest.mark.parametrize(
    "n, shape, classes, seed",
    [(3, (16, 16), 4, 0), (5, (7, 9), 3, 1), (2, (4, 8, 8), 4, 2), (4, (3, 5, 6), 2, 3), (1, (10, 10), 6, 4)],
)
def test_confusion_stats_match_sklearn_per_image(n, shape, classes, seed):
    predicted, target = random_masks(n, shape, classes, seed)
    stats = confusion_stats(predicted, target, classes)
    for i in range(n):
        matrix = confusion_matrix(target[i].ravel(), predicted[i].ravel(), labels=range(classes))  # [true, pred]
        tp = np.diag(matrix)
        np.testing.assert_array_equal(stats.tp[i], tp)
        np.testing.assert_array_equal(stats.fp[i], matrix.sum(axis=0) - tp)
        np.testing.assert_array_equal(stats.fn[i], matrix.sum(axis=1) - tp)
        np.testing.assert_array_equal(stats.tn[i], matrix.sum() - matrix.sum(axis=0) - matrix.sum(axis=1) + tp)
    total = stats.tp + stats.fp + stats.fn + stats.tn
    assert (total == np.prod(shape)).all()


def test_confusion_stats_accept_small_integer_dtypes():
    predicted, target = random_masks(3, (8, 8), 4, 5)
    expected = confusion_stats(predicted, target, 4)
    assert_stats_equal(confusion_stats(predicted.astype(np.uint8), target.astype(np.int16), 4), expected)


def test_3d_masks_count_voxels_as_pixels():
    predicted, target = random_masks(3, (4, 6, 5), 4, 6)  # (N, D, H, W)
    volume = confusion_stats(predicted, target, 4)
    flat = confusion_stats(predicted.reshape(3, 4 * 6, 5), target.reshape(3, 4 * 6, 5), 4)  # (N, D*H, W)
    assert_stats_equal(volume, flat)
    assert (volume.tp + volume.fp + volume.fn + volume.tn == 4 * 6 * 5).all()
    for name in NAMES:
        metric = build_metric(name)
        assert metric.from_stats(volume, ["a", "b", "c", "d"]) == metric.from_stats(flat, ["a", "b", "c", "d"])


def test_concat_of_batches_equals_the_whole():
    predicted, target = random_masks(7, (12, 12), 4, 7)
    whole = confusion_stats(predicted, target, 4)
    parts = [confusion_stats(predicted[a:b], target[a:b], 4) for a, b in ((0, 3), (3, 4), (4, 7))]
    assert_stats_equal(ConfusionStats.concat(parts), whole)
    assert_stats_equal(ConfusionStats.concat([whole]), whole)
    with pytest.raises(ValueError, match="different numbers of classes"):
        ConfusionStats.concat([whole, confusion_stats(predicted, target, 5)])
    with pytest.raises(ValueError):
        ConfusionStats.concat([])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("spatial", [(9, 11), (3, 6, 7)])
def test_call_on_scores_equals_from_stats_of_argmax(name, spatial):
    rng = np.random.default_rng(8)
    classes = 4
    scores = rng.normal(size=(5, classes, *spatial))
    labels = rng.integers(0, classes, size=(5, *spatial))
    scores[:, 1] += 0.8 * (labels == 1)  # informative scores, so the values are not near chance
    metric = build_metric(name)
    value = metric(scores, labels)
    stats = confusion_stats(scores.argmax(axis=1), labels, classes)
    assert isinstance(value, float)
    assert value == metric.from_stats(stats, ["bg", "vessel", "cell", "axon"])[name]
    assert 0 < value < 1


@pytest.mark.parametrize("name", NAMES)
def test_perfect_prediction_scores_one_everywhere(name):
    _, target = random_masks(4, (8, 8), 3, 9)
    target[0] = 0  # an image with background only: the other classes are absent from both maps
    values = build_metric(name).from_stats(confusion_stats(target, target, 3), CLASS_NAMES)
    assert values and all(v == 1.0 for v in values.values())
    scores = np.moveaxis(np.eye(3)[target], -1, 1)  # one-hot (N, C, H, W)
    assert build_metric(name)(scores, target) == 1.0


def test_all_background_prediction_misses_every_vessel():
    target = np.zeros((3, 6, 6), dtype=np.int64)
    target[0, 1:3, 1:4] = 1  # vessels in images 0 and 2, none in image 1
    target[2, 4:, :] = 1
    target[2, 0, 0] = 2
    predicted = np.zeros_like(target)
    stats = confusion_stats(predicted, target, 3)
    iou = build_metric("seg_iou").per_image(stats)
    np.testing.assert_array_equal(iou[:, 1], [0.0, 1.0, 0.0])  # image 1: no vessel in either map -> 1.0
    values = build_metric("seg_iou").from_stats(stats, CLASS_NAMES)
    assert values["seg_iou/vessel"] == pytest.approx(1 / 3)
    assert values["seg_iou/cell"] == pytest.approx(2 / 3)  # cell only in image 2, missed there
    # background: image 0: 30/36, image 1: 36/36, image 2: 23/36
    assert values["seg_iou/background"] == pytest.approx((30 + 36 + 23) / 36 / 3)
    assert build_metric("seg_f1").per_image(stats)[[0, 2], 1].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("name", NAMES)
def test_registered_higher_is_better_and_named(name):
    metric = build_metric(name)
    assert isinstance(metric, SegmentationMetric)
    assert metric.higher_is_better is True
    assert metric.name == name
    assert "MTNeuro" in METRICS.get(name).description  # the line `podium list metrics` shows


def test_from_stats_checks_class_names_and_images():
    stats = confusion_stats(PREDICTED, TARGET, 3)
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        build_metric("seg_f1").from_stats(stats, ["background", "vessel"])
    empty = ConfusionStats(*(np.zeros((0, 3), dtype=np.int64),) * 4)
    with pytest.raises(ValueError, match="no images"):
        build_metric("seg_iou").from_stats(empty, CLASS_NAMES)
    background_only = confusion_stats(np.zeros((1, 2, 2), int), np.zeros((1, 2, 2), int), 1)
    with pytest.raises(ValueError, match="no class"):
        build_metric("seg_balanced_accuracy").from_stats(background_only, ["background"])


def test_confusion_stats_reject_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        confusion_stats(PREDICTED, TARGET[:1], 3)
    with pytest.raises(ValueError, match="outside 0..1"):
        confusion_stats(PREDICTED, TARGET, 2)
    with pytest.raises(ValueError, match="integer"):
        confusion_stats(PREDICTED.astype(float), TARGET, 3)
    with pytest.raises(ValueError, match="scores"):
        build_metric("seg_f1")(np.zeros((2, 3, 4, 5)), TARGET)  # spatial shapes differ


def test_confusion_stats_name_the_array_that_is_not_classes():
    classes = np.array([[0, 1]])
    with pytest.raises(ValueError, match="^predicted must hold integer class indices"):
        confusion_stats(classes.astype(float), classes, 2)
    with pytest.raises(ValueError, match="^target must hold integer class indices"):
        confusion_stats(classes, classes.astype(float), 2)


def test_stats_are_frozen_int64_copies():
    tp = np.array([[1, 2]], dtype=np.int32)
    stats = ConfusionStats(tp, tp, tp, tp)
    assert stats.tp.dtype == np.int64
    tp[0, 0] = 99
    assert stats.tp[0, 0] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.tp = tp  # type: ignore[misc]
    with pytest.raises(ValueError):
        stats.tp[0, 0] = 5
    with pytest.raises(ValueError, match="share one"):
        ConfusionStats(tp, tp, tp, np.zeros((2, 2)))


def test_segmentation_metrics_import_without_torch():
    code = "import sys, registry.metrics.segmentation; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_confusion_stats_of_flat_pixel_lists_and_wide_integers():
    # (N, pixels) maps are images of one row; uint64 indices (any integer dtype) count as int64 ones
    predicted, target = random_masks(3, (1, 12), 4, 7)
    expected = confusion_stats(predicted, target, 4)
    assert_stats_equal(confusion_stats(predicted[:, 0], target[:, 0], 4), expected)
    assert_stats_equal(confusion_stats(predicted[:, 0].astype(np.uint64), target[:, 0].astype(np.uint64), 4), expected)
