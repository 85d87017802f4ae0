"""Shared fixtures of the report tests: a store filled with hand-made run records from two machines."""
from __future__ import annotations

import pytest
from tests.reports.report_records import make_record

from leaderboard.store import Store
from specs.record import RunRecord


@pytest.fixture
def records() -> list[RunRecord]:
    """kd: resnet8 on a GPU (3 seeds), small_cnn on the CPU (2 seeds, one failed), resnet20 (1 seed),
    resnet56 (failed only), a second dataset; scaling: one entry on the CPU."""
    def ok(model, method, seed, accuracy, loss, **fields):
        return make_record(model, method, seed, metrics={"test": {"accuracy": accuracy, "loss": loss}, "val": {"accuracy": accuracy - 0.1}}, **fields)

    return [
        ok("resnet8", "vanilla_kd", 0, 0.90, 0.30, device="cuda:0"),
        ok("resnet8", "vanilla_kd", 1, 0.92, 0.28, device="cuda:0"),
        ok("resnet8", "vanilla_kd", 2, 0.94, 0.26, device="cuda:0"),
        ok("small_cnn", None, 0, 0.80, 0.60),
        ok("small_cnn", None, 1, 0.82, 0.50),
        make_record("small_cnn", None, 2, status="failed"),
        ok("resnet20", "continuation_kd", 0, 0.95, 0.20, device="cuda:0"),
        make_record("resnet56", "vanilla_kd", 0, status="failed", device="cuda:0"),
        ok("resnet8", "vanilla_kd", 0, 0.50, 1.50, dataset="cifar10", device="cuda:0"),
        ok("resnet8", "vanilla_kd", 1, 0.55, 1.40, dataset="cifar10", device="cuda:0"),
        ok("vit-b-32", None, 0, 0.60, 2.00, track="scaling", task="fit", dataset="laion"),
        ok("vit-b-32", None, 1, 0.70, 1.90, track="scaling", task="fit", dataset="laion"),
    ]


@pytest.fixture
def store(tmp_path, records):
    with Store(tmp_path / "podium.duckdb") as opened:
        opened.ingest((r, 1.0) for r in records)
        yield opened
