"""The source-parsed catalog (registry.catalog): parity with the imported registry, no torch, rendering, plugins."""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import registry
from registry import DATASETS, KINDS, MODELS, load_all, registry_of
from registry import catalog as catalog_module
from registry.catalog import (
    CatalogEntry, UnknownEntry, builtin_entries, catalog, find, kind_of, render_entry, render_listing, to_json,
    unseen_registrations,
)
from tests.conftest import PROJECT


def _imported_builtins(kind: str) -> dict[str, registry.Entry]:
    load_all()
    return {e.name: e for e in registry_of(kind) if e.obj.__module__.startswith("registry.")}


def _same_default(text: str, value: object, module: object) -> bool:
    """Whether the default written as ``text`` is ``value``: as a literal, else evaluated where it was written."""
    try:
        written = ast.literal_eval(text)
    except ValueError:
        written = eval(text, vars(module))  # a constant's name or a call (pydantic's Field(...)), as in the source
    return repr(written) == repr(value)


@pytest.mark.parametrize("kind", KINDS)
def test_catalog_agrees_with_the_imported_registry(kind):
    imported = _imported_builtins(kind)
    singular = registry_of(kind).kind
    parsed = {e.name: e for e in builtin_entries() if e.kind == singular}
    assert set(parsed) - set(imported) == set(), "listed by the catalog but not registered on import"
    assert set(imported) == set(parsed), (
        "registered on import but invisible to the catalog: register with a decorator on a top-level def or class")
    for name, entry in parsed.items():
        live = imported[name]
        obj = live.obj
        target = obj.__init__ if inspect.isclass(obj) else obj
        assert entry.description == live.description, name
        assert entry.doc == (inspect.getdoc(obj) or ""), name
        assert entry.module == obj.__module__, name
        assert entry.file == Path(inspect.getsourcefile(obj)).resolve().relative_to(PROJECT).as_posix(), name
        assert entry.line == inspect.getsourcelines(obj)[1], name
        assert entry.harness == live.harness_names, name
        keyword_only = [p for p in inspect.signature(target).parameters.values() if p.kind is p.KEYWORD_ONLY]
        assert [p.name for p in entry.params] == [p.name for p in keyword_only] == list(live.params_model.model_fields), name
        module = importlib.import_module(entry.module)
        for param, real in zip(entry.params, keyword_only):
            assert param.required == (real.default is inspect.Parameter.empty), (name, param.name)
            if not param.required:
                assert _same_default(param.default, real.default, module), (name, param.name, param.default)
            if isinstance(real.annotation, str):  # postponed annotations: the source text, as the parser gives it
                assert param.type == real.annotation, (name, param.name)
        if singular == "metric":
            assert entry.higher_is_better is obj.higher_is_better, name
        else:
            assert entry.higher_is_better is None


def test_every_built_in_registration_is_visible():
    """Every entry is a decorator on a top-level def or class, so `podium list` shows them all."""
    assert unseen_registrations() == []
    assert "not listed" not in render_listing(builtin_entries())


def test_scaling_metrics_are_static_entries():
    metrics = {e.name: e for e in builtin_entries() if e.module == "registry.metrics.scaling"}
    assert set(metrics) == {"alpha", "beta", "r2", "e_inf", "extrapolation_error"}
    assert {n for n, e in metrics.items() if e.higher_is_better} == {"r2"}
    assert metrics["beta"].description == "Scale of E = beta * C^alpha."


def test_catalog_renders_without_importing_torch_or_any_entry():
    code = textwrap.dedent("""
        import sys
        from registry.catalog import catalog, find, render_entry, render_listing, to_json
        entries = catalog()
        assert len(entries) > 50
        render_listing(entries)
        render_entry(find(entries, "models", "small_cnn"))
        to_json(entries)
        heavy = ("torch", "numpy", "registry.datasets", "registry.models", "registry.tasks", "registry.metrics")
        print(sorted(m for m in sys.modules if m.split(".")[0] in heavy[:2] or m.startswith(heavy[2:])))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_listing_has_every_entry_once_within_120_columns():
    entries = builtin_entries()
    text = render_listing(entries)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert [line for line in lines if not line.startswith(" ")][:4] == ["datasets:", "models:", "tasks:", "metrics:"]
    starts = [line.split()[0] for line in lines if line.startswith("  ") and not line.startswith("   ")]
    assert sorted(e.name for e in entries) == sorted(s for s in starts if not s.startswith("registry/"))
    [small] = [i for i, line in enumerate(lines) if line.split()[:1] == ["small_cnn"]]
    assert "Three 3x3 conv layers" in lines[small]
    assert "[width: PositiveInt = 16, dropout: Dropout = 0.0]" in "\n".join(lines[small:small + 3])
    firecube = text[text.index("  firecube "):text.index("  firecube-synthetic")]
    assert "path: DataPath (required)" in firecube and "test_years: NonEmptyTuple[int] = (2020, 2021)" in firecube
    assert "[lower is better]" in text[text.index("  brier "):text.index("  e_inf ")]
    only_models = render_listing(entries, "models").splitlines()
    assert only_models[0] == "models:" and "datasets:" not in only_models


def test_one_entry_in_full():
    entries = builtin_entries()
    text = render_entry(find(entries, "models", "small_cnn"))
    assert text.startswith("model small_cnn\n")
    assert "registry.models.small_cnn (registry/models/small_cnn.py:11)" in text
    assert "~14k params at width 16" in text  # the docstring
    assert "supplied by the harness: num_classes, in_channels" in text
    assert "    width: PositiveInt = 16\n    dropout: Dropout = 0.0\n" in text  # constrained types by their alias names
    task = render_entry(find(entries, "task", "distillation"))
    assert "teacher: Component | None = None" in task and "method: Method = 'continuation_kd'" in task
    assert "supplied by the harness: ctx" in task
    assert "lower is better" in render_entry(find(entries, "metrics", "brier"))
    macro = render_entry(find(entries, "metrics", "macro_f1"))
    assert "f1_score(average=\"macro\", zero_division=0)" in macro and "higher is better" in macro  # a docstring's 2nd line
    assert "parameters: none" in macro


def test_unknown_name_or_kind_suggests_close_matches():
    entries = builtin_entries()
    with pytest.raises(UnknownEntry, match=r"unknown model 'smal_cnn'; did you mean 'small_cnn'"):
        find(entries, "models", "smal_cnn")
    with pytest.raises(UnknownEntry, match="unknown metric 'nothing_like_it'") as info:
        find(entries, "metrics", "nothing_like_it")
    assert "did you mean" not in str(info.value)
    with pytest.raises(UnknownEntry, match="did you mean 'models'"):
        kind_of("modles")
    assert isinstance(UnknownEntry("x"), LookupError)


def test_json_round_trips_with_types_and_defaults():
    entries = builtin_entries()
    data = json.loads(to_json(entries))
    assert [d["name"] for d in data] == [e.name for e in entries]
    small = next(d for d in data if d["name"] == "small_cnn")
    assert list(small) == ["kind", "name", "description", "doc", "module", "file", "line", "harness", "params",
                           "higher_is_better", "origin"]
    assert small["kind"] == "model" and small["harness"] == ["num_classes", "in_channels"]
    assert small["params"][0] == {"name": "width", "type": "PositiveInt", "default": "16", "required": False}
    one = json.loads(to_json(find(entries, "datasets", "firecube")))
    assert one["params"][0] == {"name": "path", "type": "DataPath", "default": None, "required": True}
    assert json.loads(to_json(find(entries, "metrics", "brier")))["higher_is_better"] is False


def test_parser_reads_aliases_descriptions_bases_and_flags_what_it_cannot(tmp_path):
    folder = tmp_path / "registry" / "metrics"
    folder.mkdir(parents=True)
    (folder / "extra.py").write_text(textwrap.dedent('''
        from registry.core import METRICS as M
        from registry import TASKS

        WORDS = "A description held in a constant."


        class Base:
            """The base's docstring."""

            higher_is_better: bool = False

            def __init__(self, scale, *, size: "PositiveInt" = 3, mode: Literal["a", "b"]):
                pass


        @M.register("lowly", target="x", accepts=("a",))
        class Lowly(Base):
            pass


        @M.register("described", description=WORDS, output="y")
        class Described(Base):
            """Ignored for the description."""
            higher_is_better = True


        @TASKS.register(name="plain", description="Given here.")
        def plain(ctx, /, other, *, n: int = 2 ** 3, path: str):
            """Doc."""


        for name in ("a", "b"):
            M.register(name)(Base)

        @M.register(NAME)
        class Computed(Base):
            pass
    '''))
    entries = {e.name: e for e in builtin_entries(tmp_path)}
    assert set(entries) == {"lowly", "described", "plain"}
    lowly = entries["lowly"]
    assert lowly.kind == "metric" and lowly.module == "registry.metrics.extra" and lowly.file == "registry/metrics/extra.py"
    assert lowly.description == "The base's docstring." and lowly.higher_is_better is False
    assert lowly.harness == ("scale",)
    assert [p.compact() for p in lowly.params] == ["size: PositiveInt = 3", "mode: Literal['a', 'b'] (required)"]
    assert entries["described"].description == "A description held in a constant."
    assert entries["described"].doc == "Ignored for the description." and entries["described"].higher_is_better is True
    plain = entries["plain"]
    assert plain.kind == "task" and plain.description == "Given here." and plain.harness == ("ctx", "other")
    assert [p.compact() for p in plain.params] == ["n: int = 2 ** 3", "path: str (required)"]
    assert plain.higher_is_better is None
    reasons = sorted((u.line, u.reason) for u in unseen_registrations(tmp_path))
    assert [r for _, r in reasons] == ["not a decorator of a top-level function or class", "the name is not a string literal"]


# --- plugins ----------------------------------------------------------------------------------

PLUGIN_MODULE = "tests.registry.plugin_example"
PLUGIN_MODELS = ("plugin_linear", "plugin_linear_wide")


@pytest.fixture
def plugins(monkeypatch):
    """A list to append ``podium.plugins`` entry points to, as test_resolve's fixture; afterwards the
    plugin's entries and module are removed and what the catalog remembers of loading it is cleared."""
    monkeypatch.syspath_prepend(str(PROJECT))
    points: list[EntryPoint] = []
    monkeypatch.setattr(registry, "entry_points", lambda *, group: [p for p in points if p.group == group])
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(catalog_module, "_loaded_points", set())
    yield points
    for name in PLUGIN_MODELS:
        MODELS._entries.pop(name, None)
    sys.modules.pop(PLUGIN_MODULE, None)


def test_no_entry_points_no_plugins(plugins):
    assert catalog() == builtin_entries()
    assert PLUGIN_MODULE not in sys.modules


def test_plugin_entry_points_show_up(plugins):
    plugins.append(EntryPoint(name="example", value=PLUGIN_MODULE, group=registry.PLUGIN_GROUP))
    plugins.append(EntryPoint(name="extra", value=f"{PLUGIN_MODULE}:register_extra", group=registry.PLUGIN_GROUP))
    entries = catalog()
    found = [e for e in entries if e.origin == "plugin"]
    assert [e.name for e in found] == ["plugin_linear", "plugin_linear_wide"]
    linear = found[0]
    assert linear.kind == "model" and linear.module == PLUGIN_MODULE
    assert linear.file == "tests/registry/plugin_example.py" and linear.line == 8
    assert linear.description == "A linear classifier on flattened pixels, from a plugin."
    assert linear.harness == ("num_classes", "in_channels")
    assert [p.compact() for p in linear.params] == ["bias: bool = True"]
    assert len(entries) == len(builtin_entries()) + 2
    assert catalog() == entries  # a second listing does not call the plugin's callable again
    assert "plugin_linear_wide" not in {e.name for e in catalog(include_plugins=False)}
    listing = render_listing(entries, "models")
    lines = listing.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.split()[:1] == ["plugin_linear"]]
    assert f"(plugin {PLUGIN_MODULE})" in lines[at] and "[bias: bool = True]" in " ".join(lines[at:at + 2])
    assert render_entry(find(entries, "models", "plugin_linear")).startswith("model plugin_linear (plugin)\n")
    assert json.loads(to_json(linear))["origin"] == "plugin"


def test_extra_plugin_files_modules_and_callables(plugins, tmp_path):
    file = tmp_path / "my_plugin.py"
    file.write_text(textwrap.dedent('''
        from registry import DATASETS

        @DATASETS.register("file_plugin_data")
        def file_plugin_data(*, rows: int = 5):
            """Rows from a plugin file."""
    '''))
    calls = []
    try:
        entries = catalog(extra_plugins=[file, PLUGIN_MODULE, lambda: calls.append(1)])
        by_name = {e.name: e for e in entries if e.origin == "plugin"}
        assert set(by_name) == {"file_plugin_data", "plugin_linear"} and calls == [1]
        assert by_name["file_plugin_data"].params[0].compact() == "rows: int = 5"
        assert by_name["file_plugin_data"].file == str(file.resolve())
    finally:
        DATASETS._entries.pop("file_plugin_data", None)


def test_entries_are_plain_data():
    entry = find(builtin_entries(), "models", "small_cnn")
    assert isinstance(entry, CatalogEntry) and entry == find(builtin_entries(), "model", "small_cnn")


def test_include_plugins_false_imports_no_entry_point(plugins):
    plugins.append(EntryPoint(name="example", value=PLUGIN_MODULE, group=registry.PLUGIN_GROUP))
    assert catalog(include_plugins=False) == builtin_entries()
    assert PLUGIN_MODULE not in sys.modules


# --- the kept parse -----------------------------------------------------------------------------


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """A cache folder of this test's own, and no parse remembered in the process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    catalog_module._scan.cache_clear()
    yield catalog_module.cache_file()
    catalog_module._scan.cache_clear()


def _parses(monkeypatch) -> list[int]:
    """Counts the parses of the sources from here on."""
    calls: list[int] = []
    parse = catalog_module._parse

    def counted(*args):
        calls.append(1)
        return parse(*args)

    monkeypatch.setattr(catalog_module, "_parse", counted)
    return calls


def test_a_second_listing_reads_the_kept_parse_and_lists_the_same(fresh_cache, monkeypatch):
    parses = _parses(monkeypatch)
    first = builtin_entries()
    assert fresh_cache.is_file() and parses == [1]
    catalog_module._scan.cache_clear()  # as a new process would start
    again = builtin_entries()
    assert parses == [1] and again == first
    assert [e.params for e in again] == [e.params for e in first] and all(isinstance(e.params, tuple) for e in again)


def test_a_changed_source_or_a_damaged_cache_is_parsed_again(fresh_cache, monkeypatch):
    parses = _parses(monkeypatch)
    first = builtin_entries()
    kept = json.loads(fresh_cache.read_text())
    kept["stamp"][1][1] += 1  # one source's size, as if it had been edited
    fresh_cache.write_text(json.dumps(kept))
    catalog_module._scan.cache_clear()
    assert builtin_entries() == first and parses == [1, 1]
    fresh_cache.write_text("{not json")
    catalog_module._scan.cache_clear()
    assert builtin_entries() == first and parses == [1, 1, 1]
    catalog_module._scan.cache_clear()  # the damaged file was replaced by a good one
    assert builtin_entries() == first and parses == [1, 1, 1]


def test_a_cache_folder_that_cannot_be_written_only_costs_the_parse(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # its podium/ folder cannot be made
    catalog_module._scan.cache_clear()
    try:
        assert any(e.name == "small_cnn" for e in builtin_entries())
    finally:
        catalog_module._scan.cache_clear()
