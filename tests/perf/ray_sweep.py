"""A sweep of many short digits runs on the local executor and on Ray with 2 workers.

    .venv/bin/python tests/perf/ray_sweep.py [--runs 40] [--epochs 20] [--workers 2]

Each run trains the small digits CNN alone (about half a second at 20 epochs) with one torch
thread (``resources: {cpus: 1}``), so both executors do the same work and give the same records.
Prints the wall time of each sweep and the speed-up, the once-per-sweep costs of Ray (starting
the instance, starting workers that import torch, shutting down), and two measures of Ray's
per-run scheduling overhead on warm workers: the round trip of a trivial task, and what a sweep
spends per run beyond the runs themselves, (workers x wall - sum of run durations) / runs,
beside the same measure for the local executor.
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import ray

from runners.executors.ray import RayExecutor
from runners.sweep import SweepOutcome, run_sweep
from runners.progress import SweepReporter
from runners.records import ResultsDir
from specs.loader import expand


def spec_file(folder: Path, runs: int, epochs: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((ROOT / "specs/kd/digits.yaml").read_text())
    spec.update(matrix={}, seeds=list(range(runs)), device="cpu", resources={"cpus": 1})
    spec["task"]["params"].update(method="student_only", epochs=epochs)
    path = folder / "ray_sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def timed_sweep(path: Path, results: Path, executor: RayExecutor | None = None) -> tuple[float, SweepOutcome]:
    runs = expand(path)
    start = time.perf_counter()
    outcome = run_sweep(runs, ResultsDir(results), force=True, reporter=SweepReporter(io.StringIO(), live=False), executor=executor)
    elapsed = time.perf_counter() - start
    assert not outcome.failed, outcome.failed[0].error
    return elapsed, outcome


def _noop() -> None:
    return None


def trivial_task_seconds(count: int) -> float:
    """Mean time per trivial task, submitted all at once to warm workers."""
    noop = ray.remote(num_cpus=1)(_noop)
    ray.get([noop.remote() for _ in range(8)])  # warm-up
    start = time.perf_counter()
    ray.get([noop.remote() for _ in range(count)])
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    folder = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths live under it
    try:
        path = spec_file(folder, args.runs, args.epochs)
        timed_sweep(path, folder / "warm", None)  # warm-up: imports, dataset cache, allocator
        local_s, local = timed_sweep(path, folder / "local")

        start = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, _temp_dir=str(folder / "ray"), object_store_memory=80 * 2**20, logging_level="WARNING")
        startup_s = time.perf_counter() - start
        warm = spec_file(folder / "warm_ray", args.workers, 1)
        workers_s, _ = timed_sweep(warm, folder / "warm_ray", RayExecutor(max_parallel=args.workers))  # workers start, import torch
        ray_s, on_ray = timed_sweep(path, folder / "ray_results", RayExecutor(max_parallel=args.workers))
        trivial_s = trivial_task_seconds(200)
        start = time.perf_counter()
        ray.shutdown()
        shutdown_s = time.perf_counter() - start
    finally:
        if ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(folder, ignore_errors=True)

    assert {r.run_id: r.metrics for r in local.ran} == {r.run_id: r.metrics for r in on_ray.ran}
    n = args.runs
    local_work = sum(r.duration_s for r in local.ran)
    ray_work = sum(r.duration_s for r in on_ray.ran)
    print(f"{n} digits runs (student_only, {args.epochs} epochs, 1 torch thread each), {os.cpu_count()} CPUs; records identical")
    print(f"  local executor:        {local_s:7.2f} s wall  (runs themselves {local_work:.2f} s; {local_s / n * 1000:.0f} ms per run)")
    print(f"  Ray, {args.workers} workers:        {ray_s:7.2f} s wall  (runs themselves {ray_work:.2f} s; {ray_s / n * 1000:.0f} ms per run)")
    print(f"  speed-up:              {local_s / ray_s:7.2f} x")
    print(f"  once per sweep on Ray: start {startup_s:.1f} s, first tasks on fresh workers {workers_s:.1f} s, shutdown {shutdown_s:.1f} s")
    print(f"  overhead per run, local:  {(local_s - local_work) / n * 1000:6.0f} ms  (wall - sum of run durations) / runs")
    print(f"  overhead per run, Ray:    {(args.workers * ray_s - ray_work) / n * 1000:6.0f} ms  (workers x wall - sum of run durations) / runs")
    print(f"  trivial Ray task:         {trivial_s * 1000:6.1f} ms  per task, 200 no-op tasks on {args.workers} warm workers")


if __name__ == "__main__":
    main()
