"""The finetune task on real offline text: MiniLM fine-tuned fully, head only and through adapters."""
from __future__ import annotations

import pytest
import torch

from registry import DATASETS, MODELS, TASKS, load_all
from registry.context import RunContext
from registry.metrics import build_metric
from specs.schema import Component

MODEL = Component(name="minilm", params={"max_length": 16})


@pytest.fixture(scope="module")
def sst2():
    load_all()
    return DATASETS.get("glue-synthetic").build(params={"task": "sst2", "size": 48})


def run(data, tmp_path, method: str, metrics=("accuracy",), **params):
    def build_model(component: Component):
        return MODELS.get(component.name).build(harness=data.model_args, params=component.params)

    torch.manual_seed(0)
    ctx = RunContext(seed=0, device=torch.device("cpu"), data=data, model=MODEL, dataset=Component(name="glue-synthetic"),
                     metrics=[build_metric(m) for m in metrics], cache_dir=tmp_path, run_dir=tmp_path, build_model=build_model)
    return TASKS.get("finetune").build(ctx, params={"method": method, "epochs": 1, "batch_size": 16, **params})


@pytest.mark.parametrize("method, most", [("full", 100.0), ("head", 0.01), ("lora", 1.0), ("krona", 0.2), ("krona_b_res", 0.2)])
def test_each_method_reports_its_trainable_share(sst2, tmp_path, method, most):
    result = run(sst2, tmp_path, method)
    share = result.metrics["test"]["trainable_pct"]
    assert 0 < share <= most
    assert result.higher_is_better == {"trainable_pct": False}
    assert sum(result.cases["accuracy"]) / len(result.cases["accuracy"]) == pytest.approx(result.metrics["test"]["accuracy"])  # per sentence
    if method in ("lora", "krona", "krona_b_res"):
        assert result.info["adapted"] and result.info["merge_max_abs_diff"] < 1e-4  # merged == unmerged


def test_lora_share_matches_its_parameter_count(sst2, tmp_path):
    result = run(sst2, tmp_path, "lora", rank=4)
    hidden, layers, classes = 384, 6, 2
    lora = layers * 2 * 4 * (hidden + hidden)  # query and value of each layer: r (in + out)
    head = (hidden + 1) * classes
    assert result.info["trainable_params"] == lora + head
    assert result.metrics["test"]["trainable_pct"] == pytest.approx(100 * (lora + head) / result.info["base_params"])


def test_regression_task_uses_a_score_and_correlations(tmp_path):
    load_all()
    stsb = DATASETS.get("glue-synthetic").build(params={"task": "stsb", "size": 48})
    result = run(stsb, tmp_path, "head", metrics=("pearson", "spearman"), lr=1e-2)
    assert set(result.metrics["test"]) == {"pearson", "spearman", "trainable_pct"}
    assert result.cases == {}  # correlations have no per-sentence value
