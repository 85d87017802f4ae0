"""Progress: one line per run (name, seed, status, time), and a live bar inside a run (rich).

The live bar appears only on a terminal; in CI logs and pipes only the per-run lines are printed.
A parallel executor also reports how many runs are pending, running, done and failed: a live
line on a terminal, a plain line whenever the counts change otherwise.
"""
from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.status import Status

from registry.context import NoProgress
from registry.context import Progress as ProgressHook

STATUS_STYLE = {"ok": "green", "failed": "bold red", "cached": "dim", "retry": "yellow", "claimed": "cyan"}


class LiveBar:
    """A transient rich bar for the batches of one training phase."""

    def __init__(self, console: Console):
        self._progress = Progress(
            TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console, transient=True,
        )
        self._task: int | None = None

    def start(self, description: str, total: int) -> None:
        if self._task is None:
            self._progress.start()
        else:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, steps)

    def stop(self) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
            self._progress.stop()
            self._task = None


class SweepReporter:
    """Prints what a sweep does; hands tasks a live bar when the output is a terminal."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        stream = stream or sys.stdout
        self.console = Console(file=stream, highlight=False, soft_wrap=True)
        self.live = stream.isatty() if live is None else live
        self._counts: Status | None = None
        self._last_counts = ""

    def bar(self) -> ProgressHook:
        return LiveBar(self.console) if self.live else NoProgress()

    def run_line(self, index: int, total: int, label: str, seed: int, run_id: str, status: str, seconds: float | None = None, note: str = "") -> None:
        style = STATUS_STYLE.get(status, "")
        timing = f"{seconds:7.1f}s" if seconds is not None else " " * 8
        detail = f"  {note}" if note else ""
        line = f"[{index}/{total}] {escape(label)} seed={seed} [{style}]{status:>6}[/] {timing}  {run_id}{escape(detail)}"
        self.console.print(escape(f"[{index}/{total}]") + line[len(f"[{index}/{total}]"):], markup=True)

    def message(self, text: str) -> None:
        self.console.print(text, markup=False)

    def counts(self, pending: int, running: int, done: int, failed: int) -> None:
        """Where a parallel sweep stands (done: finished ok)."""
        text = f"runs: {pending} pending, {running} running, {done} done, {failed} failed"
        if text == self._last_counts:
            return
        self._last_counts = text
        if not self.live:
            self.console.print(f"      {text}", markup=False)
        elif self._counts is None:
            self._counts = self.console.status(text)
            self._counts.start()
        else:
            self._counts.update(text)

    def stop_counts(self) -> None:
        """End the live counts line (a sweep finished or was interrupted)."""
        if self._counts is not None:
            self._counts.stop()
            self._counts = None
        self._last_counts = ""
