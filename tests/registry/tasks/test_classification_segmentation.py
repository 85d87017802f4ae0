"""The classification and segmentation tasks on small synthetic MTNeuro data, 2D and 3D."""
from __future__ import annotations

import pytest
import torch

from registry import DATASETS, MODELS, TASKS, load_all
from registry.context import RunContext
from registry.metrics import build_metric
from specs.schema import Component


def context(tmp_path, dataset: dict, model: Component, metrics: list[str], seed: int = 0) -> RunContext:
    load_all()
    data = DATASETS.get("mtneuro-synthetic").build(params={"size": 32, "z_step": 6, **dataset})

    def build_model(component: Component) -> torch.nn.Module:
        return MODELS.get(component.name).build(harness=data.model_args, params=component.params)

    torch.manual_seed(seed)
    return RunContext(
        seed=seed, device=torch.device("cpu"), data=data, model=model, dataset=Component(name="mtneuro-synthetic", params=dataset),
        metrics=[build_metric(m) for m in metrics], cache_dir=tmp_path / "cache", run_dir=tmp_path / "run", build_model=build_model,
    )


def run(task: str, ctx: RunContext, **params):
    return TASKS.get(task).build(ctx, params=params)


def test_linear_probe_trains_only_the_head(tmp_path):
    ctx = context(tmp_path, {"task": "region"}, Component(name="resnet18", params={"width": 8}), ["accuracy"])
    built = []
    original = ctx.build_model
    ctx.build_model = lambda c: built.append(original(c)) or built[-1]
    result = run("classification", ctx, mode="linear_probe", epochs=2, lr=0.1, batch_size=16)
    model = built[0]
    torch.manual_seed(0)
    reference = original(ctx.model)  # same seed -> the initial weights
    encoder_now, encoder_init = model.encoder.state_dict(), reference.encoder.state_dict()
    assert all(torch.equal(encoder_now[k], encoder_init[k]) for k in encoder_now)  # weights and BN statistics
    assert not torch.equal(model.head.weight, reference.head.weight)
    assert result.info["mode"] == "linear_probe" and set(result.metrics) == {"val", "test"}


def test_finetune_and_checkpoint_loading(tmp_path):
    ctx = context(tmp_path, {"task": "region"}, Component(name="resnet18", params={"width": 8}), ["accuracy", "balanced_accuracy"])
    checkpoint = tmp_path / "encoder.pt"
    donor = ctx.build_model(ctx.model)
    torch.save({k: v for k, v in donor.state_dict().items() if k.startswith("encoder")}, checkpoint)
    result = run("classification", ctx, epochs=3, lr=0.05, batch_size=16, momentum=0.9, checkpoint=str(checkpoint))
    assert result.info["missing_from_checkpoint"] == ["head.weight", "head.bias"]
    assert 0.25 < result.metrics["test"]["accuracy"] <= 1  # four balanced classes: chance is 0.25
    with pytest.raises(FileNotFoundError):
        run("classification", ctx, epochs=1, checkpoint=str(tmp_path / "missing.pt"))


def test_region_3d_runs_with_the_3d_resnet(tmp_path):
    ctx = context(tmp_path, {"task": "region", "dims": 3}, Component(name="resnet18_3d", params={"width": 4}), ["accuracy", "macro_f1"])
    assert tuple(ctx.data.train.x.shape[1:]) == (1, 8, 32, 32)
    result = run("classification", ctx, epochs=1, batch_size=4)
    assert set(result.metrics["test"]) == {"accuracy", "macro_f1"}


@pytest.mark.parametrize("dims, model", [(2, Component(name="unet_resnet18", params={"width": 8})), (3, Component(name="unet3d", params={"depth": 2, "start_filters": 4}))])
def test_segmentation_reports_per_class_and_average(tmp_path, dims, model):
    ctx = context(tmp_path, {"task": "segmentation_4class", "dims": dims}, model, ["seg_f1", "seg_iou", "seg_balanced_accuracy"])
    result = run("segmentation", ctx, epochs=1, batch_size=4)
    test = result.metrics["test"]
    classes = ("background", "vessel", "cell", "axon")
    assert {f"seg_iou/{c}" for c in classes} | {f"seg_f1/{c}" for c in classes} | {"seg_iou", "seg_f1"} <= set(test)
    assert {f"seg_balanced_accuracy/{c}" for c in classes[1:]} | {"seg_balanced_accuracy"} <= set(test)
    assert "seg_balanced_accuracy/background" not in test
    assert test["seg_iou"] == pytest.approx(sum(test[f"seg_iou/{c}"] for c in classes) / 4)
    assert result.info["classes"] == list(classes)
    # one value per test image and metric, averaging to the reported metric
    assert set(result.cases) == {"seg_f1", "seg_iou", "seg_balanced_accuracy"}
    assert len(result.cases["seg_iou"]) == len(ctx.data.test)
    assert sum(result.cases["seg_iou"]) / len(ctx.data.test) == pytest.approx(test["seg_iou"])


def test_segmentation_refuses_classification_metrics(tmp_path):
    ctx = context(tmp_path, {"task": "segmentation_3class"}, Component(name="unet_resnet18", params={"width": 8}), ["accuracy", "seg_iou"])
    with pytest.raises(ValueError, match="accuracy cannot score segmentation"):
        run("segmentation", ctx, epochs=1)


def test_synthetic_data_is_deterministic_and_has_every_class(tmp_path):
    load_all()
    make = lambda **p: DATASETS.get("mtneuro-synthetic").build(params={"size": 32, "z_step": 6, **p})
    a, b = make(task="segmentation_4class"), make(task="segmentation_4class")
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.train.y, b.train.y)
    assert set(torch.unique(a.train.y).tolist()) == {0, 1, 2, 3}
    assert not torch.equal(make(task="segmentation_4class", seed=1).train.x, a.train.x)
    region = make(task="region")
    assert torch.bincount(region.train.y).tolist() == [len(region.train) // 4] * 4
