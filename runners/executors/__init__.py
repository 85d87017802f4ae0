"""Executors: where the pending runs of a sweep execute (``podium run --executor NAME``).

The sweep driver (``runners.sweep.run_sweep``) decides which runs are pending (run identity,
cached records, ``--force``), prints their progress lines and is the only writer of the DuckDB
store. An executor only executes: it takes the pending runs and yields each one as it finishes,
with its records already written under the results folder; just before it starts a run it asks the
driver's ``admit`` (the driver claims the run, so concurrent sweeps run each run once).

Each module of this package is one executor, named after the module (``local``, ``ray``); it
defines ``create(*, address=None, max_parallel=None) -> Executor``. Another engine (Dask, Slurm
through submitit) is one more file here. Importing this package imports neither torch nor an engine.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runners.progress import SweepReporter
    from runners.records import ResultsDir
    from specs.loader import RunSpec
    from specs.record import RunRecord


class ExecutorError(Exception):
    """An executor cannot start (its engine is not installed, a cluster is unreachable, an option
    it does not take, resources no machine has): nothing ran, the command line exits 2."""


@dataclass(frozen=True)
class Pending:
    """A run the driver wants executed: its position in the sweep (for progress lines) and identity."""

    index: int
    run: RunSpec
    run_id: str


@dataclass(frozen=True)
class Finished:
    """A pending run once executed: its record (``ok`` or ``failed``) and its side runs' records (teachers)."""

    pending: Pending
    record: RunRecord
    extras: list[RunRecord] = field(default_factory=list)


class Executor(Protocol):
    """Executes runs; the one method an engine implements."""

    def run(
        self, pending: Sequence[Pending], results: ResultsDir, device: str | None, reporter: SweepReporter,
        admit: Callable[[Pending], bool] | None = None,
    ) -> Iterator[Finished]:
        """Execute every pending run (``device`` overrides the specs'); yield each as it finishes, in
        any order, its records written under ``results``. A run that cannot finish is yielded with a
        ``failed`` record. Closing the iterator early (Ctrl-C) stops what is still running.

        ``admit`` is the driver's claim on a run (``runners.claims``): call it just before a run
        starts (or is submitted), and skip the run, yielding nothing for it, when it returns False
        (another process holds it or has just run it; the driver has said so)."""
        ...


def names() -> list[str]:
    """The executors there are: the modules of this package."""
    return sorted(module.name for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_"))


def create(name: str, **options: Any) -> Executor:
    """The executor ``name`` set up with the command line's options (``address``, ``max_parallel``)."""
    if name not in names():
        raise ExecutorError(f"unknown executor {name!r} (there are: {', '.join(names())})")
    return importlib.import_module(f"{__name__}.{name}").create(**options)
