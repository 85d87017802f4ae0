"""Participation-survey responses (Eisenmann et al. 2022, arXiv 2212.08568), for the ``survey_stats`` task.

``survey_responses`` reads them from a table (CSV or parquet, one row per response);
``method_cards`` collects the ``method_card`` of every submission of a track in this results folder;
``survey-synthetic`` draws a table of responses for tests and demos, with the answer shares the
paper reports.

The table's columns: ``challenge`` (which challenge the response is for), ``participants`` (how
many took part in that challenge, the same on each of its rows; optional, for response rates) and
the fields of ``specs.method_card.MethodCard``. An empty cell is an unanswered question; yes/no
cells take true/false, yes/no or 1/0; multi-choice cells list their options separated by ``;``
(parquet may hold lists); ``none`` is an answer that picked no option.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import PositiveInt, ValidationError

from registry.core import DATASETS
from registry.datasets import DatasetUnavailable
from registry.params import Seed
from registry.paths import DataPath
from registry.targets import Target
from specs.method_card import QUESTIONS, MethodCard
from specs.record import read_records

TABLE_COLUMNS = ("challenge", "participants")
_TRUE, _FALSE = {"true", "yes", "1", "1.0"}, {"false", "no", "0", "0.0"}


@dataclass(frozen=True)
class SurveyResponses:
    """Responses (one method card each, ``challenge`` filled in) and each challenge's number of participants."""

    name: str
    cards: list[MethodCard]
    participants: dict[str, int] = field(default_factory=dict)  # challenge -> participants; empty if unknown


def responses_from_frame(frame: pd.DataFrame, name: str, source: str) -> SurveyResponses:
    """Parse a responses table; a bad column or cell raises ValueError naming ``source``, the row and the field."""
    unknown = [c for c in frame.columns if c not in TABLE_COLUMNS and c not in MethodCard.model_fields]
    if unknown:
        raise ValueError(f"{source}: unknown column(s) {', '.join(map(str, unknown))}; expected {', '.join((*TABLE_COLUMNS, *MethodCard.model_fields))}")
    kinds = {q.field: q.kind for q in QUESTIONS}
    cards, participants = [], {}
    for row_number, row in enumerate(frame.to_dict("records"), start=2):  # row 1 is the header
        answers = {key: _cell(value, kinds.get(key)) for key, value in row.items() if key != "participants"}
        try:
            card = MethodCard.model_validate({k: v for k, v in answers.items() if v is not None})
        except (ValidationError, ValueError) as err:
            problem = err.errors()[0] if isinstance(err, ValidationError) else {"loc": (), "msg": str(err)}
            where = ".".join(map(str, problem["loc"])) or "row"
            raise ValueError(f"{source}: row {row_number}, {where}: {problem['msg']}") from None
        challenge = card.challenge or name
        cards.append(card.model_copy(update={"challenge": challenge}))
        count = _cell(row.get("participants"), "number")
        if count is not None:
            if participants.setdefault(challenge, int(count)) != int(count):
                raise ValueError(f"{source}: row {row_number}, participants: challenge {challenge!r} has {participants[challenge]} on an earlier row")
    if not cards:
        raise ValueError(f"{source}: no responses")
    return SurveyResponses(name, cards, participants)


def _cell(value: Any, kind: str | None) -> Any:
    """A table cell as a MethodCard answer: None when empty; booleans, numbers and option lists parsed."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and np.isnan(value)) or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "yes_no":
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        return value  # pydantic names the bad value
    if kind == "multi":
        parts = [part.strip() for part in str(value).split(";") if part.strip()]
        return [] if parts == ["none"] else parts
    return value.strip() if isinstance(value, str) else value


def read_table(path: Path) -> pd.DataFrame:
    """A responses table from CSV or parquet (by suffix)."""
    if not path.is_file():
        raise DatasetUnavailable(f"survey responses file {path} not found (give dataset.params.path)")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    raise DatasetUnavailable(f"survey responses file {path}: expected .csv or .parquet")


def responses_from_runs(root: Path, track: str) -> SurveyResponses:
    """The method cards of a track's submissions (one per spec, model and method) and, per challenge,
    how many submissions there were: a submission without a card did not answer."""
    submissions: dict[tuple[str, str, str], MethodCard | None] = {}
    for record in read_records(root):
        if record.track != track or record.method == "teacher":  # a teacher is the harness's, not a submission
            continue
        card = record.spec.get("method_card")
        key = (record.spec_name, record.model, record.method or "")
        if submissions.get(key) is None:
            submissions[key] = None if card is None else MethodCard.model_validate(card)
    if not submissions:
        raise ValueError(f"no runs of track {track!r} under {root}")
    challenges = [(card.challenge if card else None) or track for card in submissions.values()]
    cards = [card.model_copy(update={"challenge": challenge}) for card, challenge in zip(submissions.values(), challenges) if card is not None]
    participants = dict(Counter(challenges))
    if not cards:
        raise ValueError(f"no run of track {track!r} under {root} has a method_card")
    return SurveyResponses(f"survey-{track}", cards, participants)


@DATASETS.register("survey_responses", label=lambda p: f"survey-{Path(str(p.get('path', 'responses'))).stem}", target=lambda p: Target("responses"))
def survey_responses(*, path: DataPath) -> SurveyResponses:
    """Survey responses from a CSV or parquet table, one row per response."""
    file = Path(path)
    return responses_from_frame(read_table(file), f"survey-{file.stem}", str(file))


@DATASETS.register("method_cards", label=lambda p: f"survey-{p.get('track')}", target=lambda p: Target("responses"))
def method_cards(results_dir: Path | None = None, *, track: str, results: DataPath | None = None) -> SurveyResponses:
    """The method cards of a track's submissions in this results folder, as survey responses."""
    root = Path(results) if results is not None else results_dir
    if root is None:
        raise ValueError("no results folder to read the method cards from (give dataset.params.results)")
    return responses_from_runs(root, track)


# Answer shares reported by Eisenmann et al. 2022 (../shared/papers/survey_and_ranking.md): the
# synthetic responses are drawn with them, so the statistics should recover them.
REPORTED = {
    "deep_learning": 0.94, "standard_architecture": 0.84, "data_too_large": 0.43, "k_fold_cross_validation": 0.37,
    "ensembling": 0.50, "postprocessing": 0.48,
    "incentives": {"knowledge_exchange": 0.70, "prize_money": 0.16, "comparison": 0.5, "data_access": 0.3, "publication": 0.4, "other": 0.05},
    "bottlenecks": {"not_enough_time": 0.32, "infrastructure": 0.25, "data": 0.2, "other": 0.05},
    "large_data_handling": {"patch_based": 0.69, "downsampling": 0.37, "slices_2d": 0.2, "other": 0.05},
    "ensemble_kind": {"identical": 0.61, "heterogeneous": 0.39},
    "hours_spent": 80.0, "response_rate": 0.72,
}


def synthetic_frame(challenges: int = 20, min_participants: int = 4, max_participants: int = 40, unanswered: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """A responses table in the file format, drawn with the paper's shares (``REPORTED``): per challenge a
    number of participants and a response rate around 72%; each question left empty with ``unanswered``
    probability; hours log-normal with median 80; the options not reported are made up."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(challenges):
        participants = int(rng.integers(min_participants, max_participants + 1))
        rate = rng.beta(7.2, 2.8)  # mean 0.72
        for _ in range(max(1, int(rng.binomial(participants, rate)))):
            row: dict[str, Any] = {"challenge": f"challenge-{c:02d}", "participants": participants}
            for question in QUESTIONS:
                if question.condition and row.get(question.condition) is not True:
                    continue
                if rng.random() < unanswered:
                    continue
                reported = REPORTED[question.field]
                if question.kind == "yes_no":
                    row[question.field] = bool(rng.random() < reported)
                elif question.kind == "number":
                    row[question.field] = round(float(reported * rng.lognormal(0.0, 0.8)), 1)
                elif question.kind == "choice":
                    row[question.field] = str(rng.choice(list(reported), p=list(reported.values())))
                else:
                    row[question.field] = ";".join(o for o, p in reported.items() if rng.random() < p) or "none"
            rows.append(row)
    return pd.DataFrame(rows)


@DATASETS.register("survey-synthetic", target=lambda p: Target("responses"))
def survey_synthetic(*, challenges: PositiveInt = 20, min_participants: PositiveInt = 4, max_participants: PositiveInt = 40, seed: Seed = 0) -> SurveyResponses:
    """Synthetic survey responses drawn with the answer shares Eisenmann et al. 2022 report (for tests and demos)."""
    if min_participants > max_participants:
        raise ValueError(f"min_participants {min_participants} > max_participants {max_participants}")
    frame = synthetic_frame(challenges, min_participants, max_participants, seed=seed)
    return responses_from_frame(frame, "survey-synthetic", "survey-synthetic")
