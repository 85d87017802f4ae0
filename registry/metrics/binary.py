"""Binary classification metrics (FireCube next-day wildfire forecasting), computed in numpy.

Inputs: ``labels`` an (N,) array of 0/1 (bool, integer or float holding only 0 and 1; 1 = fire), and
``scores`` either (N, 2) class logits / log-probabilities / probabilities from a model or (N,)
positive-class probabilities from a scikit-learn baseline; ``positive_probability`` maps both to the
(N,) probability of class 1. Tests check every metric against scikit-learn.

Metrics (FireCube: Prapas et al. 2021; LOADE: Eddin et al. 2022, who report overall accuracy,
precision, recall, F1, IoU and AUROC; AUPRC is added because positives are rare):

- ``auroc``: area under the ROC curve, scikit-learn's ``roc_auc_score`` (trapezoidal ROC, so tied
  scores count one half), computed with the equivalent rank / Mann-Whitney U formula
  ``(sum of the positives' ranks - P (P + 1) / 2) / (P N)`` with average ranks for tied probabilities.
- ``auprc``: average precision, scikit-learn's ``average_precision_score``:
  ``sum_n (R_n - R_{n-1}) P_n`` over the distinct probabilities taken as thresholds in decreasing
  order (tied probabilities form one step; R_0 = 0; no interpolation).
- ``precision``, ``recall``, ``f1``, ``overall_accuracy``, ``iou``: from the confusion counts of the
  prediction ``p >= threshold`` (``BinaryMetric.threshold``, 0.5 unless the task sets the one chosen on
  validation with ``best_threshold``): precision tp / (tp + fp), recall tp / (tp + fn),
  F1 2 tp / (2 tp + fp + fn), accuracy (tp + tn) / N, IoU of the positive class tp / (tp + fp + fn)
  (scikit-learn's ``jaccard_score``); a 0/0 ratio is 0, like scikit-learn's ``zero_division=0``.
- ``brier``: the Brier score, mean (p - y)^2 (Brier 1950; scikit-learn's ``brier_score_loss``), lower
  is better; a proper scoring rule with a value per sample, so challenge rankings can use it.

Per-sample values (``per_case``, for challenge rankings over test samples): ``overall_accuracy`` gives
1 for a sample classified correctly at the threshold, else 0; ``brier`` gives (p - y)^2. The other
metrics are properties of the whole set and have none.

Degenerate inputs: AUROC and AUPRC are undefined when ``labels`` hold one class only (scikit-learn
raises or warns); they return ``nan`` then and never raise, and the runner drops non-finite values and
notes it. Threshold metrics are always defined. An empty evaluation set, labels other than 0/1,
(N,) probabilities that are not finite or lie outside [0, 1], and (N, 2) logits with a NaN or +inf
(or no finite entry) in a row raise ``MetricInputError`` (a ``ValueError``), the same type and, for
logits, the same check (``registry.metrics.check_rankable``) as every metric of class scores.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from registry.core import METRICS
from registry.metrics import Metric, MetricInputError, check_rankable, require_samples
from registry.targets import Accepts


def positive_probability(scores: np.ndarray) -> np.ndarray:
    """The (N,) float64 probability of class 1 from model or baseline scores.

    - (N,) scores are positive-class probabilities already (a scikit-learn ``predict_proba(x)[:, 1]``)
      and are returned as float64, after checking that they are finite and lie in [0, 1].
    - (N, 2) scores are class logits (or log-probabilities, e.g. a ``log_softmax`` head trained with NLL):
      the result is ``softmax(scores, axis=1)[:, 1]``, computed stably by subtracting each row's
      maximum before ``exp`` (a ``-inf`` log-probability is fine). Probabilities are passed as (N,).

    Raises ``MetricInputError`` for another shape, NaN or ``+inf`` scores, or a row with no finite score.
    """
    scores = np.asarray(scores)
    if not (np.issubdtype(scores.dtype, np.number) or scores.dtype == bool) or np.iscomplexobj(scores):
        raise MetricInputError(f"scores must be real numbers; got dtype {scores.dtype}")
    scores = scores.astype(np.float64, copy=False)
    if scores.ndim == 1:
        if not np.all(np.isfinite(scores)) or np.any(scores < 0) or np.any(scores > 1):
            raise MetricInputError("(N,) scores must be positive-class probabilities, finite and in [0, 1]")
        return scores.copy()
    if scores.ndim != 2 or scores.shape[1] != 2:
        raise MetricInputError(f"binary scores must have shape (N,) or (N, 2); got {scores.shape}")
    check_rankable(scores)  # no NaN or +inf, a finite entry in every row
    shifted = scores - scores.max(axis=1, keepdims=True)  # max entry 0: exp never overflows
    exp = np.exp(shifted)
    return exp[:, 1] / exp.sum(axis=1)


def binary_labels(labels: np.ndarray, n: int | None = None) -> np.ndarray:
    """``labels`` as an (N,) bool array (True = class 1); checks they are 0/1 and, if given, N = ``n``."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise MetricInputError(f"labels must have shape (N,); got {labels.shape}")
    if n is not None and len(labels) != n:
        raise MetricInputError(f"{len(labels)} labels for {n} scores")
    if labels.dtype == bool:
        return labels
    if not np.issubdtype(labels.dtype, np.number) or not np.all((labels == 0) | (labels == 1)):
        raise MetricInputError("binary labels must be 0 or 1")
    return labels == 1


def _inputs(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probability = positive_probability(scores)
    positive = binary_labels(labels, len(probability))
    require_samples(len(probability))
    return probability, positive


def confusion_counts(probability: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of the prediction ``probability >= threshold`` against 0/1 ``labels``."""
    threshold = float(threshold)
    if np.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    predicted = np.asarray(probability) >= threshold
    positive = binary_labels(labels, len(predicted))
    tp = int(np.count_nonzero(predicted & positive))
    fp = int(np.count_nonzero(predicted)) - tp
    fn = int(np.count_nonzero(positive)) - tp
    tn = len(predicted) - tp - fp - fn
    return tp, fp, fn, tn


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0.0 when the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    return float(numerator / denominator) if denominator else 0.0


def _distinct_threshold_counts(probability: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each distinct probability u, in decreasing order: (u, tp, predicted positives) of ``p >= u``.

    One sort; tied probabilities form one group, counted at the group's last index."""
    order = np.argsort(probability, kind="stable")[::-1]
    descending = probability[order]
    last = np.r_[np.flatnonzero(descending[1:] != descending[:-1]), len(descending) - 1]
    tp = np.cumsum(positive[order], dtype=np.int64)[last]
    return descending[last], tp, last + 1


class BinaryMetric(Metric):
    """Base of the binary metrics: ``metric(scores, labels)`` with scores (N, 2) or (N,), labels 0/1."""

    higher_is_better: ClassVar[bool] = True
    accepts: ClassVar[Accepts] = Accepts({"classes"}, classes=2)
    bounds = (0.0, 1.0)  # every binary score here (areas, shares of samples, the Brier score) lies in [0, 1]
    # whether the value depends on ``threshold`` (False for AUROC and AUPRC)
    uses_threshold: ClassVar[bool] = True
    # predicted positive when p >= threshold; the task sets the threshold chosen on validation
    threshold: float = 0.5

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        probability, positive = _inputs(scores, labels)
        return self.from_probability(probability, positive)

    def from_probability(self, probability: np.ndarray, positive: np.ndarray) -> float:
        """The metric of (N,) class-1 probabilities against (N,) bool labels (checked, N > 0)."""
        raise NotImplementedError

    def per_case(self, scores: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
        return self.per_sample(*_inputs(scores, labels))

    def per_sample(self, probability: np.ndarray, positive: np.ndarray) -> np.ndarray | None:
        """The metric's value for each sample, when it has one (None for set-level metrics)."""
        return None


class _CountMetric(BinaryMetric):
    """A metric of the confusion counts of ``p >= threshold``."""

    def from_probability(self, probability: np.ndarray, positive: np.ndarray) -> float:
        return self.from_counts(*confusion_counts(probability, positive, self.threshold))

    def from_counts(self, tp: int, fp: int, fn: int, tn: int) -> float:
        raise NotImplementedError


@METRICS.register("auroc")
class AUROC(BinaryMetric):
    """Area under the ROC curve (threshold-free; scikit-learn's roc_auc_score; nan if one class).

    Mann-Whitney form: ``(sum of positive ranks - P (P + 1) / 2) / (P N)``, ranks of the class-1
    probabilities in increasing order, tied probabilities sharing their average rank (a tied
    positive-negative pair counts 1/2, as the trapezoidal ROC area does)."""

    uses_threshold: ClassVar[bool] = False

    def from_probability(self, probability: np.ndarray, positive: np.ndarray) -> float:
        n_positive = int(np.count_nonzero(positive))
        n_negative = len(positive) - n_positive
        if n_positive == 0 or n_negative == 0:
            return float("nan")
        _, inverse, counts = np.unique(probability, return_inverse=True, return_counts=True)
        # group g holds ranks start+1 .. start+count (1-based), average start + (count + 1) / 2
        average_rank = (np.cumsum(counts) - counts) + (counts + 1) / 2.0
        rank_sum = float(np.sum(average_rank[inverse[positive]]))  # probability is (N,), so inverse is too
        u = rank_sum - n_positive * (n_positive + 1) / 2.0
        return float(u / (n_positive * n_negative))


@METRICS.register("auprc")
class AUPRC(BinaryMetric):
    """Average precision, sum_n (R_n - R_{n-1}) P_n (threshold-free; scikit-learn's average_precision_score; nan if one class).

    Thresholds are the distinct class-1 probabilities in decreasing order (tied probabilities are one
    step), R_0 = 0, no interpolation."""

    uses_threshold: ClassVar[bool] = False

    def from_probability(self, probability: np.ndarray, positive: np.ndarray) -> float:
        n_positive = int(np.count_nonzero(positive))
        if n_positive == 0 or n_positive == len(positive):
            return float("nan")
        _, tp, predicted = _distinct_threshold_counts(probability, positive)
        precision = tp / predicted
        recall = tp / n_positive
        return float(np.sum(np.diff(recall, prepend=0.0) * precision))


@METRICS.register("precision")
class Precision(_CountMetric):
    """Precision of the positive class, tp / (tp + fp), predicting p >= threshold (0 if nothing is predicted positive)."""

    def from_counts(self, tp: int, fp: int, fn: int, tn: int) -> float:
        return _ratio(tp, tp + fp)


@METRICS.register("recall")
class Recall(_CountMetric):
    """Recall of the positive class, tp / (tp + fn), predicting p >= threshold (0 if no positive label)."""

    def from_counts(self, tp: int, fp: int, fn: int, tn: int) -> float:
        return _ratio(tp, tp + fn)


@METRICS.register("f1")
class F1(_CountMetric):
    """F1 of the positive class, 2 tp / (2 tp + fp + fn), predicting p >= threshold (0 if 0/0)."""

    def from_counts(self, tp: int, fp: int, fn: int, tn: int) -> float:
        return _ratio(2 * tp, 2 * tp + fp + fn)


@METRICS.register("overall_accuracy")
class OverallAccuracy(_CountMetric):
    """Overall accuracy, (tp + tn) / N, predicting p >= threshold."""

    def from_counts(self, tp: int, fp: int, fn: int, tn: int) -> float:
        return _ratio(tp + tn, tp + fp + fn + tn)

    def per_sample(self, probability: np.ndarray, positive: np.ndarray) -> np.ndarray:
        return ((probability >= self.threshold) == positive).astype(np.float64)


@METRICS.register("iou")
class IoU(_CountMetric):
    """IoU of the positive class, tp / (tp + fp + fn), predicting p >= threshold (Eddin et al. 2022; 0 if 0/0)."""

    def from_counts(self, tp: int, fp: int, fn: int, tn: int) -> float:
        return _ratio(tp, tp + fp + fn)


@METRICS.register("brier")
class Brier(BinaryMetric):
    """Brier score, mean (p - y)^2 over samples (Brier 1950; scikit-learn's brier_score_loss); lower is better."""

    higher_is_better: ClassVar[bool] = False
    uses_threshold: ClassVar[bool] = False

    def from_probability(self, probability: np.ndarray, positive: np.ndarray) -> float:
        return float(np.mean(self.per_sample(probability, positive)))

    def per_sample(self, probability: np.ndarray, positive: np.ndarray) -> np.ndarray:
        return (probability - positive) ** 2


_THRESHOLD_OBJECTIVES = ("f1", "iou")


def best_threshold(probability: np.ndarray, labels: np.ndarray, metric: str = "f1") -> float:
    """The threshold t maximising ``metric`` of the prediction ``p >= t`` on these (validation) data.

    ``probability`` is anything ``positive_probability`` accepts ((N,) probabilities or (N, 2) scores).
    Candidates are the distinct class-1 probabilities (each a different set of predicted positives;
    anything between two of them predicts like the larger one). ``metric`` is ``"f1"`` (default) or
    ``"iou"``, which have the same maximiser (IoU = F1 / (2 - F1)); precision, recall and accuracy are
    not offered, as their maximisers are degenerate with rare positives. Ties: the largest maximising
    threshold, i.e. the fewest predicted positives; if the labels hold no positive, F1 is 0 at every
    candidate and the result is the largest probability. Vectorised: one sort and cumulative counts.
    """
    if metric not in _THRESHOLD_OBJECTIVES:
        raise ValueError(f"best_threshold maximises one of {', '.join(_THRESHOLD_OBJECTIVES)}; got {metric!r}")
    probability, positive = _inputs(probability, labels)
    thresholds, tp, predicted = _distinct_threshold_counts(probability, positive)
    n_positive = int(np.count_nonzero(positive))
    # F1 alone decides, for either metric: IoU = F1 / (2 - F1) increases with F1, so it has the same
    # maximisers. predicted >= 1 at every candidate, so the denominator is never 0.
    f1 = 2 * tp / (predicted + n_positive)  # 2tp / (2tp + fp + fn)
    # thresholds decrease, and argmax returns the first maximum: the largest maximising threshold
    return float(thresholds[int(np.argmax(f1))])


__all__ = [
    "AUPRC", "AUROC", "BinaryMetric", "Brier", "F1", "IoU", "OverallAccuracy", "Precision", "Recall",
    "best_threshold", "binary_labels", "confusion_counts", "positive_probability",
]
