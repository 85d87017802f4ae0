"""Labels of configurations: the spec's name and the values that set a configuration apart from its siblings."""
from specs.identity import config_labels


def spec(model: str, params: dict, method: str) -> dict:
    return {"name": "sweep", "track": "kd", "dataset": {"name": "digits", "params": {}}, "model": {"name": model, "params": params},
            "task": {"name": "distillation", "params": {"method": method}}}


def test_labels_name_only_the_differing_values():
    labels = config_labels("sweep", {"a": spec("mlp", {"hidden": 16}, "kd"), "b": spec("mlp", {"hidden": 64}, "kd")})
    assert labels == {"a": "sweep[hidden=16]", "b": "sweep[hidden=64]"}
    assert config_labels("sweep", {"a": spec("mlp", {}, "kd")}) == {"a": "sweep"}


def test_empty_params_beside_set_ones_read_as_unset():
    labels = config_labels("sweep", {"a": spec("mlp", {"hidden": 16}, "kd"), "b": spec("small_cnn", {}, "student_only")})
    assert labels == {"a": "sweep[model.name=mlp,hidden=16,method=kd]", "b": "sweep[model.name=small_cnn,hidden=-,method=student_only]"}
