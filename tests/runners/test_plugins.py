"""Plugins outside the source tree: a spec's `plugins:` (code, so only with --allow-code) and `podium --plugin`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
import yaml

from runners.cli import main
from tests.conftest import PROJECT

PLUGIN = '''
from torch import nn

from registry import MODELS


@MODELS.register("{name}")
def {name}(num_classes: int, in_channels: int, *, hidden: int = 32) -> nn.Module:
    """An MLP on flattened pixels, from a plugin file beside the spec."""
    return nn.Sequential(nn.Flatten(), nn.LazyLinear(hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
'''


def plugin_spec(folder, plugins=("./my_models.py",), name=None):
    """A plugin file defining a uniquely named model, and a spec beside it that uses it."""
    name = name or f"mlp_{uuid.uuid4().hex[:8]}"  # each test registers its own name in this process
    (folder / "my_models.py").write_text(PLUGIN.format(name=name), encoding="utf-8")
    spec = {
        "name": "plugin-digits", "track": "kd", "dataset": {"name": "digits"}, "model": {"name": name, "params": {"hidden": 16}},
        "task": {"name": "distillation", "params": {"method": "student_only", "epochs": 1}}, "metrics": ["accuracy"],
        "seeds": [0], "device": "cpu", "plugins": list(plugins),
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path, name


def test_a_spec_plugin_is_code_and_refused_without_allow_code(tmp_path, capsys, monkeypatch):
    spec, _ = plugin_spec(tmp_path)
    monkeypatch.delenv("PODIUM_ALLOW_CODE", raising=False)
    assert main(["validate", str(spec)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: {spec}: plugins[0]: imports ./my_models.py: that is code; pass --allow-code")
    assert main(["run", str(spec), "--results", str(tmp_path / "results")]) == 2
    assert not (tmp_path / "results").exists()  # nothing ran


def test_a_spec_plugin_beside_the_spec_runs_with_allow_code_from_any_folder(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "submission"
    folder.mkdir()
    spec, name = plugin_spec(folder)
    monkeypatch.chdir(tmp_path)  # the plugin path is relative to the spec, not to where podium runs
    assert main(["--allow-code", "validate", str(spec)]) == 0
    assert main(["run", str(spec), "--allow-code", "--results", str(tmp_path / "results")]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "--results", str(tmp_path / "results"), "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["model"] == name and 0 < row["mean"] <= 1


def test_an_evaluate_module_is_code_too(tmp_path, capsys, monkeypatch):
    spec, _ = plugin_spec(tmp_path, plugins=())
    data = yaml.safe_load(spec.read_text())
    data["metrics"] = ["accuracy", {"evaluate": "./my_metric"}]
    data["model"] = {"name": "small_cnn"}
    spec.write_text(yaml.safe_dump(data))
    monkeypatch.delenv("PODIUM_ALLOW_CODE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my_metric").mkdir()
    (tmp_path / "my_metric" / "my_metric.py").write_text("raise SystemExit('imported')\n")
    assert main(["validate", str(spec)]) == 0  # validating never imports it, so it needs no permission
    assert "metrics[1]: runs the evaluate module ./my_metric when run (not imported to validate)" in capsys.readouterr().out
    assert main(["run", str(spec), "--results", str(tmp_path / "results")]) == 2
    assert "metrics[1]: runs the evaluate module ./my_metric: that is code" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_a_missing_or_broken_plugin_names_its_key(tmp_path, capsys):
    spec, _ = plugin_spec(tmp_path, plugins=("./missing.py",))
    assert main(["--allow-code", "validate", str(spec)]) == 2
    assert f"{spec}: plugins[0]: plugin file not found: {tmp_path / 'missing.py'}" in capsys.readouterr().err
    (tmp_path / "broken.py").write_text("raise RuntimeError('nope')\n")
    spec, _ = plugin_spec(tmp_path, plugins=("./broken.py",))
    assert main(["--allow-code", "validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "plugins[0]: importing" in err and "RuntimeError: nope" in err


def test_the_command_line_plugin_registers_for_list_and_run(tmp_path, capsys):
    spec, name = plugin_spec(tmp_path, plugins=())
    capsys.readouterr()
    assert main(["--plugin", str(tmp_path / "my_models.py"), "list", "models"]) == 0
    assert name in capsys.readouterr().out
    assert main(["--plugin", str(tmp_path / "my_models.py"), "run", str(spec), "--results", str(tmp_path / "r")]) == 0


@pytest.mark.slow
def test_a_plugin_file_works_with_podium_installed_as_a_package(tmp_path):
    """A user who ran `pip install podium` adds a model with one file beside their spec: Podium runs
    from site-packages (not this source tree) and imports it."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(PROJECT)],
                   check=True, capture_output=True, text=True, timeout=600)
    work = tmp_path / "work"
    work.mkdir()
    spec, name = plugin_spec(work)
    script = (
        "import sys, runners; from runners.cli import main; "
        f"assert runners.__file__.startswith({str(target)!r}), runners.__file__; "
        f"sys.exit(main(['--allow-code', 'run', 'spec.yaml', '--results', 'results']))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    listing = subprocess.run([sys.executable, "-c", "from runners.cli import main; main(['leaderboard', '--format', 'json'])"],
                             cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(listing.stdout)[0]["model"] == name
