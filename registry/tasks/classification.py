"""Supervised classification: train, keep the best-on-validation checkpoint, score val and test.

Reusable by any track whose data is a ``TensorData`` of samples with one class each. Mode
``linear_probe`` scores a frozen encoder (optionally loaded from a checkpoint, e.g. one trained
self-supervised) by training only a linear head on its features, as MTNeuro scores its
self-supervised baselines.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt
from torch import nn
from torch.nn import functional as F

from registry.context import RunContext, TaskResult
from registry.core import TASKS
from registry.params import Momentum
from registry.paths import DataPath
from registry.targets import Accepts
from registry.tasks.training import Schedule, TrainConfig, evaluate, fit, test_cases


class LinearProbe(nn.Module):
    """A model's frozen ``encoder`` (kept in eval mode, no gradients) under its trainable ``head``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        if not isinstance(getattr(model, "encoder", None), nn.Module) or not isinstance(getattr(model, "head", None), nn.Module):
            raise ValueError(f"linear_probe needs a model with .encoder and .head modules; {type(model).__name__} has not")
        self.encoder, self.head = model.encoder, model.head
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> "LinearProbe":
        super().train(mode)
        self.encoder.eval()  # frozen means frozen batch-norm statistics too
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.encoder(x)
        return self.head(features)


def load_checkpoint(model: nn.Module, path: str, device: torch.device) -> dict[str, list[str]]:
    """Load a state dict (file of ``torch.save(model.state_dict())``); keys it lacks keep their init."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    state = torch.load(path, map_location=device, weights_only=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected:
        raise ValueError(f"checkpoint {path} has weights the model lacks: {', '.join(unexpected[:5])}")
    return {"missing_from_checkpoint": list(missing)}


@TASKS.register("classification", accepts=Accepts({"classes"}))
def classification(
    ctx: RunContext,
    *,
    mode: Literal["finetune", "linear_probe"] = "finetune",
    checkpoint: DataPath | None = None,
    epochs: PositiveInt = 10,
    lr: PositiveFloat = 0.01,
    batch_size: PositiveInt = 8,
    momentum: Momentum = 0.0,
    weight_decay: NonNegativeFloat = 0.0,
    schedule: Schedule = "constant",
) -> TaskResult:
    """Train a classifier (or a linear probe on a frozen encoder); metrics of its best-val epoch.

    Defaults follow MTNeuro's supervised baseline: plain SGD, lr 0.01, batch 8, constant rate."""
    assert ctx.build_model is not None
    model = ctx.build_model(ctx.model).to(ctx.device)
    info: dict = {"mode": mode}
    if checkpoint is not None:
        info.update(load_checkpoint(model, checkpoint, ctx.device))
    trained = LinearProbe(model) if mode == "linear_probe" else model
    config = TrainConfig(epochs, lr, batch_size, weight_decay, momentum, schedule)
    history = fit(trained, ctx.data, ctx, lambda _e, _x, logits, y: F.cross_entropy(logits, y), config, f"{mode} {ctx.model.name}")
    info.update(best_epoch=history.best_epoch, train_images_per_s=history.images_per_s, history=history.history)
    cases = test_cases(trained, ctx.data, ctx, config.eval_batch_size)
    return TaskResult(evaluate(trained, ctx.data, ctx, config.eval_batch_size), info, cases=cases)
