"""Tie tests at size: a board of 50 entries x 10,000 test cases (1,225 pairs; issue target: well under
a few seconds). Prints the best of three times of each test on the values alone, then of ``podium
leaderboard``'s whole path (the store query, the case matrix, the tests) on a store of 50
configurations x 2 seeds.

    .venv/bin/python tests/perf/significance.py

Measured on the 2-core development machine (shared, loaded): auto 0.05 s on 0/1 values (McNemar) and
0.8 s on continuous ones (Wilcoxon), welch 0.02 s, bootstrap (10,000 resamples) about 5 s; the whole
leaderboard path about 1.5 s.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from leaderboard.significance import Significance, compare_pairs, leaderboard_with_ties  # noqa: E402
from leaderboard.store import Store  # noqa: E402
from tests.leaderboard.conftest import make_record  # noqa: E402

ENTRIES, CASES = 50, 10_000


def timed(label: str, values: np.ndarray, test: str) -> None:
    n = np.full(ENTRIES, 2.0)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        tests = compare_pairs(values, np.nanmean(values, axis=1), np.full(ENTRIES, 0.01), n, Significance(test=test))
        times.append(time.perf_counter() - start)
    print(f"{label:>28} {test:>9}: {min(times):6.2f} s, {int(tests.separated.sum())} of {len(tests.p)} pairs separated")


def main() -> None:
    rng = np.random.default_rng(0)
    skill = np.linspace(0.80, 0.90, ENTRIES)[:, None]
    correct = (rng.random((ENTRIES, CASES)) < skill).astype(float)
    scores = rng.random((ENTRIES, CASES)) * 0.5 + skill - 0.25
    for label, values in (("0/1 values", correct), ("continuous values", scores)):
        for test in ("auto", "wilcoxon", "bootstrap", "welch"):
            timed(label, values, test)
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "podium.duckdb") as store:
        records = []
        for e in range(ENTRIES):
            for seed in (0, 1):
                hits = (rng.random(CASES) < skill[e, 0]).astype(float)
                record = make_record("mlp", "vanilla_kd", seed, metrics={"test": {"accuracy": float(hits.mean())}}, params={"width": e}, spec_name="wide")
                records.append(record.model_copy(update={"cases": {"accuracy": hits.tolist()}}))
        store.ingest((r, 1.0) for r in records)
        start = time.perf_counter()
        board = leaderboard_with_ties(store)
        print(f"{'store, 2 seeds per entry':>28} {'auto':>9}: {time.perf_counter() - start:6.2f} s for the leaderboard and its tests "
              f"({board['test'].iloc[0]}, {len(board)} rows)")


if __name__ == "__main__":
    main()
