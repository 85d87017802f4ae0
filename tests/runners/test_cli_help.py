"""The command line a newcomer meets: --version, a help line for every option, two examples per command."""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import click
import pytest

from runners.cli import main, podium
from tests.conftest import PROJECT


def commands(group: click.Group = podium, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


COMMANDS = list(commands())


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"podium {version('podium')}"


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_has_help_and_the_help_ends_with_two_examples(path, command, capsys):
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"podium {' '.join(path)} {param.opts[0]} has no help line"
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    tail = text.rstrip().splitlines()[-3:]
    assert tail[0].strip() == "Examples:" and all(line.strip().startswith("podium ") for line in tail[1:]), text


def test_an_unknown_option_is_one_line_and_exit_2(capsys):
    assert main(["leaderboard", "--colour"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: No such option") and "--colour" in line and "podium leaderboard --help" in line


def test_list_is_fast_because_it_imports_no_torch():
    script = ("import sys; from runners.cli import main; code = main(['list']); "
              "assert code == 0 and 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:3]")
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "small_cnn" in result.stdout and "epochs: PositiveInt = 30" in result.stdout


def test_list_one_entry_in_full_and_as_json(capsys):
    import json

    assert main(["list", "models", "small_cnn"]) == 0
    text = capsys.readouterr().out
    assert "registry/models/small_cnn.py" in text and "width: PositiveInt = 16" in text and "num_classes, in_channels" in text
    assert main(["list", "metrics", "accuracy", "--format", "json"]) == 0
    entry = json.loads(capsys.readouterr().out)
    assert entry["name"] == "accuracy" and entry["higher_is_better"] is True
    assert main(["list", "models", "smal_cnn"]) == 2
    assert "did you mean 'small_cnn'" in capsys.readouterr().err
