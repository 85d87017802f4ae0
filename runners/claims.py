"""Claims: which process runs a run, so that concurrent sweeps of one results folder run each run once.

Before a run starts, the sweep driver claims it: it creates ``runs/<run_id>/claim.json`` atomically
(``O_CREAT | O_EXCL``: of two processes creating it, exactly one succeeds) with its pid, host, start
time and a token of its own. Another process that finds the claim held by a live owner skips the
run and says who holds it; it takes over a claim whose owner is gone:

- on the same host, when the pid is no longer alive, or now belongs to another process (a pid
  reused after the owner died: the claim keeps the owner's process start time);
- on another host, whose processes cannot be seen from here, when the claim is older than a
  generous bound (the run's ``timeout_s`` plus an hour, or 24 hours when the spec sets none).

Taking over happens under an exclusive lock on ``runs/<run_id>/.claim.lock`` (flock, as the teacher
cache does), so two processes that both find a dead owner do not both take its run. The claim is
released (the file removed, when it is still ours) once the run's record is written, or the run
failed, or the sweep stopped. The driver claims, whichever executor runs the run: with Ray, the
driver claims before it submits a task.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # not POSIX: claims still exclude by O_EXCL; only take-overs are unguarded
    fcntl = None  # type: ignore[assignment]

CLAIM_FILE = "claim.json"
LOCK_FILE = ".claim.lock"  # in the run folder: take-overs and releases of its claim, one at a time
DAY_S = 24 * 3600.0
SLACK_S = 3600.0  # beyond a run's timeout: loading data, a queue, a slow checkpoint
UNREADABLE_GRACE_S = 30.0  # a claim being written (created, not yet filled) is held this long at most


@dataclass(frozen=True)
class Claim:
    """Who holds a run: a process (pid, host, the process's start) since ``started_at``; ``token``
    tells one claim from another (a pid is reused; one process claims many runs)."""

    pid: int
    host: str
    started_at: str  # ISO 8601, UTC
    token: str
    process_start: str | None = None  # boot id and start tick of the owner process (Linux), to see a reused pid

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host}"

    def age_s(self) -> float:
        try:
            started = datetime.fromisoformat(self.started_at)
        except ValueError:
            return float("inf")
        if started.tzinfo is None:
            started = started.replace(tzinfo=timezone.utc)
        return (datetime.now(timezone.utc) - started).total_seconds()


UNKNOWN = Claim(pid=0, host="(unknown: its claim is being written)", started_at="", token="")


def stale_after(timeout_s: float | None) -> float:
    """How old a claim from another host must be before it is taken over."""
    return DAY_S if timeout_s is None else timeout_s + SLACK_S


def acquire(run_dir: Path, stale_after_s: float = DAY_S) -> tuple[bool, Claim]:
    """Claim the run of ``run_dir``: (True, our claim), or (False, the live claim that holds it)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CLAIM_FILE
    mine = _new_claim()
    if _create(path, mine):
        return True, mine
    holder = _read(path)
    if holder is not None and alive(holder, stale_after_s):
        return False, holder
    with _exclusive(run_dir / LOCK_FILE):  # the owner is gone (or its claim unreadable): take over, one process at a time
        holder = _read(path)
        if path.exists():
            if holder is not None and alive(holder, stale_after_s):
                return False, holder  # another process took it over first
            if holder is None and _age_of_file(path) < UNREADABLE_GRACE_S:
                return False, UNKNOWN
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if _create(path, mine):
            return True, mine
    return False, _read(path) or UNKNOWN


def release(run_dir: Path, mine: Claim) -> None:
    """Give a claim up: remove the claim file when it is still ours (a take-over leaves another's alone)."""
    path = run_dir / CLAIM_FILE
    if not run_dir.is_dir():
        return  # the run's folder was removed meanwhile (podium runs rm)
    with _exclusive(run_dir / LOCK_FILE):
        current = _read(path)
        if current is not None and current.token == mine.token:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def holder(run_dir: Path) -> Claim | None:
    """The claim on a run, if there is one (live or not)."""
    return _read(run_dir / CLAIM_FILE)


def alive(claim: Claim, stale_after_s: float = DAY_S) -> bool:
    """Whether a claim's owner may still be running the run."""
    if claim.host != socket.gethostname():
        return claim.age_s() <= stale_after_s  # another machine: only its age tells
    if claim.pid <= 0:
        return False
    try:
        os.kill(claim.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        pass
    now = _process_start(claim.pid)
    return claim.process_start is None or now is None or now == claim.process_start


def _new_claim() -> Claim:
    return Claim(
        pid=os.getpid(), host=socket.gethostname(), started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        token=uuid.uuid4().hex, process_start=_process_start(os.getpid()),
    )


def _create(path: Path, claim: Claim) -> bool:
    """Create the claim file, failing if it exists; True when this call created it."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(claim)))
        handle.flush()
        os.fsync(handle.fileno())
    return True


def _read(path: Path) -> Claim | None:
    """The claim in a file; None when there is none or it cannot be read (being written, or damaged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        claim = Claim(**data)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(claim.pid, int) or not isinstance(claim.host, str) or not isinstance(claim.started_at, str):
        return None
    return claim


def _age_of_file(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


def _process_start(pid: int) -> str | None:
    """The boot and start tick of a process (Linux ``/proc``), which a reused pid does not share; None elsewhere."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name
    except (OSError, IndexError):
        return None
    return f"{boot}:{start}"


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """An exclusive flock on ``lock`` while the block runs (released when the file closes)."""
    with open(lock, "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
