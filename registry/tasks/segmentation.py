"""Dense segmentation (2D images or 3D stacks): per-pixel cross-entropy, best-on-validation checkpoint
by mean IoU, and the segmentation metrics computed from per-image confusion counts.

Predictions are reduced to per-image, per-class true/false positives/negatives batch by batch,
so a test split of 200 images of 256 x 256 never holds its class scores in memory at once.
"""
from __future__ import annotations

import torch
from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt
from torch import nn
from torch.nn import functional as F

from registry.context import RunContext, TaskResult
from registry.core import TASKS
from registry.params import Momentum
from registry.datasets.tensors import Split, TensorData
from registry.metrics import MetricInputError, build_metric, unrankable_message
from registry.metrics.segmentation import ConfusionStats, SegmentationMetric, confusion_stats
from registry.targets import Accepts
from registry.tasks.training import Schedule, TrainConfig, autocast, batches, fit


@torch.no_grad()
def split_stats(model: nn.Module, split: Split, ctx: RunContext, num_classes: int, batch_size: int) -> ConfusionStats:
    """Per-image confusion counts of the model's argmax prediction on a split.

    A pixel whose class scores cannot be ranked (NaN or +inf, or no finite one) raises
    ``MetricInputError``, as the metrics' own check does (``registry.metrics.check_rankable``): torch's
    argmax would take a NaN's index as the predicted class."""
    model.eval()
    parts = []
    checked = 0
    for index in batches(len(split), batch_size, None):
        index = index.to(split.x.device)
        with autocast(ctx):
            logits = model(split.x[index])
        bad = (torch.isnan(logits) | (logits == torch.inf)).any(dim=1) | ~torch.isfinite(logits).any(dim=1)
        if bad.any():
            image, *pixel = torch.nonzero(bad)[0].tolist()
            first = (checked + image, *pixel)  # (image in the split, *pixel)
            cases = f"pixels of images {checked}..{checked + len(index) - 1}"
            raise MetricInputError(unrankable_message(int(bad.sum()), bad.numel(), first, cases))
        checked += len(index)
        predicted = logits.argmax(dim=1)
        parts.append(confusion_stats(predicted.cpu().numpy(), split.y[index].cpu().numpy(), num_classes))
    return ConfusionStats.concat(parts)


def score(metrics: list[SegmentationMetric], stats: ConfusionStats, data: TensorData) -> dict[str, float]:
    values: dict[str, float] = {}
    for metric in metrics:
        values.update(metric.from_stats(stats, data.names))
    return values


@TASKS.register("segmentation", accepts=Accepts({"masks"}))
def segmentation(
    ctx: RunContext,
    *,
    epochs: PositiveInt = 5,
    lr: PositiveFloat = 0.01,
    batch_size: PositiveInt = 8,
    momentum: Momentum = 0.0,
    weight_decay: NonNegativeFloat = 0.0,
    schedule: Schedule = "constant",
) -> TaskResult:
    """Train a segmentation model; seg metrics (per class and averaged) of its best-val epoch.

    Defaults follow MTNeuro's U-Net baseline: plain SGD, lr 0.01, batch 8, 5 epochs."""
    assert ctx.build_model is not None
    metrics = [m for m in ctx.metrics if isinstance(m, SegmentationMetric)]
    others = [m.name for m in ctx.metrics if not isinstance(m, SegmentationMetric)]
    if others:
        raise ValueError(f"metric(s) {', '.join(others)} cannot score segmentation; use seg_f1, seg_iou, seg_balanced_accuracy")
    data: TensorData = ctx.data
    model = ctx.build_model(ctx.model).to(ctx.device)
    config = TrainConfig(epochs, lr, batch_size, weight_decay, momentum, schedule)
    iou = build_metric("seg_iou")

    def mean_val_iou(m: nn.Module) -> float:
        stats = split_stats(m, data.val, ctx, data.num_classes, config.eval_batch_size)
        return iou.from_stats(stats, data.names)[iou.name]

    history = fit(model, data, ctx, lambda _e, _x, logits, y: F.cross_entropy(logits, y), config, f"segmentation {ctx.model.name}", select=mean_val_iou)
    stats = {name: split_stats(model, getattr(data, name), ctx, data.num_classes, config.eval_batch_size) for name in ("val", "test")}
    results = {name: score(metrics, counts, data) for name, counts in stats.items()}
    cases = {metric.name: metric.per_image_average(stats["test"]).tolist() for metric in metrics}  # per test image
    info = {"best_epoch": history.best_epoch, "train_images_per_s": history.images_per_s, "history": history.history, "classes": list(data.names)}
    return TaskResult(results, info, cases=cases)
