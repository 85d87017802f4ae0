"""GLUE metrics as the benchmark defines them (Wang et al. 2019, "GLUE: a multi-task benchmark and
analysis platform for natural language understanding", ICLR).

GLUE scores each task with these metrics (a task with two averages them; the GLUE score is the mean
over tasks, see ``leaderboard/benchmarks.py``):

========  ==========================================  =====================================
task      metric(s)                                   Podium names
========  ==========================================  =====================================
CoLA      Matthews correlation                        ``matthews``
SST-2     accuracy                                    ``accuracy``
MRPC      F1 of the positive class and accuracy       ``f1``, ``accuracy``
QQP       F1 of the positive class and accuracy       ``f1``, ``accuracy``
STS-B     Pearson and Spearman correlation            ``pearson``, ``spearman``
MNLI      accuracy (matched / mismatched)             ``accuracy``
QNLI      accuracy                                    ``accuracy``
RTE       accuracy                                    ``accuracy``
WNLI      accuracy                                    ``accuracy``
========  ==========================================  =====================================

This module adds the three that Podium lacked; ``accuracy`` (argmax, ``classification.py``) and ``f1``
(``binary.py``) cover the rest. GLUE's F1 for MRPC/QQP is scikit-learn's ``f1_score`` of the argmax
prediction; Podium's binary ``f1`` predicts class 1 when ``softmax(scores)[:, 1] >= 0.5``. For (N, 2)
logits that is ``scores[:, 1] >= scores[:, 0]``, the same as argmax except on an exact tie (the two
logits equal, or so close that the softmax rounds to 0.5 in float64: a difference below ~1e-16
relative), where argmax says class 0 and ``f1`` class 1. Trained models practically never tie;
``tests/registry/metrics/test_glue.py`` checks the equality on random logits.

Inputs (the metric convention of ``registry.metrics``):

- ``matthews``: ``scores`` (N, C) class scores, ``labels`` (N,) integer classes; binary (CoLA) or
  multi-class (C > 2, e.g. an MNLI-like 3-class problem: the R_K statistic of Gorodkin 2004, which is
  what scikit-learn's ``matthews_corrcoef`` computes).
- ``pearson`` / ``spearman``: ``scores`` the regression output, shaped (N, 1) (a regression head; column
  0 is taken) or (N,); ``labels`` (N,) real gold scores (STS-B: 0 to 5).

Degenerate inputs: Matthews correlation is 0 when every prediction or every label is one class (the
denominator is 0; scikit-learn returns 0 too). Pearson and Spearman correlation are undefined when the
predictions or the gold scores are constant (or N < 2); they return ``nan`` then, without a warning,
and the runner drops non-finite values and notes it. An empty evaluation set, mismatched lengths,
a wrong shape, labels outside the scores' classes, class scores with a NaN or +inf (or no finite
entry) in a case, and non-finite regression scores raise ``MetricInputError`` (a ``ValueError``; the
class scores are checked by ``registry.metrics.class_scores``, as every metric of class scores is).
"""
from __future__ import annotations

import warnings

import numpy as np

from registry.core import METRICS
from registry.metrics import Metric, MetricInputError, class_scores, require_samples
from registry.targets import Accepts

# Official GLUE metric(s) of each task, by Podium metric name (Wang et al. 2019, Table 1).
GLUE_TASK_METRICS: dict[str, tuple[str, ...]] = {
    "cola": ("matthews",),
    "sst2": ("accuracy",),
    "mrpc": ("f1", "accuracy"),
    "qqp": ("f1", "accuracy"),
    "stsb": ("pearson", "spearman"),
    "mnli": ("accuracy",),
    "qnli": ("accuracy",),
    "rte": ("accuracy",),
    "wnli": ("accuracy",),
}


def matthews_from_predictions(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Matthews correlation of (N,) predicted classes against (N,) true classes, any number of classes.

    With the confusion matrix ``C`` (rows true, columns predicted), ``t_k`` the true count and ``p_k``
    the predicted count of class k, ``c`` the number correct and ``s`` = N (Gorodkin 2004):

        MCC = (c s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2) (s^2 - sum_k t_k^2)),

    which for two classes is (tp tn - fp fn) / sqrt((tp + fp)(tp + fn)(tn + fp)(tn + fn)). A zero
    denominator (all predictions or all labels one class) gives 0.0, as scikit-learn does.
    """
    predicted = np.asarray(predicted).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if len(predicted) != len(labels):
        raise MetricInputError(f"{len(labels)} labels for {len(predicted)} predictions")
    require_samples(len(labels))
    classes, index = np.unique(np.concatenate([labels, predicted]), return_inverse=True)  # (2N,) as its input
    true_index, predicted_index = index[: len(labels)], index[len(labels):]
    true_count = np.bincount(true_index, minlength=len(classes)).astype(np.float64)
    predicted_count = np.bincount(predicted_index, minlength=len(classes)).astype(np.float64)
    correct = float(np.count_nonzero(true_index == predicted_index))
    samples = float(len(labels))
    # float64 throughout: s^2 products overflow int64 for a few million samples
    covariance = correct * samples - float(predicted_count @ true_count)
    predicted_spread = samples**2 - float(predicted_count @ predicted_count)
    true_spread = samples**2 - float(true_count @ true_count)
    denominator = predicted_spread * true_spread
    if denominator <= 0:  # one class only among the predictions or the labels
        return 0.0
    return float(covariance / np.sqrt(denominator))


@METRICS.register("matthews")
class Matthews(Metric):
    """Matthews correlation of the argmax prediction, binary or multi-class (GLUE CoLA; 0 if one class only)."""

    accepts = Accepts({"classes"})
    bounds = (-1.0, 1.0)

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        scores, labels = class_scores(scores, labels)  # the check every metric of class scores shares
        return matthews_from_predictions(np.argmax(scores, axis=1), labels)


def regression_inputs(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) float64 predictions and gold scores from (N, 1) or (N,) ``scores`` and (N,) ``labels``.

    Raises ``MetricInputError`` for another shape, mismatched lengths, no samples or non-finite values."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]  # a regression head's single output column
    if scores.ndim != 1:
        raise MetricInputError(f"regression scores must have shape (N, 1) or (N,); got {scores.shape}")
    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim != 1:
        raise MetricInputError(f"labels must have shape (N,); got {labels.shape}")
    if len(labels) != len(scores):
        raise MetricInputError(f"{len(labels)} labels for {len(scores)} scores")
    require_samples(len(labels))
    bad_scores, bad_labels = int(np.count_nonzero(~np.isfinite(scores))), int(np.count_nonzero(~np.isfinite(labels)))
    if bad_scores or bad_labels:
        raise MetricInputError(f"regression scores and labels must be finite, but {bad_scores} of {len(scores)} scores and "
                               f"{bad_labels} labels are NaN or infinite: a model that diverged has no score")
    return scores, labels


class _Correlation(Metric):
    """A correlation of regression predictions with gold scores (nan where undefined)."""

    accepts = Accepts({"regression"})
    bounds = (-1.0, 1.0)  # a correlation

    def __call__(self, scores: np.ndarray, labels: np.ndarray) -> float:
        predicted, gold = regression_inputs(scores, labels)
        if len(gold) < 2:  # scipy refuses a single sample
            return float("nan")
        with warnings.catch_warnings():
            # scipy returns nan for constant input (undefined) and warns, also on near-constant input,
            # where the value it returns is still the reference one: both warnings are RuntimeWarnings
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(self.correlation(predicted, gold))

    def correlation(self, predicted: np.ndarray, gold: np.ndarray) -> float:
        raise NotImplementedError


@METRICS.register("pearson")
class Pearson(_Correlation):
    """Pearson correlation of the regression score with the gold score (GLUE STS-B; nan if either is constant)."""

    def correlation(self, predicted: np.ndarray, gold: np.ndarray) -> float:
        from scipy.stats import pearsonr  # imported here: scipy.stats costs ~0.3 s to import

        return pearsonr(predicted, gold).statistic


@METRICS.register("spearman")
class Spearman(_Correlation):
    """Spearman rank correlation of the regression score with the gold score (GLUE STS-B; nan if either is constant).

    Ties share their average rank (scipy's ``spearmanr``: the Pearson correlation of the ranks)."""

    def correlation(self, predicted: np.ndarray, gold: np.ndarray) -> float:
        from scipy.stats import spearmanr

        return spearmanr(predicted, gold).statistic


__all__ = [
    "GLUE_TASK_METRICS", "Matthews", "Pearson", "Spearman", "matthews_from_predictions", "regression_inputs",
]
