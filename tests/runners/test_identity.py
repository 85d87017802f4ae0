"""Run identity: the same (resolved spec, seed) always gives the same id; what is measured changes it."""
import subprocess
import sys

from runners.identity import run_id
from specs.loader import expand
from tests.conftest import PROJECT
from tests.runners.conftest import digits_spec, write_spec


def ids(path, *overrides):
    return [run_id(r) for r in expand(path, list(overrides))]


def test_id_ignores_key_order_and_execution_settings(tmp_path):
    spec = digits_spec()
    a = write_spec(tmp_path, spec, "a.yaml")
    b = write_spec(tmp_path, dict(reversed(list(spec.items()))), "b.yaml")
    assert ids(a) == ids(b)
    assert ids(a) == ids(a, "device=auto", "timeout_s=99")


def test_id_changes_with_what_is_measured(tmp_path):
    path = write_spec(tmp_path, digits_spec())
    base = ids(path)[0]
    assert ids(path, "seeds=[1]")[0] != base
    assert ids(path, "task.params.epochs=3")[0] != base
    assert ids(path, "model.params.width=8")[0] != base
    assert ids(path, "dataset.params.split_seed=1")[0] != base


def test_matrix_runs_have_distinct_ids_and_match_the_equivalent_plain_spec(tmp_path):
    spec = digits_spec()
    spec["matrix"] = {"task.params.epochs": [2, 3]}
    spec["seeds"] = [0, 1]
    expanded = ids(write_spec(tmp_path, spec, "m.yaml"))
    assert len(set(expanded)) == 4
    plain = digits_spec(epochs=3)
    plain["seeds"] = [1]
    assert ids(write_spec(tmp_path, plain, "p.yaml"))[0] in expanded


def test_id_is_the_same_in_another_process(tmp_path):
    path = write_spec(tmp_path, digits_spec())
    code = f"from runners.identity import run_id; from specs.loader import expand; print(run_id(expand({str(path)!r})[0]))"
    other = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert other.stdout.strip() == ids(path)[0]


def test_a_method_card_does_not_change_the_run_id(tmp_path):
    """The card describes the submission; changing an answer must not rerun it."""
    plain = write_spec(tmp_path, digits_spec(), "plain.yaml")
    carded = write_spec(tmp_path, {**digits_spec(), "method_card": {"deep_learning": True, "hours_spent": 3}}, "card.yaml")
    assert ids(plain) == ids(carded)
