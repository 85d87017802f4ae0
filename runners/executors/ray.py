"""The Ray executor: every pending run of a sweep becomes a Ray task with the resources its spec asks for.

``podium run SPEC --executor ray [--address ADDR] [--max-parallel N]`` (``pip install 'podium[ray]'``).

- Without ``--address`` it starts a local Ray instance on this machine's CPUs and GPUs and shuts
  it down at the end; with one it joins that cluster (``ray start --head`` on one node,
  ``ray start --address=HEAD:6379`` on the others) and leaves it running.
- A task runs ``runners.execute.execute``, as the local executor does: it writes the run's record
  (and a teacher's) under the results folder and returns them to the driver, which ingests them
  into DuckDB, so the database never has a second writer. Across nodes the results folder must be
  a shared filesystem mounted at the same path everywhere, because runs share its ``cache/``
  (datasets, trained teachers); a record the driver cannot see (no shared filesystem) it writes
  itself. Each node needs the project installed (``pip install -e '.[ray]'``); tasks work in the
  driver's working directory where it exists, so relative paths in specs mean what they do locally.
- Resources per task: the spec's ``resources`` (``{cpus: 4, gpus: 1}``); unset, one CPU, and one
  GPU when the run's device is CUDA (``auto``: when the cluster has GPUs). A task runs torch with
  one thread per CPU it holds, so parallel runs do not oversubscribe the cores.
- The driver claims each run just before it submits its task (``runners.claims``), so a run another
  sweep of the same results folder is running is not submitted twice.
- At most ``--max-parallel`` tasks are in flight (default: as many as the cluster's resources hold
  at the start), so "running" in the progress line means running, and Ctrl-C cancels few.
- A worker that dies (a crash, the OOM killer, a lost node, a cancelled task) cannot write its
  run's record: the driver writes a ``failed`` record with Ray's reason and the sweep goes on.
  Tasks are not retried by Ray; a failed run is retried by the next sweep, as locally.
"""
from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any

from runners.execute import DataCache, execute, failed_record, torch_threads
from runners.executors import ExecutorError, Finished, Pending
from runners.progress import SweepReporter
from runners.records import ResultsDir
from specs.loader import RunSpec
from specs.record import RunRecord

INSTALL = "pip install 'podium[ray]'"


class RayExecutor:
    """Runs the pending runs as Ray tasks on a local instance or a cluster."""

    def __init__(self, address: str | None = None, max_parallel: int | None = None, **init_options: Any):
        self.address = address
        self.max_parallel = max_parallel
        self.init_options = init_options  # extra ``ray.init`` arguments for a local instance (tests: _temp_dir)

    def run(
        self, pending: Sequence[Pending], results: ResultsDir, device: str | None, reporter: SweepReporter,
        admit: Callable[[Pending], bool] | None = None,
    ) -> Iterator[Finished]:
        """Submit the runs as tasks, at most ``max_parallel`` at a time, each once the driver's
        ``admit`` has claimed it (just before it is submitted); yield each as it finishes."""
        import ray
        from ray.exceptions import RayError

        if not pending:
            return
        started = self._connect(ray)
        in_flight: dict[Any, tuple[Pending, str, float]] = {}
        try:
            totals = ray.cluster_resources()
            requests = [task_resources(item.run, device, totals.get("GPU", 0.0)) for item in pending]
            self._check_fits(requests, totals, reporter, strict=started)
            limit = self.max_parallel or capacity(requests, totals)
            work = ray.remote(_work)
            queue = deque(zip(pending, requests))
            root, cwd = str(results.root.resolve()), os.getcwd()
            done = failed = 0
            while queue or in_flight:
                while queue and len(in_flight) < limit:
                    item, wanted = queue.popleft()
                    if admit is not None and not admit(item):
                        continue  # another process holds it, or ran it meanwhile
                    options = {**wanted, "max_retries": 0, "name": f"podium {item.run.label} seed={item.run.seed}"}
                    if wanted["num_gpus"] > 0:
                        options["max_calls"] = 1  # a fresh process per GPU run: frees its GPU memory, sees its own device
                    ref = work.options(**options).remote(item.run, root, device, wanted["num_cpus"], cwd)
                    in_flight[ref] = (item, datetime.now(timezone.utc).isoformat(), time.monotonic())
                reporter.counts(len(queue), len(in_flight), done, failed)
                if not in_flight:
                    continue  # every run left was claimed elsewhere
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)  # a timeout keeps Ctrl-C responsive
                for ref in ready:
                    item, started_at, submitted = in_flight.pop(ref)
                    try:
                        record, extras = ray.get(ref)
                    except RayError as err:  # the worker died before it could store the run's outcome
                        record, extras = _lost(item.run, err, results, started_at, time.monotonic() - submitted, device), []
                    done, failed = (done + 1, failed) if record.status == "ok" else (done, failed + 1)
                    yield Finished(item, record, extras)
            reporter.counts(0, 0, done, failed)
        finally:
            reporter.stop_counts()
            for ref in in_flight:  # interrupted: stop what still runs; a killed run leaves no record
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Join the cluster at ``address`` or start a local instance; True when this call started Ray."""
        if ray.is_initialized():  # the caller's own session (tests, notebooks): use it, leave it running
            return False
        options: dict[str, Any] = {"logging_level": logging.WARNING}
        if self.address:
            options["address"] = self.address
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a local benchmark does not report home
            options.update(include_dashboard=False, **self.init_options)
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as err:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise ExecutorError(f"cannot start {where}: {err}") from None
        return True

    def _check_fits(self, requests: list[dict[str, float]], totals: dict[str, float], reporter: SweepReporter, strict: bool) -> None:
        """Refuse runs that no machine of a local instance can hold (Ray would wait for them forever)."""
        cpus, gpus = totals.get("CPU", 0.0), totals.get("GPU", 0.0)
        most_cpus = max(r["num_cpus"] for r in requests)
        most_gpus = max(r["num_gpus"] for r in requests)
        if most_cpus <= cpus and most_gpus <= gpus:
            return
        message = (
            f"a run asks for {most_cpus:g} CPUs and {most_gpus:g} GPUs but the Ray cluster has {cpus:g} CPUs and {gpus:g} GPUs "
            "(set the spec's resources, or --device cpu)"
        )
        if strict:
            raise ExecutorError(message)
        reporter.message(f"warning: {message}; its tasks wait until the cluster grows")


def task_resources(run: RunSpec, device: str | None, cluster_gpus: float) -> dict[str, float]:
    """The Ray resources of one run's task: the spec's ``resources``, else one CPU and a GPU for a CUDA device."""
    wanted = run.spec.resources
    gpus = wanted.gpus
    if gpus is None:
        label = device or run.spec.device
        gpus = 1.0 if label.startswith("cuda") or (label == "auto" and cluster_gpus > 0) else 0.0
    return {"num_cpus": 1.0 if wanted.cpus is None else wanted.cpus, "num_gpus": gpus}


def capacity(requests: list[dict[str, float]], totals: dict[str, float]) -> int:
    """How many of these tasks the cluster holds at once (sized by the largest request)."""
    fits = totals.get("CPU", 0.0) / max(r["num_cpus"] for r in requests)
    most_gpus = max(r["num_gpus"] for r in requests)
    if most_gpus > 0:
        fits = min(fits, totals.get("GPU", 0.0) / most_gpus)
    return max(1, int(fits))


def _lost(run: RunSpec, err: Exception, results: ResultsDir, started_at: str, duration_s: float, device: str | None) -> RunRecord:
    """The failed record the driver stores for a run whose worker died, with Ray's reason."""
    cause = getattr(err, "cause", None)  # RayTaskError: what the task itself raised
    shown = cause if isinstance(cause, BaseException) else err
    lines = str(shown).strip().splitlines()
    reason = f"{type(shown).__name__}: {lines[0]}" if lines else type(shown).__name__
    record = failed_record(run, reason, results, details=str(err), started_at=started_at, duration_s=duration_s, device=device or run.spec.device)
    results.write(record)
    return record


_data_caches: dict[str, DataCache] = {}  # per worker process: runs of a sweep that share a dataset load it once


def _work(run: RunSpec, root: str, device: str | None, cpus: float, cwd: str) -> tuple[RunRecord, list[RunRecord]]:
    """The Ray task: one run, executed and recorded exactly as the local executor does it, with one
    torch thread per CPU the task holds."""
    if os.path.isdir(cwd):
        os.chdir(cwd)
    results = ResultsDir(root)
    cache = _data_caches.setdefault(root, DataCache(results.cache / "data", results.root))
    with torch_threads(cpus):
        return execute(run, results, device, None, cache)


def create(*, address: str | None = None, max_parallel: int | None = None) -> RayExecutor:
    """The Ray executor, or ExecutorError with the install command when Ray is missing."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ExecutorError(f"--executor ray needs Ray, which is not installed: {INSTALL}") from None
    if max_parallel is not None and max_parallel < 1:
        raise ExecutorError(f"--max-parallel {max_parallel}: expected at least 1")
    return RayExecutor(address, max_parallel)
