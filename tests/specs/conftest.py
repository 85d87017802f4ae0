"""Helpers of the spec tests: a small valid spec, and writing spec files into tmp_path."""
from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

# A valid spec using only built-in registry names (digits, small_cnn, distillation, accuracy).
TINY_SPEC: dict[str, Any] = {
    "name": "tiny",
    "track": "kd",
    "dataset": {"name": "digits", "params": {"test_fraction": 0.2}},
    "model": {"name": "small_cnn", "params": {"width": 8, "dropout": 0.1}},
    "task": {"name": "distillation", "params": {"method": "student_only", "epochs": 2, "lr": 0.05}},
    "metrics": ["accuracy"],
}


@pytest.fixture
def tiny_spec() -> dict[str, Any]:
    """A fresh deep copy of ``TINY_SPEC`` that a test may change."""
    return copy.deepcopy(TINY_SPEC)


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """``write_spec(data, name="spec.yaml")``: a dict is dumped as YAML, a str written as it is (dedented)."""

    def write(data: dict[str, Any] | str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(data, sort_keys=False) if isinstance(data, dict) else textwrap.dedent(data)
        path.write_text(text, encoding="utf-8")
        return path

    return write
