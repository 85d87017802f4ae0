"""Seeding every generator a run touches, for reproducible (on the CPU: bit-identical) runs.

Data-loader workers are seeded through ``RunContext.loader_kwargs`` (registry/context.py), which
tasks hand to any torch ``DataLoader`` they build.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Fix Python, NumPy and torch (CPU and CUDA) generators, and ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
