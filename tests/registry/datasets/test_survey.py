"""Survey responses: from CSV and parquet tables (survey_responses), from the method cards of a track's
runs (method_cards), and synthetic."""
from __future__ import annotations

import pandas as pd
import pytest

from registry import DATASETS, load_all
from registry.datasets.survey import synthetic_frame
from specs.method_card import MethodCard
from specs.record import RunRecord


@pytest.fixture(autouse=True)
def _registry():
    load_all()


def build(**params):
    entry = DATASETS.get(params.pop("name", "survey_responses"))
    return entry.build(harness={name: params.pop("results_dir", None) for name in entry.harness_names}, params=params)


def test_csv_and_parquet_give_the_responses_of_the_table(tmp_path):
    frame = synthetic_frame(challenges=3, seed=1)
    frame.to_csv(tmp_path / "responses.csv", index=False)
    frame.to_parquet(tmp_path / "responses.parquet")
    from_csv = build(path=str(tmp_path / "responses.csv"))
    from_parquet = build(path=str(tmp_path / "responses.parquet"))
    synthetic = build(name="survey-synthetic", challenges=3, seed=1)
    assert from_csv.cards == from_parquet.cards == synthetic.cards
    assert len(from_csv.cards) == len(frame)
    assert from_csv.participants == {c: int(n) for c, n in frame.groupby("challenge")["participants"].first().items()}
    assert DATASETS.get("survey_responses").label({"path": str(tmp_path / "responses.csv")}) == "survey-responses"


def test_cells_are_parsed_as_answers(tmp_path):
    (tmp_path / "r.csv").write_text(
        "challenge,participants,deep_learning,standard_architecture,incentives,bottlenecks,hours_spent\n"
        "a,4,yes,1,knowledge_exchange; prize_money,none,12.5\n"
        "a,4,FALSE,,,,\n"
        "b,2,,,,,\n"
    )
    data = build(path=str(tmp_path / "r.csv"))
    first, second, third = data.cards
    assert first == MethodCard(challenge="a", deep_learning=True, standard_architecture=True,
                               incentives=["knowledge_exchange", "prize_money"], bottlenecks=[], hours_spent=12.5)
    assert second == MethodCard(challenge="a", deep_learning=False)  # empty cells: not answered
    assert third == MethodCard(challenge="b")
    assert data.participants == {"a": 4, "b": 2}


@pytest.mark.parametrize("content, message", [
    ("challenge,colour\na,blue\n", r"r.csv: unknown column\(s\) colour"),
    ("challenge,incentives\na,fame\n", r"r.csv: row 2, incentives.0: Input should be"),
    ("challenge,deep_learning\na,yes\nb,perhaps\n", r"r.csv: row 3, deep_learning"),
    ("challenge,standard_architecture\na,yes\n", r"r.csv: row 2, row: .*asked only when deep_learning is true"),
    ("challenge,participants\na,3\na,4\n", r"r.csv: row 3, participants: challenge 'a' has 3"),
    ("challenge,participants\n", r"r.csv: no responses"),
])
def test_a_bad_table_names_the_file_row_and_field(tmp_path, content, message):
    (tmp_path / "r.csv").write_text(content)
    with pytest.raises(ValueError, match=message):
        build(path=str(tmp_path / "r.csv"))


def test_a_missing_file_or_another_format_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="nope.csv not found"):
        build(path=str(tmp_path / "nope.csv"))
    (tmp_path / "r.xlsx").write_text("")
    with pytest.raises(RuntimeError, match="expected .csv or .parquet"):
        build(path=str(tmp_path / "r.xlsx"))


def _record(run_id: str, spec_name: str, model: str, method: str | None, card: dict | None, seed: int = 0) -> RunRecord:
    spec = {"name": spec_name, **({"method_card": card} if card is not None else {})}
    return RunRecord(run_id=run_id, spec_name=spec_name, track="kd", task="distillation", dataset="digits", model=model, method=method,
                     seed=seed, status="ok", started_at="2026-01-01T00:00:00+00:00", duration_s=1.0, device="cpu", spec=spec)


def test_method_cards_of_a_tracks_submissions(tmp_path):
    """One card per submission (spec, model, method) whatever its seeds; a submission without a card did
    not answer; teachers are the harness's; the card's challenge groups the response rates."""
    records = [
        _record("a0", "team-a", "resnet8", "vanilla_kd", {"deep_learning": True, "hours_spent": 10}),
        _record("a1", "team-a", "resnet8", "vanilla_kd", {"deep_learning": True, "hours_spent": 10}, seed=1),
        _record("b0", "team-b", "small_cnn", None, {"deep_learning": False, "challenge": "other"}),
        _record("c0", "team-c", "resnet20", "continuation_kd", None),
        _record("t0", "team-a", "resnet56", "teacher", None),
    ]
    for record in records:
        (tmp_path / "runs" / record.run_id).mkdir(parents=True)
        (tmp_path / "runs" / record.run_id / "record.json").write_text(record.model_dump_json())
    data = build(name="method_cards", track="kd", results_dir=tmp_path)
    assert data.cards == [MethodCard(challenge="kd", deep_learning=True, hours_spent=10), MethodCard(challenge="other", deep_learning=False)]
    assert data.participants == {"kd": 2, "other": 1}
    assert data.name == "survey-kd"


def test_synthetic_responses_follow_the_reported_shares():
    data = build(name="survey-synthetic", challenges=40, seed=0)
    deep = [c.deep_learning for c in data.cards if c.deep_learning is not None]
    assert 0.90 < sum(deep) / len(deep) < 0.97  # drawn with 94%
    assert all(c.standard_architecture is None for c in data.cards if c.deep_learning is not True)
    assert set(data.participants) == {c.challenge for c in data.cards}
    assert all(sum(c.challenge == ch for c in data.cards) <= n for ch, n in data.participants.items())
    assert pd.Series([c.hours_spent for c in data.cards if c.hours_spent is not None]).median() == pytest.approx(80, rel=0.15)


def test_a_track_without_cards_or_runs_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no runs of track 'kd'"):
        build(name="method_cards", track="kd", results_dir=tmp_path)
