"""Rank-stability bootstrap speed: 1,000 resamples of 100 algorithms x 1,000 cases (issue target: a
few seconds). Prints the time per ranking method.

    .venv/bin/python tests/perf/ranking.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from leaderboard.ranking import bootstrap  # noqa: E402


def main() -> None:
    values = np.random.default_rng(0).random((100, 1000)) + np.linspace(0, 0.2, 100)[:, None]
    for method in ("mean", "median", "rank_then_mean"):
        start = time.perf_counter()
        result = bootstrap(values, True, method, resamples=1000, seed=0)
        median, low, high = result.tau_summary()
        print(f"{method:>15}: {time.perf_counter() - start:6.2f} s for 1,000 resamples of 100 x 1,000; Kendall tau {median:.3f} [{low:.3f}, {high:.3f}]")


if __name__ == "__main__":
    main()
