"""Text from specs, records and published files is text in every report: HTML, table pipes,
backticks and links in any field reach the markdown report, `leaderboard --format md`, `check
--format md` and the website escaped. Markdown is read back with markdown-it (CommonMark with
GitHub's tables, raw HTML allowed as GitHub allows it)."""
from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt
from tests.reports.report_records import make_record

from leaderboard import leaderboard
from leaderboard.markup import md_code, md_frame, md_text
from leaderboard.regression import baseline_from_store, check, render, snapshot
from leaderboard.store import Store, keep_published
from reports.markdown import write_reports
from reports.site import write_site
from reports.tables import render_leaderboard, render_wide
from specs.published import PublishedRow, PublishedTable

pytestmark = pytest.mark.filterwarnings("ignore:Tight layout not applied")  # long hostile names in plot titles

EVIL = "<script>alert(1)<b>f a|b `c` [d](javascript:e) \\| &amp; <!--"  # no "/": in a metric's name it starts a group ("seg_iou/vessel")


def evil(name: str) -> str:
    """A hostile value for one field, telling which field it was."""
    return f"{name}{EVIL}"


FIELDS = ["track", "task", "dataset", "model", "method", "spec", "param", "metric", "error", "citation", "published-model",
          "setting", "device", "hardware", "torch", "commit", "survey-option", "survey-question"]


@pytest.fixture
def hostile(tmp_path):
    """A store in which every string that reaches a report is hostile."""
    provenance = {"device_name": evil("hardware"), "torch": evil("torch"), "cuda": None, "podium_version": "0.1", "git_commit": evil("commit")}
    common = dict(track=evil("track"), task=evil("task"), dataset=evil("dataset"), spec_name=evil("spec"), provenance=provenance,
                  bounds={evil("metric"): (0.0, 1.0)})
    records = [make_record(evil("model"), evil("method"), seed, metrics={"test": {evil("metric"): 0.5 + seed / 10 + k / 100}},
                           params={"lr": evil("param") + str(k)}, **common)
               for k in (1, 2) for seed in (0, 1)]
    records.append(make_record(evil("model"), evil("method"), 0, status="failed", params={"lr": "x"}, **common).model_copy(
        update={"error": evil("error") + "\nsecond line | with a pipe"}))
    records = [r.model_copy(update={"device": evil("device"), "cases": {evil("metric"): [1.0, 0.0, 1.0]}}) for r in records]
    statistics = [{"metric": "share/x", "field": "x", "question": evil("survey-question"), "option": evil("survey-option"),
                   "value": 0.5, "low": 0.4, "high": 0.6, "n": 10, "count": None}]
    survey = make_record("survey_estimator", None, 0, metrics={"test": {"share/x": 0.5}}, task="survey_stats", dataset="survey",
                         track=evil("track"), provenance=provenance).model_copy(
        update={"info": {"respondents": 10, "challenges": 2, "level": 0.95, "statistics": statistics}})
    results = tmp_path / "results"
    for i, record in enumerate([*records, survey]):
        record = record.model_copy(update={"run_id": f"run-{i}"})  # ids are plain names; everything else is hostile
        (results / "runs" / record.run_id).mkdir(parents=True)
        (results / "runs" / record.run_id / "record.json").write_text(record.model_dump_json(), encoding="utf-8")
    keep_published(results, PublishedTable(track=evil("track"), citation=evil("citation"), rows=[
        PublishedRow(task=evil("task"), dataset=evil("dataset"), model=evil("published-model"), setting=evil("setting"), metric=evil("metric"), value=0.9),
        PublishedRow(task="survey_stats", dataset="survey", model="survey_estimator", metric="share/x", value=0.55),
    ]), "/published.yaml")
    with Store(results / "podium.duckdb") as store:
        assert store.sync(results) == len(records) + 1  # stored as they are: nothing to refuse
        yield store


def render_markdown(text: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def assert_text_everywhere(text: str, fields: list[str]) -> None:
    """``text`` (markdown) renders every hostile field as text, and every table keeps its columns."""
    rendered = render_markdown(text)
    assert "<script" not in rendered and "<b>" not in rendered and 'href="javascript' not in rendered, rendered
    plain = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    for field in fields:
        assert evil(field).split("\\")[0] in plain, (field, plain)  # shown as typed (up to the backslash, which markdown eats once)
    for table in re.findall(r"<table>.*?</table>", rendered, flags=re.S):
        head = len(re.findall(r"<th[ >]", table))
        rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]
        assert rows and all(len(re.findall(r"<td[ >]", row)) == head for row in rows)


def test_md_text_keeps_text_as_text():
    assert md_text("a|b") == "a\\|b"
    assert md_text("<script>") == "&lt;script&gt;"
    assert md_text("x\\|y") == "x\\\\\\|y"  # a backslash before a pipe cannot unescape it
    assert md_text("[a](b)") == "[a]\\(b)" and md_text("`c`") == "\\`c\\`"
    assert md_text("one\ntwo") == "one two"
    assert md_text("kd-digits[method=vanilla_kd]") == "kd-digits[method=vanilla_kd]"  # plain labels stay as they were
    assert md_code("kd") == "`kd`" and md_code("a`b") == "``a`b``" and md_code("`x") == "`` `x ``"
    for value in (EVIL, "a`b", "`x", "<i>|"):
        assert html.unescape(re.sub(r"<[^>]+>", "", render_markdown(md_code(value)))).strip() == value
        assert html.unescape(re.sub(r"<[^>]+>", "", render_markdown(md_text(value)))).strip() == value
    frame = md_frame(__import__("pandas").DataFrame({"a|b": ["<x>", 1]}))
    assert list(frame.columns) == ["a\\|b"] and frame.iloc[0, 0] == "&lt;x&gt;" and frame.iloc[1, 0] == 1


def test_the_markdown_report_shows_every_field_as_text(hostile, tmp_path):
    [report, *_] = write_reports(hostile, tmp_path / "reports")
    assert report.parent == tmp_path / "reports"  # a track's name is no path
    text = report.read_text(encoding="utf-8")
    shown = ["track", "task", "dataset", "model", "method", "spec", "param", "metric", "error", "citation", "published-model",
             "device", "hardware", "torch", "commit", "survey-option", "survey-question"]
    assert_text_everywhere(text, shown)
    assert "![" in text  # the ranking plot, named after the hostile board
    [other, *_] = write_reports(hostile, tmp_path / "other", split=evil("split"))  # the split the command line names
    assert_text_everywhere(other.read_text(encoding="utf-8"), ["track", "split"])


def test_leaderboard_markdown_shows_every_field_as_text(hostile):
    board = leaderboard(hostile)
    for text in (render_leaderboard(board, "md"), render_wide(board, "md")):
        assert_text_everywhere(text, ["track", "task", "dataset", "model", "method", "spec", "metric", "citation"])


def test_the_check_comment_shows_every_field_as_text(hostile):
    saved = baseline_from_store(hostile)
    current = snapshot(hostile)
    moved = {key: row.model_copy(update={"values": {s: v - 0.3 for s, v in row.values.items()}}) for key, row in current.rows.items()}
    text = render(check(saved, type(current)(moved, current.checks, current.provenance, 0)), "md")  # regressed rows: the bullet list too
    assert "- **regressed" in text
    assert_text_everywhere(text, ["track", "task", "dataset", "model", "method", "spec", "metric"])


def test_podium_leaderboard_md_shows_names_and_errors_as_text(hostile, capsys):
    from runners.cli import main

    results = hostile.path.parent
    hostile.close()  # the command opens the store itself
    assert main(["leaderboard", "--results", str(results), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert "note: " in out  # the configuration whose only run failed, with its error
    assert_text_everywhere(out, ["track", "model", "method", "spec", "error"])


def test_the_website_escapes_every_field(hostile, tmp_path):
    files = write_site(hostile, tmp_path / "site", "test")
    files += write_site(hostile, tmp_path / "site-split", evil("split"))
    pages = [f for f in files if str(f).endswith(".html")]
    assert pages
    seen = ""
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<script>alert" not in text and "<b>f" not in text and 'href="javascript' not in text, page
        seen += text
    for field in ["track", "task", "dataset", "model", "method", "spec", "metric", "error", "citation", "device", "hardware", "torch",
                  "commit", "survey-option", "survey-question", "split"]:
        assert html.escape(evil(field)[:len(field) + 8], quote=False) in seen, field  # the field and "<script>", escaped
