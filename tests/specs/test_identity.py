"""Configuration ids and labels: what a board entry is and how it is named."""
from __future__ import annotations

from specs.identity import config_identity, config_labels, run_identity
from specs.loader import expand
from tests.runners.conftest import digits_spec, write_spec


def resolved(run) -> dict:
    from runners.identity import resolved_spec

    return resolved_spec(run)


def test_runs_that_differ_only_in_their_seed_share_a_configuration(tmp_path):
    spec = {**digits_spec(), "seeds": [0, 1, 2], "matrix": {"model.params.width": [4, 8]}}
    runs = expand(write_spec(tmp_path, spec))
    configs = {}
    for run in runs:
        configs.setdefault(config_identity(resolved(run)), set()).add(run.seed)
    assert sorted(configs.values(), key=sorted) == [{0, 1, 2}, {0, 1, 2}]
    assert len({run_identity(resolved(run), run.seed) for run in runs}) == 6


def test_execution_settings_and_the_card_do_not_change_the_configuration(tmp_path):
    plain = expand(write_spec(tmp_path, digits_spec(), "a.yaml"))[0]
    other = expand(write_spec(tmp_path, {**digits_spec(), "device": "cpu", "timeout_s": 5, "resources": {"cpus": 1},
                                         "method_card": {"deep_learning": True}}, "b.yaml"))[0]
    assert config_identity(resolved(plain)) == config_identity(resolved(other))
    renamed = expand(write_spec(tmp_path, {**digits_spec(), "name": "another"}, "c.yaml"))[0]
    assert config_identity(resolved(renamed)) != config_identity(resolved(plain))  # another spec is another entry


def test_labels_name_what_distinguishes_a_configuration_from_its_siblings():
    base = {"name": "sweep", "track": "kd", "dataset": {"name": "digits", "params": {}},
            "model": {"name": "mlp", "params": {"hidden": 16}}, "task": {"name": "distillation", "params": {"method": "vanilla_kd", "epochs": 5}}}
    wide = {**base, "model": {"name": "mlp", "params": {"hidden": 64}}}
    longer = {**base, "task": {"name": "distillation", "params": {"method": "vanilla_kd", "epochs": 9}}}
    labels = config_labels("sweep", {"a": base, "b": wide, "c": longer})
    assert labels == {"a": "sweep[hidden=16,epochs=5]", "b": "sweep[hidden=64,epochs=5]", "c": "sweep[hidden=16,epochs=9]"}
    assert config_labels("sweep", {"a": base}) == {"a": "sweep"}  # alone, the name says it all


def test_a_differing_name_keeps_its_parent_and_a_missing_key_shows_a_dash():
    one = {"model": {"name": "resnet8", "params": {}}}
    two = {"model": {"name": "resnet20", "params": {"width": 8}}}
    assert config_labels("s", {"1": one, "2": two}) == {"1": "s[model.name=resnet8,width=-]", "2": "s[model.name=resnet20,width=8]"}
