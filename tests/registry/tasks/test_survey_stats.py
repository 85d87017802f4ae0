"""survey_stats: shares with Wilson intervals, medians with bootstrap intervals and response rates,
on hand-made responses with known answers and on synthetic ones drawn with the paper's shares."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from registry import DATASETS, MODELS, TASKS, load_all
from registry.context import RunContext
from registry.datasets.survey import REPORTED, SurveyResponses
from registry.metrics import build_metric
from specs.method_card import MethodCard
from specs.schema import Component

# 10 responses to challenge "a" (12 participants) and "b" (4): deep learning 7 yes, 2 no, 1 blank;
# of the 7, standard architecture 3 yes, 2 no, 2 blank; incentives named by 8.
CARDS = (
    [MethodCard(challenge="a", deep_learning=True, standard_architecture=True, incentives=["knowledge_exchange", "prize_money"], hours_spent=10)] * 3
    + [MethodCard(challenge="a", deep_learning=True, standard_architecture=False, incentives=["knowledge_exchange"], hours_spent=40)] * 2
    + [MethodCard(challenge="a", deep_learning=True, incentives=["comparison"], hours_spent=100)] * 2
    + [MethodCard(challenge="b", deep_learning=False, incentives=[])]
    + [MethodCard(challenge="b", deep_learning=False)]
    + [MethodCard(challenge="b")]
)
DATA = SurveyResponses("survey-hand", CARDS, {"a": 12, "b": 4})


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval written out (Wilson 1927)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def run(data, metrics=("share", "median", "response_rate"), seed=0, **estimator):
    load_all()
    ctx = RunContext(seed=seed, device=torch.device("cpu"), data=data, model=Component(name="survey_estimator", params=estimator),
                     dataset=Component(name="survey-hand"), metrics=[build_metric(m) for m in metrics], cache_dir=None, run_dir=None,
                     build_model=lambda c: MODELS.get(c.name).build(params=c.params))
    return TASKS.get("survey_stats").build(ctx, params={})


def rows(result) -> dict[str, dict]:
    return {row["metric"]: row for row in result.info["statistics"]}


def test_yes_no_shares_count_those_asked_who_answered_with_wilson_intervals():
    stats = rows(run(DATA))
    deep = stats["share/deep_learning"]
    assert (deep["value"], deep["n"], deep["count"]) == (7 / 9, 9, 7)
    assert (deep["low"], deep["high"]) == pytest.approx(wilson(7, 9), abs=1e-12)
    standard = stats["share/standard_architecture"]  # asked of the 7 deep-learning answers, 5 answered
    assert (standard["value"], standard["n"]) == (3 / 5, 5)
    assert (standard["low"], standard["high"]) == pytest.approx(wilson(3, 5), abs=1e-12)


def test_multi_choice_options_are_counted_per_respondent():
    stats = rows(run(DATA))
    assert stats["share/incentives/knowledge_exchange"]["value"] == pytest.approx(5 / 8)
    assert stats["share/incentives/prize_money"]["value"] == pytest.approx(3 / 8)
    assert stats["share/incentives/comparison"]["value"] == pytest.approx(2 / 8)
    assert stats["share/incentives/other"]["value"] == 0 and stats["share/incentives/other"]["low"] == 0
    assert "share/bottlenecks/data" not in stats  # nobody answered it


def test_median_with_a_seeded_bootstrap_interval():
    first, again, other = (rows(run(DATA, seed=s)) for s in (0, 0, 1))
    hours = first["median/hours_spent"]
    assert (hours["value"], hours["n"]) == (40.0, 7)
    assert hours["low"] <= 40 <= hours["high"] and {hours["low"], hours["high"]} <= {10.0, 40.0, 100.0}
    assert hours == again["median/hours_spent"]
    assert other["median/hours_spent"]["value"] == 40.0


def test_response_rates_per_challenge_and_their_median():
    stats = rows(run(DATA))
    assert stats["response_rate/a"]["value"] == pytest.approx(7 / 12)
    assert (stats["response_rate/a"]["low"], stats["response_rate/a"]["high"]) == pytest.approx(wilson(7, 12), abs=1e-12)
    assert stats["response_rate/b"]["value"] == pytest.approx(3 / 4)
    assert stats["response_rate/median"]["value"] == pytest.approx((7 / 12 + 3 / 4) / 2)
    more = SurveyResponses("x", CARDS, {"a": 5, "b": 4})
    with pytest.raises(ValueError, match="challenge 'a': 7 responses but only 5 participants"):
        run(more)


def test_metrics_choose_the_statistics_and_become_metric_values():
    result = run(DATA, metrics=("share",))
    assert all(name.startswith("share/") for name in result.metrics["test"])
    assert result.metrics["test"]["share/deep_learning"] == pytest.approx(7 / 9)
    assert result.info["respondents"] == 10 and result.info["challenges"] == 2
    with pytest.raises(ValueError, match="accuracy do not describe survey responses"):
        run(DATA, metrics=("share", "accuracy"))


def test_a_wider_level_gives_wider_intervals():
    narrow, wide = rows(run(DATA, level=0.8))["share/deep_learning"], rows(run(DATA, level=0.99))["share/deep_learning"]
    assert wide["low"] < narrow["low"] and wide["high"] > narrow["high"]


def test_synthetic_responses_are_recovered_within_their_intervals():
    """Drawn with the paper's shares: nearly every 95% interval covers the share it was drawn with."""
    load_all()
    data = DATASETS.get("survey-synthetic").build(params={"challenges": 40, "seed": 3})
    stats = rows(run(data))
    covered = total = 0
    for metric, row in stats.items():
        kind, _, rest = metric.partition("/")
        field, _, option = rest.partition("/")
        if kind != "share":
            continue
        truth = REPORTED[field][option] if option else REPORTED[field]
        covered += row["low"] <= truth <= row["high"]
        total += 1
    assert total >= 20 and covered / total >= 0.85
    assert stats["median/hours_spent"]["low"] < 80 * 1.2 and stats["median/hours_spent"]["high"] > 80 / 1.2
    assert np.isfinite([r["value"] for r in stats.values()]).all()
