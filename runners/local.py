"""The local executor: runs a sweep one run after another in this process.

A run whose ``ok`` record exists is skipped (``--force`` reruns it); a failed one is retried.
After each run its records are ingested into the store, so the database is current even if the
sweep is killed; the next ``podium leaderboard`` ingests anything a kill left behind.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from leaderboard.store import Store, StoreLocked
from runners.execute import DataCache, execute
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


def run_sweep(runs: list[RunSpec], results: ResultsDir, force: bool = False, device: str | None = None, reporter: SweepReporter | None = None) -> SweepOutcome:
    """Execute every run that has no ``ok`` record yet (all of them with ``force``)."""
    reporter = reporter or SweepReporter()
    outcome = SweepOutcome()
    data_cache = DataCache(results.cache / "data", results.root)
    total = len(runs)
    for index, run in enumerate(runs, start=1):
        identity = run_id(run)
        stored = results.read(identity)
        if stored is not None and stored.status == "ok" and not force:
            outcome.cached.append(identity)
            reporter.run_line(index, total, run.label, run.seed, identity, "cached", stored.duration_s, "(record exists; --force reruns)")
            continue
        note = "retrying a failed run" if stored is not None and stored.status == "failed" else ""
        record, extras = execute(run, results, device, reporter.bar(), data_cache)
        outcome.ran.append(record)
        note = record.error or note
        reporter.run_line(index, total, run.label, run.seed, identity, record.status, record.duration_s, note)
        for extra in extras:
            reporter.message(f"      + {extra.method} {extra.model} seed={extra.seed}: record {extra.run_id}")
        _ingest(results, reporter, lambda store: store.ingest((r, results.record_path(r.run_id).stat().st_mtime) for r in (record, *extras)))
    # records an earlier, killed sweep wrote but did not ingest
    _ingest(results, reporter, lambda store: store.sync(results.root, on_invalid=lambda m: reporter.message(f"warning: skipped {m}")))
    published = sorted({published_path(run.source, run.spec.published).resolve() for run in runs if run.spec.published})
    for path in published:  # the papers' numbers for these boards, shown beside the runs
        _ingest(results, reporter, lambda store, p=path: store.ingest_published(load_published(p), str(p)))
    return outcome


def _ingest(results: ResultsDir, reporter: SweepReporter, write: Callable[[Store], object]) -> None:
    try:
        with Store(results.database) as store:
            write(store)
    except StoreLocked as err:  # the records are safe on disk; the next leaderboard ingests them
        reporter.message(f"note: {err}; records stay on disk and are ingested later")
