"""What a task is handed by the runner, and what it hands back.

The runner builds a ``RunContext`` (seeded, on its device, with a deadline) and calls the task;
the task returns a ``TaskResult``. Keeping both here lets tasks stay ignorant of runners.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch

from specs.schema import Component


class RunTimeout(Exception):
    """The run passed its ``timeout_s``."""


class NonFiniteLoss(Exception):
    """The training loss became NaN or infinite."""


class Progress(Protocol):
    """Live progress inside a run (epochs or batches); the runner supplies a rich bar or nothing."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self, steps: int = 1) -> None: ...

    def stop(self) -> None: ...


class NoProgress:
    def start(self, description: str, total: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def stop(self) -> None:
        pass


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn``: each worker seeds Python and NumPy from its torch seed, which torch
    derives from the loader's generator and the worker id."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


@dataclass
class RunContext:
    """Everything a task needs from the harness for one run."""

    seed: int
    device: torch.device
    data: Any  # what the dataset entry returned
    model: Component  # the model being ranked; build it with ``build_model``
    dataset: Component
    metrics: list[Any]  # built metric objects (see registry.metrics)
    cache_dir: Path  # shared artifacts across runs (e.g. trained teachers)
    run_dir: Path  # this run's own artifacts
    deadline: float | None = None  # time.monotonic() value
    progress: Progress = field(default_factory=NoProgress)
    build_model: Callable[[Component], Any] | None = None  # a torch module, or e.g. a scikit-learn estimator

    def check(self) -> None:
        """Raise ``RunTimeout`` once the deadline has passed (call it every batch)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise RunTimeout("run exceeded its timeout_s")

    def check_loss(self, loss: float) -> None:
        """Raise ``NonFiniteLoss`` on a NaN or infinite loss."""
        if not math.isfinite(loss):
            raise NonFiniteLoss(f"training loss became {loss}")

    def loader_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a torch ``DataLoader`` that tie its shuffling and its workers'
        Python, NumPy and torch generators to the run's seed."""
        return {"generator": torch.Generator().manual_seed(self.seed), "worker_init_fn": seed_worker}

    @property
    def use_amp(self) -> bool:
        """Mixed precision (bf16 autocast) on CUDA; full precision, deterministic, on the CPU."""
        return self.device.type == "cuda"


@dataclass
class ExtraRun:
    """A run a task performed on the side and whose metrics deserve their own record (a teacher)."""

    run_id: str
    model: Component
    method: str
    task_params: dict[str, Any]
    metrics: dict[str, dict[str, float]]
    duration_s: float
    seed: int  # the side run's own seed (a teacher shared by a sweep's seeds has one)
    trained_here: bool = False  # done inside this run (not loaded from the cache): its time is not the run's
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskResult:
    """Metrics per split (``{"val": {...}, "test": {...}}``), extras for the record, side runs."""

    metrics: dict[str, dict[str, float]]
    info: dict[str, Any] = field(default_factory=dict)
    extra_runs: list[ExtraRun] = field(default_factory=list)
    higher_is_better: dict[str, bool] = field(default_factory=dict)  # directions of values no metric entry made
    bounds: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # and their ranges
    cases: dict[str, list[float]] = field(default_factory=dict)  # metric -> value per test case
