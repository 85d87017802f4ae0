"""A sweep killed mid-way resumes: records are whole, every run ends up stored exactly once."""
import os
import signal
import subprocess
import sys
import time

import duckdb

from tests.conftest import PROJECT
from tests.runners.conftest import digits_spec, write_spec

SEEDS = list(range(8))


def podium(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runners.cli", *args], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def records(results):
    return sorted(p.parent.name for p in (results / "runs").glob("*/record.json"))


def test_killed_sweep_resumes_and_stores_each_run_once(tmp_path):
    spec = write_spec(tmp_path, {**digits_spec(epochs=4), "seeds": SEEDS})
    results = tmp_path / "results"
    sweep = podium("run", str(spec), "--results", str(results))
    deadline = time.monotonic() + 120
    while len(records(results)) < 2 and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.05)
    os.kill(sweep.pid, signal.SIGKILL)
    sweep.wait()
    done_before = records(results)
    assert 2 <= len(done_before) < len(SEEDS), "the sweep should have been killed part-way"

    resumed = podium("run", str(spec), "--results", str(results))
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert output.count("cached") >= len(done_before)
    assert f"{len(SEEDS) - len(done_before)} ran (0 failed), {len(done_before)} cached" in output

    final = records(results)
    assert len(final) == len(SEEDS) and set(done_before) <= set(final)
    con = duckdb.connect(str(results / "podium.duckdb"), read_only=True)
    ids = [row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()]
    assert sorted(ids) == final  # each run once
    per_run = con.execute("SELECT run_id, count(*) FROM metrics WHERE split = 'test' GROUP BY run_id").fetchall()
    assert all(count == 2 for _, count in per_run) and len(per_run) == len(SEEDS)
