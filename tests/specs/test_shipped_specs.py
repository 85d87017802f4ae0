"""Every YAML file shipped in specs/ validates as what it is: run specs (names resolve, parameters
fit, parts fit each other, data paths exist), ranking specs, published-results tables. A spec over
data the user brings leaves its path to them (``???``): it validates, and says what to give."""
import pytest

from runners.cli import main
from tests.conftest import PROJECT

FILES = sorted((PROJECT / "specs").rglob("*.yaml"))
USER_DATA = {"challenges/survey.yaml": "responses.csv", "firecube/loade.yaml": "datacube.zarr"}  # the data the user brings


def _name(path) -> str:
    return str(path.relative_to(PROJECT / "specs"))


@pytest.mark.parametrize("path", FILES, ids=[_name(p) for p in FILES])
def test_shipped_file_validates(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_validate_of_the_whole_tree_says_what_each_file_is(capsys, monkeypatch):
    """`podium validate specs/*/*.yaml`, as a user types it."""
    monkeypatch.chdir(PROJECT)
    assert main(["validate", *(str(p.relative_to(PROJECT)) for p in FILES)]) == 0
    out = capsys.readouterr().out
    assert "specs/mtneuro/published.yaml: published results of track mtneuro" in out
    assert "specs/challenges/ranking_demo.yaml: ranking of track kd" in out
    assert "specs/kd/digits.yaml: 9 runs (3 configurations x 3 seeds)\n" in out
    assert "specs/firecube/loade.yaml: 21 runs (7 configurations x 3 seeds); give dataset.params.path before running" in out


@pytest.mark.parametrize("name", sorted(USER_DATA))
def test_a_spec_over_user_data_runs_only_once_its_path_is_given(name, capsys, tmp_path):
    path = PROJECT / "specs" / name
    assert main(["run", str(path), "--results", str(tmp_path / "r")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"error: {path}: dataset.params.path: this spec leaves it to you (???): give it with --set dataset.params.path=..."
    assert main(["validate", str(path), "--set", f"dataset.params.path={tmp_path / 'missing'}"]) == 2
    assert "dataset.params.path: no such file or folder" in capsys.readouterr().err
    stand_in = tmp_path / USER_DATA[name]
    stand_in.mkdir() if stand_in.suffix == ".zarr" else stand_in.touch()
    assert main(["validate", str(path), "--set", f"dataset.params.path={stand_in}"]) == 0
    assert "give" not in capsys.readouterr().out
