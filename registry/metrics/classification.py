"""Classification metrics computed in numpy; tests check each against scikit-learn.

Definitions (each metric's description names its own):

- ``accuracy``: the share of samples whose argmax is the true class (scikit-learn's ``accuracy_score``
  of the argmax prediction); a tie for the highest score predicts the lowest class index (NumPy's
  ``argmax``).
- ``top5_accuracy``: scikit-learn's ``top_k_accuracy_score(k=5)``, tie rule included (see
  ``Top5Accuracy``).
- ``macro_f1``: the unweighted mean of per-class F1 (Sokolova & Lapalme 2009; scikit-learn's
  ``f1_score(average="macro", zero_division=0)`` of the argmax prediction).
- ``balanced_accuracy``: the mean per-class recall (Brodersen et al. 2010; scikit-learn's
  ``balanced_accuracy_score``).

Inputs are checked once for all of them (``registry.metrics.class_scores``): no samples, a wrong
shape, labels outside 0..C-1, or a case whose scores hold NaN or +inf (or no finite entry) raise
``MetricInputError``; a NaN is never read as a class.
"""
from __future__ import annotations

import numpy as np

from registry.core import METRICS
from registry.metrics import Metric, class_scores
from registry.targets import Accepts


class ClassificationMetric(Metric):
    """Base of the metrics of (N, C) class scores against (N,) integer classes, any number of classes.

    ``metric(scores, labels)`` checks the inputs (``class_scores``) and hands them to ``value``."""

    accepts = Accepts({"classes"})
    bounds = (0.0, 1.0)  # a share of samples (pixels, pairs): board intervals stay in [0, 1]

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        return self.value(*class_scores(scores, labels))

    def value(self, scores: np.ndarray, labels: np.ndarray) -> float:
        """The metric of checked (N, C) float scores and (N,) int64 labels in 0..C-1, N > 0."""
        raise NotImplementedError


@METRICS.register("accuracy")
class Accuracy(ClassificationMetric):
    """Fraction of samples whose highest score is the true class (scikit-learn's accuracy_score of the argmax)."""

    def value(self, scores: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(np.argmax(scores, axis=1) == labels))

    def per_case(self, scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
        scores, labels = class_scores(scores, labels)
        return (np.argmax(scores, axis=1) == labels).astype(float)


@METRICS.register("top5_accuracy")
class Top5Accuracy(ClassificationMetric):
    """Fraction of samples whose true class is among the 5 highest scores (scikit-learn's top_k_accuracy_score, k=5; ties go to the higher class index).

    As scikit-learn's ``top_k_accuracy_score`` ranks them (a stable ascending sort, reversed): the
    true class y's place is the number of classes scored higher, plus the number scored the same
    with an index above y; it is a hit when that place is below k. So a tie is neither always
    counted for the true class nor always against it: a row with every score equal is a hit only
    for the k highest class indices. With k >= C every sample is a hit (1.0)."""

    k = 5

    def value(self, scores: np.ndarray, labels: np.ndarray) -> float:
        true_score = scores[np.arange(len(labels)), labels][:, None]
        above = np.arange(scores.shape[1])[None, :] > labels[:, None]
        place = (scores > true_score).sum(axis=1) + ((scores == true_score) & above).sum(axis=1)
        return float(np.mean(place < self.k))


@METRICS.register("macro_f1")
class MacroF1(ClassificationMetric):
    """Unweighted mean of per-class F1 over the classes present in labels or predictions (Sokolova & Lapalme 2009).

    Follows scikit-learn's ``f1_score(average="macro", zero_division=0)`` of the argmax prediction."""

    def value(self, scores: np.ndarray, labels: np.ndarray) -> float:
        predicted = np.argmax(scores, axis=1)
        classes = np.union1d(labels, predicted)
        index = np.searchsorted(classes, labels), np.searchsorted(classes, predicted)
        confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
        np.add.at(confusion, index, 1)
        true_positive = np.diag(confusion).astype(float)
        denominator = confusion.sum(axis=0) + confusion.sum(axis=1)  # predicted + actual per class
        f1 = 2 * true_positive / denominator  # every class of the union is predicted or true: denominator > 0
        return float(f1.mean())


@METRICS.register("balanced_accuracy")
class BalancedAccuracy(ClassificationMetric):
    """Mean per-class recall over the classes present in labels (Brodersen et al. 2010).

    Follows scikit-learn's ``balanced_accuracy_score`` (``adjusted=False``) of the argmax prediction:
    a class that occurs only among the predictions has no recall and is left out of the mean."""

    def value(self, scores: np.ndarray, labels: np.ndarray) -> float:
        predicted = np.argmax(scores, axis=1)
        _, index = np.unique(labels, return_inverse=True)  # (N,), as the checked labels are
        hits = np.bincount(index, weights=(predicted == labels).astype(float))
        support = np.bincount(index)  # every class here occurs in labels, so support > 0
        return float(np.mean(hits / support))
