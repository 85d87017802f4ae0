"""Helpers of the registry tests: turning a spec dict into expanded runs through a real spec file."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from specs.loader import RunSpec, expand

# A valid spec using only built-in registry names.
VALID_SPEC: dict[str, Any] = {
    "name": "check-me",
    "track": "kd",
    "dataset": {"name": "digits", "params": {"test_fraction": 0.2}},
    "model": {"name": "small_cnn", "params": {"width": 8}},
    "task": {
        "name": "distillation",
        "params": {"method": "vanilla_kd", "teacher": {"name": "resnet20", "params": {"width": 16}}, "epochs": 2},
    },
    "metrics": ["accuracy", "macro_f1"],
}


@pytest.fixture
def valid_spec() -> dict[str, Any]:
    """A fresh deep copy of ``VALID_SPEC`` that a test may change."""
    return copy.deepcopy(VALID_SPEC)


@pytest.fixture
def expand_spec(tmp_path: Path) -> Callable[[dict[str, Any]], list[RunSpec]]:
    """``expand_spec(data)``: write ``data`` as a YAML spec file and expand it with ``specs.loader.expand``."""
    counter = iter(range(1_000_000))

    def write_and_expand(data: dict[str, Any]) -> list[RunSpec]:
        path = tmp_path / f"spec{next(counter)}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return expand(path)

    return write_and_expand
