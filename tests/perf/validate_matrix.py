"""Validating a large matrix: expanding and checking a 30,000-run spec (3 methods x 100 alphas x 100
temperatures, one seed) against the per-combination way (an omegaconf copy, update and resolve, then
a full registry check, for every combination).

    .venv/bin/python tests/perf/validate_matrix.py [--sample 300]

The registry is imported before either clock starts. The reference is timed on ``--sample``
combinations and scaled to the whole matrix (it grows linearly: each combination costs the same).
Prints both figures in seconds and their ratio.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from omegaconf import OmegaConf  # noqa: E402

from registry import load_all  # noqa: E402
from registry.resolve import check_runs, check_spec  # noqa: E402
from specs.interpolation import resolve  # noqa: E402
from specs.loader import _raw, expand  # noqa: E402
from specs.schema import Spec  # noqa: E402

MATRIX = {
    "task.params.method": ["student_only", "vanilla_kd", "continuation_kd"],
    "task.params.alpha": [round(i / 100, 2) for i in range(100)],
    "task.params.temperature": [float(1 + i) for i in range(100)],
}


def write_spec(folder: Path) -> Path:
    spec = yaml.safe_load((ROOT / "specs/kd/digits.yaml").read_text())
    spec.update(matrix=MATRIX, seeds=[0])
    path = folder / "matrix.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def podium(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    runs = expand(path, max_runs=10**6)
    check_runs(runs)
    return time.perf_counter() - started, len(runs)


def per_combination(path: Path, sample: int) -> float:
    """Seconds for ``sample`` combinations the per-combination way."""
    raw = _raw(path, ())
    keys = list(MATRIX)
    started = time.perf_counter()
    for values in itertools.islice(itertools.product(*MATRIX.values()), sample):
        cfg = raw.copy()
        cfg.matrix = {}
        for key, value in zip(keys, values):
            OmegaConf.update(cfg, key, value, merge=False)
        spec = Spec.model_validate({k: v for k, v in resolve(cfg, str(path)).items() if k != "extends"})
        assert check_spec(spec, str(path)) == []
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=300, help="combinations the reference is timed on")
    args = parser.parse_args()
    load_all()
    with tempfile.TemporaryDirectory() as folder:
        path = write_spec(Path(folder))
        seconds, runs = podium(path)
        reference = per_combination(path, args.sample) * runs / args.sample
    print(f"runs: {runs}")
    print(f"podium (expand + check):           {seconds:8.1f} s")
    print(f"per combination (scaled from {args.sample}): {reference:8.1f} s")
    print(f"ratio podium / per combination:    {seconds / reference:8.3f}")


if __name__ == "__main__":
    main()
