"""The scaling_fit task: per-group laws from a table, and the CLIP spec on the paper's own tables."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from registry import MODELS, TASKS, load_all
from registry.context import RunContext
from registry.datasets.clip_scaling import ResultTable
from registry.metrics import build_metric
from runners.cli import main
from specs.schema import Component
from tests.conftest import PROJECT

SHARED = PROJECT.parent / "shared" / "data" / "clip_scaling"


def fit(frame: pd.DataFrame, **params):
    load_all()
    ctx = RunContext(
        seed=0, device=torch.device("cpu"), data=ResultTable("t", frame), model=Component(name="power_law"), dataset=Component(name="t"),
        metrics=[build_metric(m) for m in ("alpha", "beta", "r2", "extrapolation_error")], cache_dir=None, run_dir=None,
        build_model=lambda c: MODELS.get(c.name).build(params=c.params),
    )
    return TASKS.get("scaling_fit").build(ctx, params=params)


def test_each_group_gets_its_own_law_with_intervals():
    compute = np.logspace(9, 13, 12)
    frame = pd.concat([
        pd.DataFrame({"c": compute, "acc": 1 - 20 * compute ** -0.12, "family": "a"}),
        pd.DataFrame({"c": compute, "acc": 1 - 50 * compute ** -0.2, "family": "b"}),
    ])
    result = fit(frame, x="c", y="acc", group_by=["family"], resamples=500)
    test = result.metrics["test"]
    assert test["alpha/a"] == pytest.approx(-0.12) and test["alpha/b"] == pytest.approx(-0.2)
    assert test["beta/b"] == pytest.approx(50) and test["r2/a"] == pytest.approx(1.0)
    assert test["alpha_ci_low/a"] <= -0.12 <= test["alpha_ci_high/a"] and test["n_points/a"] == 12
    assert test["extrapolation_error/a"] < 1e-9
    assert result.higher_is_better["alpha/a"] is False and result.higher_is_better["r2/a"] is True
    assert set(result.info["groups"]) == {"a", "b"}


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared CLIP tables are not beside this checkout")
def test_clip_spec_fits_every_task_and_distribution(tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", str(PROJECT / "specs/scaling/clip.yaml"), "--set", f"dataset.params.path={SHARED}", "--results", str(results)]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "--track", "scaling", "--results", str(results), "--format", "json"]) == 0
    rows = {r["metric"]: r["mean"] for r in json.loads(capsys.readouterr().out)}
    for task in ("imagenet1k", "imagenet_robustness", "vtab+", "mscoco_captions", "flickr30k"):
        for distribution in ("LAION", "CLIP-WIT"):
            alpha = rows[f"alpha/{task}/{distribution}"]
            assert math.isfinite(alpha) and alpha < 0
            assert rows[f"alpha_ci_low/{task}/{distribution}"] <= alpha
    assert round(rows["alpha/imagenet1k/LAION"], 2) == -0.11 and round(rows["beta/imagenet1k/LAION"], 2) == 5.86
    assert rows["n_points/imagenet1k/LAION"] == 5 and rows["n_points/imagenet1k/CLIP-WIT"] == 3
    capsys.readouterr()
    assert main(["report", "--results", str(results), "--out", str(tmp_path / "report")]) == 0
    plots = sorted(p.name for p in (tmp_path / "report").glob("*.png"))
    assert len(plots) == 5 and "scaling-clip-scaling-imagenet1k.png" in plots
    text = (tmp_path / "report" / "scaling.md").read_text()
    assert all(f"({name})" in text for name in plots)
