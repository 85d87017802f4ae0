"""specs.loader: reading a spec file, ``extends``, ``--set`` overrides, interpolation, matrix expansion,
and the one-line problems a bad spec gives."""
from __future__ import annotations

import copy

import pytest

from specs.errors import Problem, SpecError
from specs.loader import RunSpec, expand, load_spec


def problems_of(excinfo: pytest.ExceptionInfo[SpecError]) -> dict[str, Problem]:
    """The problems of a SpecError by key path (each path once)."""
    found = {p.path: p for p in excinfo.value.problems}
    assert len(found) == len(excinfo.value.problems), excinfo.value.problems
    return found


def only_problem(excinfo: pytest.ExceptionInfo[SpecError]) -> Problem:
    assert len(excinfo.value.problems) == 1, excinfo.value.problems
    return excinfo.value.problems[0]


# --- reading a file ---------------------------------------------------------------------------


def test_load_spec_reads_the_file_and_fills_defaults(write_spec, tiny_spec):
    spec = load_spec(write_spec(tiny_spec))
    assert spec.name == "tiny" and spec.track == "kd"
    assert spec.dataset.name == "digits" and spec.dataset.params == {"test_fraction": 0.2}
    assert spec.model.params == {"width": 8, "dropout": 0.1}
    assert spec.task.params["method"] == "student_only" and spec.method == "student_only"
    assert spec.metrics == ["accuracy"]
    assert spec.seeds == [0] and spec.device == "auto" and spec.matrix == {} and spec.timeout_s is None


def test_missing_spec_file_is_a_spec_error(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as excinfo:
        load_spec(missing)
    problem = only_problem(excinfo)
    assert problem.file == str(missing) and "not found" in problem.message


# --- extends ----------------------------------------------------------------------------------


def test_extends_merges_the_base_beneath_and_the_child_wins(write_spec, tiny_spec):
    write_spec(tiny_spec, "base.yaml")
    child = write_spec(
        """
        extends: base.yaml
        name: child
        model: {params: {width: 4}}
        seeds: [3]
        """,
        "child.yaml",
    )
    spec = load_spec(child)
    assert spec.name == "child"
    assert spec.model.name == "small_cnn"  # from the base
    assert spec.model.params == {"width": 4, "dropout": 0.1}  # deep merge: child's width, base's dropout
    assert spec.seeds == [3]
    assert spec.task.params == tiny_spec["task"]["params"]
    assert spec.extends is None  # the chain is resolved; nothing refers to other files any more


def test_extends_chain_of_two_paths_relative_to_each_file(write_spec, tiny_spec):
    tiny_spec["task"]["params"]["epochs"] = 1
    write_spec(tiny_spec, "root.yaml")
    # middle sits in a folder of its own: its `extends` is relative to that folder, not to the child
    write_spec(
        """
        extends: ../root.yaml
        task: {params: {epochs: 2, lr: 0.2}}
        """,
        "base/middle.yaml",
    )
    child = write_spec(
        """
        extends: ../base/middle.yaml
        name: grandchild
        task: {params: {epochs: 3}}
        """,
        "track/child.yaml",
    )
    spec = load_spec(child)
    assert spec.name == "grandchild"
    assert spec.task.params["epochs"] == 3  # child beats middle beats root
    assert spec.task.params["lr"] == 0.2  # middle beats root
    assert spec.task.params["method"] == "student_only"  # only in root
    assert spec.dataset.name == "digits"


def test_circular_extends_is_an_error_at_key_extends(write_spec):
    write_spec("extends: b.yaml\nname: a\n", "a.yaml")
    write_spec("extends: a.yaml\nname: b\n", "b.yaml")
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec("extends: a.yaml\nname: top\n", "top.yaml"))
    problem = only_problem(excinfo)
    assert problem.path == "extends"
    assert "circular" in problem.message and "a.yaml" in problem.message and "b.yaml" in problem.message


def test_a_spec_extending_itself_is_circular(write_spec):
    path = write_spec("extends: self.yaml\nname: x\n", "self.yaml")
    with pytest.raises(SpecError) as excinfo:
        load_spec(path)
    assert only_problem(excinfo).path == "extends"
    assert "circular" in only_problem(excinfo).message


def test_missing_base_file_names_key_extends_in_the_child(write_spec):
    child = write_spec("extends: ../nowhere/base.yaml\nname: child\n", "child.yaml")
    with pytest.raises(SpecError) as excinfo:
        load_spec(child)
    problem = only_problem(excinfo)
    assert (problem.file, problem.path) == (str(child), "extends")
    assert "base.yaml" in problem.message and "not found" in problem.message


def test_extends_must_be_a_path(write_spec, tiny_spec):
    tiny_spec["extends"] = 3
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec))
    assert only_problem(excinfo).path == "extends"


# --- --set overrides --------------------------------------------------------------------------


def test_set_overrides_values_with_their_yaml_types(write_spec, tiny_spec):
    path = write_spec(tiny_spec)
    spec = load_spec(path, ["task.params.epochs=3", "seeds=[0,1]", "model.params.dropout=0.5"])
    assert spec.task.params["epochs"] == 3 and isinstance(spec.task.params["epochs"], int)
    assert spec.seeds == [0, 1]
    assert spec.model.params == {"width": 8, "dropout": 0.5}
    assert [run.seed for run in expand(path, ["seeds=[0,1]"])] == [0, 1]
    assert load_spec(path).task.params["epochs"] == 2  # the file itself is unchanged


def test_later_set_wins_over_earlier(write_spec, tiny_spec):
    spec = load_spec(write_spec(tiny_spec), ["task.params.epochs=3", "task.params.epochs=5"])
    assert spec.task.params["epochs"] == 5


def test_set_beats_the_whole_extends_chain(write_spec, tiny_spec):
    write_spec(tiny_spec, "base.yaml")
    child = write_spec("extends: base.yaml\ntask: {params: {epochs: 9}}\n", "child.yaml")
    assert load_spec(child, ["task.params.epochs=4"]).task.params["epochs"] == 4


@pytest.mark.parametrize("override", ["foo", "=3", " =3"])
def test_malformed_override_is_an_error_naming_set(write_spec, tiny_spec, override):
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec), [override])
    problem = only_problem(excinfo)
    assert problem.file == "--set"
    assert "key.path=value" in problem.message
    assert str(problem).startswith("--set: ")


def test_override_with_broken_yaml_value_is_a_spec_error_naming_its_key(write_spec, tiny_spec):
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec), ["task.params.epochs=3", "seeds=[0,1"])
    problem = only_problem(excinfo)
    assert (problem.file, problem.path) == ("--set", "seeds")
    assert "\n" not in str(problem)


def test_override_of_an_unknown_key_is_reported_like_one_in_the_file(write_spec, tiny_spec):
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec), ["sedes=[1]"])
    problem = only_problem(excinfo)
    assert problem.path == "sedes" and "did you mean 'seeds'" in problem.message


# --- interpolation ----------------------------------------------------------------------------


@pytest.fixture
def interpolating_spec(tiny_spec):
    tiny_spec["task"]["params"].update({"epochs": 5, "teacher_epochs": "${task.params.epochs}"})
    return tiny_spec


def test_interpolation_between_keys(write_spec, interpolating_spec):
    path = write_spec(interpolating_spec)
    assert load_spec(path).task.params["teacher_epochs"] == 5
    # an override of the referenced key is seen by the reference
    assert load_spec(path, ["task.params.epochs=7"]).task.params["teacher_epochs"] == 7


def test_interpolation_follows_a_matrix_value_of_the_referenced_key(write_spec, interpolating_spec):
    interpolating_spec["matrix"] = {"task.params.epochs": [1, 4]}
    runs = expand(write_spec(interpolating_spec))
    assert [(r.spec.task.params["epochs"], r.spec.task.params["teacher_epochs"]) for r in runs] == [(1, 1), (4, 4)]


def test_interpolation_into_the_base_of_extends(write_spec, tiny_spec):
    tiny_spec["task"]["params"]["teacher_epochs"] = "${task.params.epochs}"
    write_spec(tiny_spec, "base.yaml")
    child = write_spec("extends: base.yaml\ntask: {params: {epochs: 11}}\n", "child.yaml")
    assert load_spec(child).task.params["teacher_epochs"] == 11  # resolved after merging


def test_interpolation_of_a_missing_key_names_where_it_is_used(write_spec, tiny_spec):
    tiny_spec["task"]["params"]["teacher_epochs"] = "${task.params.nope}"
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec))
    problem = only_problem(excinfo)
    assert problem.path == "task.params.teacher_epochs"
    assert "task.params.nope" in problem.message
    assert "\n" not in str(problem)


@pytest.mark.parametrize(
    "value",
    ["${oc.env:HOME}", "${ oc.env : HOME }", "prefix-${oc.env:HOME}", "${oc.decode:'[1]'}", "${task.params.${oc.env:X}}"],
)
def test_resolver_in_the_file_is_refused_naming_the_key(write_spec, tiny_spec, monkeypatch, value):
    monkeypatch.setenv("HOME", "/secret-home-value")
    tiny_spec["dataset"]["params"]["path"] = value
    path = write_spec(tiny_spec)
    for load in (load_spec, expand):
        with pytest.raises(SpecError) as excinfo:
            load(path)
        problem = only_problem(excinfo)
        assert (problem.file, problem.path) == (str(path), "dataset.params.path")
        assert "not allowed" in problem.message
        assert "secret-home-value" not in str(problem)  # the environment was never read


def test_resolver_in_a_list_names_the_index(write_spec, tiny_spec):
    tiny_spec["metrics"] = ["accuracy", "${oc.env:USER}"]
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec))
    assert only_problem(excinfo).path == "metrics[1]"


def test_resolver_in_a_base_file_is_refused_naming_the_base(write_spec, tiny_spec):
    tiny_spec["dataset"]["params"]["path"] = "${oc.env:HOME}"
    base = write_spec(tiny_spec, "base.yaml")
    child = write_spec("extends: base.yaml\nname: child\n", "child.yaml")
    with pytest.raises(SpecError) as excinfo:
        load_spec(child)
    problem = only_problem(excinfo)
    assert (problem.file, problem.path) == (str(base), "dataset.params.path")  # the file that holds it
    assert "not allowed" in problem.message


@pytest.mark.parametrize("override", ["dataset.params.path=${oc.env:HOME}", "seeds=['${oc.env:UID}']"])
def test_resolver_in_an_override_is_refused(write_spec, tiny_spec, monkeypatch, override):
    monkeypatch.setenv("HOME", "/secret-home-value")
    path = write_spec(tiny_spec)
    for load in (load_spec, expand):
        with pytest.raises(SpecError) as excinfo:
            load(path, [override])
        problem = only_problem(excinfo)
        assert problem.file == "--set" and problem.path.startswith(override.split("=")[0])  # seeds[0]: the item that holds it
        assert "not allowed" in problem.message and "secret-home-value" not in str(problem)


# --- matrix expansion -------------------------------------------------------------------------


@pytest.fixture
def matrix_spec(tiny_spec):
    spec = copy.deepcopy(tiny_spec)
    spec["matrix"] = {
        "task.params.method": ["student_only", "vanilla_kd", "continuation_kd"],
        "model.params.width": [4, 8],
    }
    spec["seeds"] = [7, 1]
    return spec


def test_matrix_gives_one_run_per_combination_and_seed_in_a_stable_order(write_spec, matrix_spec):
    path = write_spec(matrix_spec)
    runs = expand(path)
    assert len(runs) == 3 * 2 * 2
    assert all(isinstance(run, RunSpec) and run.source == str(path) for run in runs)
    expected = [
        ({"task.params.method": method, "model.params.width": width}, seed)
        for method in ["student_only", "vanilla_kd", "continuation_kd"]
        for width in [4, 8]
        for seed in [7, 1]  # seeds innermost, in the order written
    ]
    assert [(run.matrix_values, run.seed) for run in runs] == expected
    assert expand(path) == runs  # the same file always expands to the same runs


def test_each_run_carries_its_matrix_values_and_no_matrix(write_spec, matrix_spec):
    for run in expand(write_spec(matrix_spec)):
        assert run.spec.task.params["method"] == run.matrix_values["task.params.method"]
        assert run.spec.model.params["width"] == run.matrix_values["model.params.width"]
        assert run.spec.model.params["dropout"] == 0.1  # the rest of the subtree is kept
        assert run.spec.task.params["epochs"] == 2
        assert run.spec.matrix == {}  # an expanded run is one configuration
        assert run.spec.method == run.matrix_values["task.params.method"]


def test_matrix_can_add_a_key_absent_from_the_spec(write_spec, tiny_spec):
    tiny_spec["matrix"] = {"task.params.temperature": [2.0, 4.0]}
    runs = expand(write_spec(tiny_spec))
    assert [run.spec.task.params["temperature"] for run in runs] == [2.0, 4.0]


def test_run_label(write_spec, matrix_spec, tiny_spec):
    runs = expand(write_spec(matrix_spec, "m.yaml"))
    assert runs[0].label == "tiny[method=student_only,width=4]"
    assert runs[-1].label == "tiny[method=continuation_kd,width=8]"
    plain = expand(write_spec(tiny_spec, "plain.yaml"))
    assert len(plain) == 1 and plain[0].label == "tiny" and plain[0].matrix_values == {}


def test_no_matrix_gives_one_run_per_seed(write_spec, tiny_spec):
    tiny_spec["seeds"] = [2, 0, 1]
    runs = expand(write_spec(tiny_spec))
    assert [run.seed for run in runs] == [2, 0, 1]
    assert len({run.spec.model_dump_json() for run in runs}) == 1


def test_set_overrides_a_matrix_entry_with_bracket_keys(write_spec, matrix_spec):
    # a matrix key holds dots, so a dotlist names it in brackets
    runs = expand(write_spec(matrix_spec), ["matrix[model.params.width]=[16]"])
    assert len(runs) == 3 * 1 * 2 and {run.spec.model.params["width"] for run in runs} == {16}


@pytest.mark.parametrize(
    "matrix, message",
    [({"task.params.method": []}, "no values"), ({"seeds": [[0], [1]]}, "must point into")],
)
def test_bad_matrix_is_an_error_at_key_matrix(write_spec, tiny_spec, matrix, message):
    tiny_spec["matrix"] = matrix
    with pytest.raises(SpecError) as excinfo:
        expand(write_spec(tiny_spec))
    problem = only_problem(excinfo)
    assert problem.path == "matrix" and message in problem.message


def test_a_matrix_value_that_breaks_the_schema_names_the_combination(write_spec, tiny_spec):
    tiny_spec["matrix"] = {"metrics": [["accuracy"], []]}
    with pytest.raises(SpecError) as excinfo:
        expand(write_spec(tiny_spec))
    problem = only_problem(excinfo)
    assert problem.path == "metrics" and "(matrix {'metrics': []})" in problem.message


@pytest.mark.parametrize("key", ["timeout_s", "device", "resources.cpus", "seeds"])
def test_execution_settings_cannot_be_matrix_keys(write_spec, tiny_spec, key):
    # not part of a run's identity: a matrix over them would give runs of one id, all but one skipped
    tiny_spec["matrix"] = {key: [1, 2]}
    with pytest.raises(SpecError) as excinfo:
        expand(write_spec(tiny_spec))
    problem = only_problem(excinfo)
    assert problem.path == "matrix" and f"matrix key {key!r} must point into dataset, model, task, metrics" in problem.message


# --- schema problems --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, path, suggestion",
    [
        (lambda s: s.update(devise="cpu"), "devise", "device"),
        (lambda s: s.update(seed=[0]), "seed", "seeds"),
        (lambda s: s["dataset"].update(parms={}), "dataset.parms", "params"),
        (lambda s: s["model"].update(nmae="x"), "model.nmae", "name"),
        (lambda s: s.update(metrics=["accuracy", {"evaluate": "./m", "kye": "acc"}]), "metrics[1].kye", "key"),
    ],
)
def test_unknown_key_names_the_path_and_suggests(write_spec, tiny_spec, change, path, suggestion):
    change(tiny_spec)
    spec_path = write_spec(tiny_spec)
    with pytest.raises(SpecError) as excinfo:
        load_spec(spec_path)
    problem = only_problem(excinfo)
    assert (problem.file, problem.path) == (str(spec_path), path)
    assert f"did you mean {suggestion!r}?" in problem.message
    assert problem.message.startswith("unknown key")


@pytest.mark.parametrize("missing", ["model", "metrics", "name"])
def test_missing_required_key(write_spec, tiny_spec, missing):
    del tiny_spec[missing]
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec))
    problem = only_problem(excinfo)
    assert problem.path == missing and "missing" in problem.message


def test_missing_nested_required_key(write_spec, tiny_spec):
    del tiny_spec["model"]["name"]
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec))
    assert only_problem(excinfo).path == "model.name"


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "CPU", "cuda:"])
def test_bad_device(write_spec, tiny_spec, device):
    tiny_spec["device"] = device
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec))
    problem = only_problem(excinfo)
    assert problem.path == "device" and "cuda:N" in problem.message


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_good_device(write_spec, tiny_spec, device):
    tiny_spec["device"] = device
    assert load_spec(write_spec(tiny_spec)).device == device


def test_duplicate_seeds(write_spec, tiny_spec):
    tiny_spec["seeds"] = [0, 1, 0]
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec))
    problem = only_problem(excinfo)
    assert problem.path == "seeds" and "distinct" in problem.message


def test_invalid_yaml(write_spec):
    path = write_spec("name: tiny\ntrack: [kd\n")
    with pytest.raises(SpecError) as excinfo:
        load_spec(path)
    problem = only_problem(excinfo)
    assert problem.file == str(path) and problem.path == ""
    assert "not valid YAML" in problem.message and "line" in problem.message


@pytest.mark.parametrize("text, kind", [("- a\n- b\n", "list"), ("just a string\n", "str"), ("42\n", "int")])
def test_non_mapping_yaml(write_spec, text, kind):
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(text))
    problem = only_problem(excinfo)
    assert "expected a mapping" in problem.message and kind in problem.message


SPEC_BODY = "track: kd\ndataset: {name: digits}\nmodel: {name: small_cnn}\ntask: {name: distillation}\nmetrics: [accuracy]\n"


def test_a_date_is_read_as_text_and_1e_3_as_a_number(write_spec):
    # YAML 1.1 would build a datetime (which omegaconf cannot hold) and read 1e-3 as a string
    spec = load_spec(write_spec(f"name: 2024-01-01\n{SPEC_BODY}".replace("task: {name: distillation}", "task: {name: distillation, params: {lr: 1e-3}}")))
    assert spec.name == "2024-01-01" and spec.task.params["lr"] == 0.001 and isinstance(spec.task.params["lr"], float)


@pytest.mark.parametrize("value", ["!!binary aGk=", "!!set {a, b}", "!!timestamp 2024-01-01", "!!omap [a: 1]", "!custom x"])
def test_a_yaml_tag_that_builds_an_object_names_its_key(write_spec, value):
    path = write_spec(f"name: x\n{SPEC_BODY}".replace("dataset: {name: digits}", f"dataset: {{name: digits, params: {{v: {value}}}}}"))
    with pytest.raises(SpecError) as excinfo:
        load_spec(path)
    problem = only_problem(excinfo)
    assert problem.path == "dataset.params.v" and "is not allowed" in problem.message and "\n" not in str(problem)


def test_several_problems_are_all_reported(write_spec, tiny_spec):
    tiny_spec.update(device="gpu", seeds=[1, 1], devise="cpu", timeout_s=0)
    del tiny_spec["task"]
    with pytest.raises(SpecError) as excinfo:
        load_spec(write_spec(tiny_spec))
    assert set(problems_of(excinfo)) == {"device", "seeds", "devise", "timeout_s", "task"}


# --- how a problem reads ----------------------------------------------------------------------


def test_problem_formats_as_file_key_path_message():
    problem = Problem("specs/a.yaml", "dataset.name", "unknown dataset 'x'")
    assert str(problem) == "specs/a.yaml: dataset.name: unknown dataset 'x'"
    assert str(Problem("specs/a.yaml", "", "not valid YAML")) == "specs/a.yaml: not valid YAML"


def test_every_problem_of_a_bad_spec_is_one_line_naming_file_and_key(write_spec, tiny_spec):
    tiny_spec.update(device="gpu", seeds=[1, 1], devise="cpu", name="has space")
    tiny_spec["dataset"]["parms"] = {}
    tiny_spec["metrics"] = ["accuracy", 3, {"evaluate": "./m", "kye": "x"}]
    path = write_spec(tiny_spec)
    with pytest.raises(SpecError) as excinfo:
        load_spec(path)
    problems = excinfo.value.problems
    assert len(problems) == 7
    for problem in problems:
        text = str(problem)
        assert "\n" not in text
        assert problem.path and text.startswith(f"{path}: {problem.path}: ")
        assert problem.message
    assert str(excinfo.value).splitlines() == [str(p) for p in problems]


def test_zipped_matrix_keys_set_values_in_step(tmp_path):
    path = tmp_path / "zip.yaml"
    path.write_text(
        "name: z\ntrack: t\ndataset: {name: d}\nmodel: {name: m}\ntask: {name: k, params: {}}\nmetrics: [accuracy]\n"
        "matrix:\n  'task.name, model.name, metrics': [[classification, resnet18, [accuracy]], [segmentation, unet, [seg_iou, seg_f1]]]\n"
        "  task.params.lr: [0.1, 0.2]\nseeds: [0]\n",
        encoding="utf-8",
    )
    runs = expand(path)
    assert [(r.spec.task.name, r.spec.model.name, r.spec.metrics, r.spec.task.params["lr"]) for r in runs] == [
        ("classification", "resnet18", ["accuracy"], 0.1), ("classification", "resnet18", ["accuracy"], 0.2),
        ("segmentation", "unet", ["seg_iou", "seg_f1"], 0.1), ("segmentation", "unet", ["seg_iou", "seg_f1"], 0.2),
    ]
    # list values stay out of the label; colliding last parts are told apart
    assert runs[0].label == "z[task.name=classification,model.name=resnet18,lr=0.1]"


def test_zipped_matrix_values_must_match_the_keys(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: z\ntrack: t\ndataset: {name: d}\nmodel: {name: m}\ntask: {name: k}\nmetrics: [a]\n"
        "matrix:\n  'task.name, model.name': [[classification, resnet18], [segmentation]]\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecError) as err:
        expand(path)
    assert "zips 2 keys: each value must be a list of 2" in str(err.value)


def test_extends_replaces_a_component_whose_name_changes(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "name: b\ntrack: t\ndataset: {name: d, params: {a: 1}}\nmodel: {name: resnet18, params: {width: 64}}\n"
        "task: {name: k, params: {epochs: 5}}\nmetrics: [accuracy]\n",
        encoding="utf-8",
    )
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nmodel: {name: unet3d, params: {depth: 4}}\ndataset: {params: {a: 2}}\ntask: {name: k, params: {lr: 0.1}}\n",
        encoding="utf-8",
    )
    spec = load_spec(tmp_path / "child.yaml")
    assert spec.model.params == {"depth": 4}  # another model: the base's width does not leak in
    assert spec.dataset.params == {"a": 2} and spec.dataset.name == "d"  # same entry: merged
    assert spec.task.params == {"epochs": 5, "lr": 0.1}
