"""Method cards: the survey's questions with their allowed answers, validated in a spec."""
import pytest
from pydantic import ValidationError

from specs.method_card import QUESTIONS, MethodCard
from specs.schema import Spec

SPEC = {"name": "s", "track": "t", "dataset": {"name": "digits"}, "model": {"name": "small_cnn"}, "task": {"name": "distillation"}, "metrics": ["accuracy"]}


def test_a_full_card_validates():
    card = MethodCard(
        deep_learning=True, standard_architecture=True, data_too_large=True, large_data_handling=["patch_based", "downsampling"],
        k_fold_cross_validation=False, ensembling=True, ensemble_kind="heterogeneous", postprocessing=True, hours_spent=80,
        incentives=["knowledge_exchange", "prize_money"], bottlenecks=[],
    )
    assert card.large_data_handling == ["patch_based", "downsampling"] and card.bottlenecks == []


@pytest.mark.parametrize("answers, message", [
    ({"incentives": ["fame"]}, "incentives"),
    ({"ensemble_kind": "mixed", "ensembling": True}, "ensemble_kind"),
    ({"hours_spent": -1}, "hours_spent"),
    ({"deep_learning": "perhaps"}, "deep_learning"),
    ({"favourite_colour": "blue"}, "favourite_colour"),
])
def test_answers_outside_the_options_are_refused(answers, message):
    with pytest.raises(ValidationError, match=message):
        MethodCard(**answers)


@pytest.mark.parametrize("answers, condition", [
    ({"standard_architecture": True}, "deep_learning"),
    ({"deep_learning": False, "standard_architecture": True}, "deep_learning"),
    ({"large_data_handling": ["downsampling"]}, "data_too_large"),
    ({"ensembling": False, "ensemble_kind": "identical"}, "ensembling"),
])
def test_follow_up_questions_need_their_condition(answers, condition):
    with pytest.raises(ValidationError, match=f"asked only when {condition} is true"):
        MethodCard(**answers)


def test_questions_know_their_options():
    options = {q.field: q.options for q in QUESTIONS if q.kind in ("choice", "multi")}
    assert options["ensemble_kind"] == ("identical", "heterogeneous")
    assert "prize_money" in options["incentives"] and "not_enough_time" in options["bottlenecks"]
    assert {q.field for q in QUESTIONS} == set(MethodCard.model_fields) - {"challenge"}


def test_a_spec_carries_a_method_card_and_a_bad_one_names_its_key():
    assert Spec.model_validate({**SPEC, "method_card": {"deep_learning": True, "hours_spent": 12}}).method_card.hours_spent == 12
    with pytest.raises(ValidationError, match="method_card.incentives"):
        Spec.model_validate({**SPEC, "method_card": {"incentives": ["fame"]}})
