"""What each read command imports (the part of its start-up that Podium decides): nothing it does
not need. Measured start-up times are ``tests/perf/startup.py``'s; this asserts the imports only."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import PROJECT
from tests.leaderboard.conftest import make_record

NEVER = ("torch", "omegaconf", "registry.core", "registry.datasets", "registry.models", "registry.tasks", "registry.metrics", "specs.loader")
NO_STORE = ("pandas", "duckdb", "numpy", "scipy", "pydantic", "yaml")  # --help and list open no store
BOARDS = ("scipy.stats", "pydantic", "yaml", "matplotlib", "specs.schema", "reports.markdown")  # leaderboard: tables of the store only


@pytest.fixture(scope="module")
def small_results(tmp_path_factory):
    """Four configurations x three seeds of a classifier with per-case values, as record files,
    ingested once (reading the records takes their pydantic model; a store that is up to date does not)."""
    results = tmp_path_factory.mktemp("startup") / "results"
    rng = np.random.default_rng(0)
    for width in range(4):
        for seed in range(3):
            cases = (rng.random(40) < 0.5 + 0.1 * width).astype(float).tolist()
            record = make_record("small_cnn", None, seed, metrics={"test": {"accuracy": float(np.mean(cases))}}, params={"width": width},
                                 bounds={"accuracy": (0.0, 1.0)}).model_copy(update={"cases": {"accuracy": cases}})
            folder = results / "runs" / record.run_id
            folder.mkdir(parents=True)
            (folder / "record.json").write_text(record.model_dump_json(), encoding="utf-8")
    modules, _ = loaded_by(["leaderboard", "--results", str(results)], results.parent)
    assert "pydantic" in modules  # the records were read
    return results


def loaded_by(arguments: list[str], cwd) -> tuple[list[str], str]:
    """The modules a fresh interpreter holds after ``podium <arguments>``, and what it printed."""
    script = (
        "import json, sys\nfrom runners.cli import main\n"
        "try:\n    code = main(sys.argv[1:])\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print('\\nMODULES ' + json.dumps({'code': code, 'modules': sorted(sys.modules)}))"
    )
    done = subprocess.run([sys.executable, "-c", script, *arguments], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    output, _, tail = done.stdout.rpartition("\nMODULES ")
    found = json.loads(tail)
    assert found["code"] in (0, None), (found["code"], done.stderr)
    return found["modules"], output


def held(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted({name for name in names for module in modules if module == name or module.startswith(name + ".")})


@pytest.mark.parametrize("arguments", [["--help"], ["list"], ["list", "models"], ["list", "models", "small_cnn"]])
def test_help_and_list_import_neither_the_store_nor_the_registry(arguments, tmp_path):
    modules, output = loaded_by(arguments, tmp_path)
    assert output.strip()
    assert held(modules, NEVER + NO_STORE) == []


@pytest.mark.parametrize("extra", [[], ["--wide"], ["--format", "json"]])
def test_leaderboard_imports_the_store_and_the_tables_only(small_results, extra, tmp_path):
    modules, output = loaded_by(["leaderboard", "--results", str(small_results), *extra], tmp_path)
    assert "small_cnn" in output
    assert held(modules, NEVER + BOARDS) == []


def test_rank_and_report_import_no_torch_no_registry_and_no_spec_loader(small_results, tmp_path):
    modules, output = loaded_by(["rank", "--track", "kd", "--metric", "accuracy", "--bootstrap", "20", "--results", str(small_results)], tmp_path)
    assert "bootstrap" in output
    assert held(modules, NEVER) == []
    modules, _ = loaded_by(["report", "--results", str(small_results), "--out", str(tmp_path / "reports")], tmp_path)
    assert (tmp_path / "reports" / "kd.md").is_file()
    assert held(modules, NEVER) == []
