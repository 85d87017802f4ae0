"""Claims: concurrent sweeps of one results folder run each run once (``runners.claims``)."""
from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from registry import TASKS, load_all
from runners import claims
from runners.claims import CLAIM_FILE, Claim, acquire, release, stale_after
from runners.identity import run_id
from runners.progress import SweepReporter
from runners.records import ResultsDir
from runners.sweep import run_sweep
from specs.loader import expand
from tests.conftest import PROJECT
from tests.runners.conftest import write_spec

PLUGIN = Path(__file__).with_name("counted_task.py")  # registers its task when imported: only inside the fixture below
HOST = socket.gethostname()


def counted_spec(folder: Path, marker: Path, seeds=(0, 1, 2, 3), seconds: float = 0.05, **changes) -> Path:
    spec = {
        "name": "counted", "track": "claims", "dataset": {"name": "digits"}, "model": {"name": "small_cnn", "params": {"width": 4}},
        "task": {"name": "test_counted", "params": {"marker": str(marker), "seconds": seconds}}, "metrics": ["accuracy"],
        "seeds": list(seeds), "device": "cpu", **changes,
    }
    return write_spec(folder, spec, "counted.yaml")


@pytest.fixture
def counted():
    import importlib

    load_all()
    module = importlib.import_module("tests.runners.counted_task")  # the first import registers it
    TASKS._entries.pop("test_counted", None)
    TASKS.register("test_counted")(module.counted)
    yield
    TASKS._entries.pop("test_counted", None)


@pytest.fixture
def stranger():
    """A live process that is not this one (its pid holds claims in the tests)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield process.pid
    process.kill()
    process.wait()


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def plant(run_dir: Path, **fields) -> Claim:
    """A claim file as another process would have written it."""
    claim = Claim(**{"pid": 1, "host": HOST, "started_at": datetime.now(timezone.utc).isoformat(), "token": "theirs", **fields})
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CLAIM_FILE).write_text(json.dumps(claim.__dict__))
    return claim


def quiet() -> SweepReporter:
    return SweepReporter(io.StringIO(), live=False)


# ---------------------------------------------------------------- the claim file


def test_a_claim_is_created_once_and_released_by_its_owner(tmp_path):
    run_dir = tmp_path / "runs" / "abc"
    got, mine = acquire(run_dir)
    assert got and mine.pid == os.getpid() and mine.host == HOST
    stored = json.loads((run_dir / CLAIM_FILE).read_text())
    assert stored["pid"] == os.getpid() and stored["token"] == mine.token and datetime.fromisoformat(stored["started_at"])
    again, holder = acquire(run_dir)  # held (by this very process)
    assert not again and holder.token == mine.token
    release(run_dir, Claim(**{**mine.__dict__, "token": "someone else"}))
    assert (run_dir / CLAIM_FILE).exists()  # only the owner's release removes it
    release(run_dir, mine)
    assert not (run_dir / CLAIM_FILE).exists()
    assert acquire(run_dir)[0]


def test_a_claim_of_a_live_process_on_this_host_is_held(tmp_path, stranger):
    run_dir = tmp_path / "runs" / "abc"
    theirs = plant(run_dir, pid=stranger)
    got, holder = acquire(run_dir)
    assert not got and holder == theirs and holder.describe() == f"pid {stranger} on host {HOST}"


def test_a_claim_whose_owner_died_is_taken_over(tmp_path):
    run_dir = tmp_path / "runs" / "abc"
    plant(run_dir, pid=dead_pid())
    got, mine = acquire(run_dir)
    assert got and json.loads((run_dir / CLAIM_FILE).read_text())["token"] == mine.token


@pytest.mark.skipif(claims._process_start(os.getpid()) is None, reason="needs /proc")
def test_a_claim_whose_pid_now_belongs_to_another_process_is_taken_over(tmp_path, stranger):
    run_dir = tmp_path / "runs" / "abc"
    plant(run_dir, pid=stranger, process_start="another-boot:12345")  # the owner died and its pid was reused
    assert acquire(run_dir)[0]


@pytest.mark.parametrize(("age", "timeout_s", "held"), [
    (timedelta(hours=1), None, True),
    (timedelta(hours=23), None, True),
    (timedelta(hours=25), None, False),  # 24 h without a timeout
    (timedelta(minutes=30), 600.0, True),  # a timeout of 10 min: held for it plus an hour
    (timedelta(hours=2), 600.0, False),
])
def test_a_claim_from_another_host_is_held_until_it_is_older_than_the_bound(tmp_path, age, timeout_s, held):
    run_dir = tmp_path / "runs" / "abc"
    started = (datetime.now(timezone.utc) - age).isoformat()
    plant(run_dir, pid=os.getpid(), host="another-machine", started_at=started)  # a pid that lives here means nothing there
    got, holder = acquire(run_dir, stale_after(timeout_s))
    assert got is not held
    if held:
        assert holder.describe() == f"pid {os.getpid()} on host another-machine"


def test_an_unreadable_claim_is_held_briefly_then_taken_over(tmp_path):
    run_dir = tmp_path / "runs" / "abc"
    run_dir.mkdir(parents=True)
    (run_dir / CLAIM_FILE).write_text("")  # created, not yet written
    got, holder = acquire(run_dir)
    assert not got and holder is claims.UNKNOWN
    old = time.time() - 120
    os.utime(run_dir / CLAIM_FILE, (old, old))
    assert acquire(run_dir)[0]


def test_of_processes_taking_over_one_dead_claim_exactly_one_wins(tmp_path):
    run_dir = tmp_path / "runs" / "abc"
    plant(run_dir, pid=dead_pid())
    start = time.time() + 1.5
    script = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from pathlib import Path; from runners.claims import acquire; "
        "time.sleep(max(0, float(sys.argv[3]) - time.time())); print(acquire(Path(sys.argv[2]))[0])"
    )
    racers = [subprocess.Popen([sys.executable, "-c", script, str(PROJECT), str(run_dir), str(start)], stdout=subprocess.PIPE, text=True)
              for _ in range(4)]
    won = [racer.communicate(timeout=60)[0].strip() for racer in racers]
    assert sorted(won) == ["False", "False", "False", "True"]


# ---------------------------------------------------------------- sweeps


def test_a_run_claimed_by_a_live_process_is_skipped_and_said_to_be(tmp_path, counted, stranger):
    marker = tmp_path / "marker.txt"
    runs = expand(counted_spec(tmp_path, marker))
    results = ResultsDir(tmp_path / "results")
    taken = run_id(runs[1])
    plant(results.run_dir(taken), pid=stranger)
    reporter = quiet()
    outcome = run_sweep(runs, results, reporter=reporter)
    assert [identity for identity, _ in outcome.claimed] == [taken]
    assert taken not in outcome.cached and taken not in {r.run_id for r in outcome.ran}
    assert len(outcome.ran) == 3 and not outcome.failed
    out = reporter.console.file.getvalue()
    assert re.search(rf"seed=1 claimed .* {taken}  claimed by pid {stranger} on host {re.escape(HOST)}", out), out
    assert f"note: 1 run was claimed by other processes (pid {stranger} on host {HOST})" in out
    assert len(marker.read_text().splitlines()) == 3
    assert (results.run_dir(taken) / CLAIM_FILE).exists() and not results.record_path(taken).exists()  # left to its owner


def test_a_run_whose_claimant_died_is_run_and_its_claim_released(tmp_path, counted):
    marker = tmp_path / "marker.txt"
    runs = expand(counted_spec(tmp_path, marker, seeds=(0, 1)))
    results = ResultsDir(tmp_path / "results")
    plant(results.run_dir(run_id(runs[0])), pid=dead_pid())
    outcome = run_sweep(runs, results, reporter=quiet())
    assert len(outcome.ran) == 2 and not outcome.claimed
    assert not list((tmp_path / "results" / "runs").glob(f"*/{CLAIM_FILE}"))


def test_claims_are_released_after_failed_runs_and_interrupted_sweeps(tmp_path, counted, misbehaving_tasks):
    results = ResultsDir(tmp_path / "results")
    failing = expand(write_spec(tmp_path, {
        "name": "boom", "track": "claims", "dataset": {"name": "digits"}, "model": {"name": "small_cnn"}, "task": {"name": "test_raises"},
        "metrics": ["accuracy"], "seeds": [0, 1], "device": "cpu",
    }, "boom.yaml"))
    assert len(run_sweep(failing, results, reporter=quiet()).failed) == 2
    assert not list((tmp_path / "results" / "runs").glob(f"*/{CLAIM_FILE}"))

    class InterruptAfterFirst(SweepReporter):
        def run_line(self, *args, **kwargs):
            super().run_line(*args, **kwargs)
            raise KeyboardInterrupt

    runs = expand(counted_spec(tmp_path, tmp_path / "marker.txt", seeds=(0, 1, 2)))
    with pytest.raises(KeyboardInterrupt):
        run_sweep(runs, results, reporter=InterruptAfterFirst(io.StringIO(), live=False))
    assert not list((tmp_path / "results" / "runs").glob(f"*/{CLAIM_FILE}"))
    again = run_sweep(runs, results, reporter=quiet())  # nothing left claimed: the rest runs
    assert len(again.ran) == 2 and len(again.cached) == 1


def test_a_results_path_that_is_a_file_is_refused_before_anything_runs(tmp_path, counted):
    file = tmp_path / "results"
    file.write_text("")
    with pytest.raises(NotADirectoryError, match="a file, not a results folder"):
        run_sweep(expand(counted_spec(tmp_path, tmp_path / "marker.txt")), ResultsDir(file), reporter=quiet())


# ---------------------------------------------------------------- two real processes at once


def podium(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runners.cli", *args], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


RUN_LINE = re.compile(r"^\[\d+/\d+\] .* seed=\d+ +(ok|failed|cached|claimed) .*?([0-9a-f]{16})", re.M)


def _both(*args: str) -> list[str]:
    """Start two identical ``podium`` commands at once; their outputs (both must succeed)."""
    first, second = podium(*args), podium(*args)
    outputs = [process.communicate(timeout=600)[0] for process in (first, second)]
    for process, output in zip((first, second), outputs):
        assert process.returncode == 0, output
    return outputs


@pytest.mark.slow
def test_two_processes_on_one_spec_run_each_run_once(tmp_path):
    marker = tmp_path / "marker.txt"
    spec = counted_spec(tmp_path, marker, seeds=range(6), seconds=0.4)
    results = tmp_path / "results"
    outputs = _both("--plugin", str(PLUGIN), "run", str(spec), "--results", str(results))
    executions = marker.read_text().splitlines()
    assert sorted(int(line.split()[1]) for line in executions) == list(range(6)), outputs  # six runs, six executions
    assert len({line.split()[0] for line in executions}) <= 2
    ran = Counter(identity for output in outputs for status, identity in RUN_LINE.findall(output) if status == "ok")
    assert len(ran) == 6 and set(ran.values()) == {1}, outputs  # each run reported run by exactly one process
    assert len(list((results / "runs").glob("*/record.json"))) == 6
    assert not list((results / "runs").glob(f"*/{CLAIM_FILE}"))


@pytest.mark.slow
def test_two_processes_on_the_digits_spec_train_each_run_once(tmp_path):
    results = tmp_path / "results"
    # continuation_kd's schedule needs 2 epochs at least (psi = 0 at epoch 0, 1 by the last)
    quick = ["--set", "task.params.epochs=2", "--set", "task.params.teacher_epochs=1", "--set", "task.params.t_max=2",
             "--set", "task.params.psi_ramp=1"]
    outputs = _both("run", str(PROJECT / "specs/kd/digits.yaml"), *quick, "--results", str(results))
    ran = Counter(identity for output in outputs for status, identity in RUN_LINE.findall(output) if status == "ok")
    summaries = [re.search(r"(\d+) ran \(0 failed\), (\d+) cached", output) for output in outputs]
    assert all(summaries), outputs
    trainings = sum(int(found.group(1)) for found in summaries)
    assert trainings == len(ran) == 9 and set(ran.values()) == {1}, outputs  # 3 methods x 3 seeds, each trained once
    records = [json.loads(path.read_text()) for path in (results / "runs").glob("*/record.json")]
    competitors = [r for r in records if not r["reference"]]
    assert len(competitors) == 9 and len({r["run_id"] for r in competitors}) == 9
    assert not list((results / "runs").glob(f"*/{CLAIM_FILE}"))
