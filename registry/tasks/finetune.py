"""Fine-tuning a pretrained model, fully or parameter-efficiently: ``full`` (every weight), ``head``
(the task head only), ``lora`` (Hu et al. 2021), ``krona`` and its parallel variants ``krona_b`` and
``krona_b_res`` (Edalati et al. 2022; ../shared/papers/krona_lora.md).

Adapters wrap the named modules and only they (and the head) train; for evaluation they are
merged into the base weights, so inference costs what the base model costs. The share of
trainable parameters is stored as the metric ``trainable_pct`` beside the scores.
"""
from __future__ import annotations

from typing import Literal

import torch
from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from registry.context import RunContext, TaskResult
from registry.core import TASKS
from registry.models.adapters import apply_adapters, merge_adapters
from registry.params import Momentum, NonEmptyList
from registry.targets import Accepts
from registry.tasks.inputs import model_inputs, selection, supervised_loss
from registry.tasks.training import Optimizer, Schedule, TrainConfig, evaluate, fit, predict, test_cases

Method = Literal["full", "head", "lora", "krona", "krona_b", "krona_b_res"]
DEFAULT_TARGETS = {"lora": ["query", "value"], "krona": ["query", "value"], "krona_b": ["ffn"], "krona_b_res": ["ffn"]}


def _freeze_all_but_head(model: torch.nn.Module) -> None:
    head = getattr(model, "head", None)
    if not isinstance(head, torch.nn.Module):
        raise ValueError(f"method 'head' needs a model with a .head module; {type(model).__name__} has none")
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for parameter in head.parameters():
        parameter.requires_grad_(True)


@TASKS.register("finetune", accepts=Accepts({"classes", "regression"}))
def finetune(
    ctx: RunContext,
    *,
    method: Method = "full",
    targets: NonEmptyList[str] | None = None,
    rank: PositiveInt = 8,
    alpha: PositiveFloat = 16.0,
    krona_shape: tuple[PositiveInt, PositiveInt] | None = None,
    scale: PositiveFloat = 1.0,
    residual_scale: float = 1.0,
    epochs: PositiveInt = 3,
    lr: PositiveFloat = 1e-3,
    batch_size: PositiveInt = 32,
    optimizer: Optimizer = "adam",
    weight_decay: NonNegativeFloat = 0.0,
    momentum: Momentum = 0.9,
    schedule: Schedule = "constant",
) -> TaskResult:
    """Fine-tune the model (full, head only, or through LoRA/KronA adapters); scores of the merged model.

    ``targets`` names the modules to adapt (LoRA and KronA: query and value projections; KronA^B:
    the feed-forward blocks); ``rank``/``alpha`` are LoRA's, ``krona_shape`` (a1, a2) and ``scale``
    KronA's, ``residual_scale`` KronA^B_res's."""
    assert ctx.build_model is not None
    model = ctx.build_model(ctx.model).to(ctx.device)
    data = model_inputs(ctx, model)
    total = sum(p.numel() for p in model.parameters())
    info: dict = {"method": method}
    if method == "head":
        _freeze_all_but_head(model)
    elif method != "full":
        settings = {
            "lora": {"rank": rank, "alpha": alpha},
            "krona": {"a_shape": krona_shape, "scale": scale},
            "krona_b": {"a_shape": krona_shape, "scale": scale},
            "krona_b_res": {"a_shape": krona_shape, "scale": scale, "residual_scale": residual_scale},
        }[method]
        report = apply_adapters(model, method, targets or DEFAULT_TARGETS[method], **settings)
        model.to(ctx.device)
        info["adapted"] = report.adapted
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    config = TrainConfig(epochs, lr, batch_size, weight_decay, momentum, schedule, optimizer)
    history = fit(model, data, ctx, supervised_loss(data), config, f"{method} {ctx.model.name}", select=selection(data, ctx, config.eval_batch_size))
    if method not in ("full", "head"):
        before = predict(model, data.val, ctx, config.eval_batch_size)
        merge_adapters(model)
        after = predict(model, data.val, ctx, config.eval_batch_size)
        info["merge_max_abs_diff"] = float(abs(after - before).max())  # merged == unmerged, up to rounding
    metrics = evaluate(model, data, ctx, config.eval_batch_size)
    fraction = 100.0 * trainable / total  # adapter and head parameters over the base model's
    for values in metrics.values():
        values["trainable_pct"] = fraction
    info.update(trainable_params=trainable, base_params=total, best_epoch=history.best_epoch, history=history.history)
    cases = test_cases(model, data, ctx, config.eval_batch_size)  # per test sentence, for challenge rankings
    return TaskResult(metrics, info, higher_is_better={"trainable_pct": False}, bounds={"trainable_pct": (0.0, 100.0)}, cases=cases)
