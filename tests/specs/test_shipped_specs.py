"""Every spec shipped in specs/ validates: names resolve, parameters fit, published files parse."""
import pytest

from runners.cli import main
from tests.conftest import PROJECT

SPECS = sorted(p for p in (PROJECT / "specs").rglob("*.yaml") if not p.name.startswith("published"))


@pytest.mark.parametrize("path", SPECS, ids=[str(p.relative_to(PROJECT / "specs")) for p in SPECS])
def test_shipped_spec_validates(path, capsys):
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
