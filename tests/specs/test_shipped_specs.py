"""Every YAML file shipped in specs/ validates as what it is: run specs (names resolve, parameters
fit), ranking specs, published-results tables."""
import pytest

from runners.cli import main
from tests.conftest import PROJECT

FILES = sorted((PROJECT / "specs").rglob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PROJECT / "specs")) for p in FILES])
def test_shipped_file_validates(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_validate_of_the_whole_tree_says_what_each_file_is(capsys, monkeypatch):
    """`podium validate specs/*/*.yaml`, as a user types it."""
    monkeypatch.chdir(PROJECT)
    assert main(["validate", *(str(p.relative_to(PROJECT)) for p in FILES)]) == 0
    out = capsys.readouterr().out
    assert "specs/mtneuro/published.yaml: published results of track mtneuro" in out
    assert "specs/challenges/ranking_demo.yaml: ranking of track kd" in out
    assert "specs/kd/digits.yaml: 9 runs (3 configurations x 3 seeds)" in out
