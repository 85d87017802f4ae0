"""Tasks that fail on a Ray worker on purpose; Ray's ``worker_process_setup_hook`` registers them in each worker."""
from __future__ import annotations

import os

from registry import TASKS, load_all
from registry.context import RunContext, TaskResult

NAMES = ("ray_test_raises", "ray_test_exits")


def _raises(ctx: RunContext) -> TaskResult:
    """Raises inside the worker."""
    raise RuntimeError("boom on a worker")


def _exits(ctx: RunContext) -> TaskResult:
    """Kills its worker process, as a segfault or the OOM killer would."""
    os._exit(3)


def register() -> None:
    """Register the tasks in this process (idempotent)."""
    load_all()
    for name, fn in zip(NAMES, (_raises, _exits)):
        TASKS._entries.pop(name, None)
        TASKS.register(name)(fn)


def unregister() -> None:
    for name in NAMES:
        TASKS._entries.pop(name, None)
