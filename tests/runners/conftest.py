"""Tasks that misbehave on purpose, registered for the duration of a test."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from registry import TASKS, load_all
from registry.context import RunContext, TaskResult


def _raises(ctx: RunContext, *, message: str = "boom") -> TaskResult:
    """Raises."""
    raise RuntimeError(message)


def _nan_loss(ctx: RunContext) -> TaskResult:
    """Reports a NaN training loss."""
    ctx.check_loss(float("nan"))
    return TaskResult({})


def _sleeps(ctx: RunContext, *, seconds: float = 5.0, cooperative: bool = True) -> TaskResult:
    """Sleeps, checking the deadline (or not, to exercise the SIGALRM backstop)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cooperative:
            ctx.check()
        time.sleep(0.01)
    return TaskResult({"test": {"accuracy": 1.0}})


@pytest.fixture
def misbehaving_tasks():
    load_all()
    names = {"test_raises": _raises, "test_nan_loss": _nan_loss, "test_sleeps": _sleeps}
    for name, fn in names.items():
        TASKS.register(name)(fn)
    yield names
    for name in names:
        TASKS._entries.pop(name, None)


def write_spec(folder: Path, data: dict, name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def digits_spec(**task_params) -> dict:
    """A quick digits run: a tiny student, a couple of epochs."""
    params = {"method": "student_only", "epochs": 2, "lr": 0.05, "batch_size": 64, **task_params}
    return {
        "name": "quick-digits",
        "track": "kd",
        "dataset": {"name": "digits"},
        "model": {"name": "small_cnn", "params": {"width": 4}},
        "task": {"name": "distillation", "params": params},
        "metrics": ["accuracy", "macro_f1"],
        "seeds": [0],
        "device": "cpu",
    }
