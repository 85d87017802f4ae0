"""`podium validate`: exit 0 and one line per good spec; exit 2 and one `error:` line per problem, no traceback."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runners.cli import main

PROJECT = Path(__file__).resolve().parents[2]
DIGITS = PROJECT / "specs" / "kd" / "digits.yaml"


def test_validate_shipped_digits_spec(capsys, monkeypatch):
    monkeypatch.chdir(PROJECT)
    assert main(["validate", "specs/kd/digits.yaml"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert "specs/kd/digits.yaml" in lines[0] and "9 runs" in lines[0]
    assert err == ""


def test_validate_a_good_tmp_spec_counts_configurations_and_seeds(capsys, write_spec, tiny_spec):
    tiny_spec["matrix"] = {"model.params.width": [4, 8]}
    tiny_spec["seeds"] = [0, 1, 2]
    path = write_spec(tiny_spec)
    assert main(["validate", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == [f"ok: {path}: 6 runs (2 configurations x 3 seeds)"]


def test_validate_applies_set(capsys, write_spec, tiny_spec):
    path = write_spec(tiny_spec)
    assert main(["validate", str(path), "--set", "seeds=[0,1,2,3]"]) == 0
    assert "4 runs" in capsys.readouterr().out


def assert_error_lines(err: str, file: str | Path, paths: set[str]) -> list[str]:
    """Every stderr line is `error: <file>: <key path>: ...`, one per expected key path; no traceback."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == len(paths), err
    seen = set()
    for line in lines:
        prefix = f"error: {file}: "
        assert line.startswith(prefix), line
        key_path, message = line[len(prefix):].split(": ", 1)
        assert message
        seen.add(key_path)
    assert seen == paths
    return lines


def test_bad_spec_exits_2_with_one_line_naming_file_and_key(capsys, write_spec, tiny_spec):
    tiny_spec["device"] = "gpu"
    path = write_spec(tiny_spec)
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = assert_error_lines(err, path, {"device"})
    assert "cuda:N" in line


def test_several_problems_give_several_lines(capsys, write_spec, tiny_spec):
    tiny_spec.update(device="gpu", seeds=[0, 0], devise="cpu")
    tiny_spec["dataset"]["parms"] = {}
    path = write_spec(tiny_spec)
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = assert_error_lines(err, path, {"device", "seeds", "devise", "dataset.parms"})
    assert any("did you mean 'params'?" in line for line in lines)


def test_registry_problems_are_reported_the_same_way(capsys, write_spec, tiny_spec):
    tiny_spec["dataset"]["name"] = "digts"
    tiny_spec["model"]["params"]["widht"] = 4
    path = write_spec(tiny_spec)
    assert main(["validate", str(path)]) == 2
    _, err = capsys.readouterr()
    lines = assert_error_lines(err, path, {"dataset.name", "model.params.widht"})
    assert "did you mean 'digits'?" in lines[0] and "did you mean 'width'?" in lines[1]


def test_problems_of_every_file_are_reported(capsys, write_spec, tiny_spec):
    good = write_spec(tiny_spec, "good.yaml")
    tiny_spec["device"] = "gpu"
    bad_one = write_spec(tiny_spec, "bad1.yaml")
    tiny_spec["device"] = "cpu"
    tiny_spec["seeds"] = [1, 1]
    bad_two = write_spec(tiny_spec, "bad2.yaml")
    assert main(["validate", str(bad_one), str(good), str(bad_two)]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 2
    assert lines[0].startswith(f"error: {bad_one}: device: ")
    assert lines[1].startswith(f"error: {bad_two}: seeds: ")


@pytest.mark.parametrize(
    "argv_tail, start",
    [(["--set", "foo"], "error: --set: foo: "), (["--set", "seeds=[0,"], "error: --set: seeds: ")],
)
def test_bad_override_exits_2(capsys, write_spec, tiny_spec, argv_tail, start):
    assert main(["validate", str(write_spec(tiny_spec)), *argv_tail]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith(start)


def test_missing_spec_file_exits_2(capsys, tmp_path):
    missing = tmp_path / "missing.yaml"
    assert main(["validate", str(missing)]) == 2
    _, err = capsys.readouterr()
    assert err.splitlines() == [f"error: {missing}: spec file not found"]


def test_console_script_exits_2_without_traceback(write_spec, tiny_spec, tmp_path):
    script = Path(sys.executable).with_name("podium")
    if not script.is_file():
        pytest.skip(f"the podium console script is not installed beside {sys.executable}")
    tiny_spec.update(device="gpu", devise="cpu")
    path = write_spec(tiny_spec)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_EVALUATE_OFFLINE": "1"}
    result = subprocess.run(
        [str(script), "validate", str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert_error_lines(result.stderr, path, {"device", "devise"})
