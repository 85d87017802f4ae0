"""Every spec shipped in specs/ validates: names resolve, parameters fit, parts fit each other, data
paths exist, published files parse."""
import pytest

from runners.cli import main
from tests.conftest import PROJECT

SPECS = sorted(p for p in (PROJECT / "specs").rglob("*.yaml") if not p.name.startswith("published"))

# Specs over data the user brings (not shipped): their dataset.params.path names a file or folder
# the user puts there or overrides; they validate once it exists.
USER_DATA = {"challenges/survey.yaml": "responses.csv", "firecube/loade.yaml": "datacube.zarr"}


def _name(path) -> str:
    return str(path.relative_to(PROJECT / "specs"))


@pytest.mark.parametrize("path", SPECS, ids=[_name(p) for p in SPECS])
def test_shipped_spec_validates(path, capsys, tmp_path):
    overrides = []
    if _name(path) in USER_DATA:
        stand_in = tmp_path / USER_DATA[_name(path)]
        stand_in.mkdir() if stand_in.suffix == ".zarr" else stand_in.touch()
        overrides = ["--set", f"dataset.params.path={stand_in}"]
    assert main(["validate", str(path), *overrides]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(USER_DATA))
def test_a_spec_over_user_data_names_the_missing_path(name, capsys):
    path = PROJECT / "specs" / name
    assert main(["validate", str(path)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {path}: dataset.params.path: no such file or folder: {path.parent}/")
