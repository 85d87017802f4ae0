"""Specs written by a hostile submitter, class by class, each with several variants: resolvers
however built, code under validate, matrix explosion, alias bombs and other parsing faults, values
out of range. Each must end in exit 2 with one ``error: FILE: KEY: ...`` line (no traceback), and
no variant may read the environment or import the submitter's code."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml
from omegaconf import DictConfig, OmegaConf

from runners.cli import main
from specs.errors import SpecError
from specs.interpolation import resolve
from tests.specs.conftest import TINY_SPEC

SECRET = "hostile-secret-91c2"


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    monkeypatch.setenv("PODIUM_SECRET", SECRET)
    monkeypatch.delenv("PODIUM_ALLOW_CODE", raising=False)


def spec_with(tmp_path: Path, text: str | bytes | None = None, name: str = "spec.yaml", **changes) -> Path:
    """A spec file: the tiny spec with top-level ``changes``, or the given text or bytes as written."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        data = {**TINY_SPEC, **changes}
        text = yaml.safe_dump(data, sort_keys=False)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def refused(capsys, argv: list[str], where: str, says: str = "") -> str:
    """``podium argv`` exits 2 with exactly one error line, at ``where`` (``FILE: KEY``), saying ``says``."""
    capsys.readouterr()
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {where}"), lines[0]
    assert says in lines[0], lines[0]
    assert SECRET not in out + err
    return lines[0]


# --- interpolation: no resolver, however it is spelt or built ------------------------------------

RESOLVER_SPELLINGS = [
    "${oc.env:PODIUM_SECRET}",
    "${oc.${track}:PODIUM_SECRET}",  # the name built from the spec's own key (track: env)
    "${oc.${name}.env:PODIUM_SECRET}",
    "prefix-${oc.env:PODIUM_SECRET}-suffix",
    "${oc.env:PODIUM_SECRET,fallback}",
    "${oc.decode:'${oc.env:PODIUM_SECRET}'}",
    "${oc.create:'{a: ${oc.env:PODIUM_SECRET}}'}",
    "${oc.select:track}",
    "${oc.dict.keys:dataset}",
    "${task.params.${oc.env:PODIUM_SECRET}}",  # a resolver inside a node reference
    "${oc.env:${oc.env:PODIUM_SECRET}}",
    "${env:PODIUM_SECRET}",  # not a registered name: refused all the same
    "${oc.coerce:${oc.env:PODIUM_SECRET}}",
]


@pytest.mark.parametrize("value", RESOLVER_SPELLINGS)
@pytest.mark.parametrize("key", ["dataset.params.note", "method_card.challenge", "metrics[0]"])
def test_a_resolver_in_any_string_is_refused_at_its_key(tmp_path, capsys, value, key):
    data = {**TINY_SPEC, "track": "env", "name": "env"}
    if key == "metrics[0]":
        data["metrics"] = [value]
    elif key == "method_card.challenge":
        data["method_card"] = {"challenge": value}
    else:
        data["dataset"] = {"name": "digits", "params": {"note": value}}
    path = spec_with(tmp_path, yaml.safe_dump(data))
    for command in ("validate", "run"):
        line = refused(capsys, [command, str(path), "--results", str(tmp_path / "results")] if command == "run" else [command, str(path)],
                       f"{path}: {key}")
        assert "resolver" in line or "not a valid" in line
    assert not (tmp_path / "results").exists()  # nothing ran, nothing was stored


@pytest.mark.parametrize("value", RESOLVER_SPELLINGS[:8])
def test_a_resolver_through_set_is_refused_naming_the_option(tmp_path, capsys, value):
    path = spec_with(tmp_path, track="env")
    refused(capsys, ["validate", str(path), "--set", f"dataset.params.note={value}"], "--set: dataset.params.note")
    refused(capsys, ["validate", str(path), "--set", f"dataset.params={{note: '{value}'}}"], "--set: dataset.params")


def test_a_resolver_in_the_base_file_names_the_base(tmp_path, capsys):
    base = spec_with(tmp_path, name="base.yaml", track="env")
    data = yaml.safe_load(base.read_text())
    data["model"]["params"]["width"] = "${oc.${track}:PODIUM_SECRET}"
    base.write_text(yaml.safe_dump(data))
    child = spec_with(tmp_path, "extends: base.yaml\nname: child\n", name="child.yaml")
    refused(capsys, ["validate", str(child)], f"{base}: model.params.width", "resolver")


def test_resolution_itself_has_no_resolvers_even_when_a_string_slips_past_the_check():
    # the second lock: omegaconf's table is empty while a spec resolves, and is whole again after
    cfg = OmegaConf.create({"track": "env", "leak": "${oc.${track}:PODIUM_SECRET}"})
    assert isinstance(cfg, DictConfig)
    with pytest.raises(SpecError) as excinfo:
        resolve(cfg, "spec.yaml")
    assert SECRET not in str(excinfo.value) and "leak" in str(excinfo.value)
    assert OmegaConf.has_resolver("oc.env")  # other users of omegaconf in the process keep theirs


def test_an_escaped_interpolation_is_text(tmp_path, capsys):
    path = spec_with(tmp_path, method_card={"challenge": "\\${oc.env:PODIUM_SECRET} is how omegaconf reads the environment"})
    assert main(["validate", str(path)]) == 0
    from specs.loader import load_spec

    assert load_spec(path).method_card.challenge == "${oc.env:PODIUM_SECRET} is how omegaconf reads the environment"


def test_references_to_the_specs_own_keys_still_work(tmp_path):
    from specs.loader import expand

    data = {**TINY_SPEC, "dataset": {"name": "digits", "params": {"test_fraction": 0.2, "val_fraction": "${dataset.params.test_fraction}"}}}
    [run] = expand(spec_with(tmp_path, yaml.safe_dump(data)))
    assert run.spec.dataset.params["val_fraction"] == 0.2


# --- code: validation never imports it; running it is the runner's choice -----------------------


@pytest.fixture
def code_metric(tmp_path):
    """An evaluate module folder whose import leaves a mark, and a spec using it."""
    folder = tmp_path / "sneaky"
    folder.mkdir()
    mark = tmp_path / "imported.txt"
    (folder / "sneaky.py").write_text(f"open({str(mark)!r}, 'w').write('ran')\nimport evaluate\n")
    return folder, mark


@pytest.mark.parametrize("flags", [[], ["--allow-code"]])
@pytest.mark.parametrize("ref", ["folder", "script", "hub"])
def test_validate_never_imports_an_evaluate_module(tmp_path, capsys, monkeypatch, code_metric, flags, ref):
    folder, mark = code_metric
    target = {"folder": str(folder), "script": str(folder / "sneaky.py"), "hub": "someone/sneaky-metric"}[ref]
    import evaluate

    monkeypatch.setattr(evaluate, "load", lambda *a, **k: pytest.fail("validate called evaluate.load"))
    path = spec_with(tmp_path, metrics=["accuracy", {"evaluate": target}])
    before = set(sys.modules)
    assert main(["validate", str(path), *flags]) == 0
    assert not mark.exists() and not any("sneaky" in name for name in set(sys.modules) - before)
    assert "metrics[1]: runs the evaluate module" in capsys.readouterr().out


@pytest.mark.parametrize("env", [None, "0", ""])
def test_running_code_from_a_spec_is_refused_unless_the_runner_allows_it(tmp_path, capsys, monkeypatch, code_metric, env):
    folder, mark = code_metric
    if env is not None:
        monkeypatch.setenv("PODIUM_ALLOW_CODE", env)
    path = spec_with(tmp_path, metrics=["accuracy", {"evaluate": str(folder)}])
    refused(capsys, ["run", str(path), "--results", str(tmp_path / "results")], f"{path}: metrics[1]", "--allow-code")
    plugin = spec_with(tmp_path, name="plugin.yaml", plugins=["./sneaky/sneaky.py"])
    refused(capsys, ["validate", str(plugin)], f"{plugin}: plugins[0]", "--allow-code")
    assert not mark.exists() and not (tmp_path / "results").exists()


# --- size: runs counted before any is built -----------------------------------------------------


@pytest.mark.parametrize("shape", [[100, 100], [10, 10, 10, 10, 10, 10], [1001], [300, 5], [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]])
def test_a_matrix_over_the_limit_is_refused_with_its_count(tmp_path, capsys, shape):
    keys = ["task.params.lr", "task.params.epochs", "model.params.width", "model.params.dropout", "task.params.margin",
            "task.params.batch_size", "dataset.params.test_fraction", "task.params.temperature", "task.params.alpha",
            "task.params.weight_decay", "task.params.momentum"]
    matrix = {key: [i + 1 for i in range(n)] for key, n in zip(keys, shape)}
    path = spec_with(tmp_path, matrix=matrix, seeds=[0, 1])
    count = 2
    for n in shape:
        count *= n
    refused(capsys, ["validate", str(path)], f"{path}: matrix", f"expands to {count} runs")


def test_max_runs_is_the_runners_choice(tmp_path, capsys):
    path = spec_with(tmp_path, matrix={"task.params.lr": [0.01, 0.02, 0.05]}, seeds=[0, 1, 2])
    refused(capsys, ["validate", str(path), "--max-runs", "8"], f"{path}: matrix", "9 runs (3 x 3 seeds), more than the 8 allowed")
    assert main(["validate", str(path), "--max-runs", "9"]) == 0
    many = spec_with(tmp_path, name="many.yaml", matrix={"task.params.lr": [i / 100 for i in range(1, 71)]}, seeds=list(range(30)))
    refused(capsys, ["validate", str(many)], f"{many}: matrix", "2100 runs (70 x 30 seeds), more than the 2000 allowed")
    seeds = spec_with(tmp_path, name="seeds.yaml", seeds=list(range(1500)))
    refused(capsys, ["validate", str(seeds), "--max-runs", "1000"], f"{seeds}: seeds", "1500 runs")


def test_a_matrix_made_of_aliases_is_counted_like_any_other(tmp_path, capsys):
    values = "[" + ", ".join(str(i) for i in range(60)) + "]"
    text = yaml.safe_dump(TINY_SPEC, sort_keys=False) + f"values: &v {values}\nmatrix:\n  task.params.lr: *v\n  task.params.epochs: *v\n  model.params.width: *v\n"
    refused(capsys, ["validate", str(spec_with(tmp_path, text))], f"{tmp_path / 'spec.yaml'}: ")


# --- parsing ------------------------------------------------------------------------------------


def bomb(width: int, depth: int, style: str) -> str:
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, depth):
        if style == "list":
            lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
        else:
            lines.append(f"a{i}: &a{i} {{{', '.join(f'k{j}: *a{i - 1}' for j in range(width))}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("width, depth, style", [(9, 9, "list"), (10, 12, "map"), (2, 40, "list"), (100, 3, "map")])
def test_alias_bombs_are_refused_before_they_expand(tmp_path, capsys, width, depth, style):
    path = spec_with(tmp_path, yaml.safe_dump(TINY_SPEC) + "method_card:\n" + "".join(f"  {line}\n" for line in bomb(width, depth, style).splitlines()))
    refused(capsys, ["validate", str(path)], f"{path}: method_card", "expands to more than")


def test_a_published_table_is_read_under_the_same_rules(tmp_path, capsys):
    table = tmp_path / "published.yaml"
    table.write_text("kind: published\ntrack: kd\ncitation: x\n" + bomb(12, 8, "list") + "rows: []\n")
    path = spec_with(tmp_path, published="published.yaml")
    refused(capsys, ["validate", str(path)], f"{table}: ", "expands to more than 200000")
    table.write_text("kind: published\ntrack: kd\ntrack: kd\ncitation: x\nrows: []\n")
    refused(capsys, ["validate", str(path)], f"{table}: track", "duplicate key")


def test_a_value_that_contains_itself_is_refused(tmp_path, capsys):
    path = spec_with(tmp_path, yaml.safe_dump(TINY_SPEC) + "loop: &loop [1, *loop]\n")
    refused(capsys, ["validate", str(path)], f"{path}: loop", "contains it")


@pytest.mark.parametrize("deep", [
    "[" * 100 + "]" * 100,
    "[" * 50000 + "]" * 50000,  # PyYAML alone would end in a RecursionError
    "{a: " * 200 + "1" + "}" * 200,
    "\n" + "".join(" " * (i + 2) + f"k{i}:\n" for i in range(300)),
])
def test_deep_nesting_is_refused(tmp_path, capsys, deep):
    path = spec_with(tmp_path, yaml.safe_dump(TINY_SPEC) + f"deep: {deep}\n")
    refused(capsys, ["validate", str(path)], f"{path}: ", "nested more than 64 levels")


@pytest.mark.parametrize("text, key, line", [
    ("name: a\nname: b\n", "name", 2),
    ("dataset:\n  name: digits\n  name: digits\n", "dataset.name", 3),
    ("task:\n  name: distillation\n  params: {epochs: 1, epochs: 2}\n", "task.params.epochs", 3),
    ("metrics:\n  - {evaluate: x, key: a, key: b}\n", "metrics[0].key", 2),
])
def test_duplicate_keys_are_refused_naming_the_key_and_line(tmp_path, capsys, text, key, line):
    path = spec_with(tmp_path, text + "seeds: [0]\n")
    refused(capsys, ["validate", str(path)], f"{path}: {key}", f"(line {line};")


@pytest.mark.parametrize("data", [
    b"name: caf\xe9\n",  # Latin-1
    b"\xff\xfen\x00a\x00m\x00e\x00",  # UTF-16
    b"name: x\n\x80\x81\n",  # lone continuation bytes
    b"name: \xed\xa0\x80\n",  # an encoded surrogate
])
def test_text_that_is_not_utf8_is_refused(tmp_path, capsys, data):
    path = spec_with(tmp_path, data)
    refused(capsys, ["validate", str(path)], f"{path}: ", "not UTF-8")


@pytest.mark.parametrize("number", ["9" * 25, "-" + "9" * 25, "0x" + "f" * 17, "9" * 5000, "1_000_000_000_000_000_000_000", "0b" + "1" * 70])
@pytest.mark.parametrize("where", ["seeds: [{}]", "timeout_s: {}", "model: {{name: small_cnn, params: {{width: {}}}}}"])
def test_integers_beyond_64_bits_are_refused_at_their_key(tmp_path, capsys, number, where):
    data = {k: v for k, v in TINY_SPEC.items() if not where.startswith(k)}
    path = spec_with(tmp_path, yaml.safe_dump(data) + where.format(number) + "\n")
    key = {"s": "seeds[0]", "t": "timeout_s", "m": "model.params.width"}[where[0]]
    refused(capsys, ["validate", str(path)], f"{path}: {key}", "too large")


@pytest.mark.parametrize("target, says", [
    ("/etc/passwd", "absolute"), ("~/.bashrc", "absolute"), ("/dev/zero", "absolute"), ("../" * 40 + "etc/hosts.yaml", "not found"),
    ("notes.txt", "not a .yaml"), ("base.json", "not a .yaml"), ("a\x00b.yaml", "NUL"), ("x/" * 600 + "y.yaml", "over 1024"),
    ("folder.yaml", "not a regular file"), (5, "relative path"), ("", "relative path"), ("spec.yaml", "circular"),
])
def test_absurd_extends_paths_are_refused(tmp_path, capsys, target, says):
    (tmp_path / "folder.yaml").mkdir()
    path = spec_with(tmp_path, yaml.safe_dump({"extends": target, "name": "child"}))
    where = f"{tmp_path / 'folder.yaml'}: " if target == "folder.yaml" else f"{path}: extends"
    refused(capsys, ["validate", str(path)], where, says)


def test_a_long_extends_chain_is_refused(tmp_path, capsys):
    for i in range(30):
        spec_with(tmp_path, f"extends: s{i + 1}.yaml\n", name=f"s{i}.yaml")
    spec_with(tmp_path, name="s30.yaml")
    refused(capsys, ["validate", str(tmp_path / "s0.yaml")], f"{tmp_path / 's15.yaml'}: extends", "more than 16 files")


@pytest.mark.parametrize("child, key", [
    ("model: [1, 2]", "model"), ("matrix: [1]", "matrix"), ("task: {params: [1]}", "task.params"), ("metrics: {a: 1}", "metrics"),
    ("seeds: {a: 1}", "seeds"), ("dataset: {params: [x]}", "dataset.params"),
])
def test_a_container_of_the_wrong_kind_under_extends_names_its_key(tmp_path, capsys, child, key):
    spec_with(tmp_path, name="base.yaml", matrix={"task.params.method": ["student_only"]}, seeds=[0])
    path = spec_with(tmp_path, f"extends: base.yaml\nname: child\n{child}\n")
    refused(capsys, ["validate", str(path)], f"{path}: {key}", "base.yaml has")


SET_BOMB = "[&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1], " + ", ".join(f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)) + "]"


@pytest.mark.parametrize("item, key, says", [
    ("seeds[0]=5", "seeds[0]", "list item"), ("seeds.0=5", "seeds.0", "list item"), ("metrics[1]=accuracy", "metrics[1]", "list item"),
    ("a..b=1", "a..b", "not a key path"), ("[x]=1", "[x]", "not a key path"), ("=1", "=1", "expected key.path=value"),
    ("novalue", "novalue", "expected key.path=value"), ("model=[1]", "model", "a list here"), ("seeds=[1, 2", "seeds", "not valid YAML"),
    ("seeds=" + SET_BOMB, "seeds", "expands to more than"),
    ("name=!!binary aGk=", "name", "not allowed"), ("task.params.method=vanilla_kd", "task.params.method", "matrix"),
    ("task.params={method: vanilla_kd}", "task.params", "matrix"),
])
def test_bad_set_items_are_refused_naming_the_item(tmp_path, capsys, item, key, says):
    path = spec_with(tmp_path, matrix={"task.params.method": ["student_only", "vanilla_kd"]})
    refused(capsys, ["validate", str(path), "--set", item], f"--set: {key}", says)


def test_a_matrix_entry_can_still_be_changed_through_the_matrix(tmp_path, capsys):
    path = spec_with(tmp_path, matrix={"task.params.method": ["student_only", "vanilla_kd"]})
    assert main(["validate", str(path), "--set", "matrix[task.params.method]=[vanilla_kd]"]) == 0
    assert "1 runs" in capsys.readouterr().out


@pytest.mark.parametrize("text, says", [
    ("- a\n- b\n", "got a list"), ("just text\n", "got a value of type str"), ("42\n", "got a value of type int"),
    ("", "required key is missing"), ("---\n...\n", "required key is missing"), ("a: 1\n---\nb: 2\n", "not valid YAML"),
])
def test_a_file_that_is_not_a_mapping_of_keys(tmp_path, capsys, text, says):
    path = spec_with(tmp_path, text)
    capsys.readouterr()
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert all(line.startswith(f"error: {path}") for line in err.splitlines()) and says in err


def test_a_huge_file_or_a_device_is_not_read(tmp_path, capsys):
    big = spec_with(tmp_path, "name: x\n" + "# padding\n" * 200_000, name="big.yaml")
    refused(capsys, ["validate", str(big)], f"{big}: ", "more than the 1048576")
    if os.path.exists("/dev/zero"):
        refused(capsys, ["validate", "/dev/zero"], "/dev/zero: ", "not a regular file")


# --- values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed, ok", [(-1, False), (0, True), (2**32 - 1, True), (2**32, False), (2**63 - 1, False)])
def test_seeds_lie_in_what_numpy_accepts(tmp_path, capsys, seed, ok):
    path = spec_with(tmp_path, seeds=[seed])
    if ok:
        assert main(["validate", str(path)]) == 0
    else:
        refused(capsys, ["validate", str(path)], f"{path}: seeds[0]")


@pytest.mark.parametrize("key", ["timeout_s", "device", "resources", "resources.cpus", "check", "plugins", "seeds", "name"])
def test_execution_settings_and_other_non_identity_keys_are_not_matrix_keys(tmp_path, capsys, key):
    path = spec_with(tmp_path, matrix={key: [1, 2]})
    refused(capsys, ["validate", str(path)], f"{path}: matrix", "must point into dataset, model, task, metrics")
