"""The built-in classification metrics agree with scikit-learn on random scores."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, top_k_accuracy_score

from registry.metrics import build_metric

# (samples, classes, classes that occur in the labels): the last kinds leave classes out of the
# labels (predictions may still name them) and have fewer classes than top-5 looks at.
CASES = [
    (200, 10, 10),
    (64, 7, 7),
    (150, 10, 4),  # six classes never occur in the labels
    (40, 6, 2),
    (30, 4, 4),  # fewer than 5 classes: top-5 is every class
    (25, 3, 2),
    (1, 5, 5),
]
SEEDS = [0, 1, 2]


def random_case(n: int, classes: int, present: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, classes))
    labels = rng.choice(rng.permutation(classes)[:present], size=n)
    # make the scores informative, so accuracies are neither ~0 nor ~1/C only
    scores[np.arange(n), labels] += rng.uniform(0, 2, size=n)
    return scores, labels.astype(np.int64)


@pytest.fixture(
    params=[(case, seed) for case in CASES for seed in SEEDS],
    ids=lambda p: f"n{p[0][0]}-c{p[0][1]}-p{p[0][2]}-s{p[1]}",
)
def case(request) -> tuple[np.ndarray, np.ndarray]:
    (n, classes, present), seed = request.param
    return random_case(n, classes, present, seed)


def test_accuracy_matches_sklearn(case):
    scores, labels = case
    value = build_metric("accuracy")(scores, labels)
    assert isinstance(value, float)
    assert value == pytest.approx(accuracy_score(labels, scores.argmax(axis=1)), abs=1e-12)


def test_top5_accuracy_matches_sklearn(case):
    scores, labels = case
    classes = scores.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns that k >= n_classes is a perfect score
        expected = top_k_accuracy_score(labels, scores, k=5, labels=range(classes))
    value = build_metric("top5_accuracy")(scores, labels)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, abs=1e-12)
    if classes <= 5:
        assert value == 1.0


def test_macro_f1_matches_sklearn(case):
    scores, labels = case
    expected = f1_score(labels, scores.argmax(axis=1), average="macro", zero_division=0)
    value = build_metric("macro_f1")(scores, labels)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, abs=1e-12)


def test_balanced_accuracy_matches_sklearn(case):
    scores, labels = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns when predictions name classes absent from the labels
        expected = balanced_accuracy_score(labels, scores.argmax(axis=1))
    value = build_metric("balanced_accuracy")(scores, labels)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, abs=1e-12)


def test_balanced_accuracy_weighs_classes_equally():
    """Unlike accuracy, a rare class counts as much as a frequent one; absent classes are left out."""
    labels = np.array([0] * 8 + [1] * 2)
    predicted = np.array([0] * 8 + [0, 1])
    scores = np.eye(5)[predicted]  # classes 2..4 never occur in labels or predictions
    assert build_metric("accuracy")(scores, labels) == 0.9
    assert build_metric("balanced_accuracy")(scores, labels) == pytest.approx((1 + 1 / 2) / 2)
    predicted_absent = np.array([0] * 8 + [4, 1])  # a prediction of a class absent from labels
    assert build_metric("balanced_accuracy")(np.eye(5)[predicted_absent], labels) == pytest.approx((1 + 1 / 2) / 2)


def test_cases_are_not_trivial():
    """The random cases exercise the metrics: values spread out, top-5 differs from top-1."""
    scores, labels = random_case(150, 10, 4, 1)
    accuracy, top5, macro_f1 = (build_metric(name)(scores, labels) for name in ("accuracy", "top5_accuracy", "macro_f1"))
    assert 0.2 < accuracy < 0.9 and accuracy < top5 < 1.0
    assert 0 < macro_f1 < accuracy  # classes predicted but never in the labels pull the macro average down


def test_known_values():
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    labels = np.array([0, 1, 1, 2])
    assert build_metric("accuracy")(scores, labels) == 0.5
    # class 0: P=1/2 R=1 F1=2/3; class 1: P=1 R=1/2 F1=2/3; class 2: P=0 R=0 F1=0
    assert build_metric("macro_f1")(scores, labels) == pytest.approx(4 / 9)
    # recall: class 0: 1/1, class 1: 1/2, class 2: 0/1
    assert build_metric("balanced_accuracy")(scores, labels) == pytest.approx(1 / 2)


def test_top5_counts_the_true_class_within_the_five_highest():
    scores = np.arange(8, dtype=float)[None, :].repeat(8, axis=0)  # class 7 highest, class 0 lowest
    labels = np.arange(8)
    assert build_metric("top5_accuracy")(scores, labels) == 5 / 8  # classes 3..7 are in the top 5


@pytest.mark.parametrize("name", ["accuracy", "top5_accuracy", "macro_f1", "balanced_accuracy"])
def test_each_metric_is_higher_is_better_and_knows_its_name(name):
    metric = build_metric(name)
    assert metric.higher_is_better is True
    assert metric.name == name
