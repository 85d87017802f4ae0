"""The GLUE metrics agree with scikit-learn (Matthews) and scipy (Pearson, Spearman) on random inputs,
and Podium's binary ``f1`` is GLUE's argmax F1 for (N, 2) logits."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import f1_score, matthews_corrcoef

from registry import METRICS, load_all
from registry.metrics import MetricInputError, build_metric
from registry.metrics.glue import GLUE_TASK_METRICS, matthews_from_predictions, regression_inputs

SEEDS = [0, 1, 2, 3]


def classification_case(n: int, classes: int, seed: int, informative: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    scores = rng.normal(size=(n, classes))
    scores[np.arange(n), labels] += rng.uniform(0, informative, size=n)  # better than chance, not perfect
    return scores, labels


def regression_case(n: int, seed: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gold = rng.uniform(0, 5, size=n)  # STS-B gold scores lie in [0, 5]
    predicted = gold + rng.normal(scale=1.0, size=n)
    if ties:
        gold, predicted = np.round(gold), np.round(predicted)  # many tied ranks
    return predicted, gold


def test_registered_with_descriptions_and_direction():
    load_all()
    for name in ("matthews", "pearson", "spearman"):
        entry = METRICS.get(name)
        assert entry.description  # the docstring's first line, shown by `podium list`
        assert build_metric(name).higher_is_better
    for metrics in GLUE_TASK_METRICS.values():
        assert all(name in METRICS for name in metrics)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n, classes", [(200, 2), (37, 2), (300, 3), (90, 3), (120, 5), (2, 2)])
def test_matthews_matches_sklearn(n, classes, seed):
    # classes == 2: CoLA; classes == 3: MNLI-like (entailment / neutral / contradiction)
    scores, labels = classification_case(n, classes, seed)
    value = build_metric("matthews")(scores, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns when the 2 samples hold one class only
        expected = matthews_corrcoef(labels, scores.argmax(axis=1))
    assert isinstance(value, float)
    assert value == pytest.approx(expected, abs=1e-12)


def test_matthews_multiclass_with_a_class_only_predicted():
    # class 2 occurs among the predictions only, class 3 among the labels only
    labels = np.array([0, 1, 1, 0, 3, 3, 0, 1])
    predicted = np.array([0, 1, 2, 2, 0, 1, 0, 1])
    scores = np.eye(4)[predicted]
    assert build_metric("matthews")(scores, labels) == pytest.approx(matthews_corrcoef(labels, predicted), abs=1e-12)


def test_matthews_perfect_inverse_and_constant():
    labels = np.array([0, 1, 1, 0, 1])
    metric = build_metric("matthews")
    assert metric(np.eye(2)[labels], labels) == pytest.approx(1.0)
    assert metric(np.eye(2)[1 - labels], labels) == pytest.approx(-1.0)
    # constant predictions (e.g. a model that always says "acceptable"): 0, as scikit-learn
    constant = np.tile([0.0, 1.0], (5, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert matthews_corrcoef(labels, constant.argmax(axis=1)) == 0.0
    assert metric(constant, labels) == 0.0
    # constant labels too
    assert metric(np.eye(2)[labels], np.zeros(5, dtype=int)) == 0.0


def test_matthews_rejects_bad_inputs():
    metric = build_metric("matthews")
    with pytest.raises(ValueError, match="no samples"):
        metric(np.zeros((0, 2)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        metric(np.zeros(4), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="labels for"):
        metric(np.zeros((4, 2)), np.zeros(3, dtype=int))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n, ties", [(200, False), (50, False), (150, True), (3, False)])
@pytest.mark.parametrize("column", [True, False], ids=["N-by-1", "N"])
def test_pearson_and_spearman_match_scipy(n, ties, column, seed):
    predicted, gold = regression_case(n, seed, ties)
    scores = predicted[:, None] if column else predicted
    pearson = build_metric("pearson")(scores, gold)
    spearman = build_metric("spearman")(scores, gold)
    assert isinstance(pearson, float) and isinstance(spearman, float)
    assert pearson == pytest.approx(pearsonr(predicted, gold).statistic, abs=1e-12)
    assert spearman == pytest.approx(spearmanr(predicted, gold).statistic, abs=1e-12)


def test_correlations_of_constant_predictions_are_nan():
    gold = np.array([0.5, 2.0, 3.5, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning escapes
        for name in ("pearson", "spearman"):
            metric = build_metric(name)
            assert math.isnan(metric(np.full((4, 1), 2.5), gold))  # constant predictions
            assert math.isnan(metric(gold, np.full(4, 3.0)))  # constant gold scores
            assert math.isnan(metric(np.array([1.0]), np.array([2.0])))  # one sample


def test_correlations_of_two_samples_are_plus_or_minus_one():
    # two points are always on a line: defined (not nan), the sign of the slope
    for name in ("pearson", "spearman"):
        metric = build_metric(name)
        assert metric(np.array([1.0, 2.0]), np.array([0.0, 5.0])) == pytest.approx(1.0)
        assert metric(np.array([1.0, 2.0]), np.array([5.0, 0.0])) == pytest.approx(-1.0)


def test_matthews_from_predictions_takes_column_vectors():
    # (N, 1) classes, as a tokenizer's label column comes, are read as (N,)
    labels = np.array([0, 1, 1, 0, 2, 2, 1])
    predicted = np.array([0, 1, 0, 0, 2, 1, 1])
    expected = matthews_corrcoef(labels, predicted)
    assert matthews_from_predictions(predicted[:, None], labels[:, None]) == pytest.approx(expected, abs=1e-12)


def test_correlations_reject_bad_inputs():
    for name in ("pearson", "spearman"):
        metric = build_metric(name)
        with pytest.raises(ValueError, match=r"\(N, 1\) or \(N,\)"):
            metric(np.zeros((4, 2)), np.zeros(4))  # class logits are not a regression score
        with pytest.raises(ValueError, match="labels for"):
            metric(np.zeros(4), np.zeros(3))
        with pytest.raises(ValueError, match="no samples"):
            metric(np.zeros((0, 1)), np.zeros(0))
        with pytest.raises(ValueError, match="finite"):
            metric(np.array([1.0, np.nan, 2.0]), np.array([1.0, 2.0, 3.0]))


def test_matthews_from_predictions_refuses_no_samples():
    with pytest.raises(MetricInputError, match="no samples"):
        matthews_from_predictions(np.zeros(0, dtype=int), np.zeros(0, dtype=int))


def test_regression_inputs_are_float64_and_non_finite_gold_scores_are_refused():
    predicted, gold = regression_inputs(np.array([[1], [2], [4]], dtype=np.int32), np.array([0.5, 1.5, 2.5], dtype=np.float32))
    assert predicted.dtype == gold.dtype == np.float64 and predicted.tolist() == [1.0, 2.0, 4.0] and gold.tolist() == [0.5, 1.5, 2.5]
    with pytest.raises(MetricInputError, match="0 of 3 scores and 1 labels are NaN or infinite"):
        regression_inputs(np.array([1.0, 2.0, 3.0]), np.array([1.0, np.inf, 3.0]))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [300, 41])
def test_binary_f1_is_glue_argmax_f1_for_logits(n, seed):
    # GLUE's MRPC/QQP F1 = scikit-learn f1_score of the argmax prediction; Podium's `f1` thresholds
    # softmax(scores)[:, 1] at 0.5, i.e. predicts 1 iff logit_1 >= logit_0: the same unless they tie.
    scores, labels = classification_case(n, 2, seed)
    assert build_metric("f1")(scores, labels) == pytest.approx(f1_score(labels, scores.argmax(axis=1)), abs=1e-12)


def test_binary_f1_differs_from_argmax_only_on_an_exact_tie():
    labels = np.array([1, 0, 1, 0])
    scores = np.array([[0.0, 1.0], [0.3, 0.3], [2.0, -1.0], [1.0, 0.0]])  # row 1 ties
    # argmax predicts [1, 0, 0, 0]: tp 1, fn 1, fp 0 -> F1 2/3; f1 predicts [1, 1, 0, 0]: tp 1, fp 1, fn 1 -> 1/2
    assert f1_score(labels, scores.argmax(axis=1)) == pytest.approx(2 / 3)
    assert build_metric("f1")(scores, labels) == pytest.approx(1 / 2)
