"""Running a sweep: the driver side, whichever executor runs the runs (``runners.executors``).

A run whose ``ok`` record exists is skipped (``--force`` reruns it); a failed one is retried.
The executor (in this process by default, or Ray) executes the rest; as each run finishes, its
records are ingested into the store by this process alone, so the database is current even if
the sweep is killed; the next ``podium leaderboard`` ingests anything a kill left behind.

Sweeps of one results folder may run at the same time (two ``podium run``s of one spec, CI jobs
on a shared disk): just before a run starts, the driver claims it (``runners.claims``), and a run
another live process has claimed is skipped and reported as claimed by it, neither cached nor
failed. A run whose record another process wrote while this sweep went on is not run again.
"""
from __future__ import annotations

import contextlib
import errno
import time
from dataclasses import dataclass, field
from typing import Callable

from leaderboard.store import Store, StoreLocked, StoreUnusable, keep_published
from runners import claims
from runners.executors import Executor, Finished, Pending
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
    claimed: list[tuple[str, claims.Claim]] = field(default_factory=list)  # (run id, the claim of the process running it)

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
    if results.root.exists() and not results.root.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "a file, not a results folder", str(results.root))
    results.root.mkdir(parents=True, exist_ok=True)
    started = time.time()
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
    held: dict[str, claims.Claim] = {}

    def admit(item: Pending) -> bool:
        """Claim a run just before it starts; False, with its line, when another process holds it or ran it meanwhile."""
        folder = results.run_dir(item.run_id)
        got, claim = claims.acquire(folder, claims.stale_after(item.run.spec.timeout_s))
        line = (item.index, total, item.run.label, item.run.seed, item.run_id)
        if not got:
            outcome.claimed.append((item.run_id, claim))
            reporter.run_line(*line, "claimed", None, f"claimed by {claim.describe()}: it runs there")
            return False
        stored, path = results.read(item.run_id), results.record_path(item.run_id)
        fresh = stored is not None and path.stat().st_mtime >= started  # written by another process since this sweep began
        if stored is not None and (fresh or (stored.status == "ok" and not force)):
            claims.release(folder, claim)
            outcome.cached.append(item.run_id)
            reporter.run_line(*line, "cached", stored.duration_s, f"({stored.status} record written meanwhile by another process)")
            return False
        held[item.run_id] = claim
        return True

    try:
        with contextlib.closing(executor.run(pending, results, device, reporter, admit=admit)) as finished:
            for done in finished:
                _finished(done, results, reporter, outcome, retrying, total, warn)
                claim = held.pop(done.pending.run_id, None)  # its record is written: the run is no longer anyone's
                if claim is not None:
                    claims.release(results.run_dir(done.pending.run_id), claim)
    finally:  # interrupted, or an executor that could not start: runs that never finished are free again
        for identity, claim in held.items():
            with contextlib.suppress(OSError):
                claims.release(results.run_dir(identity), claim)
    if outcome.claimed:
        owners = sorted({claim.describe() for _, claim in outcome.claimed})
        count = f"{len(outcome.claimed)} run was" if len(outcome.claimed) == 1 else f"{len(outcome.claimed)} runs were"
        reporter.message(f"note: {count} claimed by other processes ({', '.join(owners)}); "
                         "not run here, their records appear when those finish")
    published = sorted({published_path(run.source, run.spec.published).resolve() for run in runs if run.spec.published})
    for path in published:  # the papers' numbers for these boards, kept in the folder and shown beside the runs
        keep_published(results.root, load_published(path), str(path))
    # records an earlier, killed sweep wrote but did not ingest, and the published tables
    _ingest(results, reporter, lambda store: store.sync(results.root, on_invalid=warn))
    return outcome


def _finished(done: Finished, results: ResultsDir, reporter: SweepReporter, outcome: SweepOutcome, retrying: set[str], total: int,
              warn: Callable[[str], None]) -> None:
    """A run the executor finished: its line, its side runs' lines, its records ingested."""
    record, extras, item = done.record, done.extras, done.pending
    outcome.ran.append(record)
    note = record.error or ("retrying a failed run" if item.run_id in retrying else "")
    reporter.run_line(item.index, total, item.run.label, item.run.seed, item.run_id, record.status, record.duration_s, note)
    for extra in extras:
        reporter.message(f"      + {extra.method} {extra.model} seed={extra.seed}: record {extra.run_id} ({extra.duration_s:.1f}s)")
    written = [(r, _stored_mtime(results, r)) for r in (record, *extras)]
    files = {r.run_id: results.record_path(r.run_id) for r in (record, *extras)}
    _ingest(results, reporter, lambda store, rows=written, files=files: store.ingest(rows, on_invalid=warn, files=files))


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
