"""A test-only task, registered from a plugin file (``podium --plugin tests/runners/counted_task.py``):
each execution appends one line (pid and seed) to its ``marker`` file and sleeps, so a test can
count how many times runs really executed across processes."""
from __future__ import annotations

import os
import time

from registry import TASKS
from registry.context import RunContext, TaskResult


@TASKS.register("test_counted")
def counted(ctx: RunContext, *, marker: str, seconds: float = 0.5) -> TaskResult:
    """Appends ``<pid> <seed>`` to ``marker``, sleeps ``seconds``, reports an accuracy."""
    with open(marker, "a", encoding="utf-8") as handle:  # O_APPEND: whole lines from every process
        handle.write(f"{os.getpid()} {ctx.seed}\n")
    time.sleep(seconds)
    return TaskResult({"test": {"accuracy": 0.5 + ctx.seed / 100}})
