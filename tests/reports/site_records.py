"""Stores for the website tests: the report records plus a dozen-row board (a published row, a model
name with markup in it), and a long board of thousands of entries inserted in bulk; and how the tests
start Chromium."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from leaderboard.store import RUN_COLUMNS, Store
from specs.published import PublishedRow, PublishedTable
from tests.reports.report_records import CPU, make_record

CHROMIUM = Path(os.environ.get("PODIUM_CHROMIUM", "/usr/bin/chromium"))  # Debian's; never a downloaded browser
# Headless and offline: no first-run, sync, component or background fetches of Chromium's own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
HOSTILE = "<script>alert('x')</script>"
CITATION = "Someone et al. 2022 & co."
WIDTHS = (2, 3, 4, 6, 8, 10, 12, 16)  # cnn-w2 ... cnn-w16: numeric-aware sorting puts w2 before w10


def add_site_rows(store: Store) -> None:
    """On kd / digits: eight more students with two seeds each, one whose name holds a script tag, and a
    published accuracy for resnet20: 13 rows on the accuracy board."""
    records = []
    for i, width in enumerate(WIDTHS):
        for seed in (0, 1):
            accuracy = 0.70 + 0.02 * i + 0.01 * seed
            records.append(make_record(f"cnn-w{width}", "vanilla_kd", seed,
                                       metrics={"test": {"accuracy": accuracy, "loss": 1.0 - accuracy}}))
    records.append(make_record(HOSTILE, "student_only", 0, metrics={"test": {"accuracy": 0.5, "loss": 0.9}}))
    store.ingest((r, 1.0) for r in records)
    published = PublishedTable(track="kd", citation=CITATION, rows=[
        PublishedRow(task="distillation", dataset="digits", model="resnet20", setting="paper", metric="accuracy", value=0.97),
    ])
    store.ingest_published(published, "published.yaml")


def fill_long_board(store: Store, entries: int, seeds: int = 2) -> None:
    """``entries`` configurations (models ``m-0000`` ...) on one board (track ``long``), ``seeds`` runs each,
    inserted in bulk (with their labels, as the store keeps them)."""
    runs, metrics = [], []
    for e in range(entries):
        for seed in range(seeds):
            run_id = f"long-{e:04d}-{seed}"
            runs.append({
                "run_id": run_id, "config_id": f"{e:016x}", "spec_name": "long", "track": "long", "task": "classification",
                "dataset": "digits", "model": f"m-{e:04d}", "method": "", "seed": seed, "reference": False, "status": "ok", "error": None,
                "started_at": pd.Timestamp("2024-05-01T12:00:00Z"), "duration_s": 1.0 + seed, "device": "cpu",
                "git_commit": CPU["git_commit"], "spec_json": json.dumps({"model": {"name": f"m-{e:04d}"}, "seed": seed}),
                "env_json": json.dumps(CPU), "info_json": "{}", "record_mtime": 1.0, "tags_mtime": None,
            })
            metrics.append({"run_id": run_id, "split": "test", "metric": "accuracy", "value": ((e * 7919) % entries) / entries + 0.001 * seed})
    configs = [{"config_id": f"{e:016x}", "track": "long", "spec_name": "long", "reference": False, "label": f"long[model.name=m-{e:04d}]"}
               for e in range(entries)]
    frames = {"new_runs": pd.DataFrame(runs, columns=RUN_COLUMNS), "new_metrics": pd.DataFrame(metrics), "new_configs": pd.DataFrame(configs)}
    for name, frame in frames.items():
        store.con.register(name, frame)
    try:
        store.con.execute("INSERT INTO runs SELECT * FROM new_runs")
        store.con.execute("INSERT INTO metrics SELECT * FROM new_metrics")
        store.con.execute("INSERT INTO configs SELECT * FROM new_configs")
        store.con.execute("INSERT OR REPLACE INTO metric_info VALUES ('accuracy', true, NULL, NULL)")
    finally:
        for name in frames:
            store.con.unregister(name)
