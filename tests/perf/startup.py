"""Start-up of the read commands: each command's whole process against a bare Python start, on a
small store (four configurations x three seeds, ingested before timing).

    .venv/bin/python tests/perf/startup.py [--repeats 7]

Prints per command the median wall time of ``--repeats`` runs (interleaved with the bare starts, so
drift in the machine's load hits both), its ratio to ``python -c pass`` (target <= 5) and to
``python -c "import duckdb, pandas"`` (the libraries every command that opens a store needs, which
no change to Podium can make faster), and the three slowest top-level imports ``-X importtime``
reports for it.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

BARE = ["-c", "pass"]
FLOOR = ["-c", "import duckdb, pandas"]
PODIUM = ["-m", "runners.cli"]


def commands(results: Path, out: Path) -> dict[str, list[str]]:
    store = ["--results", str(results)]
    return {
        "podium --help": ["--help"],
        "podium list": ["list"],
        "podium leaderboard": ["leaderboard", *store],
        "podium leaderboard --wide": ["leaderboard", "--wide", *store],
        "podium rank": ["rank", "--track", "kd", "--metric", "accuracy", "--bootstrap", "100", *store],
        "podium report": ["report", "--out", str(out), *store],
    }


def small_store(folder: Path) -> Path:
    """The record files of ``tests/runners/test_startup.py``'s store, ingested once."""
    from tests.runners.test_startup import small_results

    class Factory:
        def mktemp(self, name: str) -> Path:
            path = folder / name
            path.mkdir()
            return path

    return small_results.__wrapped__(Factory())


def seconds(arguments: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *arguments], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def slowest_imports(arguments: list[str], cwd: Path, count: int = 3) -> str:
    """The top-level imports with the largest cumulative time (``-X importtime``), as 'name ms'."""
    done = subprocess.run([sys.executable, "-X", "importtime", *arguments], cwd=cwd, capture_output=True, text=True, env=ENV)
    top = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)  # no indent: imported by the command itself
        if match:
            top.append((int(match.group(1)), match.group(2)))
    return ", ".join(f"{name} {us / 1000:.0f} ms" for us, name in sorted(top, reverse=True)[:count])


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = small_store(folder)
        runs = commands(results, folder / "reports")
        for arguments in runs.values():  # warm the file cache and the catalog
            seconds([*PODIUM, *arguments], folder)
        times: dict[str, list[float]] = {"bare": [], "floor": [], **{name: [] for name in runs}}
        for _ in range(args.repeats):
            times["bare"].append(seconds(BARE, folder))
            times["floor"].append(seconds(FLOOR, folder))
            for name, arguments in runs.items():
                times[name].append(seconds([*PODIUM, *arguments], folder))
        bare, floor = statistics.median(times["bare"]), statistics.median(times["floor"])
        print(f"start-up, median of {args.repeats} interleaved runs, {os.cpu_count()} cores")
        print(f"  {'python -c pass':<28} {bare:6.3f} s")
        print(f"  {'python -c import duckdb, pandas':<28} {floor:6.3f} s   ({floor / bare:.1f}x bare)")
        for name, arguments in runs.items():
            median = statistics.median(times[name])
            ratio = median / bare
            print(f"  {name:<28} {median:6.3f} s   {ratio:5.1f}x bare ({'met' if ratio <= 5 else 'NOT met'}), {median / floor:4.2f}x duckdb+pandas"
                  f"   slowest imports: {slowest_imports([*PODIUM, *arguments], folder)}")


if __name__ == "__main__":
    main()
