"""Hand-made run records from two machines, and a reader of the github tables in rendered markdown."""
from __future__ import annotations

from specs.record import RunRecord

GPU = {"device_name": "NVIDIA H100 80GB HBM3", "torch": "2.13.0+cu126", "cuda": "12.6", "podium_version": "0.1.0", "git_commit": "1a2b3c4"}
CPU = {"device_name": "x86_64", "torch": "2.13.0+cpu", "cuda": None, "podium_version": "0.1.0", "git_commit": "1a2b3c4-dirty"}


def make_record(
    model: str, method: str | None, seed: int, status: str = "ok", metrics: dict | None = None, *,
    track: str = "kd", task: str = "distillation", dataset: str = "digits", device: str = "cpu",
    provenance: dict | None = None,
) -> RunRecord:
    """A record as a runner would write it, its provenance that of the GPU or the CPU machine by ``device``;
    every metric is higher-is-better except ``loss``."""
    metrics = metrics or {}
    return RunRecord(
        run_id=f"{track}-{dataset}-{model}-{method}-{seed}", spec_name=f"{track}-{dataset}", track=track, task=task,
        dataset=dataset, model=model, method=method, seed=seed, status=status,
        error="RuntimeError: boom" if status == "failed" else None,
        started_at=f"2024-05-01T12:00:{seed:02d}+00:00", duration_s=2.0, device=device, spec={"model": {"name": model}},
        metrics=metrics, higher_is_better={m: m != "loss" for values in metrics.values() for m in values},
        provenance=provenance if provenance is not None else (GPU if device.startswith("cuda") else CPU),
    )


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
