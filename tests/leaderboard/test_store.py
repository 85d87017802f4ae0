"""The DuckDB store: ingesting run records, by hand and from record files, idempotently."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from leaderboard.store import Store, StoreLocked
from specs.record import RunRecord


def tables(store: Store) -> dict[str, pd.DataFrame]:
    """Every table's contents in a fixed order."""
    return {
        "runs": store.query("SELECT * FROM runs ORDER BY run_id"),
        "metrics": store.query("SELECT * FROM metrics ORDER BY ALL"),
        "metric_info": store.query("SELECT * FROM metric_info ORDER BY ALL"),
    }


def assert_same_tables(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def write_record(results: Path, record: RunRecord) -> Path:
    path = results / "runs" / record.run_id / "record.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.model_dump(mode="json")), encoding="utf-8")
    return path


@pytest.fixture
def records(record) -> list[RunRecord]:
    return [
        record("resnet8", "vanilla_kd", 0, metrics={"test": {"accuracy": 0.91, "loss": 0.3}, "val": {"accuracy": 0.9}},
               higher_is_better={"accuracy": True, "loss": False}),
        record("resnet8", "vanilla_kd", 1, metrics={"test": {"accuracy": 0.93, "loss": 0.25}}),
        record("small_cnn", None, 0, metrics={"test": {"accuracy": 0.8}}),
        record("small_cnn", None, 1, status="failed", error="ValueError: NaN loss"),
    ]


def test_ingest_writes_runs_metrics_and_directions(store, records):
    assert store.ingest((r, 1.0) for r in records) == 4
    runs = store.query("SELECT * FROM runs ORDER BY run_id").set_index("run_id")
    assert len(runs) == 4
    first = runs.loc[records[0].run_id]
    assert (first.track, first.task, first.dataset, first.model, first.method, first.seed, first.status) == (
        "kd", "distillation", "digits", "resnet8", "vanilla_kd", 0, "ok")
    assert first.git_commit == "abc123" and first.device == "cpu" and first.duration_s == 1.5
    assert json.loads(first.spec_json) == records[0].spec
    assert json.loads(first.env_json) == records[0].provenance
    assert pd.Timestamp(first.started_at) == pd.Timestamp("2024-05-01T12:00:00Z")
    failed = runs.loc[records[3].run_id]
    assert (failed.status, failed.error) == ("failed", "ValueError: NaN loss")
    assert pd.isna(runs.loc[records[2].run_id].method)  # no method stays NULL

    metrics = store.query("SELECT run_id, split, metric, value FROM metrics ORDER BY ALL")
    assert sorted(metrics.itertuples(index=False, name=None)) == sorted(
        (r.run_id, split, metric, value) for r in records for split, values in r.metrics.items() for metric, value in values.items()
    )
    directions = dict(store.con.execute("SELECT metric, higher_is_better FROM metric_info").fetchall())
    assert directions == {"accuracy": True, "loss": False}


def test_ingesting_again_changes_nothing(store, records):
    store.ingest((r, 1.0) for r in records)
    before = tables(store)
    assert store.ingest((r, 1.0) for r in records) == 4
    assert_same_tables(before, tables(store))


def test_reingesting_a_changed_record_replaces_its_metrics(store, records):
    store.ingest((r, 1.0) for r in records)
    changed = records[0].model_copy(update={"metrics": {"test": {"accuracy": 0.5}}, "seed": 0, "duration_s": 9.0})
    store.ingest([(changed, 2.0)])
    rows = store.query("SELECT split, metric, value FROM metrics WHERE run_id = ? ORDER BY ALL", [changed.run_id])
    assert list(rows.itertuples(index=False, name=None)) == [("test", "accuracy", 0.5)]  # old val/loss rows are gone
    run = store.query("SELECT duration_s, record_mtime FROM runs WHERE run_id = ?", [changed.run_id])
    assert run.values.tolist() == [[9.0, 2.0]]
    assert store.query("SELECT count(*) AS n FROM runs").n[0] == 4
    # the other runs are untouched
    others = store.query("SELECT count(*) AS n FROM metrics WHERE run_id <> ?", [changed.run_id]).n[0]
    assert others == 3


def test_a_failed_rerun_replaces_an_ok_run(store, records):
    store.ingest([(records[0], 1.0)])
    failed = records[0].model_copy(update={"status": "failed", "error": "RunTimeout: too slow", "metrics": {}})
    store.ingest([(failed, 2.0)])
    assert store.query("SELECT status, error FROM runs").values.tolist() == [["failed", "RunTimeout: too slow"]]
    assert store.query("SELECT count(*) AS n FROM metrics").n[0] == 0


def test_an_ingest_that_fails_midway_writes_nothing(store, records):
    def broken():
        yield records[0], 1.0
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        store.ingest(broken())
    assert store.query("SELECT count(*) AS n FROM runs").n[0] == 0
    assert store.query("SELECT count(*) AS n FROM metrics").n[0] == 0


def test_sync_ingests_record_files_and_skips_unchanged_ones(store, records, tmp_path):
    results = tmp_path / "results"
    paths = [write_record(results, r) for r in records]
    (results / "runs" / "half-written").mkdir()  # a run still going: no record.json yet
    assert store.sync(results) == 4
    assert sorted(store.query("SELECT run_id FROM runs").run_id) == sorted(r.run_id for r in records)
    before = tables(store)
    assert store.sync(results) == 0
    assert_same_tables(before, tables(store))

    changed = records[1].model_copy(update={"metrics": {"test": {"accuracy": 0.99, "loss": 0.01}}})
    write_record(results, changed)
    stat = paths[1].stat()
    os.utime(paths[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a later rerun, surely a new mtime
    assert store.sync(results) == 1
    value = store.query("SELECT value FROM metrics WHERE run_id = ? AND metric = 'accuracy'", [changed.run_id]).value
    assert value.tolist() == [0.99]
    assert store.sync(results) == 0

    new = records[0].model_copy(update={"run_id": "kd-new-run", "seed": 7})
    write_record(results, new)
    assert store.sync(results) == 1
    assert store.query("SELECT count(*) AS n FROM runs").n[0] == 5


def test_sync_of_a_folder_without_runs_is_a_no_op(store, tmp_path):
    assert store.sync(tmp_path / "empty") == 0
    assert store.query("SELECT count(*) AS n FROM runs").n[0] == 0


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"run_id": "x"}),  # required fields missing
        "EXTRA",  # a valid record with an unknown key
    ],
)
def test_an_invalid_record_file_names_its_path(store, records, tmp_path, content):
    results = tmp_path / "results"
    write_record(results, records[0])
    bad = results / "runs" / "bad-run" / "record.json"
    bad.parent.mkdir(parents=True)
    if content == "EXTRA":
        content = json.dumps({**records[1].model_dump(mode="json"), "surprise": 1})
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="not a valid run record") as err:
        store.sync(results)
    assert str(bad) in str(err.value)
    assert "\n" not in str(err.value)  # one line, not pydantic's whole report


def test_an_invalid_record_is_skipped_and_reported_when_asked(store, records, tmp_path):
    results = tmp_path / "results"
    for record in records[:2]:
        write_record(results, record)
    bad = results / "runs" / "bad-run" / "record.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json", encoding="utf-8")
    reported: list[str] = []
    assert store.sync(results, on_invalid=reported.append) == 2
    assert len(reported) == 1 and str(bad) in reported[0]
    assert sorted(store.query("SELECT run_id FROM runs")["run_id"]) == sorted(r.run_id for r in records[:2])


def test_the_store_reopens_with_its_data(tmp_path, records):
    path = tmp_path / "sub" / "podium.duckdb"  # the folder is created
    with Store(path) as store:
        store.ingest((r, 1.0) for r in records)
        before = tables(store)
    with Store(path) as store:
        assert_same_tables(before, tables(store))
        store.ingest([(records[0].model_copy(update={"run_id": "another"}), 1.0)])
    with Store(path, read_only=True) as store:
        assert store.query("SELECT count(*) AS n FROM runs").n[0] == 5
        assert store.query("SELECT count(*) AS n FROM metrics").n[0] == 6 + 3


def test_read_only_store_of_a_missing_file_is_empty(tmp_path):
    with Store(tmp_path / "new.duckdb", read_only=True) as store:
        assert store.query("SELECT count(*) AS n FROM runs").n[0] == 0


def test_a_store_held_by_another_process_raises_store_locked(tmp_path):
    path = tmp_path / "podium.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLocked, match="in use by another process") as err:
            Store(path, wait_s=0.3)
        assert str(path) in str(err.value)
    finally:
        holder.communicate("", timeout=30)  # closing stdin lets it exit and release the file
    with Store(path) as store:  # free again
        assert store.query("SELECT count(*) AS n FROM runs").n[0] == 0


def test_per_case_values_are_ingested_once(store, record):
    run = record("m", "x", 0, metrics={"test": {"accuracy": 0.5}})
    run = run.model_copy(update={"cases": {"accuracy": [1.0, 0.0, 1.0, 0.0]}})
    store.ingest([(run, 1.0)])
    store.ingest([(run, 2.0)])
    assert store.query("SELECT case_id, value FROM cases ORDER BY case_id").values.tolist() == [[0, 1.0], [1, 0.0], [2, 1.0], [3, 0.0]]


# ---------------------------------------------------------------- the store follows the results folder


def test_a_run_folder_removed_by_hand_leaves_every_board(store, records, tmp_path):
    from leaderboard.aggregate import leaderboard

    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    store.sync(results)
    gone = next(r for r in records if r.status == "ok")
    seeds = lambda: leaderboard(store).query("entry == @entry", local_dict={"entry": gone.config_id})["n"].tolist()  # noqa: E731
    before = seeds()
    shutil.rmtree(results / "runs" / gone.run_id)
    store.sync(results)
    for table in ("runs", "metrics", "cases", "tags"):
        assert store.query(f"SELECT count(*) AS n FROM {table} WHERE run_id = ?", [gone.run_id]).n[0] == 0
    assert seeds() == [n - 1 for n in before if n > 1]  # one seed fewer, or the entry gone with its last run


def test_tags_are_read_from_beside_the_record_and_follow_its_file(store, records, tmp_path):
    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    (results / "runs" / records[0].run_id / "tags.json").write_text('["paper", "best"]')
    store.sync(results)
    assert store.query("SELECT tag FROM tags ORDER BY tag")["tag"].tolist() == ["best", "paper"]
    (results / "runs" / records[0].run_id / "tags.json").unlink()
    store.sync(results)
    assert store.query("SELECT count(*) AS n FROM tags").n[0] == 0


def test_a_store_of_an_older_schema_is_rebuilt_from_the_records(tmp_path, records):
    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    path = results / "podium.duckdb"
    import duckdb

    old = duckdb.connect(str(path))  # what schema 1 looked like: no version table, runs without config_id
    old.execute("CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, spec_name VARCHAR, track VARCHAR, model VARCHAR, method VARCHAR)")
    old.execute("INSERT INTO runs VALUES ('stale', 's', 'kd', 'm', 'x')")
    old.close()
    with Store(path) as store:
        assert store.rebuilt
        store.sync(results)
        assert sorted(store.query("SELECT run_id FROM runs").run_id) == sorted(r.run_id for r in records)
        assert store.query("SELECT count(*) AS n FROM configs").n[0] >= 1
    with Store(path) as store:
        assert not store.rebuilt  # current now


def test_a_damaged_database_file_is_rebuilt_not_fatal(tmp_path, records):
    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    path = results / "podium.duckdb"
    path.write_bytes(b"this is not a duckdb file at all" * 100)
    with Store(path) as store:
        assert store.rebuilt
        assert store.sync(results) == len(records)


def test_published_tables_kept_in_the_folder_survive_a_rebuild(tmp_path, records):
    from leaderboard.store import keep_published
    from specs.published import PublishedRow, PublishedTable

    results = tmp_path / "results"
    write_record(results, records[0])
    table = PublishedTable(track="kd", citation="Someone 2022", rows=[PublishedRow(task="distillation", dataset="digits", model="m", metric="accuracy", value=0.9)])
    keep_published(results, table, "/specs/published.yaml")
    with Store(results / "podium.duckdb") as store:
        store.sync(results)
    (results / "podium.duckdb").unlink()
    with Store(results / "podium.duckdb") as store:
        store.sync(results)
        assert store.query("SELECT citation, value FROM published").values.tolist() == [["Someone 2022", 0.9]]


def test_a_version_1_record_gets_its_configuration_and_the_teacher_is_a_reference(tmp_path, record):
    teacher = record("resnet20", "teacher", 0, metrics={"test": {"accuracy": 0.9}}, reference=False)
    legacy = {k: v for k, v in teacher.model_dump(mode="json").items() if k not in ("config_id", "reference", "bounds")}
    legacy["record_version"] = 1
    read = type(teacher).model_validate(legacy)
    assert read.reference and read.config_id == teacher.config_id
