"""The participation-survey table of the report: the paper's order, intervals, and the reported figures beside."""
from __future__ import annotations

from tests.reports.report_records import github_tables, make_record

from leaderboard.store import Store
from reports.markdown import write_reports
from reports.survey import survey_tables
from specs.published import PublishedRow, PublishedTable


def statistic(metric, field, question, value, low, high, n, option=None):
    return {"metric": metric, "field": field, "question": question, "option": option, "value": value, "low": low, "high": high, "n": n, "count": None}


STATISTICS = [  # as the task stores them: shares first, then medians, then response rates
    statistic("share/deep_learning", "deep_learning", "deep-learning-based solution", 0.9, 0.8, 0.95, 40),
    statistic("median/hours_spent", "hours_spent", "hours spent on method development", 75.0, 60.0, 90.0, 38),
    statistic("response_rate/median", "response_rate", "share of a challenge's participants who answered", 0.7, 0.6, 0.8, 5),
    statistic("response_rate/a", "response_rate", "share of a challenge's participants who answered", 0.5, 0.3, 0.7, 10, option="a"),
]


def survey_store(path, published: bool = True) -> Store:
    record = make_record("survey_estimator", None, 0, metrics={"test": {s["metric"]: s["value"] for s in STATISTICS}},
                         track="challenges", task="survey_stats", dataset="survey-synthetic")
    record = record.model_copy(update={"info": {"respondents": 41, "challenges": 5, "level": 0.95, "statistics": STATISTICS}})
    store = Store(path)
    store.ingest([(record, 1.0)])
    if published:
        rows = [PublishedRow(task="survey_stats", dataset="eisenmann-2022", model="survey_estimator", metric=m, value=v)
                for m, v in [("share/deep_learning", 0.94), ("median/hours_spent", 80.0), ("response_rate/median", 0.72)]]
        store.ingest_published(PublishedTable(track="challenges", citation="Eisenmann et al. 2022", rows=rows), "published_survey.yaml")
    return store


def test_table_in_the_papers_order_with_intervals_and_reported_figures(tmp_path):
    with survey_store(tmp_path / "podium.duckdb") as store:
        [(title, table)] = survey_tables(store, "challenges")
    assert "41 responses from 5 challenges" in title
    assert table["statistic"].tolist() == [  # response rate first; per-challenge rates left to the leaderboard
        "share of a challenge's participants who answered", "hours spent on method development", "deep-learning-based solution",
    ]
    assert table["value [95% CI]"].tolist() == ["70.0% [60.0, 80.0]", "75 [60, 90]", "90.0% [80.0, 95.0]"]
    assert table["reported (Eisenmann et al. 2022)"].tolist() == ["72%", "80", "94%"]


def test_without_published_figures_the_column_is_left_out(tmp_path):
    with survey_store(tmp_path / "podium.duckdb", published=False) as store:
        [(_, table)] = survey_tables(store, "challenges")
    assert list(table.columns) == ["statistic", "value [95% CI]", "answered"]


def test_the_markdown_report_holds_the_survey_section(tmp_path):
    with survey_store(tmp_path / "podium.duckdb") as store:
        [path] = write_reports(store, tmp_path / "out")
    text = path.read_text(encoding="utf-8")
    assert "## Participation survey" in text
    table = next(t for t in github_tables(text) if t and "statistic" in t[0])
    assert table[2] == {"statistic": "deep-learning-based solution", "value [95% CI]": "90.0% [80.0, 95.0]", "answered": "40",
                        "reported (Eisenmann et al. 2022)": "94%"}
