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


def test_a_single_value_is_read_whole_and_the_store_still_takes_new_runs(store, records):
    """``Store.value`` gives the first column of the first row (None without a row) and leaves no
    result open on the connection: an ingest after it is not refused."""
    store.ingest((r, 1.0) for r in records[:1])
    assert store.value("SELECT higher_is_better FROM metric_info WHERE metric = ?", ["loss"]) is False
    assert store.value("SELECT higher_is_better FROM metric_info WHERE metric = ?", ["no such metric"]) is None
    store.ingest((r, 1.0) for r in records[1:])
    assert store.value("SELECT count(*) FROM runs") == len(records)


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


# ---------------------------------------------------------------- records the store cannot hold

NAN, INF = float("nan"), float("inf")
POISONS = {  # a record file's JSON changed so that it cannot be stored (or read), and what the warning says
    "seed beyond 64 bits": (lambda d: d.update(seed=2**70), "seed 1180591620717411303424 is outside"),
    "seed below 64 bits": (lambda d: d.update(seed=-(2**63) - 1), "is outside the range the store holds"),
    "NaN metric": (lambda d: d["metrics"]["test"].update(accuracy=NAN), "metric test/accuracy is nan"),
    "infinite metric": (lambda d: d["metrics"]["test"].update(accuracy=-INF), "metric test/accuracy is -inf"),
    "NaN duration": (lambda d: d.update(duration_s=NAN), "duration_s is nan"),
    "infinite duration": (lambda d: d.update(duration_s=INF), "duration_s is inf"),
    "start that is no time": (lambda d: d.update(started_at="yesterday"), "started_at 'yesterday' is not an ISO 8601 time"),
    "NaN in info": (lambda d: d["info"].update(best=NAN), "info is not JSON the store can hold"),
    "infinity in provenance": (lambda d: d["provenance"].update(host=INF), "provenance is not JSON"),
    "NaN in the spec": (lambda d: d["spec"].update(lr=NAN), "spec is not JSON"),
    "commit that is not text": (lambda d: d["provenance"].update(git_commit={"sha": 1}), "provenance.git_commit is dict"),
    "NaN bound": (lambda d: d["bounds"].update(accuracy=[NAN, 1.0]), "bounds of accuracy are (nan, 1.0)"),
    "bounds the wrong way round": (lambda d: d["bounds"].update(accuracy=[1.0, 0.0]), "bounds of accuracy are (1.0, 0.0)"),
    "infinite per-case value": (lambda d: d.update(cases={"accuracy": [1.0, INF]}), "per-case values of accuracy hold an infinity"),
    "schema: a field missing": (lambda d: d.pop("status"), "not a valid run record"),
    "schema: a wrong type": (lambda d: d.update(metrics={"test": {"accuracy": "high"}}), "not a valid run record"),
    "schema: an unknown key": (lambda d: d.update(surprise=1), "not a valid run record"),
    "another run's id": (lambda d: d.update(run_id="some-other-run"), "its run_id 'some-other-run' is not the name of its folder"),
}


def poison(path: Path, change) -> None:
    """Rewrite a record file with ``change`` applied to its JSON (NaN and infinity written as JSON's NaN tokens)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("name", POISONS)
def test_a_record_that_cannot_be_stored_is_one_warning_and_the_others_are_stored(tmp_path, records, name):
    from leaderboard.aggregate import leaderboard

    change, says = POISONS[name]
    results = tmp_path / "results"
    bounded = [r.model_copy(update={"bounds": {"accuracy": (0.0, 1.0)}}) for r in records]
    paths = [write_record(results, r) for r in bounded]
    poison(paths[1], change)
    warnings: list[str] = []
    with Store(results / "podium.duckdb") as store:
        assert store.sync(results, on_invalid=warnings.append) == len(records) - 1
        assert len(warnings) == 1 and warnings[0].startswith(f"{paths[1]}: ") and says in warnings[0], warnings
        assert "\n" not in warnings[0]
        stored = set(store.query("SELECT run_id FROM runs").run_id)
        assert stored == {r.run_id for r in records} - {records[1].run_id}
        board = leaderboard(store)  # every board still reads
        assert set(board["model"]) == {"resnet8", "small_cnn"}
        with pytest.raises(ValueError, match="^" + str(paths[1])):  # without a callback: raised, naming the file
            store.sync(results)


def test_a_record_refused_before_is_stored_once_it_is_fixed(tmp_path, records):
    results = tmp_path / "results"
    path = write_record(results, records[0])
    poison(path, lambda d: d.update(seed=2**64))
    warnings: list[str] = []
    with Store(results / "podium.duckdb") as store:
        assert store.sync(results, on_invalid=warnings.append) == 0
        assert store.sync(results, on_invalid=warnings.append) == 0  # still refused: reported on every sync
        assert len(warnings) == 2
        write_record(results, records[0])
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
        assert store.sync(results, on_invalid=warnings.append) == 1


def test_seeds_of_64_bits_are_stored(store, record):
    wide = [record("m", "x", 0, metrics={"test": {"accuracy": 0.5}}, run_id=f"wide-{i}").model_copy(update={"seed": seed})
            for i, seed in enumerate((2**31, 2**40, 2**63 - 1, -(2**63)))]
    assert store.ingest((r, 1.0) for r in wide) == 4
    assert sorted(store.query("SELECT seed FROM runs").seed.tolist()) == sorted(r.seed for r in wide)


def test_ingest_stores_the_records_it_can_and_names_the_ones_it_cannot(store, records):
    bad = [records[1].model_copy(update={"seed": 2**65}), records[2].model_copy(update={"metrics": {"test": {"accuracy": NAN}}})]
    batch = [records[0], *bad, records[3]]
    files = {r.run_id: Path(f"/results/runs/{r.run_id}/record.json") for r in batch}
    warnings: list[str] = []
    assert store.ingest(((r, 1.0) for r in batch), on_invalid=warnings.append, files=files) == 2
    assert sorted(store.query("SELECT run_id FROM runs").run_id) == sorted([records[0].run_id, records[3].run_id])
    assert [w.split(": ")[0] for w in warnings] == [str(files[r.run_id]) for r in bad]
    from leaderboard.store import Unstorable

    with pytest.raises(Unstorable, match="seed 36893488147419103232 is outside"):  # without a callback: nothing written
        store.ingest([(records[1].model_copy(update={"seed": 2**65, "run_id": "another"}), 1.0)])
    assert store.query("SELECT count(*) AS n FROM runs WHERE run_id = 'another'").n[0] == 0


def test_a_record_the_database_refuses_is_stored_alone_and_the_others_still_are(store, records, monkeypatch):
    import duckdb

    write = Store._write

    def picky(self, rows, tags):  # the database refuses one record, whatever batch it is in
        if any(record.run_id == records[2].run_id for record, _ in rows):
            raise duckdb.ConversionException("Conversion Error: a value it cannot hold")
        return write(self, rows, tags)

    monkeypatch.setattr(Store, "_write", picky)
    warnings: list[str] = []
    assert store.ingest(((r, 1.0) for r in records), on_invalid=warnings.append) == 3
    assert len(warnings) == 1 and warnings[0].startswith(f"run {records[2].run_id}: cannot be stored: the database refused it")
    assert records[2].run_id not in set(store.query("SELECT run_id FROM runs").run_id)


def test_a_record_with_another_runs_id_never_replaces_that_runs_rows(store, records, tmp_path):
    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    store.sync(results)
    before = tables(store)
    impostor = records[0].model_copy(update={"metrics": {"test": {"accuracy": 0.0}}, "duration_s": 99.0})
    folder = results / "runs" / records[1].run_id
    (folder / "record.json").write_text(json.dumps(impostor.model_dump(mode="json")), encoding="utf-8")  # run 0's id in run 1's folder
    warnings: list[str] = []
    assert store.sync(results, on_invalid=warnings.append) == 0
    assert len(warnings) == 1 and str(folder / "record.json") in warnings[0] and records[0].run_id in warnings[0]
    after = tables(store)
    assert_same_tables(before, after)  # run 0 as it was; run 1 keeps its earlier rows until its file is fixed


def test_a_tags_file_that_cannot_be_read_is_reported_and_its_run_is_stored(store, records, tmp_path):
    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    (results / "runs" / records[0].run_id / "tags.json").write_text('{"not": "a list"}')
    warnings: list[str] = []
    assert store.sync(results, on_invalid=warnings.append) == len(records)
    assert len(warnings) == 1 and "tags.json: not a list of tag names" in warnings[0]


def test_a_record_folder_holding_a_folder_for_its_record_is_one_warning(store, records, tmp_path):
    results = tmp_path / "results"
    for record in records[:2]:
        write_record(results, record)
    (results / "runs" / "odd" / "record.json").mkdir(parents=True)
    warnings: list[str] = []
    assert store.sync(results, on_invalid=warnings.append) == 2
    assert len(warnings) == 1 and "odd/record.json: not a valid run record" in warnings[0]


def test_a_kept_published_table_that_cannot_be_stored_is_one_warning(store, records, tmp_path):
    from leaderboard.store import keep_published
    from specs.published import PublishedRow, PublishedTable

    results = tmp_path / "results"
    write_record(results, records[0])
    good = PublishedTable(track="kd", citation="Someone 2022", rows=[PublishedRow(task="t", dataset="d", model="m", metric="accuracy", value=0.9)])
    bad = PublishedTable(track="kd", citation="Nobody 2023", rows=[PublishedRow(task="t", dataset="d", model="m", metric="accuracy", value=NAN)])
    keep_published(results, good, "/good.yaml")
    path = keep_published(results, bad, "/bad.yaml")
    warnings: list[str] = []
    assert store.sync(results, on_invalid=warnings.append) == 1
    assert len(warnings) == 1 and warnings[0].startswith(f"{path}: cannot be stored")
    assert store.query("SELECT citation FROM published").citation.tolist() == ["Someone 2022"]


# ---------------------------------------------------------------- a damaged database is moved aside and rebuilt


def _filled_store(path: Path, rows: int = 200_000) -> bytes:
    """A store whose tables span many blocks; returns its bytes."""
    with Store(path) as store:
        store.con.execute(f"INSERT INTO metrics SELECT 'r' || i, 'test', 'accuracy', random() FROM range({rows}) t(i)")
    return path.read_bytes()


def _zeroed_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(20_000) + data[middle + 20_000:]


DAMAGE = {  # what is put in place of podium.duckdb (and beside it), given a good store's bytes
    "empty file": lambda path, data: path.write_bytes(b""),
    "not a database": lambda path, data: path.write_bytes(b"this is not a duckdb file at all" * 100),
    "truncated to its header": lambda path, data: path.write_bytes(data[:100]),
    "truncated by half": lambda path, data: path.write_bytes(data[: len(data) // 2]),
    "a block of zeros inside a table": lambda path, data: path.write_bytes(_zeroed_middle(data)),
    "a folder in its place": lambda path, data: (path.mkdir(), (path / "x").write_text("x")),
    "a folder for its WAL": lambda path, data: (path.write_bytes(data), path.with_name(path.name + ".wal").mkdir()),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_database_is_moved_aside_and_rebuilt_from_the_records(tmp_path, records, damage):
    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    path = results / "podium.duckdb"
    data = _filled_store(tmp_path / "scratch.duckdb")
    DAMAGE[damage](path, data)
    before = sorted(p.name for p in results.iterdir())
    with Store(path) as store:
        assert store.rebuilt
        assert store.notice.startswith(f"note: {path} ") and "moved aside to podium.duckdb.broken-" in store.notice
        assert "\n" not in store.notice
        assert store.sync(results) == len(records)
        assert sorted(store.query("SELECT run_id FROM runs").run_id) == sorted(r.run_id for r in records)
    aside = sorted(p.name for p in results.iterdir() if ".broken-" in p.name)
    assert aside and len(aside) == sum(name.startswith("podium.duckdb") for name in before)  # the database (and its WAL) moved, nothing deleted
    with Store(path) as store:
        assert not store.rebuilt and store.notice is None  # usable now


def test_a_stale_wal_that_does_not_match_the_database_is_moved_aside_with_it(tmp_path, records):
    import duckdb

    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    path = results / "podium.duckdb"
    Store(path).close()
    crash = "import duckdb, os, sys; c = duckdb.connect(sys.argv[1]); c.execute('CREATE TABLE t (a INT)'); c.execute('CHECKPOINT'); c.execute('INSERT INTO t VALUES (1)'); os._exit(0)"
    other = tmp_path / "other.duckdb"
    subprocess.run([sys.executable, "-c", crash, str(other)], check=True)
    shutil.copy(tmp_path / "other.duckdb.wal", results / "podium.duckdb.wal")  # a crash's WAL of another database
    with pytest.raises(duckdb.Error):
        duckdb.connect(str(path)).close()
    with Store(path) as store:
        assert store.rebuilt and "WAL" in store.notice
        assert store.sync(results) == len(records)
    assert {p.suffix == ".wal" for p in results.glob("podium.duckdb.broken-*")} == {True, False}


def test_the_wal_of_a_killed_writer_is_replayed_not_a_rebuild(tmp_path, records):
    path = tmp_path / "podium.duckdb"
    Store(path).close()
    script = (
        "import os, sys; sys.path.insert(0, sys.argv[2]); from leaderboard.store import Store; from tests.leaderboard.conftest import make_record; "
        "s = Store(sys.argv[1]); s.con.execute('CHECKPOINT'); s.ingest([(make_record('m', 'x', 0, metrics={'test': {'accuracy': 0.5}}), 1.0)]); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script, str(path), str(Path(__file__).resolve().parents[2])], check=True)
    assert path.with_name("podium.duckdb.wal").is_file()  # killed before a checkpoint
    with Store(path) as store:
        assert not store.rebuilt
        assert store.query("SELECT count(*) AS n FROM runs").n[0] == 1


def test_an_older_schema_is_moved_aside_not_deleted(tmp_path, records):
    import duckdb

    path = tmp_path / "podium.duckdb"
    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, seed INTEGER)")
    old.close()
    with Store(path) as store:
        assert store.rebuilt and "holds schema version 1" in store.notice
    (aside,) = tmp_path.glob("podium.duckdb.schema1-*")
    con = duckdb.connect(str(aside), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)  # the old file, intact
    con.close()


def test_a_lock_held_by_another_process_is_not_a_rebuild(tmp_path):
    path = tmp_path / "podium.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLocked):
            Store(path, wait_s=0.3)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["podium.duckdb"]  # nothing moved aside
    finally:
        holder.communicate("", timeout=30)


def test_damage_found_while_syncing_rebuilds_the_store(tmp_path, records, monkeypatch):
    import duckdb

    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    calls = []
    real = Store._sync

    def damaged_once(self, folder, on_invalid):
        calls.append(1)
        if len(calls) == 1:
            raise duckdb.Error("Corrupt database file: computed checksum 1 does not match stored checksum 2 in block at location 4096")
        return real(self, folder, on_invalid)

    monkeypatch.setattr(Store, "_sync", damaged_once)
    with Store(results / "podium.duckdb") as store:
        assert not store.rebuilt
        assert store.sync(results) == len(records)
        assert store.rebuilt and "is damaged (Corrupt database file" in store.notice


def test_a_damaged_file_opened_read_only_says_so(tmp_path):
    from leaderboard.store import StoreUnusable

    path = tmp_path / "podium.duckdb"
    path.write_bytes(b"garbage" * 100)
    with pytest.raises(StoreUnusable, match="cannot be opened"):
        Store(path, read_only=True)
    assert path.read_bytes() == b"garbage" * 100
