"""Turning a run's data into the tensors a model takes: text is tokenised with the model's own
tokenizer (cached per tokenizer and dataset), everything else is used as the dataset gave it."""
from __future__ import annotations

from typing import Any

import numpy as np
from torch.nn import functional as F

from registry.context import RunContext
from registry.datasets.tensors import TensorData
from registry.datasets.text import TextData, encode


def model_inputs(ctx: RunContext, model: Any) -> TensorData:
    """``ctx.data`` ready for ``model`` on the run's device."""
    if not isinstance(ctx.data, TextData):
        return ctx.data
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise ValueError(f"{ctx.dataset.name} is text, but model {ctx.model.name!r} has no tokenizer (use a text model)")
    return encode(ctx.data, tokenizer, model.max_length, ctx.cache_dir / "data").to(ctx.device)


def same_tokenizer(teacher: Any, student: Any) -> None:
    """Distillation feeds one token sequence to both models, so they must share a tokenizer."""
    ids = getattr(teacher, "tokenizer", None), getattr(student, "tokenizer", None)
    if all(t is not None for t in ids) and ids[0].identity != ids[1].identity:
        raise ValueError(
            f"teacher and student tokenise differently ({ids[0].identity} vs {ids[1].identity}); "
            "distil between models that share a tokenizer (e.g. give tiny_transformer the teacher's tokenizer)"
        )


def is_regression(data: TensorData) -> bool:
    """One output and float targets: a regression task such as STS-B."""
    return data.num_classes == 1 or data.val.y.is_floating_point()  # val: train may carry a teacher's logits beside its labels


def supervised_loss(data: TensorData):
    """Cross entropy for classes, mean squared error for a regression score."""
    if is_regression(data):
        return lambda _e, _x, logits, y: F.mse_loss(logits[:, 0], y.float())
    return lambda _e, _x, logits, y: F.cross_entropy(logits, y)


def selection(data: TensorData, ctx: RunContext, batch_size: int):
    """The checkpoint criterion on validation: accuracy for classes, Pearson correlation for a score."""
    from registry.tasks.training import predict

    if not is_regression(data):
        return None  # fit's default: validation accuracy

    def pearson(model) -> float:
        scores = predict(model, data.val, ctx, batch_size)[:, 0].astype(float)
        value = np.corrcoef(scores, data.val.y.cpu().numpy().astype(float))[0, 1]
        return float(value) if np.isfinite(value) else -1.0  # constant predictions: the worst

    return pearson
