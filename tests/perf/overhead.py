"""Podium's overhead: the digits distillation run through Podium against the same training as a
plain PyTorch loop (same data, model, teacher, loss, optimiser, seed and epochs), in one process.

    .venv/bin/python tests/perf/overhead.py [--epochs 40] [--repeats 3]

Prints both wall times (median of the repeats) and their ratio; the target is ratio <= 1.05.
The Podium side is the whole run as a sweep executes it: spec expansion, seeding, dataset,
training with progress and deadline checks, metrics, record writing and DuckDB ingestion.
"""
from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from registry import DATASETS, MODELS, load_all  # noqa: E402
from registry.tasks.distillation import continuation_kd_loss, continuation_phi, continuation_psi  # noqa: E402
from runners.sweep import run_sweep  # noqa: E402
from runners.progress import SweepReporter  # noqa: E402
from runners.records import ResultsDir  # noqa: E402
from runners.seeding import seed_everything  # noqa: E402
from specs.loader import expand  # noqa: E402


def spec_file(folder: Path, epochs: int) -> Path:
    spec = yaml.safe_load((ROOT / "specs/kd/digits.yaml").read_text())
    spec.update(matrix={}, seeds=[0], device="cpu")
    spec.pop("resources", None)  # torch's default thread count on both sides
    spec["task"]["params"].update(method="continuation_kd", epochs=epochs)
    path = folder / "overhead.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def podium_run(path: Path, results: ResultsDir) -> float:
    runs = expand(path)
    start = time.perf_counter()
    outcome = run_sweep(runs, results, force=True, reporter=SweepReporter(open("/dev/null", "w"), live=False))
    elapsed = time.perf_counter() - start
    assert outcome.ran[0].status == "ok", outcome.ran[0].error
    return elapsed


def plain_run(path: Path, teacher_weights: Path) -> float:
    """The same run written as a plain loop; only the model and data constructors are shared."""
    spec = yaml.safe_load(path.read_text())
    p = spec["task"]["params"]
    start = time.perf_counter()
    seed_everything(0)
    data = DATASETS.get("digits").build(params=spec["dataset"]["params"])
    model_args = data.model_args
    teacher = MODELS.get("resnet20").build(harness=model_args, params=p["teacher"]["params"])
    teacher.load_state_dict(torch.load(teacher_weights, weights_only=True))
    teacher.eval()
    student = MODELS.get("small_cnn").build(harness=model_args, params=spec["model"]["params"])
    epochs, batch = p["epochs"], p["batch_size"]
    optimizer = torch.optim.SGD(student.parameters(), lr=p["lr"], momentum=0.9, weight_decay=5e-4)
    total = epochs * math.ceil(len(data.train) / batch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    generator = torch.Generator().manual_seed(0)
    best, best_state = -1.0, None
    for epoch in range(epochs):
        student.train()
        for index in torch.randperm(len(data.train), generator=generator).split(batch):
            x, y = data.train.x[index], data.train.y[index]
            logits = student(x)
            with torch.no_grad():
                target = teacher(x)
            phi = continuation_phi(epoch, epochs, p["t_max"])
            loss = continuation_kd_loss(logits, target, y, phi, continuation_psi(epoch, 0.75 * epochs, None), p["margin"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        student.eval()
        with torch.no_grad():
            accuracy = (student(data.val.x).argmax(1) == data.val.y).float().mean().item()
        if accuracy > best:
            best, best_state = accuracy, copy.deepcopy(student.state_dict())
    student.load_state_dict(best_state)
    with torch.no_grad():
        predicted = student(data.test.x).argmax(1).numpy()
    _ = float(np.mean(predicted == data.test.y.numpy()))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    load_all()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = spec_file(folder, args.epochs)
        results = ResultsDir(folder / "results")
        podium_run(path, results)  # warm-up; trains and caches the teacher
        (teacher_dir,) = (results.cache / "teachers").iterdir()
        plain_run(path, teacher_dir / "model.pt")
        podium_times, plain_times = [], []
        for _ in range(args.repeats):  # interleaved, so drift in machine load hits both sides
            podium_times.append(podium_run(path, results))
            plain_times.append(plain_run(path, teacher_dir / "model.pt"))
    podium_s, plain_s = statistics.median(podium_times), statistics.median(plain_times)
    print(f"digits continuation_kd, {args.epochs} epochs, CPU, {torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"  plain PyTorch loop: {plain_s:.3f} s   (all: {', '.join(f'{t:.3f}' for t in plain_times)})")
    print(f"  through Podium:     {podium_s:.3f} s   (all: {', '.join(f'{t:.3f}' for t in podium_times)})")
    ratio = podium_s / plain_s
    print(f"  ratio: {ratio:.3f}  (target <= 1.05: {'met' if ratio <= 1.05 else 'NOT met'})")


if __name__ == "__main__":
    main()
