"""What every metric does with scores it cannot rank and with no samples: one check, one error type
(``MetricInputError``) and one message; and top-k accuracy's tie rule, against scikit-learn's."""
from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.metrics import top_k_accuracy_score
from torch import nn

from registry import METRICS, load_all
from registry.datasets.tensors import Split
from registry.metrics import MetricInputError, build_metric, class_scores, require_samples
from registry.metrics.binary import BinaryMetric
from registry.metrics.glue import _Correlation
from registry.metrics.segmentation import SegmentationMetric, confusion_stats
from registry.metrics.classification import ClassificationMetric
from registry.tasks.segmentation import split_stats
from registry.tasks.training import validation_accuracy

load_all()
CLASS_METRICS = ["accuracy", "top5_accuracy", "macro_f1", "balanced_accuracy", "matthews"]


def _metric_names(base: type) -> list[str]:
    return sorted(e.name for e in METRICS if isinstance(e.obj, type) and issubclass(e.obj, base))


BINARY = _metric_names(BinaryMetric)
SEGMENTATION = _metric_names(SegmentationMetric)
REGRESSION = _metric_names(_Correlation)
PREDICTION_METRICS = CLASS_METRICS + BINARY + SEGMENTATION + REGRESSION
FINITE = "class scores must be finite"


def test_the_lists_hold_every_metric_of_predictions():
    """The metrics computed from scores: all here (the others are filled in by their task)."""
    assert set(_metric_names(ClassificationMetric)) | {"matthews"} == set(CLASS_METRICS)
    computed_by_tasks = {"alpha", "beta", "r2", "e_inf", "extrapolation_error", "share", "median", "response_rate"}
    assert set(METRICS.names()) - computed_by_tasks == set(PREDICTION_METRICS)


def _inputs(name: str, n: int = 6, bad: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels of ``n`` cases in the shape metric ``name`` takes; with ``bad``, case 2 holds it."""
    rng = np.random.default_rng(0)
    if name in REGRESSION:
        scores, labels = rng.normal(size=n), rng.normal(size=n)
        if bad is not None:
            scores[2] = bad
        return scores, labels
    if name in SEGMENTATION:
        scores, labels = rng.normal(size=(n, 3, 2, 2)), rng.integers(0, 3, size=(n, 2, 2))
        if bad is not None:
            scores[2, 1, 0, 1] = bad
        return scores, labels
    classes = 2 if name in BINARY else 7
    scores, labels = rng.normal(size=(n, classes)), np.arange(n) % classes
    if bad is not None:
        scores[2, 0] = bad
    return scores, labels


# --- top-k accuracy: ties as scikit-learn's top_k_accuracy_score counts them -------------------------


def _sklearn_top_k(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k >= C: sklearn warns that every sample is a hit
        return top_k_accuracy_score(labels, scores, k=k, labels=np.arange(scores.shape[1]))


def _optimistic_top_k(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """The rule the metric had before: a tie always counts for the true class."""
    true = scores[np.arange(len(labels)), labels][:, None]
    return float(np.mean((scores > true).sum(axis=1) < k))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("classes", [3, 6, 10])
@pytest.mark.parametrize("k", [1, 2, 3, 5, 6])
def test_top_k_with_ties_matches_sklearn_exactly(seed, classes, k):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 3, size=(300, classes)).astype(float)  # three values: ties everywhere
    labels = rng.integers(0, classes, size=300)
    metric = build_metric("top5_accuracy")
    metric.k = k
    assert metric(scores, labels) == _sklearn_top_k(scores, labels, k)
    if k < classes:  # the data tell the rules apart: the old, optimistic one scores higher
        assert _optimistic_top_k(scores, labels, k) > _sklearn_top_k(scores, labels, k)


def test_top5_of_rows_with_every_score_equal_is_a_hit_for_the_five_highest_classes():
    scores, labels = np.zeros((10, 10)), np.arange(10)
    assert build_metric("top5_accuracy")(scores, labels) == 0.5 == _sklearn_top_k(scores, labels, 5)
    assert _optimistic_top_k(scores, labels, 5) == 1.0  # what the metric said before


def test_top5_tie_at_the_boundary():
    """Six classes share the top score: the true class's place counts the tied classes above its index."""
    row = np.array([1.0, 1, 1, 1, 1, 1, 0, 0])
    scores, labels = np.tile(row, (8, 1)), np.arange(8)
    # places: class 0 -> 5 (miss), 1 -> 4, ..., 5 -> 0; classes 6, 7 -> 6 + (7 - label) (miss)
    expected = [0.0, 1, 1, 1, 1, 1, 0, 0]
    assert build_metric("top5_accuracy")(scores, labels) == np.mean(expected) == _sklearn_top_k(scores, labels, 5)


def test_top5_without_ties_is_unchanged():
    rng = np.random.default_rng(3)
    scores, labels = rng.normal(size=(200, 10)), rng.integers(0, 10, size=200)
    assert build_metric("top5_accuracy")(scores, labels) == _sklearn_top_k(scores, labels, 5) == _optimistic_top_k(scores, labels, 5)


def test_the_description_says_how_ties_count():
    assert "ties go to the higher class index" in METRICS.get("top5_accuracy").description
    assert "top_k_accuracy_score" in METRICS.get("top5_accuracy").description


# --- scores that cannot be ranked ---------------------------------------------------------------------


@pytest.mark.parametrize("name", CLASS_METRICS)
def test_a_nan_row_is_an_error_not_the_first_class(name):
    """np.argmax reads a NaN row as class 0; with the label 0 the diverged case used to count as correct."""
    scores = np.eye(4)[[1, 2, 3, 1]]
    labels = np.array([1, 2, 3, 0])
    scores[3] = np.nan
    assert np.argmax(scores[3]) == labels[3]  # the trap
    with pytest.raises(MetricInputError, match=FINITE) as excinfo:
        build_metric(name)(scores, labels)
    assert "1 of 4 cases" in str(excinfo.value) and "index 3" in str(excinfo.value)


@pytest.mark.parametrize("name", PREDICTION_METRICS)
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_every_metric_raises_the_same_error_for_nan_or_inf(name, bad):
    scores, labels = _inputs(name, bad=bad)
    build_metric(name)(*_inputs(name))  # the same inputs without the bad value score
    with pytest.raises(MetricInputError, match="finite"):
        build_metric(name)(scores, labels)


@pytest.mark.parametrize("name", CLASS_METRICS + BINARY + SEGMENTATION)
def test_every_metric_of_class_scores_gives_the_same_message(name):
    scores, labels = _inputs(name, bad=np.nan)
    with pytest.raises(MetricInputError) as excinfo:
        build_metric(name)(scores, labels)
    cases = 6 * 2 * 2 if name in SEGMENTATION else 6
    assert str(excinfo.value) == (
        f"class scores must be finite (-inf alone is allowed), but 1 of {cases} cases have NaN or +inf scores or no "
        f"finite one, the first at index {(2, 0, 1) if name in SEGMENTATION else 2}: a model that diverged has no score")
    assert ";" not in str(excinfo.value)  # the metric guard joins several metrics' errors with "; "


@pytest.mark.parametrize("name", CLASS_METRICS + BINARY + SEGMENTATION)
def test_a_row_of_minus_inf_only_is_an_error(name):
    scores, labels = _inputs(name)
    if name in SEGMENTATION:
        scores[1, :, 0, 0] = -np.inf
    else:
        scores[1] = -np.inf
    with pytest.raises(MetricInputError, match=FINITE):
        build_metric(name)(scores, labels)


def test_minus_inf_beside_a_finite_score_is_a_probability_of_zero():
    """A log_softmax head may give -inf; it ranks below every finite score (sklearn refuses any inf)."""
    with np.errstate(divide="ignore"):
        log_p = np.log(np.array([[0.0, 0.7, 0.3], [0.5, 0.0, 0.5], [0.2, 0.2, 0.6]]))
    assert np.isneginf(log_p).sum() == 2
    labels = np.array([1, 0, 0])
    assert build_metric("accuracy")(log_p, labels) == 2 / 3
    metric = build_metric("top5_accuracy")
    metric.k = 2
    # row 1: class 0 ties class 2, which ranks first (place 1, a hit); row 2: classes 2 and 1 first (place 2)
    assert metric(log_p, labels) == 2 / 3 == _sklearn_top_k(np.exp(log_p), labels, 2)
    last = np.array([[-np.inf, 0.0, 1.0]])  # the -inf class ranks last
    assert metric(last, np.array([0])) == 0.0
    metric.k = 3
    assert metric(last, np.array([0])) == 1.0


def test_sklearn_refuses_nan_scores_too():
    scores = np.array([[np.nan, 0.0, 1.0], [0.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match="NaN"):
        top_k_accuracy_score([0, 1], scores, k=2, labels=[0, 1, 2])


def test_per_case_values_are_checked_too():
    scores, labels = _inputs("accuracy", bad=np.nan)
    with pytest.raises(MetricInputError, match=FINITE):
        build_metric("accuracy").per_case(scores, labels)


# --- no samples, and labels that are not the scores' classes ------------------------------------------


@pytest.mark.parametrize("name", PREDICTION_METRICS)
def test_every_metric_raises_the_same_error_for_no_samples(name):
    scores, labels = _inputs(name, n=0)
    with pytest.raises(MetricInputError, match="no samples to evaluate"):
        build_metric(name)(scores, labels)


@pytest.mark.parametrize("name", CLASS_METRICS)
def test_no_classes_and_labels_outside_the_classes_are_errors(name):
    metric = build_metric(name)
    with pytest.raises(MetricInputError, match="no classes"):
        metric(np.zeros((3, 0)), np.zeros(3, dtype=int))
    with pytest.raises(MetricInputError, match=r"classes 0\.\.2 .* got 3"):
        metric(np.eye(3), np.array([0, 1, 3]))
    with pytest.raises(MetricInputError, match="got -1"):
        metric(np.eye(3), np.array([0, -1, 2]))
    with pytest.raises(MetricInputError, match="integer classes"):
        metric(np.eye(3), np.array([0.0, 0.5, 2.0]))
    with pytest.raises(MetricInputError, match="labels for"):
        metric(np.eye(3), np.array([0, 1]))
    scores, labels = np.eye(3)[[0, 1, 2, 2]], np.array([0, 1, 2, 1])
    assert metric(scores, labels.astype(float)) == metric(scores, labels)  # whole-number floats are classes


def test_the_no_samples_message_names_the_scores_shape_when_known():
    with pytest.raises(MetricInputError, match=r"^no samples to evaluate: an empty evaluation split has no score$"):
        require_samples(0)
    with pytest.raises(MetricInputError, match=r"^no samples to evaluate \(scores of shape \(0, 3\)\): an empty"):
        build_metric("accuracy")(np.zeros((0, 3)), np.zeros(0, dtype=int))
    require_samples(1)


def test_class_scores_take_real_numbers_and_give_float_scores():
    labels = np.array([0, 1])
    for bad in (np.array([[1 + 0j, 0j], [0j, 1 + 0j]]), np.array([[1.0, 0.0], [0.0, 1.0]], dtype=object)):
        with pytest.raises(MetricInputError, match="scores must be real numbers"):
            class_scores(bad, labels)
    for whole in (np.array([[True, False], [False, True]]), np.array([[3, 0], [0, 2]], dtype=np.int16)):
        scores, checked = class_scores(whole, labels)  # bool and integer scores are cast to float64
        assert scores.dtype == np.float64 and np.array_equal(scores, whole) and checked.dtype == np.int64
    single = np.array([[0.5, 0.2], [0.1, 0.7]], dtype=np.float32)
    scores, _ = class_scores(single, labels)
    assert scores.dtype == np.float32 and np.shares_memory(scores, single)  # float scores are not copied


def test_class_scores_of_a_one_dimensional_map():
    scores = np.zeros((2, 3, 5))  # (N, C, L): a map with one spatial axis
    checked, labels = class_scores(scores, np.zeros((2, 5), dtype=int), spatial=True)
    assert checked.shape == (2, 3, 5) and labels.shape == (2, 5)
    with pytest.raises(MetricInputError, match=r"\(N, C, \*spatial\)"):
        class_scores(np.zeros((2, 3)), np.zeros(2, dtype=int), spatial=True)


def test_labels_must_be_numbers_and_whole_float32_labels_are_classes():
    scores = np.eye(3)
    for bad in (np.array([0, 1, 2], dtype=object), np.array(["0", "1", "2"])):
        with pytest.raises(MetricInputError, match="labels must be integer classes"):
            class_scores(scores, bad)
    _, labels = class_scores(scores, np.array([0.0, 1.0, 2.0], dtype=np.float32))
    assert labels.dtype == np.int64 and labels.tolist() == [0, 1, 2]


def test_the_error_is_a_value_error():
    """Callers that catch ValueError (validation, the metric guard, a plugin) still catch it."""
    assert issubclass(MetricInputError, ValueError)


# --- the tasks' own argmax: checkpoint selection and segmentation counts -------------------------------


def _ctx() -> SimpleNamespace:
    return SimpleNamespace(use_amp=False)


def test_checkpoint_selection_counts_a_nan_row_as_wrong():
    scores = torch.tensor([[1.0, 0.0], [0.0, 1.0], [float("nan"), 0.0], [0.0, float("inf")]])
    labels = torch.tensor([0, 1, 0, 1])  # argmax would call rows 2 and 3 right
    data = SimpleNamespace(val=Split(scores, labels))
    assert validation_accuracy(nn.Identity(), data, _ctx(), SimpleNamespace(eval_batch_size=2)) == 0.5


def test_segmentation_counts_refuse_nan_scores():
    rng = np.random.default_rng(1)
    scores = torch.tensor(rng.normal(size=(3, 2, 4, 4)), dtype=torch.float32)
    labels = torch.tensor(rng.integers(0, 2, size=(3, 4, 4)))
    stats = split_stats(nn.Identity(), Split(scores, labels), _ctx(), 2, batch_size=2)
    expected = confusion_stats(scores.argmax(1).numpy(), labels.numpy(), 2)
    assert np.array_equal(stats.tp, expected.tp) and np.array_equal(stats.fn, expected.fn)
    scores[2, 0, 1, 3] = float("nan")
    with pytest.raises(MetricInputError, match=r"1 of 16 pixels of images 2\.\.2 .* index \(2, 1, 3\)"):
        split_stats(nn.Identity(), Split(scores, labels), _ctx(), 2, batch_size=2)
