"""Hand-made run records from two machines, and a reader of the github tables in rendered markdown."""
from __future__ import annotations

from specs.record import RunRecord

GPU = {"device_name": "NVIDIA H100 80GB HBM3", "torch": "2.13.0+cu126", "cuda": "12.6", "podium_version": "0.1.0", "git_commit": "1a2b3c4"}
CPU = {"device_name": "x86_64", "torch": "2.13.0+cpu", "cuda": None, "podium_version": "0.1.0", "git_commit": "1a2b3c4-dirty"}


def make_record(
    model: str, method: str | None, seed: int, status: str = "ok", metrics: dict | None = None, *,
    track: str = "kd", task: str = "distillation", dataset: str = "digits", device: str = "cpu",
    provenance: dict | None = None, params: dict | None = None, spec_name: str | None = None,
    reference: bool | None = None, bounds: dict | None = None,
) -> RunRecord:
    """A record as a runner would write it, its provenance that of the GPU or the CPU machine by ``device``;
    its configuration follows its spec (name, dataset, model with ``params``, task with the method); every
    metric is higher-is-better except ``loss``; a ``teacher`` is a reference."""
    metrics = metrics or {}
    spec_name = spec_name or f"{track}-{dataset}"
    spec = {
        "name": spec_name, "track": track, "dataset": {"name": dataset, "params": {}}, "model": {"name": model, "params": params or {}},
        "task": {"name": task, "params": {"method": method} if method else {}}, "seeds": [seed],
    }
    suffix = "".join(f"-{k}{v}" for k, v in sorted((params or {}).items()))
    return RunRecord(
        run_id=f"{track}-{dataset}-{model}{suffix}-{method}-{seed}", spec_name=spec_name, track=track, task=task,
        dataset=dataset, model=model, method=method, seed=seed, status=status,
        reference=method == "teacher" if reference is None else reference, bounds=bounds or {},
        error="RuntimeError: boom" if status == "failed" else None,
        started_at=f"2024-05-01T12:00:{seed:02d}+00:00", duration_s=2.0, device=device, spec=spec,
        metrics=metrics, higher_is_better={m: m != "loss" for values in metrics.values() for m in values},
        provenance=provenance if provenance is not None else (GPU if device.startswith("cuda") else CPU),
    )


BOUNDED = {"accuracy": (0.0, 1.0)}
SWEEP = {16: (0.80, 0.81, 0.82), 64: (0.90, 0.91, 0.92)}  # hidden -> accuracy per seed: two configurations of one spec
TIED = (0.893, 0.903, 0.913)  # another spec's entry whose interval overlaps the leader's
TEACHER = (0.99, 1.0, 1.0)  # the best mean of the board, a reference; its t interval would pass 1


def configuration_records() -> list[RunRecord]:
    """kd / distillation / digits, accuracy bounded by (0, 1): spec ``sweep`` runs mlp vanilla_kd with
    hidden 16 and 64, three seeds each (``sweep[hidden=16]``, ``sweep[hidden=64]``, the leader); spec
    ``baseline`` runs small_cnn student_only, tied with the leader; the teacher (resnet56) is a
    reference with the best mean, whose seeds 0.99, 1.0, 1.0 would give an interval past 1."""
    records = []
    for hidden, values in SWEEP.items():
        records += [make_record("mlp", "vanilla_kd", seed, metrics={"test": {"accuracy": v}}, params={"hidden": hidden}, spec_name="sweep",
                                bounds=BOUNDED) for seed, v in enumerate(values)]
    records += [make_record("small_cnn", "student_only", seed, metrics={"test": {"accuracy": v}}, spec_name="baseline", bounds=BOUNDED)
                for seed, v in enumerate(TIED)]
    records += [make_record("resnet56", "teacher", seed, metrics={"test": {"accuracy": v}}, spec_name="sweep", bounds=BOUNDED)
                for seed, v in enumerate(TEACHER)]
    return records


def intervals(text: str) -> list[tuple[float, float]]:
    """Every printed ``[low, high]`` pair of numbers in ``text``."""
    import re

    return [(float(a), float(b)) for a, b in re.findall(r"\[(-?\d+\.\d+), (-?\d+\.\d+)\]", text)]


def github_tables(text: str) -> list[list[dict[str, str]]]:
    """Every github-style table in ``text`` as a list of rows (dicts by header)."""
    tables, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and set(lines[i + 1].replace("|", "").strip()) <= set("-: "):
            header = [c.strip() for c in lines[i].strip("|").split("|")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(dict(zip(header, (c.strip() for c in lines[i].strip("|").split("|")))))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables
