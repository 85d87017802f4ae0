"""The Ray executor on a local 2-CPU Ray instance: the same records as the local executor,
interrupted sweeps resume, failed and dying tasks are stored as failed runs.

One Ray instance serves the module; its temporary files live under a short folder of its own
(Unix socket paths must stay under 108 characters), removed at the end with every Ray process.
"""
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

from runners.executors.ray import RayExecutor
from runners.sweep import run_sweep
from runners.progress import SweepReporter
from runners.records import ResultsDir
from specs.loader import expand
from tests.conftest import PROJECT
from tests.runners import ray_tasks
from tests.runners.conftest import digits_spec, write_spec

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _processes_under(folder: str) -> list[str]:
    """Command lines of the live processes that name ``folder`` (Ray's own name its session folder)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = entry.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if folder in command:
            found.append(f"{entry.parent.name}: {command[:120]}")
    return found


@pytest.fixture(scope="module")
def ray_instance():
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    saved = {key: os.environ.get(key) for key in RAY_ENV}
    os.environ.update(RAY_ENV)
    ray_tasks.register()
    ray.init(
        num_cpus=2, include_dashboard=False, _temp_dir=temp, object_store_memory=80 * 2**20, logging_level="WARNING",
        runtime_env={"worker_process_setup_hook": "tests.runners.ray_tasks.register", "env_vars": {"PYTHONPATH": str(PROJECT)}},
    )
    try:
        yield temp
    finally:
        ray.shutdown()
        ray_tasks.unregister()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        deadline = time.monotonic() + 20
        while _processes_under(temp) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _processes_under(temp)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"Ray processes outlived the test session: {left}"


def quiet() -> SweepReporter:
    return SweepReporter(io.StringIO(), live=False)


def sweep_spec(tmp_path: Path, name: str = "spec.yaml", **changes) -> Path:
    """Three methods x two seeds sharing one small teacher per seed; one thread per run."""
    spec = digits_spec(teacher={"name": "small_cnn", "params": {"width": 8}}, teacher_epochs=2, t_max=2, psi_ramp=1)  # a schedule 2 epochs hold
    spec.update(matrix={"task.params.method": ["student_only", "vanilla_kd", "continuation_kd"]}, seeds=[0, 1], resources={"cpus": 1})
    spec.update(changes)
    return write_spec(tmp_path, spec, name)


def stored_metrics(results: Path) -> list[tuple]:
    con = duckdb.connect(str(results / "podium.duckdb"), read_only=True)
    try:
        return con.execute("SELECT run_id, split, metric, value FROM metrics ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_ray_gives_the_records_of_the_local_executor(tmp_path, ray_instance):
    runs = expand(sweep_spec(tmp_path))
    local = run_sweep(runs, ResultsDir(tmp_path / "local"), reporter=quiet())
    reporter = quiet()
    on_ray = run_sweep(runs, ResultsDir(tmp_path / "ray"), reporter=reporter, executor=RayExecutor())

    assert [r.status for r in on_ray.ran] == ["ok"] * 6
    by_id = {r.run_id: r for r in on_ray.ran}
    assert set(by_id) == {r.run_id for r in local.ran}
    for expected in local.ran:
        # one torch thread on both sides (resources.cpus), same seed, same code: bit for bit on the CPU
        assert by_id[expected.run_id].metrics == expected.metrics
        assert by_id[expected.run_id].info["history"] == expected.info["history"]
        assert by_id[expected.run_id].provenance["torch_threads"] == 1
    # teachers (trained once per seed even when two runs needing one start together) and the store agree too
    assert stored_metrics(tmp_path / "ray") == stored_metrics(tmp_path / "local")
    assert len(list((tmp_path / "ray" / "runs").iterdir())) == 8
    output = reporter.console.file.getvalue()
    assert "runs: 4 pending, 2 running, 0 done, 0 failed" in output
    assert "runs: 0 pending, 0 running, 6 done, 0 failed" in output


class InterruptAfter(SweepReporter):
    """Ctrl-C once ``count`` runs have finished."""

    def __init__(self, count: int):
        super().__init__(io.StringIO(), live=False)
        self.count = count

    def run_line(self, *args, **kwargs) -> None:
        super().run_line(*args, **kwargs)
        if args[5] == "ok":
            self.count -= 1
            if self.count == 0:
                raise KeyboardInterrupt


def test_interrupted_sweep_resumes_on_ray_or_locally(tmp_path, ray_instance):
    spec = sweep_spec(tmp_path, matrix={}, seeds=list(range(6)))
    results = ResultsDir(tmp_path / "results")
    with pytest.raises(KeyboardInterrupt):
        run_sweep(expand(spec), results, reporter=InterruptAfter(2), executor=RayExecutor())
    done_before = {p.parent.name for p in (results.root / "runs").glob("*/record.json")}
    assert 2 <= len(done_before) < 6  # the runs still in flight were cancelled and left no record

    resumed = run_sweep(expand(spec), results, reporter=quiet(), executor=RayExecutor())
    assert set(resumed.cached) == done_before
    assert len(resumed.ran) == 6 - len(done_before) and not resumed.failed
    again = run_sweep(expand(spec), results, reporter=quiet())  # locally: nothing left to run
    assert again.ran == [] and len(again.cached) == 6
    ids = [row[0] for row in duckdb.connect(str(results.database), read_only=True).execute("SELECT run_id FROM runs").fetchall()]
    assert sorted(ids) == sorted(again.cached)  # each run stored once


def test_failing_and_dying_tasks_are_stored_failed_and_the_sweep_goes_on(tmp_path, ray_instance):
    specs = [
        write_spec(tmp_path, {**digits_spec(), "task": {"name": "ray_test_raises"}}, "raises.yaml"),
        write_spec(tmp_path, {**digits_spec(), "task": {"name": "ray_test_exits"}}, "exits.yaml"),
        write_spec(tmp_path, {**digits_spec(), "resources": {"cpus": 1}}, "fine.yaml"),
    ]
    runs = [run for path in specs for run in expand(path)]
    results = ResultsDir(tmp_path / "results")
    outcome = run_sweep(runs, results, reporter=quiet(), executor=RayExecutor(max_parallel=2))

    by_task = {r.task: r for r in outcome.ran}
    raised, died, fine = by_task["ray_test_raises"], by_task["ray_test_exits"], by_task["distillation"]
    assert (raised.status, raised.error) == ("failed", "RuntimeError: boom on a worker")
    assert "Traceback" in (results.run_dir(raised.run_id) / "error.txt").read_text()
    assert died.status == "failed"
    assert died.error.startswith("WorkerCrashedError: The worker died"), died.error
    assert results.read(died.run_id).status == "failed"  # the driver wrote the dead worker's record
    assert fine.status == "ok"
    con = duckdb.connect(str(results.database), read_only=True)
    assert dict(con.execute("SELECT task, status FROM runs").fetchall()) == {
        "ray_test_raises": "failed", "ray_test_exits": "failed", "distillation": "ok",
    }


def test_the_driver_claims_each_run_before_submitting_it(tmp_path, ray_instance):
    import json
    import socket
    import subprocess
    import sys

    from runners.claims import CLAIM_FILE
    from runners.identity import run_id

    runs = expand(write_spec(tmp_path, {**digits_spec(), "seeds": [0, 1, 2], "resources": {"cpus": 1}}))
    results = ResultsDir(tmp_path / "results")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # a live process of another sweep
    try:
        taken = run_id(runs[1])
        results.run_dir(taken).mkdir(parents=True)
        (results.run_dir(taken) / CLAIM_FILE).write_text(json.dumps(
            {"pid": other.pid, "host": socket.gethostname(), "started_at": "2030-01-01T00:00:00+00:00", "token": "theirs"}))
        reporter = quiet()
        outcome = run_sweep(runs, results, reporter=reporter, executor=RayExecutor(max_parallel=2))
    finally:
        other.kill()
        other.wait()
    assert [identity for identity, _ in outcome.claimed] == [taken]
    assert sorted(r.run_id for r in outcome.ran) == sorted(run_id(r) for r in (runs[0], runs[2]))
    assert f"claimed by pid {other.pid} on host" in reporter.console.file.getvalue()
    assert not results.record_path(taken).exists()
    assert [p.parent.name for p in (results.root / "runs").glob(f"*/{CLAIM_FILE}")] == [taken]  # ours released, theirs kept
