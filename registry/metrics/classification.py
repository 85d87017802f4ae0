"""Classification metrics computed in numpy; tests check each against scikit-learn.

Definitions: accuracy and top-k accuracy as in scikit-learn's ``accuracy_score`` and
``top_k_accuracy_score``; macro F1 as the unweighted mean of per-class F1 (Sokolova & Lapalme 2009);
balanced accuracy as the mean per-class recall (Brodersen et al. 2010; scikit-learn's
``balanced_accuracy_score``).
"""
from __future__ import annotations

import numpy as np

from registry.core import METRICS
from registry.metrics import Metric
from registry.targets import Accepts


class ClassificationMetric(Metric):
    """Base of the metrics of (N, C) class scores against (N,) integer classes, any number of classes."""

    accepts = Accepts({"classes"})
    bounds = (0.0, 1.0)  # a share of samples (pixels, pairs): board intervals stay in [0, 1]


@METRICS.register("accuracy")
class Accuracy(ClassificationMetric):
    """Fraction of samples whose highest score is the true class."""

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.per_case(scores, labels)))

    def per_case(self, scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return (np.argmax(scores, axis=1) == labels).astype(float)


@METRICS.register("top5_accuracy")
class Top5Accuracy(ClassificationMetric):
    """Fraction of samples whose true class is among the 5 highest scores (all classes if fewer)."""

    k = 5

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        k = min(self.k, scores.shape[1])
        true_score = scores[np.arange(len(labels)), labels]
        # rank of the true class = number of classes scored strictly higher
        better = (scores > true_score[:, None]).sum(axis=1)
        return float(np.mean(better < k))


@METRICS.register("macro_f1")
class MacroF1(ClassificationMetric):
    """Unweighted mean of per-class F1 over the classes present in labels or predictions.

    Follows scikit-learn's ``f1_score(average="macro", zero_division=0)``."""

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        predicted = np.argmax(scores, axis=1)
        classes = np.union1d(labels, predicted)
        index = np.searchsorted(classes, labels), np.searchsorted(classes, predicted)
        confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
        np.add.at(confusion, index, 1)
        true_positive = np.diag(confusion).astype(float)
        denominator = confusion.sum(axis=0) + confusion.sum(axis=1)  # predicted + actual per class
        f1 = np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive), where=denominator > 0)
        return float(f1.mean())


@METRICS.register("balanced_accuracy")
class BalancedAccuracy(ClassificationMetric):
    """Mean per-class recall over the classes present in labels.

    Follows scikit-learn's ``balanced_accuracy_score`` (``adjusted=False``; Brodersen et al. 2010):
    a class that occurs only among the predictions has no recall and is left out of the mean."""

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        predicted = np.argmax(scores, axis=1)
        _, index = np.unique(labels, return_inverse=True)
        index = index.reshape(-1)
        hits = np.bincount(index, weights=(predicted == labels).astype(float))
        support = np.bincount(index)  # every class here occurs in labels, so support > 0
        return float(np.mean(hits / support))
