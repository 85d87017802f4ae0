"""Distillation schedules must complete within the epochs (Jafari et al. 2022; Annealing-KD as its
m = 0, step-psi case): a schedule that cannot is a problem of the spec at its key, before anything runs.

The rule is checked against a brute-force oracle that walks every epoch with the task's own phi and psi,
on the paper's settings, at each boundary, and end to end through ``podium validate``.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from registry import TASKS, load_all
from registry.resolve import check_spec
from registry.tasks.distillation import (
    annealing_kd_epochs, continuation_phi, continuation_psi, default_psi_ramp, schedule_problems,
)

PROJECT = Path(__file__).resolve().parents[3]
DEFAULTS = {"method": "continuation_kd", "epochs": 30, "t_max": 20, "psi_ramp": None, "psi_until": None}


def problems(**params) -> dict[str, str]:
    """``{key: message}`` of the distillation task's parameters, through its parameter model."""
    load_all()
    found = TASKS.get("distillation").validate_params(params, "task.params", "spec.yaml")
    return {p.path.removeprefix("task.params."): p.message for p in found}


def completes(method: str, epochs: int, t_max: int, psi_ramp: float | None, psi_until: int | None) -> bool:
    """Oracle: walk epochs 0 .. epochs - 1 as the task's loss does and see whether each schedule ends."""
    ramp = psi_ramp if psi_ramp is not None else default_psi_ramp(epochs)
    run = range(epochs)
    if method == "continuation_kd":
        return (any(continuation_phi(e, epochs, t_max) == 1 for e in run)
                and any(continuation_psi(e, ramp, psi_until) == 1 for e in run))
    if method == "annealing_kd":
        kd = annealing_kd_epochs(ramp)
        psi = [0.0 if e < kd else 1.0 for e in run]  # the loss's step
        distilling = [e for e in run if psi[e] == 0]
        return 1.0 in psi and any(continuation_phi(e, kd, t_max) == 1 for e in distilling)
    return True


GRID = list(itertools.product(
    ["student_only", "vanilla_kd", "annealing_kd", "continuation_kd"],
    [1, 2, 3, 5, 10, 30],  # epochs
    [1, 2, 5, 10, 20],  # t_max
    [None, 0.5, 1, 2.5, 4, 9, 21, 29, 30, 40],  # psi_ramp
    [None, 0, 3, 20, 28, 29],  # psi_until
))


def test_the_rule_is_the_oracle_on_a_grid():
    for method, epochs, t_max, psi_ramp, psi_until in GRID:
        params = {"method": method, "epochs": epochs, "t_max": t_max, "psi_ramp": psi_ramp, "psi_until": psi_until}
        found = schedule_problems(params)
        assert (not found) == completes(**params), (params, found)


def test_the_papers_settings_complete():
    cifar = {"epochs": 200, "t_max": 20, "psi_ramp": 150}  # Jafari et al. 2022, CIFAR
    glue = {"epochs": 30, "t_max": 10, "psi_ramp": 40, "psi_until": 20}  # GLUE: psi = i/40 for i <= 20, then 1
    for method in ("continuation_kd", "annealing_kd"):
        assert problems(method=method, **cifar) == {}
    assert problems(method="continuation_kd", **glue) == {}
    assert problems(method="annealing_kd", **{**glue, "psi_ramp": 21}) == {}  # the shipped glue_bert row
    assert problems() == {} and problems(method="annealing_kd") == {}  # the task's defaults


def test_annealing_kd_on_glue_as_shipped_before_is_refused_at_psi_ramp():
    found = problems(method="annealing_kd", epochs=30, t_max=10, psi_ramp=40, psi_until=20)
    assert list(found) == ["psi_ramp"]
    assert found["psi_ramp"] == (
        "annealing_kd distils for floor(psi_ramp) = 40 epochs, then trains on the labels alone (psi = 1); with "
        "epochs = 30 the run ends before the label phase; phi ends at 0.8, short of the full teacher: set psi_ramp "
        "to a value from t_max = 10 (so that phi reaches 1) to 29, or raise epochs above 40")
    # the fix the message offers works at both ends
    assert problems(method="annealing_kd", epochs=30, t_max=10, psi_ramp=10) == {}
    assert problems(method="annealing_kd", epochs=30, t_max=10, psi_ramp=29) == {}


def test_the_shipped_glue_bert_spec_runs_each_schedule_to_its_end(tmp_path):
    from specs.loader import expand

    runs = [r for r in expand(PROJECT / "specs/kd/glue_bert.yaml") if r.seed == 0 and r.spec.dataset.params["task"] == "sst2"]
    params = {r.spec.task.params["method"]: r.spec.task.params for r in runs}
    annealing = params["annealing_kd"]
    kd = annealing_kd_epochs(annealing["psi_ramp"])
    assert kd == 21 and annealing["epochs"] == 30  # distil epochs 0..20, labels alone 21..29
    phi = [continuation_phi(e, kd, annealing["t_max"]) for e in range(kd)]
    assert phi[0] == pytest.approx(0.1) and phi.index(1.0) == 18 and phi[-1] == 1.0  # the full teacher before the step
    continuation = params["continuation_kd"]
    psi = [continuation_psi(e, continuation["psi_ramp"], continuation["psi_until"]) for e in range(30)]
    assert psi[20] == 0.5 and psi[21] == 1.0  # i/40 for i <= 20, then 1
    for run in runs:
        assert check_spec(run.spec, run.source) == []


@pytest.mark.parametrize("method", ["continuation_kd", "annealing_kd"])
def test_boundaries(method):
    # t_max against the epochs (continuation_kd) or the distillation epochs (annealing_kd)
    span = 10 if method == "continuation_kd" else 8
    base = {"method": method, "epochs": 10, "psi_ramp": 8}
    assert problems(**base, t_max=span) == {}
    assert list(problems(**base, t_max=span + 1)) == ["t_max"]
    # psi reaches 1 at the last epoch (9) at the latest
    assert problems(method=method, epochs=10, t_max=2, psi_ramp=9) == {}
    assert list(problems(method=method, epochs=10, t_max=2, psi_ramp=10)) == ["psi_ramp"]
    # one epoch cannot hold either schedule
    assert "epochs" in problems(method=method, epochs=1, t_max=1)


def test_psi_until_counts_for_continuation_kd_only():
    assert problems(epochs=10, t_max=2, psi_ramp=40, psi_until=8) == {}  # psi = 1 at epoch 9
    found = problems(epochs=10, t_max=2, psi_ramp=40, psi_until=9)
    assert list(found) == ["psi_until"] and "psi_until below 9" in found["psi_until"]
    assert list(problems(method="annealing_kd", epochs=10, t_max=2, psi_ramp=40, psi_until=5)) == ["psi_ramp"]


def test_every_problem_is_reported_at_once_and_an_unset_ramp_says_so():
    found = problems(epochs=3)  # t_max 20, psi_ramp unset: 2.25
    assert set(found) == {"t_max", "psi_ramp"}
    assert "epochs = 3 < t_max" in found["t_max"] and "set t_max to at most 3" in found["t_max"]
    assert "psi_ramp (unset: 3/4 of epochs = 2.25)" in found["psi_ramp"]


def test_methods_without_a_schedule_take_any_schedule_keys():
    for method in ("student_only", "vanilla_kd"):
        assert problems(method=method, epochs=1, t_max=20, psi_ramp=40, psi_until=20) == {}


def test_building_the_task_with_a_schedule_that_cannot_complete_fails_too():
    """What validation refuses the task refuses when called directly (a plugin, a test)."""
    load_all()
    with pytest.raises(ValidationError, match="annealing_kd distils"):
        TASKS.get("distillation").parsed_params({"method": "annealing_kd", "epochs": 30, "t_max": 10, "psi_ramp": 40})


def test_podium_validate_names_the_file_and_the_key(tmp_path, capsys):
    from runners.cli import main

    spec = {
        "name": "kd-schedule", "track": "kd", "dataset": {"name": "digits"}, "model": {"name": "small_cnn", "params": {"width": 4}},
        "task": {"name": "distillation", "params": {"method": "continuation_kd", "teacher": {"name": "resnet20"},
                                                    "epochs": 30, "t_max": 10, "psi_ramp": 40, "psi_until": 20}},
        "metrics": ["accuracy"], "matrix": {"task.params.method": ["continuation_kd", "annealing_kd"]},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}: task.params.psi_ramp: annealing_kd distils for floor(psi_ramp) = 40 epochs")
