"""Published reference rows: validated from their file, shown beside runs, never in their statistics."""
from __future__ import annotations

import io
import math

import pandas as pd
import pytest

from leaderboard.aggregate import leaderboard
from reports.tables import render_leaderboard, render_wide
from specs.errors import SpecError
from specs.published import load_published

TABLE = """\
track: kd
citation: "Someone et al. 2022"
rows:
  - {task: distillation, dataset: digits, model: resnet20, metric: accuracy, value: 0.99, setting: paper}
  - {task: distillation, dataset: digits, model: resnet8, metric: accuracy, value: 0.10}
"""


@pytest.fixture
def published_file(tmp_path):
    path = tmp_path / "published.yaml"
    path.write_text(TABLE, encoding="utf-8")
    return path


def test_published_rows_stand_beside_runs_without_touching_their_statistics(store, record, published_file):
    runs = [record("resnet20", "vanilla_kd", seed, metrics={"test": {"accuracy": acc}}) for seed, acc in enumerate([0.8, 0.9])]
    store.ingest((r, 1.0) for r in runs)
    before = leaderboard(store)
    assert store.ingest_published(load_published(published_file), str(published_file)) == 2
    assert store.ingest_published(load_published(published_file), str(published_file)) == 2  # replaced, not added
    board = leaderboard(store)
    ours = board[board["method"] != "published"].reset_index(drop=True)
    pd.testing.assert_frame_equal(ours.drop(columns="citation"), before.drop(columns="citation"), check_dtype=False)
    published = board[board["method"] == "published"]
    assert sorted(published["model"]) == ["resnet20 (paper)", "resnet8"]
    assert published["rank"].isna().all() and (published["n"] == 0).all()
    assert set(published["citation"]) == {"Someone et al. 2022"}
    assert list(board["mean"]) == pytest.approx([0.85, 0.99, 0.1])  # the runs, then the references best first: a reference never leads
    assert board["reference"].tolist() == [False, True, True]
    assert leaderboard(store, split="val").query("method == 'published'").empty  # papers report test numbers


OTHER = """\
track: kd
citation: "Another et al. 2023"
rows:
  - {task: distillation, dataset: cifar10, model: resnet20, metric: accuracy, value: 0.91}
  - {task: distillation, dataset: digits, model: resnet20, metric: loss, value: 0.05, higher_is_better: false}
"""
SCALING = """\
track: scaling
citation: "Scaling et al. 2021"
rows:
  - {task: fit, dataset: laion, model: vit-b-32, metric: accuracy, value: 0.6}
"""


@pytest.fixture
def published_store(store, record, tmp_path, published_file):
    store.ingest([(record("resnet20", "vanilla_kd", s, metrics={"test": {"accuracy": 0.8 + s / 10}}), 1.0) for s in range(2)])
    for name, text in (("published", None), ("other", OTHER), ("scaling", SCALING)):
        path = published_file if text is None else tmp_path / f"{name}.yaml"
        if text is not None:
            path.write_text(text, encoding="utf-8")
        store.ingest_published(load_published(path), str(path))
    return store


def test_published_rows_follow_the_board_filters(published_store):
    """Published rows obey --track/--dataset/--model/--metric; --method keeps them only when it names ``published``;
    --tag and --spec (which published rows cannot carry) leave them out."""
    from leaderboard.filters import Filters

    def published(**given):
        board = leaderboard(published_store, filters=Filters(**given))
        rows = board[board["method"] == "published"]
        return sorted(zip(rows["track"], rows["dataset"], rows["model"], rows["metric"]))

    everything = published()
    assert len(everything) == 5
    kd = [row for row in everything if row[0] == "kd"]
    assert published(track="kd") == kd and len(kd) == 4
    assert published(track="scaling") == [("scaling", "laion", "vit-b-32", "accuracy")]
    digits = [("kd", "digits", "resnet20", "loss"), ("kd", "digits", "resnet20 (paper)", "accuracy"), ("kd", "digits", "resnet8", "accuracy")]
    assert published(track="kd", datasets=("digits",)) == digits
    assert published(track="kd", datasets=("digits", "cifar10"), models=("resnet8", "vit-b-32")) == [("kd", "digits", "resnet8", "accuracy")]
    assert published(metrics=("loss",)) == [("kd", "digits", "resnet20", "loss")]
    assert published(methods=("published",)) == everything
    assert published(methods=("vanilla_kd", "published"), track="kd") == kd
    assert published(methods=("vanilla_kd",)) == []
    assert published(tags=("best",)) == [] and published(specs=("kd-digits",)) == []


def test_a_published_row_has_its_own_entry_and_no_seeds(published_store):
    """A published model of one source is an entry of its own (``published:...``), on every board it has a row on, labelled by its model, with no spec,
    no configurations, no failures, no interval; the runs' rows carry no citation."""
    board = leaderboard(published_store)
    published = board[board["method"] == "published"]
    assert published["entry"].str.startswith("published:").all()
    entries = published.groupby(["citation", "model"])["entry"].agg(set)  # one entry per source and model, over its boards
    assert entries.map(len).tolist() == [1] * 4 and len(set.union(*entries)) == 4
    assert published["label"].tolist() == published["model"].tolist()
    assert published["spec_name"].isna().all()
    assert published["configs"].tolist() == [0] * 5 and published["failed"].tolist() == [0] * 5 and published["n"].tolist() == [0] * 5
    assert all(math.isnan(row[c]) for _, row in published.iterrows() for c in ("std", "ci_low", "ci_high"))
    runs = board[board["method"] != "published"]
    assert len(runs) == 1 and runs["citation"].isna().all()


def test_rendered_boards_mark_published_rows(store, record, published_file):
    store.ingest([(record("resnet20", "vanilla_kd", 0, metrics={"test": {"accuracy": 0.8}}), 1.0)])
    store.ingest_published(load_published(published_file), str(published_file))
    board = leaderboard(store)
    text = render_leaderboard(board, "table")
    assert "published: Someone et al. 2022" in text
    line = next(l for l in text.splitlines() if "resnet20 (paper)" in l)
    assert line.split()[0] == "ref" and "published" in line  # a reference: unranked
    assert "ref: a reference (teacher, published result), not ranked" in text
    rows = __import__("json").loads(render_leaderboard(board, "json"))
    assert {r["method"]: r["rank"] for r in rows}["published"] is None
    assert "Someone et al. 2022" in render_wide(board, "md")


@pytest.mark.parametrize(
    "content, where",
    [
        ("track: kd\nrows: []\n", "citation"),
        ("track: kd\ncitation: x\nrows:\n  - {task: t, dataset: d, model: m, metric: a}\n", "rows[0].value"),
        ("track: kd\ncitation: x\nrows:\n  - {task: t, dataset: d, model: m, metric: a, value: 1, typo: 2}\n", "rows[0].typo"),
    ],
)
def test_a_bad_published_file_names_the_file_and_key(tmp_path, content, where):
    path = tmp_path / "published.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_published(path)
    assert any(p.path == where and p.file == str(path) for p in err.value.problems), err.value.problems


def test_wide_view_has_a_column_per_metric(store, record):
    store.ingest([(record("m", "x", s, metrics={"test": {"seg_iou": 0.5 + s / 10, "seg_iou/cell": 0.4, "seg_iou/vessel": 0.6}}), 1.0) for s in range(2)])
    board = leaderboard(store)
    text = render_wide(board, "table")
    header = next(l for l in text.splitlines() if "seg_iou" in l)
    assert header.split()[-3:] == ["seg_iou", "seg_iou/cell", "seg_iou/vessel"]
    per_class = render_leaderboard(board, "table")
    assert "seg_iou per class (mean)" in per_class and "0.4000" in per_class
    wide_csv = pd.read_csv(io.StringIO(render_wide(board, "csv")))
    assert list(wide_csv.columns[-9:]) == [f"{m}{s}" for m in ("seg_iou", "seg_iou/cell", "seg_iou/vessel") for s in ("", " ci_low", " ci_high")]
    assert math.isclose(wide_csv["seg_iou"].iloc[0], 0.55) and wide_csv["seg_iou ci_low"].iloc[0] < 0.55 < wide_csv["seg_iou ci_high"].iloc[0]
