"""The run context: deadline and loss checks, and data-loader workers seeded from the run seed."""
import random
import time

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from registry.context import NonFiniteLoss, RunContext, RunTimeout
from specs.schema import Component


class Noisy(Dataset):
    """Each item draws from Python's, NumPy's and torch's generators inside the worker."""

    def __len__(self) -> int:
        return 16

    def __getitem__(self, index: int):
        return torch.tensor([index, random.random(), np.random.rand(), torch.rand(()).item()], dtype=torch.float64)


def context(seed: int, deadline: float | None = None) -> RunContext:
    part = Component(name="x")
    return RunContext(seed=seed, device=torch.device("cpu"), data=None, model=part, dataset=part, metrics=[],
                      cache_dir=None, run_dir=None, deadline=deadline)


def draw(seed: int) -> torch.Tensor:
    loader = DataLoader(Noisy(), batch_size=4, shuffle=True, num_workers=2, **context(seed).loader_kwargs())
    return torch.cat(list(loader))


def test_loader_workers_follow_the_run_seed():
    first, again, other = draw(0), draw(0), draw(1)
    assert torch.equal(first, again)
    assert not torch.equal(first[:, 0], other[:, 0])  # shuffling follows the seed
    assert not torch.equal(first[:, 1:], other[:, 1:])  # and so do the workers' generators
    assert first[:, 1].unique().numel() == 16  # workers do not repeat each other's draws


def test_checks_raise_on_deadline_and_non_finite_loss():
    ctx = context(0, deadline=time.monotonic() - 1)
    with pytest.raises(RunTimeout):
        ctx.check()
    context(0, deadline=time.monotonic() + 60).check()
    with pytest.raises(NonFiniteLoss):
        ctx.check_loss(float("inf"))
    ctx.check_loss(0.5)
