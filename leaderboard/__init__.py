"""The DuckDB store and everything computed from it: aggregation, confidence intervals, rankings.

This package never imports torch, so leaderboards and reports start fast on any machine that
has only the results folder.
"""
from leaderboard.aggregate import LEADERBOARD_COLUMNS, leaderboard
from leaderboard.store import Store, StoreLocked

__all__ = ["LEADERBOARD_COLUMNS", "Store", "StoreLocked", "leaderboard"]
