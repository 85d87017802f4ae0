"""Participation statistics of a challenge survey (Eisenmann et al. 2022, arXiv 2212.08568).

For each question of ``specs.method_card.QUESTIONS``, over the respondents it was asked of (a
follow-up only of those answering its condition yes) who answered it:
- yes/no: the share answering yes; choice: the share of each option; multi-choice: the share
  naming each option (options counted separately, so shares may sum past 1); all with Wilson
  score intervals;
- numbers (hours spent): the median with a percentile-bootstrap interval;
- response rates: respondents / participants per challenge, and their median over challenges
  with a bootstrap interval (only where the participants are known).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from registry.context import RunContext, TaskResult
from registry.core import TASKS
from registry.datasets.survey import SurveyResponses
from registry.metrics.survey import SurveyStatistic
from registry.models.survey import SurveyEstimator
from registry.targets import Accepts
from specs.method_card import QUESTIONS, MethodCard, Question


RESPONSE_RATE = Question("response_rate", "number", "share of a challenge's participants who answered")


def _asked(cards: list[MethodCard], question: Question) -> list[MethodCard]:
    """The respondents who were asked ``question`` and answered it."""
    asked = [c for c in cards if question.condition is None or getattr(c, question.condition) is True]
    return [c for c in asked if getattr(c, question.field) is not None]


def _row(metric: str, question: Question, option: str | None, value: float, low: float, high: float, n: int, count: int | None) -> dict:
    return {"metric": metric, "question": question.text, "field": question.field, "option": option,
            "value": value, "low": low, "high": high, "n": n, "count": count}


def share_rows(cards: list[MethodCard], estimator: SurveyEstimator) -> list[dict]:
    """Shares with Wilson intervals for every yes/no, choice and multi-choice question answered at least once."""
    rows = []
    for question in QUESTIONS:
        if question.kind == "number":
            continue
        answered = _asked(cards, question)
        if not answered:
            continue
        answers = [getattr(c, question.field) for c in answered]
        if question.kind == "yes_no":
            count = sum(answers)
            rows.append(_row(f"share/{question.field}", question, None, *estimator.share(count, len(answers)), len(answers), count))
            continue
        for option in question.options:
            count = sum(option in a if question.kind == "multi" else a == option for a in answers)
            rows.append(_row(f"share/{question.field}/{option}", question, option, *estimator.share(count, len(answers)), len(answers), count))
    return rows


def median_rows(cards: list[MethodCard], estimator: SurveyEstimator, rng: np.random.Generator) -> list[dict]:
    """Medians with bootstrap intervals of the numeric questions."""
    rows = []
    for question in QUESTIONS:
        if question.kind != "number":
            continue
        values = np.array([getattr(c, question.field) for c in _asked(cards, question)], dtype=float)
        if len(values):
            rows.append(_row(f"median/{question.field}", question, None, *estimator.median(values, rng), len(values), None))
    return rows


def response_rate_rows(data: SurveyResponses, estimator: SurveyEstimator, rng: np.random.Generator) -> list[dict]:
    """Each challenge's response rate (Wilson interval) and the median over challenges (bootstrap interval)."""
    rate = RESPONSE_RATE
    respondents = Counter(card.challenge for card in data.cards)
    rows, rates = [], []
    for challenge, participants in sorted(data.participants.items()):
        answered = respondents[challenge]
        if answered > participants:
            raise ValueError(f"challenge {challenge!r}: {answered} responses but only {participants} participants")
        rows.append(_row(f"response_rate/{challenge}", rate, challenge, *estimator.share(answered, participants), participants, answered))
        rates.append(answered / participants)
    if rates:
        rows.insert(0, _row("response_rate/median", rate, None, *estimator.median(np.array(rates), rng), len(rates), None))
    return rows


@TASKS.register("survey_stats", accepts=Accepts({"responses"}))
def survey_stats(ctx: RunContext) -> TaskResult:
    """Shares (Wilson intervals), medians (bootstrap intervals) and response rates of survey responses.

    The spec's model is the estimator (``survey_estimator``: level, resamples); its metrics choose
    which statistics to report (``share``, ``median``, ``response_rate``)."""
    assert ctx.build_model is not None
    data: SurveyResponses = ctx.data
    if not isinstance(data, SurveyResponses):
        raise TypeError(f"survey_stats needs survey responses (survey_responses, method_cards, survey-synthetic); dataset {ctx.dataset.name!r} is not")
    estimator = ctx.build_model(ctx.model)
    if not isinstance(estimator, SurveyEstimator):
        raise TypeError(f"survey_stats needs an estimator model (survey_estimator); {ctx.model.name!r} is not one")
    wanted = {m.name for m in ctx.metrics if isinstance(m, SurveyStatistic)}
    others = [m.name for m in ctx.metrics if not isinstance(m, SurveyStatistic)]
    if others:
        raise ValueError(f"metric(s) {', '.join(others)} do not describe survey responses; use share, median, response_rate")
    rng = np.random.default_rng(ctx.seed)
    rows = []
    if "share" in wanted:
        rows += share_rows(data.cards, estimator)
    if "median" in wanted:
        rows += median_rows(data.cards, estimator, rng)
    if "response_rate" in wanted:
        rows += response_rate_rows(data, estimator, rng)
    metrics = {row["metric"]: row["value"] for row in rows}
    info = {"respondents": len(data.cards), "challenges": len({c.challenge for c in data.cards}), "level": estimator.level, "statistics": rows}
    return TaskResult({"test": metrics}, info)
