"""Running a sweep: the driver side, whichever executor runs the runs (``runners.executors``).

A run whose ``ok`` record exists is skipped (``--force`` reruns it); a failed one is retried.
The executor (in this process by default, or Ray) executes the rest; as each run finishes, its
records are ingested into the store by this process alone, so the database is current even if
the sweep is killed; the next ``podium leaderboard`` ingests anything a kill left behind.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

from leaderboard.store import Store, StoreLocked, StoreUnusable, keep_published
from runners.executors import Executor, Pending
from runners.executors.local import LocalExecutor
from runners.identity import run_id
from runners.progress import SweepReporter
from runners.records import ResultsDir
from specs.loader import RunSpec, published_path
from specs.published import load_published
from specs.record import RunRecord


@dataclass
class SweepOutcome:
    ran: list[RunRecord] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[RunRecord]:
        return [r for r in self.ran if r.status == "failed"]


def run_sweep(
    runs: list[RunSpec], results: ResultsDir, force: bool = False, device: str | None = None, reporter: SweepReporter | None = None,
    executor: Executor | None = None,
) -> SweepOutcome:
    """Execute every run that has no ``ok`` record yet (all of them with ``force``) on ``executor`` (default: local)."""
    reporter = reporter or SweepReporter()
    executor = executor or LocalExecutor()
    outcome = SweepOutcome()
    total = len(runs)
    warned: set[str] = set()

    def warn(message: str) -> None:  # once per sweep: the closing sync meets a refused record again
        if message not in warned:
            warned.add(message)
            reporter.message(f"warning: skipped {message}")

    pending: list[Pending] = []
    queued: set[str] = set()
    retrying: set[str] = set()
    for index, run in enumerate(runs, start=1):
        identity = run_id(run)
        if identity in queued:  # the same run listed twice: once is enough
            continue
        stored = results.read(identity)
        if stored is not None and stored.status == "ok" and not force:
            outcome.cached.append(identity)
            reporter.run_line(index, total, run.label, run.seed, identity, "cached", stored.duration_s, "(record exists; --force reruns)")
            continue
        if stored is not None and stored.status == "failed":
            retrying.add(identity)
        pending.append(Pending(index, run, identity))
        queued.add(identity)
    with contextlib.closing(executor.run(pending, results, device, reporter)) as finished:
        for done in finished:
            record, extras, item = done.record, done.extras, done.pending
            outcome.ran.append(record)
            note = record.error or ("retrying a failed run" if item.run_id in retrying else "")
            reporter.run_line(item.index, total, item.run.label, item.run.seed, item.run_id, record.status, record.duration_s, note)
            for extra in extras:
                reporter.message(f"      + {extra.method} {extra.model} seed={extra.seed}: record {extra.run_id} ({extra.duration_s:.1f}s)")
            written = [(r, _stored_mtime(results, r)) for r in (record, *extras)]
            files = {r.run_id: results.record_path(r.run_id) for r in (record, *extras)}
            _ingest(results, reporter, lambda store, rows=written, files=files: store.ingest(rows, on_invalid=warn, files=files))
    published = sorted({published_path(run.source, run.spec.published).resolve() for run in runs if run.spec.published})
    for path in published:  # the papers' numbers for these boards, kept in the folder and shown beside the runs
        keep_published(results.root, load_published(path), str(path))
    # records an earlier, killed sweep wrote but did not ingest, and the published tables
    _ingest(results, reporter, lambda store: store.sync(results.root, on_invalid=warn))
    return outcome


def _stored_mtime(results: ResultsDir, record: RunRecord) -> float:
    """When a record file was written; an executor's worker that could not reach this results
    folder (no shared filesystem) returned its record, and it is written here."""
    path = results.record_path(record.run_id)
    if not path.is_file():
        results.write(record)
    return path.stat().st_mtime


def _ingest(results: ResultsDir, reporter: SweepReporter, write: Callable[[Store], object]) -> None:
    """Open the store, ``write`` to it, close it. A store that cannot be opened here costs nothing:
    the records are safe on disk and the next command that reads the store ingests them."""
    try:
        with Store(results.database) as store:
            write(store)
            if store.notice:
                reporter.message(store.notice)
    except (StoreLocked, StoreUnusable) as err:
        reporter.message(f"note: {err}; records stay on disk and are ingested later")
