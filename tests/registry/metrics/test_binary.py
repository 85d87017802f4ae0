"""The binary (FireCube) metrics agree with scikit-learn on random scores, logits and probabilities."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    f1_score,
    jaccard_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from registry import METRICS, load_all
from registry.metrics import MetricInputError, build_metric
from registry.metrics.binary import BinaryMetric, best_threshold, binary_labels, confusion_counts, positive_probability

THRESHOLD_FREE = {"auroc": roc_auc_score, "auprc": average_precision_score}
THRESHOLDED = {
    "f1": f1_score,
    "precision": precision_score,
    "recall": recall_score,
    "overall_accuracy": accuracy_score,
    "iou": jaccard_score,
}
ALL = sorted(THRESHOLD_FREE) + sorted(THRESHOLDED)
SEEDS = [0, 1, 2, 3]
# (samples, fraction of positives, kind of scores); "tied" rounds scores so that many tie
CASES = [
    (300, 0.3, "logits"),
    (300, 0.3, "probabilities"),
    (120, 0.05, "logits"),  # rare positives, as fires are
    (200, 0.5, "tied-logits"),
    (200, 0.2, "tied-probabilities"),
    (7, 0.4, "probabilities"),
    (2, 0.5, "logits"),
]


def sklearn_value(name: str, probability: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    if name in THRESHOLD_FREE:
        return THRESHOLD_FREE[name](labels, probability)
    predicted = (probability >= threshold).astype(np.int64)
    if name == "overall_accuracy":
        return accuracy_score(labels, predicted)
    return THRESHOLDED[name](labels, predicted, zero_division=0)


def random_case(n: int, positives: float, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < positives).astype(np.int64)
    labels[: 2] = [0, 1]  # both classes present
    rng.shuffle(labels)
    signal = rng.normal(size=n) + 1.5 * labels  # informative: AUROC well above 1/2
    if kind.endswith("logits"):
        scores = np.stack([rng.normal(size=n), rng.normal(size=n) + signal], axis=1)
        if kind.startswith("tied"):
            scores = np.round(scores)
            scores[:, 0] = 0.0  # logit differences tie exactly, so do the probabilities
    else:
        scores = 1.0 / (1.0 + np.exp(-signal))
        if kind.startswith("tied"):
            scores = np.round(scores, 1)
    if kind.startswith("tied"):
        assert len(np.unique(positive_probability(scores))) < n / 4  # many ties, across the classes
    return scores, labels


@pytest.fixture(params=[(c, s) for c in CASES for s in SEEDS], ids=lambda p: f"n{p[0][0]}-{p[0][2]}-s{p[1]}")
def case(request) -> tuple[np.ndarray, np.ndarray]:
    (n, positives, kind), seed = request.param
    return random_case(n, positives, kind, seed)


def softmax_positive(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp[:, 1] / exp.sum(axis=1)


@pytest.mark.parametrize("name", ALL)
def test_matches_sklearn(case, name):
    scores, labels = case
    probability = softmax_positive(scores) if scores.ndim == 2 else scores  # independent of the library
    metric = build_metric(name)
    assert metric.name == name
    value = metric(scores, labels)
    assert isinstance(value, float)
    assert value == pytest.approx(sklearn_value(name, probability, labels, 0.5), abs=1e-12)


@pytest.mark.parametrize("name", sorted(THRESHOLDED))
def test_threshold_attribute_is_respected(case, name):
    scores, labels = case
    probability = positive_probability(scores)
    metric = build_metric(name)
    assert metric.threshold == 0.5 and metric.uses_threshold
    # thresholds between, on and beyond the probabilities (a tie on the threshold predicts positive)
    for threshold in [0.0, 0.2, float(np.median(probability)), float(probability.max()), 1.0, 1.5]:
        metric.threshold = threshold
        expected = sklearn_value(name, probability, labels, threshold)
        assert metric(scores, labels) == pytest.approx(expected, abs=1e-12)
    assert build_metric(name).threshold == 0.5  # setting it on one instance leaves the others alone


@pytest.mark.parametrize("name", sorted(THRESHOLD_FREE))
def test_threshold_free_metrics_ignore_threshold(case, name):
    scores, labels = case
    metric = build_metric(name)
    assert not metric.uses_threshold
    before = metric(scores, labels)
    metric.threshold = 0.9
    assert metric(scores, labels) == before


def test_labels_may_be_bool_or_float():
    scores, labels = random_case(50, 0.3, "logits", 0)
    for name in ALL:
        metric = build_metric(name)
        expected = metric(scores, labels)
        assert metric(scores, labels.astype(bool)) == expected
        assert metric(scores, labels.astype(np.float32)) == expected


def test_registered_with_descriptions():
    load_all()
    for name in ALL:
        entry = METRICS.get(name)
        assert issubclass(entry.obj, BinaryMetric) and entry.obj.higher_is_better
        assert entry.description


# --- positive_probability ---


def test_positive_probability_of_logits_is_softmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=5, size=(100, 2))
    assert np.allclose(positive_probability(logits), softmax_positive(logits), rtol=0, atol=1e-15)
    # numerically stable: huge logits neither overflow nor give nan
    big = np.array([[1000.0, 0.0], [0.0, 1000.0], [1e308, 1e308], [-1000.0, -1001.0]])
    assert np.allclose(positive_probability(big), [0.0, 1.0, 0.5, 1 / (1 + math.e)], rtol=0, atol=1e-15)
    # log-probabilities (a log_softmax head) give back the probabilities, even with a -inf entry
    p = rng.random(20)
    log_probabilities = np.log(np.stack([1 - p, p], axis=1))
    assert np.allclose(positive_probability(log_probabilities), p, rtol=0, atol=1e-12)
    assert positive_probability(np.array([[-np.inf, 0.0]]))[0] == 1.0
    # float32 logits work too
    assert np.allclose(positive_probability(logits.astype(np.float32)), softmax_positive(logits.astype(np.float32)), atol=1e-6)


def test_positive_probability_of_probabilities():
    p = np.array([0.0, 0.25, 0.5, 1.0])
    out = positive_probability(p)
    assert out.dtype == np.float64 and np.array_equal(out, p) and out is not p
    # (N, 2) scores are always logits: a probability pair is softmaxed like any other
    pairs = np.stack([1 - p, p], axis=1)
    assert np.allclose(positive_probability(pairs), np.exp(p) / (np.exp(p) + np.exp(1 - p)))


@pytest.mark.parametrize(
    "scores",
    [
        np.array([0.2, 1.2]),
        np.array([-0.1, 0.5]),
        np.array([0.2, np.nan]),
        np.zeros((3, 3)),
        np.zeros((2, 2, 2)),
        np.array([[0.0, np.nan]]),
        np.array([[np.inf, 0.0]]),
        np.array([[-np.inf, -np.inf]]),
        np.array(["a", "b"]),
    ],
)
def test_positive_probability_rejects(scores):
    with pytest.raises(ValueError):
        positive_probability(scores)


def test_positive_probability_takes_real_numbers_only():
    """Complex and object scores are refused with the class-score check's message; bool scores are probabilities 0 and 1."""
    for scores in (np.array([0.2 + 0.5j, 0.9 + 0j]), np.array([0.2, 0.9], dtype=object)):
        with pytest.raises(MetricInputError, match="scores must be real numbers"):
            positive_probability(scores)
    out = positive_probability(np.array([True, False, True]))
    assert out.dtype == np.float64 and out.tolist() == [1.0, 0.0, 1.0]


def test_labels_that_are_not_numbers_are_refused():
    with pytest.raises(MetricInputError, match="binary labels must be 0 or 1"):
        binary_labels(np.array([0, 1, 1], dtype=object))


def test_confusion_counts_refuse_labels_of_another_length():
    # one label would broadcast against three probabilities
    with pytest.raises(MetricInputError, match="1 labels for 3 scores"):
        confusion_counts(np.array([0.2, 0.6, 0.9]), np.array([1]), 0.5)


# --- degenerate inputs ---


@pytest.mark.parametrize("name", sorted(THRESHOLD_FREE))
@pytest.mark.parametrize("only", [0, 1])
def test_one_class_gives_nan_for_threshold_free(name, only):
    scores, _ = random_case(30, 0.5, "logits", 1)
    labels = np.full(30, only)
    assert math.isnan(build_metric(name)(scores, labels))
    assert math.isnan(build_metric(name)(positive_probability(scores), labels))


@pytest.mark.parametrize("name", sorted(THRESHOLDED))
@pytest.mark.parametrize("only", [0, 1])
def test_one_class_thresholded_matches_sklearn(name, only):
    scores, _ = random_case(30, 0.5, "probabilities", 2)
    labels = np.full(30, only)
    metric = build_metric(name)
    for threshold in [0.0, 0.5, 2.0]:  # everything, some, nothing predicted positive
        metric.threshold = threshold
        assert metric(scores, labels) == pytest.approx(sklearn_value(name, scores, labels, threshold), abs=1e-12)


def test_all_scores_tied():
    labels = np.array([0, 1, 1, 0, 1])
    scores = np.full(5, 0.3)
    assert build_metric("auroc")(scores, labels) == 0.5
    assert build_metric("auprc")(scores, labels) == pytest.approx(average_precision_score(labels, scores))


@pytest.mark.parametrize("name", ALL)
def test_bad_inputs_raise(name):
    metric = build_metric(name)
    with pytest.raises(ValueError):
        metric(np.zeros(0), np.zeros(0, dtype=np.int64))  # nothing to evaluate
    with pytest.raises(ValueError):
        metric(np.array([0.1, 0.9]), np.array([0, 2]))  # not binary
    with pytest.raises(ValueError):
        metric(np.array([0.1, 0.9]), np.array([0, 1, 1]))  # lengths differ


# --- best_threshold ---


def f1_at(probability: np.ndarray, labels: np.ndarray, t: float) -> float:
    predicted, positive = probability >= t, labels == 1
    tp = np.sum(predicted & positive)
    denominator = predicted.sum() + positive.sum()  # 2tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0


def iou_at(probability: np.ndarray, labels: np.ndarray, t: float) -> float:
    predicted, positive = probability >= t, labels == 1
    tp = np.sum(predicted & positive)
    denominator = np.sum(predicted | positive)  # tp + fp + fn
    return tp / denominator if denominator else 0.0


def brute_force_threshold(probability: np.ndarray, labels: np.ndarray, score) -> float:
    """Every distinct probability tried in turn (plain loop; F1/IoU as checked against sklearn above)."""
    best, best_value = None, -1.0
    for t in sorted(set(probability.tolist()), reverse=True):  # ties keep the largest threshold
        value = score(probability, labels, t)
        if value > best_value:
            best, best_value = t, value
    return best


@pytest.mark.parametrize("metric, score", [("f1", f1_at), ("iou", iou_at)])
def test_best_threshold_is_brute_force_maximum(case, metric, score):
    scores, labels = case
    probability = positive_probability(scores)
    chosen = best_threshold(probability, labels, metric=metric)
    assert isinstance(chosen, float)
    assert chosen == brute_force_threshold(probability, labels, score)
    assert best_threshold(scores, labels, metric=metric) == chosen  # (N, 2) scores are accepted too
    # set on the metric, the chosen threshold gives the maximum F1, which is sklearn's F1 there
    f1 = build_metric("f1")
    f1.threshold = chosen
    best_f1 = max(f1_at(probability, labels, t) for t in set(probability.tolist()))
    assert f1(probability, labels) == pytest.approx(best_f1, abs=1e-12)
    assert f1(probability, labels) == pytest.approx(f1_score(labels, (probability >= chosen).astype(int)), abs=1e-12)


def test_best_threshold_ties_take_the_largest():
    # p >= 0.9 (tp 1, fp 0, fn 1) and p >= 0.4 (tp 2, fp 2, fn 0) both give F1 = 2/3
    probability = np.array([0.9, 0.8, 0.6, 0.4, 0.2])
    labels = np.array([1, 0, 0, 1, 0])
    f1 = {t: f1_score(labels, (probability >= t).astype(int)) for t in probability}
    best = max(f1.values())
    assert sorted(t for t, v in f1.items() if v == best) == [0.4, 0.9]
    assert best_threshold(probability, labels) == 0.9
    # no positive labels: F1 is 0 everywhere, the largest probability is returned
    assert best_threshold(probability, np.zeros(5, dtype=int)) == 0.9


def test_best_threshold_rejects_other_metrics():
    with pytest.raises(ValueError, match="f1"):
        best_threshold(np.array([0.1, 0.9]), np.array([0, 1]), metric="recall")


# --- per-sample values (challenge rankings) and the Brier score ---


@pytest.mark.parametrize("n, positives, kind", CASES)
def test_brier_matches_sklearn_and_is_the_mean_of_its_per_sample_values(n, positives, kind):
    from sklearn.metrics import brier_score_loss

    scores, labels = random_case(n, positives, kind, seed=0)
    probability = positive_probability(scores)
    brier = build_metric("brier")
    assert not brier.higher_is_better
    assert brier(scores, labels) == pytest.approx(brier_score_loss(labels, probability), abs=1e-12)
    assert np.mean(brier.per_case(scores, labels)) == pytest.approx(brier(scores, labels), abs=1e-12)


def test_overall_accuracy_per_sample_is_correctness_at_the_threshold():
    probability, labels = np.array([0.9, 0.6, 0.4, 0.2]), np.array([1, 0, 1, 0])
    metric = build_metric("overall_accuracy")
    metric.threshold = 0.5
    assert metric.per_case(probability, labels).tolist() == [1.0, 0.0, 0.0, 1.0]
    metric.threshold = 0.3
    assert metric.per_case(probability, labels).tolist() == [1.0, 0.0, 1.0, 1.0]
    assert np.mean(metric.per_case(probability, labels)) == metric(probability, labels)


@pytest.mark.parametrize("name", ["auroc", "auprc", "f1", "precision", "recall", "iou"])
def test_set_level_metrics_have_no_per_sample_value(name):
    assert build_metric(name).per_case(np.array([0.9, 0.2]), np.array([1, 0])) is None


def test_per_case_accuracy_predicts_positive_on_the_threshold():
    # a probability equal to the threshold is a positive prediction, as in the metric itself (p >= t)
    metric = build_metric("overall_accuracy")
    probability, labels = np.array([0.5, 0.5, 0.2, 0.9]), np.array([1, 0, 0, 1])
    np.testing.assert_array_equal(metric.per_case(probability, labels), [1.0, 0.0, 1.0, 1.0])
    assert metric.per_case(probability, labels).mean() == metric(probability, labels) == 0.75
