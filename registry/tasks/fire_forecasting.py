"""Next-day wildfire danger as binary classification (FireCube, Prapas et al. 2021; LOADE, Eddin et
al. 2022): train a torch model (cross entropy on log-softmax = the paper's NLL loss; checkpoint
kept by validation AUROC) or fit a scikit-learn baseline on flattened centre-pixel features, then
score the positive-class probability. Threshold metrics use the threshold that maximises F1 on
the validation split, so the test numbers never see test labels.
"""
from __future__ import annotations

import numpy as np
import torch
from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt
from torch import nn
from torch.nn import functional as F

from registry.context import RunContext, TaskResult
from registry.core import TASKS
from registry.datasets.tensors import Split
from registry.metrics import build_metric
from registry.metrics.binary import BinaryMetric, best_threshold, positive_probability
from registry.models.firecube import flat_features, random_state_params
from registry.params import Decay, Momentum
from registry.targets import Accepts
from registry.tasks.training import Optimizer, Schedule, TrainConfig, fit, predict


def _torch_probabilities(model: nn.Module, ctx: RunContext, config: TrainConfig) -> tuple[dict[str, np.ndarray], dict]:
    auroc = build_metric("auroc")
    data = ctx.data

    def val_auroc(m: nn.Module) -> float:
        score = auroc(positive_probability(predict(m, data.val, ctx, config.eval_batch_size)), data.val.y.cpu().numpy())
        return score if np.isfinite(score) else -np.inf

    history = fit(model, data, ctx, lambda _e, _x, logits, y: F.cross_entropy(logits, y), config, f"fire {ctx.model.name}", select=val_auroc)
    info = {"best_epoch": history.best_epoch, "train_samples_per_s": history.images_per_s, "history": history.history}
    return {name: positive_probability(predict(model, getattr(data, name), ctx, config.eval_batch_size)) for name in ("val", "test")}, info


def _sklearn_probabilities(estimator, ctx: RunContext) -> tuple[dict[str, np.ndarray], dict]:
    """Fit a scikit-learn estimator on flattened centre-pixel features of the training split."""
    seeded = random_state_params(estimator, ctx.seed)
    estimator.set_params(**seeded)

    def features(split: Split) -> np.ndarray:
        return flat_features(split.x.to(torch.device("cpu")))

    data = ctx.data
    estimator.fit(features(data.train), data.train.y.cpu().numpy())
    info = {"random_state": ctx.seed if seeded else None}
    return {name: estimator.predict_proba(features(getattr(data, name)))[:, 1] for name in ("val", "test")}, info


@TASKS.register("fire_forecasting", accepts=Accepts({"classes"}, classes=2))
def fire_forecasting(
    ctx: RunContext,
    *,
    epochs: PositiveInt = 40,
    lr: PositiveFloat = 3e-5,
    batch_size: PositiveInt = 256,
    optimizer: Optimizer = "adam",
    weight_decay: NonNegativeFloat = 0.02,
    momentum: Momentum = 0.9,
    schedule: Schedule = "step",
    step_epochs: PositiveInt = 23,
    gamma: Decay = 0.1,
) -> TaskResult:
    """Binary next-day fire forecasting; threshold chosen on validation F1; AUROC, AUPRC, F1, ...

    Defaults are the LOADE paper's: Adam, lr 3e-5, weight decay 0.02, batch 256, 40 epochs,
    StepLR(23, 0.1). scikit-learn models ignore them."""
    assert ctx.build_model is not None
    model = ctx.build_model(ctx.model)
    if isinstance(model, nn.Module):
        config = TrainConfig(epochs, lr, batch_size, weight_decay, momentum, schedule, optimizer, step_epochs, gamma)
        probability, info = _torch_probabilities(model.to(ctx.device), ctx, config)
    else:
        probability, info = _sklearn_probabilities(model, ctx)
    labels = {name: getattr(ctx.data, name).y.cpu().numpy() for name in ("val", "test")}
    threshold = best_threshold(probability["val"], labels["val"])
    results: dict[str, dict[str, float]] = {}
    for name in ("val", "test"):
        scores = np.stack([1 - probability[name], probability[name]], axis=1)  # for metrics that take class scores
        results[name] = {}
        for metric in ctx.metrics:
            if isinstance(metric, BinaryMetric):
                metric.threshold = threshold
                results[name][metric.name] = metric(probability[name], labels[name])
            else:
                results[name][metric.name] = metric(scores, labels[name])
    cases = {}  # per test sample, for challenge rankings (metrics with a per-sample value)
    for metric in ctx.metrics:
        values = metric.per_case(probability["test"], labels["test"]) if isinstance(metric, BinaryMetric) else None
        if values is not None:
            cases[metric.name] = values.tolist()
    return TaskResult(results, {**info, "threshold": threshold, "positives": {k: int(v.sum()) for k, v in labels.items()}}, cases=cases)
