"""The supervised training loop that classification-style tasks share.

Tensors stay on the run's device; batches are drawn by index with a seeded CPU generator, so a
run is the same on every device up to floating point, and bit for bit on the CPU. The model kept
is the one with the best validation accuracy (ties: the earlier epoch), as the papers report.
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Literal

import numpy as np
import torch
from torch import nn

from registry.context import RunContext
from registry.datasets.tensors import Split, TensorData
from registry.metrics import unrankable

Schedule = Literal["cosine", "constant", "step"]
Optimizer = Literal["sgd", "adam"]
# loss(epoch, inputs, logits, labels) -> scalar tensor
LossFn = Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser settings: SGD with momentum (or Adam), weight decay and a learning-rate schedule:
    cosine (per step), constant, or step (times ``gamma`` every ``step_epochs`` epochs)."""

    epochs: int
    lr: float
    batch_size: int
    weight_decay: float = 5e-4
    momentum: float = 0.9
    schedule: Schedule = "cosine"
    optimizer: Optimizer = "sgd"
    step_epochs: int = 30
    gamma: float = 0.1

    @property
    def eval_batch_size(self) -> int:
        """Inference batches: 8 training batches (no gradients to keep), at most 1024 samples."""
        return min(1024, 8 * self.batch_size)


@dataclass
class FitResult:
    best_epoch: int
    best_val_score: float  # of the selection criterion (validation accuracy unless the task chose another)
    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0  # training steps only, validation excluded
    train_images: int = 0

    @property
    def images_per_s(self) -> float:
        return self.train_images / self.train_seconds if self.train_seconds > 0 else 0.0


def batches(n: int, batch_size: int, generator: torch.Generator | None) -> Iterator[torch.Tensor]:
    """Index batches over ``n`` samples: a seeded permutation when ``generator`` is given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    yield from order.split(batch_size)


def autocast(ctx: RunContext) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; nothing on the CPU (full precision keeps CPU runs deterministic)."""
    if ctx.use_amp:
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict(model: nn.Module, split: Split, ctx: RunContext, batch_size: int = 1024) -> np.ndarray:
    """Class scores (N, C) as float32 numpy, in the split's order."""
    model.eval()
    outputs = []
    for index in batches(len(split), batch_size, None):
        with autocast(ctx):
            outputs.append(model(split.x[index.to(split.x.device)]).float())
    return torch.cat(outputs).cpu().numpy()


def evaluate(model: nn.Module, data: TensorData, ctx: RunContext, batch_size: int = 1024, splits: tuple[str, ...] = ("val", "test")) -> dict[str, dict[str, float]]:
    """Every metric of the run on each split, and on the data's extra evaluation splits (MNLI mismatched)."""
    results: dict[str, dict[str, float]] = {}
    extra: dict[str, Split] = getattr(data, "extra", {})
    for name in (*splits, *extra):
        split: Split = extra[name] if name in extra else getattr(data, name)
        scores, labels = predict(model, split, ctx, batch_size), split.y.cpu().numpy()
        results[name] = {metric.name: metric(scores, labels) for metric in ctx.metrics}
    return results


def test_cases(model: nn.Module, data: TensorData, ctx: RunContext, batch_size: int = 1024) -> dict[str, list[float]]:
    """Per-case values on the test split of every metric that has them (challenge rankings use them)."""
    scores, labels = predict(model, data.test, ctx, batch_size), data.test.y.cpu().numpy()
    values = {metric.name: metric.per_case(scores, labels) for metric in ctx.metrics}
    return {name: v.tolist() for name, v in values.items() if v is not None}


def validation_accuracy(model: nn.Module, data: TensorData, ctx: RunContext, config: TrainConfig) -> float:
    """The default checkpoint criterion: accuracy on the validation split; a sample whose scores hold
    NaN or +inf (``registry.metrics.unrankable``) counts as wrong, so a diverged epoch is never kept."""
    scores = predict(model, data.val, ctx, config.eval_batch_size)
    correct = (scores.argmax(1) == data.val.y.cpu().numpy()) & ~unrankable(scores)
    return float(np.mean(correct))


def fit(
    model: nn.Module, data: TensorData, ctx: RunContext, loss_fn: LossFn, config: TrainConfig, description: str,
    select: Callable[[nn.Module], float] | None = None,
) -> FitResult:
    """Train ``model`` in place; on return it holds the weights of its best validation epoch by
    ``select(model)`` (higher is better; default: validation accuracy)."""
    select = select or (lambda m: validation_accuracy(m, data, ctx, config))
    generator = torch.Generator().manual_seed(ctx.seed)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(trainable, lr=config.lr, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.SGD(trainable, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(data.train) / config.batch_size)
    total = config.epochs * steps_per_epoch
    factor = {  # learning-rate multiplier at a given optimiser step
        "cosine": lambda step: 0.5 * (1 + math.cos(math.pi * step / total)),
        "constant": lambda step: 1.0,
        "step": lambda step: config.gamma ** (step // (config.step_epochs * steps_per_epoch)),
    }[config.schedule]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    best_state, result = copy.deepcopy(model.state_dict()), FitResult(best_epoch=-1, best_val_score=-math.inf)
    ctx.progress.start(description, total)
    try:
        for epoch in range(config.epochs):
            model.train()
            epoch_start = time.perf_counter()
            loss_sum = torch.zeros((), device=ctx.device)
            for index in batches(len(data.train), config.batch_size, generator):
                ctx.check()
                index = index.to(data.train.x.device)
                x = data.augment(data.train.x[index], generator)
                y = data.train.y[index]
                with autocast(ctx):
                    logits = model(x)
                    loss = loss_fn(epoch, x, logits.float(), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                loss_sum += loss.detach()
                ctx.progress.advance()
            mean_loss = loss_sum.item() / steps_per_epoch  # one device sync per epoch
            result.train_seconds += time.perf_counter() - epoch_start
            result.train_images += len(data.train)
            ctx.check_loss(mean_loss)
            score = select(model)
            result.history.append({"epoch": epoch, "loss": mean_loss, "val_score": score})
            if score > result.best_val_score:
                result.best_epoch, result.best_val_score = epoch, score
                best_state = copy.deepcopy(model.state_dict())
    finally:
        ctx.progress.stop()
    model.load_state_dict(best_state)
    return result
