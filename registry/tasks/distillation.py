"""Knowledge distillation, teacher to student: student alone, vanilla KD, Annealing-KD, Continuation-KD.

The teacher is trained once per (dataset, teacher, teacher settings, seed) and cached under the
results' cache folder, keyed by its own hash, so every method of a sweep distils from the same
teacher; its own metrics become a record of their own (method ``teacher``). Runs executing at
the same time (Ray workers) that need one teacher train it once: the first holds a file lock in
its cache folder while it trains, the others wait for it and load the result.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterator, Literal

try:
    import fcntl
except ImportError:  # Windows: no lock, so one process at a time per results folder there
    fcntl = None

import torch
from pydantic import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from torch import nn
from torch.nn import functional as F

from registry.context import ExtraRun, RunContext, TaskResult
from registry.core import TASKS
from registry.datasets.tensors import Fields, Split, TensorData
from registry.params import Momentum, Probability, Seed
from registry.targets import Accepts
from registry.tasks.inputs import is_regression, model_inputs, same_tokenizer, selection, supervised_loss
from registry.tasks.training import Optimizer, Schedule, TrainConfig, autocast, evaluate, fit, predict, test_cases
from specs.hashing import stable_hash
from specs.schema import Component

Method = Literal["student_only", "vanilla_kd", "annealing_kd", "continuation_kd"]


def vanilla_kd_loss(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, temperature: float, alpha: float) -> torch.Tensor:
    """Hinton et al. 2015: (1 - alpha) CE + alpha T^2 KL(softmax(z_T/T) || softmax(z_S/T)).
    The T^2 factor keeps the soft-target gradients on the scale of the hard-target ones."""
    soft = F.kl_div(F.log_softmax(student / temperature, 1), F.log_softmax(teacher / temperature, 1), reduction="batchmean", log_target=True)
    return (1 - alpha) * F.cross_entropy(student, labels) + alpha * temperature**2 * soft


def continuation_phi(epoch: int, epochs: int, t_max: int) -> float:
    """Jafari et al. 2022: phi(T) = 1 - (T - 1)/T_max, with T starting at T_max and dropping by 1
    every k = floor(n / T_max) epochs until T = 1."""
    k = max(1, epochs // t_max)
    temperature = max(1, t_max - epoch // k)
    return 1 - (temperature - 1) / t_max


def continuation_psi(epoch: int, ramp: float, until: int | None) -> float:
    """Weight of the cross-entropy term: psi = i / ramp (capped at 1), and 1 after epoch ``until``.
    The paper uses ramp 150 on CIFAR (200 epochs) and ramp 40, until 20 on GLUE."""
    if until is not None and epoch > until:
        return 1.0
    return min(1.0, epoch / ramp)


def default_psi_ramp(epochs: int) -> float:
    """``psi_ramp`` when a spec leaves it unset: 3/4 of the epochs (the paper's 150 of 200 on CIFAR)."""
    return 0.75 * epochs


def annealing_kd_epochs(ramp: float) -> int:
    """Annealing-KD's distillation phase: epochs 0 .. floor(psi_ramp) - 1 (at least one); psi = 1 after it."""
    return max(1, math.floor(ramp))


def schedule_problems(params: dict) -> list[tuple[str, str]]:
    """Schedules that cannot complete within ``epochs``, as ``(key, message)`` (the task's cross-parameter check).

    Epochs are counted 0 .. epochs - 1. Both schedules of Jafari et al. 2022 end within the run (CIFAR:
    T_max = 20 and psi = i/150 over 200 epochs; GLUE: T_max = 10, psi = i/40 and 1 after epoch 20,
    over 30), and so must a spec's:

    - continuation_kd: phi reaches 1 (the full teacher) by the last epoch, i.e. epochs >= t_max
      (T drops by 1 every max(1, floor(epochs / t_max)) epochs); and psi reaches 1 (pure cross-entropy)
      by the last epoch: psi_ramp <= epochs - 1, or psi_until < epochs - 1.
    - annealing_kd: the label phase happens, floor(psi_ramp) <= epochs - 1; and phi reaches 1 within
      the distillation phase, t_max <= floor(psi_ramp).

    student_only and vanilla_kd have no such schedule."""
    method, epochs, t_max = params["method"], params["epochs"], params["t_max"]
    given = params["psi_ramp"]
    ramp = given if given is not None else default_psi_ramp(epochs)
    ramp_text = f"psi_ramp = {ramp:g}" if given is not None else f"psi_ramp (unset: 3/4 of epochs = {ramp:g})"
    last = epochs - 1
    problems: list[tuple[str, str]] = []
    if method == "continuation_kd":
        phi = continuation_phi(last, epochs, t_max)
        if phi < 1:
            problems.append(("t_max", (
                f"continuation_kd lowers T from t_max = {t_max} to 1 by one every max(1, floor(epochs / t_max)) epochs; "
                f"with epochs = {epochs} < t_max, phi ends at {phi:g} and never reaches 1 (the full teacher): "
                f"set t_max to at most {epochs} (Jafari et al. 2022: T_max = 20 for 200 epochs, 10 for 30)")))
        until = params["psi_until"]
        psi = continuation_psi(last, ramp, until)
        if psi < 1 and last == 0:
            problems.append(("epochs", (
                "continuation_kd needs at least 2 epochs: psi starts at 0 (pure distillation) at epoch 0 and can "
                "reach 1 (pure cross-entropy) at epoch 1 at the earliest")))
        elif psi < 1:
            key = "psi_until" if until is not None else "psi_ramp"
            jump = f" and 1 after epoch psi_until = {until}" if until is not None else ""
            problems.append((key, (
                f"continuation_kd's label weight psi = epoch / {ramp_text}{jump} is {psi:g} at the last epoch "
                f"({last}, counting from 0), so psi never reaches 1 (pure cross-entropy): set psi_ramp to at most {last}"
                f" or psi_until below {last} (Jafari et al. 2022: psi = i/150 over 200 epochs; "
                f"i/40 and 1 after epoch 20 over 30)")))
    elif method == "annealing_kd":
        kd = annealing_kd_epochs(ramp)
        if last == 0:
            problems.append(("epochs", "annealing_kd needs at least 2 epochs: one to distil, then one on the labels alone"))
        elif kd > last:
            phi = continuation_phi(last, kd, t_max)
            reach = f"; phi ends at {phi:g}, short of the full teacher" if phi < 1 else ""
            fix = (f"set psi_ramp to a value from t_max = {t_max} (so that phi reaches 1) to {last}" if t_max <= last
                   else f"set psi_ramp to at most {last} and t_max to at most psi_ramp")
            problems.append(("psi_ramp", (
                f"annealing_kd distils for floor(psi_ramp) = {kd} epochs, then trains on the labels alone (psi = 1); "
                f"with epochs = {epochs} the run ends before the label phase{reach}: {fix}, or raise epochs above {kd}")))
        elif continuation_phi(kd - 1, kd, t_max) < 1:
            phi = continuation_phi(kd - 1, kd, t_max)
            problems.append(("t_max", (
                f"annealing_kd lowers T from t_max = {t_max} to 1 over its floor(psi_ramp) = {kd} distillation epochs, "
                f"by one every max(1, floor({kd} / t_max)) epochs; with t_max > {kd}, phi ends at {phi:g} and never "
                f"reaches 1 (the full teacher): set t_max to at most {kd}, or psi_ramp to at least {t_max} "
                f"(and below epochs = {epochs})")))
    return problems


def continuation_kd_loss(
    student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, phi: float, psi: float, margin: float,
    hard: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
) -> torch.Tensor:
    """psi CE + (1 - psi) max(0, ||z_S - phi z_T||^2 - m phi), on raw logits (no softmax).

    The squared error is averaged over the C logits rather than summed (the paper leaves the
    normalisation open): the margin is then per logit and its scale does not grow with C. ``hard``
    is the supervised term: cross entropy, or mean squared error for a regression score."""
    error = (student - phi * teacher).pow(2).mean(dim=1)
    distil = torch.clamp(error - margin * phi, min=0).mean()
    if psi == 0:
        return distil
    return psi * hard(student, labels) + (1 - psi) * distil


def _teacher_key(ctx: RunContext, teacher: Component, config: TrainConfig, seed: int) -> str:
    return stable_hash({"kind": "teacher", "dataset": ctx.dataset.model_dump(), "teacher": teacher.model_dump(), "train": config.__dict__, "seed": seed})


def _load_or_train_teacher(ctx: RunContext, teacher: Component, config: TrainConfig, seed: int) -> tuple[nn.Module, ExtraRun]:
    """The teacher trained with ``seed``: from the cache when trained before, else trained and cached.

    It is built and trained on its own torch random stream (seeded with ``seed``, then the run's
    stream is restored), so the student that follows starts from the same state whether the teacher
    was trained in this run or loaded: a run's numbers never depend on what the cache held."""
    assert ctx.build_model is not None
    key = _teacher_key(ctx, teacher, config, seed)
    folder = ctx.cache_dir / "teachers" / key
    summary_path = folder / "summary.json"
    trained_here = False
    devices = [ctx.device] if ctx.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), contextlib.ExitStack() as held:
        torch.manual_seed(seed)
        model = ctx.build_model(teacher).to(ctx.device)
        data = model_inputs(ctx, model)
        if not summary_path.is_file():
            held.enter_context(_exclusive(folder))  # another process may be training it: wait, then look again
        if summary_path.is_file():
            model.load_state_dict(torch.load(folder / "model.pt", map_location=ctx.device, weights_only=True))
            summary = json.loads(summary_path.read_text())
        else:
            started = time.monotonic()
            teacher_ctx = replace(ctx, seed=seed)
            history = fit(model, data, teacher_ctx, supervised_loss(data), config, f"teacher {teacher.name}",
                          select=selection(data, teacher_ctx, config.eval_batch_size))
            summary = {
                "metrics": evaluate(model, data, teacher_ctx, config.eval_batch_size),
                "duration_s": time.monotonic() - started,
                "best_epoch": history.best_epoch,
                "train_images_per_s": history.images_per_s,
            }
            _write_atomic(folder, model, summary)
            trained_here = True
    params = {"method": "teacher", **config.__dict__}
    info = {"best_epoch": summary["best_epoch"], "train_images_per_s": summary.get("train_images_per_s"), "cache": str(folder)}
    extra = ExtraRun(key, teacher, "teacher", params, summary["metrics"], summary["duration_s"], seed, trained_here, info)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model, extra


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """An exclusive lock on a cache folder across processes (flock; on NFS Linux emulates it with fcntl locks)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def _write_atomic(folder: Path, model: nn.Module, summary: dict) -> None:
    """Weights first, then the summary that marks the entry complete; each written then renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"model.pt.{os.getpid()}.tmp"
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, folder / "model.pt")
    tmp = folder / f"summary.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(summary, indent=1))
    os.replace(tmp, folder / "summary.json")


@TASKS.register("distillation", accepts=Accepts({"classes", "regression"}), check=schedule_problems)
def distillation(
    ctx: RunContext,
    *,
    method: Method = "continuation_kd",
    teacher: Component | None = None,
    teacher_epochs: PositiveInt | None = None,
    teacher_lr: PositiveFloat | None = None,
    teacher_seed: Seed | None = None,
    epochs: PositiveInt = 30,
    lr: PositiveFloat = 0.1,
    batch_size: PositiveInt = 64,
    weight_decay: NonNegativeFloat = 5e-4,
    momentum: Momentum = 0.9,
    schedule: Schedule = "cosine",
    optimizer: Optimizer = "sgd",
    temperature: PositiveFloat = 4.0,
    alpha: Probability = 0.9,
    t_max: PositiveInt = 20,
    margin: NonNegativeFloat = 0.1,
    psi_ramp: PositiveFloat | None = None,
    psi_until: NonNegativeInt | None = None,
) -> TaskResult:
    """Train the spec's model as a student of ``teacher`` with ``method``; test metrics of its best-val epoch.

    vanilla_kd uses ``temperature`` and ``alpha``; continuation_kd and annealing_kd use ``t_max``,
    ``margin`` (m, not stated in the paper; default 0.1 per logit) and ``psi_ramp`` (default 3/4
    of the epochs, the paper's 150 of 200 on CIFAR). annealing_kd (Jafarpour et al. 2021) is the
    same loss with m = 0 and psi a step at ``psi_ramp``: pure annealed distillation, then pure CE.
    ``psi_until`` (continuation_kd only) sets psi to 1 after that epoch (the paper's GLUE schedule).
    A schedule that cannot complete within ``epochs`` (phi never reaching 1, or psi never reaching 1:
    see ``schedule_problems``) is a problem of the spec, reported at its key before anything runs.
    ``teacher_seed`` trains one teacher with that seed for every seed of the sweep (the students'
    seeds vary, the teacher is fixed, as a paper distils from one trained teacher); unset, each
    seed trains its own teacher, so the seeds' spread includes the teacher's."""
    assert ctx.build_model is not None
    if method != "student_only" and teacher is None:
        raise ValueError(f"method {method!r} needs task.params.teacher")
    config = TrainConfig(epochs, lr, batch_size, weight_decay, momentum, schedule, optimizer)
    extra_runs: list[ExtraRun] = []
    teacher_model: nn.Module | None = None
    if teacher is not None and method != "student_only":
        teacher_config = TrainConfig(teacher_epochs or epochs, teacher_lr or lr, batch_size, weight_decay, momentum, schedule, optimizer)
        teacher_model, teacher_run = _load_or_train_teacher(ctx, teacher, teacher_config, ctx.seed if teacher_seed is None else teacher_seed)
        extra_runs.append(teacher_run)
    ramp = psi_ramp if psi_ramp is not None else default_psi_ramp(epochs)

    student = ctx.build_model(ctx.model).to(ctx.device)
    data = model_inputs(ctx, student)
    if teacher_model is not None:
        same_tokenizer(teacher_model, student)
    hard = supervised_loss(data)
    if method == "vanilla_kd" and is_regression(data):
        raise ValueError("vanilla_kd matches class probabilities; for a regression task use continuation_kd or annealing_kd")
    if teacher_model is not None and type(data).augment is TensorData.augment:
        # inputs that are never augmented (digits, text) give the same teacher output every epoch:
        # compute it once and draw it with each batch's labels
        logits = torch.from_numpy(predict(teacher_model, data.train, ctx, config.eval_batch_size)).to(ctx.device)
        data = replace(data, train=Split(data.train.x, Fields(labels=data.train.y, teacher_logits=logits)))

    def loss_fn(epoch: int, x: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor | Fields) -> torch.Tensor:
        if teacher_model is None:
            return hard(epoch, x, logits, labels)
        if isinstance(labels, Fields):
            target, labels = labels["teacher_logits"], labels["labels"]
        else:
            with torch.no_grad(), autocast(ctx):
                target = teacher_model(x).float()
        if method == "vanilla_kd":
            return vanilla_kd_loss(logits, target, labels, temperature, alpha)
        if method == "annealing_kd":
            kd_epochs = annealing_kd_epochs(ramp)
            psi = 0.0 if epoch < kd_epochs else 1.0
            return continuation_kd_loss(logits, target, labels, continuation_phi(epoch, kd_epochs, t_max), psi, 0.0, supervised)
        phi = continuation_phi(epoch, epochs, t_max)
        return continuation_kd_loss(logits, target, labels, phi, continuation_psi(epoch, ramp, psi_until), margin, supervised)

    def supervised(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return hard(0, None, logits, labels)

    history = fit(student, data, ctx, loss_fn, config, f"{method} {ctx.model.name}", select=selection(data, ctx, config.eval_batch_size))
    info = {"best_epoch": history.best_epoch, "train_images_per_s": history.images_per_s, "history": history.history}
    if extra_runs:
        info["teacher_run_id"] = extra_runs[0].run_id
        if extra_runs[0].trained_here:  # on the teacher's record, and not counted in this run's duration_s
            info["teacher_training_s"] = extra_runs[0].duration_s
    cases = test_cases(student, data, ctx, config.eval_batch_size)
    return TaskResult(evaluate(student, data, ctx, config.eval_batch_size), info, extra_runs, cases=cases)
