"""What the registry holds, listed without importing it: `podium list` reads the source files.

Built-in entries are found by parsing ``registry/{datasets,models,tasks,metrics}`` with ``ast``:
every top-level function or class decorated with ``DATASETS.register(...)`` (``MODELS``, ``TASKS``,
``METRICS``), its description (``description=`` or the docstring's first line, as the registry
takes it), docstring, positional (harness) and keyword-only (spec) parameters with their types
and defaults as written. Nothing under ``registry/<kind>/`` is imported, so neither is torch.
A ``register`` call the parser cannot read (inside a loop or a function, a computed name) is
reported by ``unseen_registrations``; the parity test fails on it.

Plugins (entry-point group ``podium.plugins``, or modules and files passed explicitly) can only be
listed by importing them; ``catalog`` does so only when there are any, and reads their entries
from the live registries.

What the parse of this installation's sources found is kept in the user's cache folder
(``$XDG_CACHE_HOME/podium``, else ``~/.cache/podium``), keyed by every parsed file's size and
modification time and by this file's own, so a listing does not parse the sources again until one
changes; a cache that cannot be read or written is ignored.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import hashlib
import inspect
import json
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, Union

import registry  # the package (registry.core, pydantic), never an entry's module: no torch
from registry import KINDS, PLUGIN_GROUP
from registry.plugins import import_plugin
from specs.plugin_refs import is_file_ref

ROOT = Path(__file__).resolve().parent.parent
_REGISTRY_KIND = {"DATASETS": "dataset", "MODELS": "model", "TASKS": "task", "METRICS": "metric"}
_KIND_ORDER = {kind: i for i, kind in enumerate(_REGISTRY_KIND.values())}
BUILTIN = "builtin"
PLUGIN = "plugin"

Plugin = Union[str, Path, Callable[[], object]]  # a module name, "module:callable", a .py file, or a callable


class UnknownEntry(LookupError):
    """A name (or kind) the catalog has no entry for; the message lists close matches."""


@dataclass(frozen=True)
class Param:
    """A keyword-only parameter a spec may set: its type and default as written in the source."""

    name: str
    type: str | None  # the annotation's source text; None when unannotated
    default: str | None  # the default's source text; None when the parameter is required

    @property
    def required(self) -> bool:
        return self.default is None

    def compact(self) -> str:
        """``epochs: PositiveInt = 30``, or ``path: str (required)``."""
        typed = f"{self.name}: {self.type}" if self.type else self.name
        return f"{typed} (required)" if self.required else f"{typed} = {self.default}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default, "required": self.required}


@dataclass(frozen=True)
class CatalogEntry:
    """One registry entry as `podium list` shows it."""

    kind: str  # dataset, model, task or metric (as ``Registry.kind``)
    name: str
    description: str
    doc: str
    module: str
    file: str  # relative to the repository for built-ins (posix); absolute or "" for plugins outside it
    line: int
    harness: tuple[str, ...]  # positional parameters, supplied by the harness
    params: tuple[Param, ...]  # keyword-only parameters, set by a spec
    higher_is_better: bool | None = None  # metrics only; None for other kinds or when not literal
    origin: str = BUILTIN  # "builtin" or "plugin"

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data, with stable keys."""
        return {
            "kind": self.kind, "name": self.name, "description": self.description, "doc": self.doc,
            "module": self.module, "file": self.file, "line": self.line, "harness": list(self.harness),
            "params": [p.to_dict() for p in self.params], "higher_is_better": self.higher_is_better,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class Unseen:
    """A ``register`` call in the built-in sources that the parser cannot turn into an entry."""

    kind: str
    file: str
    line: int
    code: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.code} ({self.reason})"


# --- built-ins, by parsing ---------------------------------------------------------------------


def builtin_entries(root: Path | None = None) -> list[CatalogEntry]:
    """Every built-in entry, read from the sources under ``<root>/registry/<kind>/`` (nothing is imported).
    ``root`` is the repository (default: this one)."""
    return list(_scan(Path(root or ROOT).resolve()).entries)


def unseen_registrations(root: Path | None = None) -> list[Unseen]:
    """``register`` calls in the built-in sources that ``builtin_entries`` cannot list (so it misses them)."""
    return list(_scan(Path(root or ROOT).resolve()).unseen)


@dataclass(frozen=True)
class _Scan:
    entries: tuple[CatalogEntry, ...]
    unseen: tuple[Unseen, ...]
    modules: frozenset[str]  # every module parsed: what plugins' entries are told apart from


@functools.lru_cache(maxsize=4)
def _scan(root: Path) -> _Scan:
    sources = [path for kind in KINDS for path in sorted((root / "registry" / kind).rglob("*.py")) if "__pycache__" not in path.parts]
    if root != ROOT:  # only this installation's catalog is kept
        return _parse(root, sources)
    stamp = [[path.relative_to(root).as_posix(), *_size_and_time(path)] for path in [Path(__file__), *sources]]
    cached = _read_cache(stamp)
    if cached is not None:
        return cached
    scan = _parse(root, sources)
    _write_cache(stamp, scan)
    return scan


def _parse(root: Path, sources: list[Path]) -> _Scan:
    entries: list[CatalogEntry] = []
    unseen: list[Unseen] = []
    modules: set[str] = set()
    for path in sources:
        scan = _ModuleScan(path, root)
        found, missed = scan.run()
        entries += found
        unseen += missed
        modules.add(scan.module)
    return _Scan(tuple(sorted(entries, key=_order)), tuple(unseen), frozenset(modules))


CACHE_VERSION = 1  # of the cache file's layout


def cache_file() -> Path:
    """Where this installation's parsed catalog is kept (one file per installation folder)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "podium" / f"catalog-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:16]}.json"


def _size_and_time(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _read_cache(stamp: list) -> _Scan | None:
    """The kept scan when it was made from exactly these files (``stamp``), else None."""
    try:
        kept = json.loads(cache_file().read_text(encoding="utf-8"))
        if kept.get("version") != CACHE_VERSION or kept.get("stamp") != stamp:
            return None
        entries = tuple(
            CatalogEntry(**{**e, "harness": tuple(e["harness"]), "params": tuple(Param(**p) for p in e["params"])}) for e in kept["entries"]
        )
        return _Scan(entries, tuple(Unseen(**u) for u in kept["unseen"]), frozenset(kept["modules"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_cache(stamp: list, scan: _Scan) -> None:
    """Keep ``scan`` for the next listing (written whole, then renamed into place); skipped when the folder is not writable."""
    path = cache_file()
    kept = {
        "version": CACHE_VERSION, "stamp": stamp, "modules": sorted(scan.modules),
        "entries": [dataclasses.asdict(e) for e in scan.entries], "unseen": [dataclasses.asdict(u) for u in scan.unseen],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(kept), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


def _order(entry: CatalogEntry) -> tuple[int, str, int]:
    return _KIND_ORDER.get(entry.kind, len(_KIND_ORDER)), entry.name, entry.origin != BUILTIN


class _ModuleScan:
    """The registered entries of one source file."""

    def __init__(self, path: Path, root: Path):
        self.file = path.relative_to(root).as_posix()
        parts = list(path.relative_to(root).with_suffix("").parts)
        self.module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        source = path.read_text(encoding="utf-8")
        # a file that never says "register" registers nothing: skip parsing it
        self.tree = ast.parse(source, filename=str(path)) if "register" in source else ast.Module(body=[], type_ignores=[])
        self.registries = self._registry_names()
        body = self.tree.body
        self.classes = {node.name: node for node in body if isinstance(node, ast.ClassDef)}
        self.strings = {  # module-level NAME = "text", for description=NAME
            node.targets[0].id: node.value.value for node in body
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        }

    def _registry_names(self) -> dict[str, str]:
        """Local names bound to the four registries (``from registry import MODELS as M`` included)."""
        names = dict(_REGISTRY_KIND)
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module in ("registry", "registry.core"):
                for alias in node.names:
                    if alias.name in _REGISTRY_KIND:
                        names[alias.asname or alias.name] = _REGISTRY_KIND[alias.name]
        return names

    def _kind_of(self, call: ast.AST) -> str | None:
        """The kind when ``call`` is ``<registry>.register(...)``, else None."""
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "register"):
            return None
        target = call.func.value
        if isinstance(target, ast.Name):
            return self.registries.get(target.id)
        if isinstance(target, ast.Attribute):  # registry.MODELS.register(...)
            return _REGISTRY_KIND.get(target.attr)
        return None

    def run(self) -> tuple[list[CatalogEntry], list[Unseen]]:
        entries: list[CatalogEntry] = []
        unseen: list[Unseen] = []
        read: set[int] = set()
        for node in self.tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for decorator in node.decorator_list:
                kind = self._kind_of(decorator)
                if kind is None:
                    continue
                read.add(id(decorator))
                entry = self._entry(kind, decorator, node)
                if isinstance(entry, str):
                    unseen.append(self._unseen(decorator, entry))
                else:
                    entries.append(entry)
        for node in ast.walk(self.tree):
            if self._kind_of(node) is not None and id(node) not in read:
                unseen.append(self._unseen(node, "not a decorator of a top-level function or class"))
        return entries, unseen

    def _unseen(self, call: ast.AST, reason: str) -> Unseen:
        return Unseen(self._kind_of(call) or "", self.file, call.lineno, ast.unparse(call), reason)

    def _entry(self, kind: str, call: ast.Call, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> CatalogEntry | str:
        """The entry ``call`` registers on ``node``, or why it cannot be read."""
        arguments = dict(zip(("name", "description"), call.args))
        arguments.update({k.arg: k.value for k in call.keywords if k.arg})
        name = _literal_str(arguments.get("name"))
        if name is None:
            return "the name is not a string literal"
        description: str | None = None
        given = arguments.get("description")
        if given is not None and not (isinstance(given, ast.Constant) and given.value is None):
            description = _literal_str(given)
            if description is None and isinstance(given, ast.Name):
                description = self.strings.get(given.id)
            if description is None:
                return "the description is not a string literal"
        doc = self._docstring(node)
        lines = doc.strip().splitlines()
        harness, params = self._signature(node)
        return CatalogEntry(
            kind=kind, name=name, description=description or (lines[0] if lines else ""), doc=doc,
            module=self.module, file=self.file, line=node.decorator_list[0].lineno, harness=harness, params=params,
            higher_is_better=self._higher_is_better(node) if kind == "metric" else None,
        )

    def _bases(self, node: ast.ClassDef) -> list[ast.ClassDef]:
        """``node`` and its base classes defined in this module, depth first (an approximate MRO)."""
        chain: list[ast.ClassDef] = []
        todo = [node]
        while todo:
            current = todo.pop(0)
            if current in chain:
                continue
            chain.append(current)
            todo[:0] = [self.classes[b.id] for b in current.bases if isinstance(b, ast.Name) and b.id in self.classes]
        return chain

    def _docstring(self, node: ast.AST) -> str:
        """As ``inspect.getdoc``: a class without one takes its (same-module) base's."""
        candidates = self._bases(node) if isinstance(node, ast.ClassDef) else [node]
        for candidate in candidates:
            doc = ast.get_docstring(candidate, clean=True)
            if doc is not None:
                return doc
        return ""

    def _signature(self, node: ast.AST) -> tuple[tuple[str, ...], tuple[Param, ...]]:
        if isinstance(node, ast.ClassDef):
            init = next((item for cls in self._bases(node) for item in cls.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "__init__"), None)
            if init is None:
                return (), ()
            node = init
        args = node.args
        harness = tuple(a.arg for a in [*args.posonlyargs, *args.args] if a.arg != "self")
        params = tuple(
            Param(a.arg, _annotation(a.annotation), None if default is None else ast.unparse(default))
            for a, default in zip(args.kwonlyargs, args.kw_defaults)
        )
        return harness, params

    def _higher_is_better(self, node: ast.AST) -> bool | None:
        """The ``higher_is_better`` literally assigned in the class or a same-module base (default True)."""
        if not isinstance(node, ast.ClassDef):
            return True
        for cls in self._bases(node):
            for item in cls.body:
                if isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "higher_is_better" for t in item.targets):
                    value = item.value
                elif (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                      and item.target.id == "higher_is_better" and item.value is not None):
                    value = item.value
                else:
                    continue
                return value.value if isinstance(value, ast.Constant) and isinstance(value.value, bool) else None
        return True


def _literal_str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _annotation(node: ast.AST | None) -> str | None:
    if node is None:
        return None
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ast.unparse(node)


# --- plugins, by importing them ----------------------------------------------------------------


_loaded_points: set[tuple[str, str]] = set()  # entry points this module has loaded (a callable runs once)


def plugin_entries(extra: Sequence[Plugin] | Plugin = (), *, installed: bool = True) -> list[CatalogEntry]:
    """Entries that plugins add: installed ``podium.plugins`` entry points (loaded as ``load_all`` would;
    ``installed=False`` skips them) and ``extra`` (module names, ``module:callable``, ``.py`` files or
    callables), imported here. Nothing is imported when there are none."""
    extras = [extra] if callable(extra) or isinstance(extra, (str, Path)) else list(extra)
    points = list(registry.entry_points(group=PLUGIN_GROUP)) if installed and not registry._loaded else []
    if not points and not extras and not (installed and (registry._loaded or _loaded_points)):
        return []
    for point in points:  # none after load_all: its plugins are in the registries already
        if (point.name, point.value) not in _loaded_points:
            _loaded_points.add((point.name, point.value))
            loaded = point.load()
            if callable(loaded):
                loaded()
    for plugin in extras:
        _load_plugin(plugin)
    builtin_modules = _scan(ROOT).modules
    found = [
        _live_entry(entry) for kind in KINDS for entry in registry.registry_of(kind)
        if getattr(entry.obj, "__module__", None) not in builtin_modules
    ]
    return sorted(found, key=_order)


def _load_plugin(plugin: Plugin) -> None:
    """Import one extra plugin without the built-in entries (listing needs only the plugin's own)."""
    if callable(plugin):
        plugin()
        return
    text = str(plugin)
    if isinstance(plugin, Path) or is_file_ref(text):
        import_plugin(str(Path(text).resolve()), builtins_first=False)
        return
    module_name, _, attribute = text.partition(":")
    loaded: Any = import_plugin(module_name, builtins_first=False)
    if attribute:
        for part in attribute.split("."):
            loaded = getattr(loaded, part)
        if callable(loaded):
            loaded()


def _live_entry(entry: Any) -> CatalogEntry:
    """A ``CatalogEntry`` of an imported ``registry.core.Entry``, from its signature."""
    obj = entry.obj
    target = obj.__init__ if inspect.isclass(obj) else obj
    params = []
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        signature = None
    for p in signature.parameters.values() if signature else ():
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            annotation = None if p.annotation is inspect.Parameter.empty else (
                p.annotation if isinstance(p.annotation, str) else inspect.formatannotation(p.annotation))
            default = None if p.default is inspect.Parameter.empty else repr(p.default)
            params.append(Param(p.name, annotation, default))
    file, line = "", 0
    try:
        source = inspect.getsourcefile(obj)
        if source:
            path = Path(source).resolve()
            file = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
            line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        pass
    return CatalogEntry(
        kind=entry.kind, name=entry.name, description=entry.description, doc=inspect.getdoc(obj) or "",
        module=getattr(obj, "__module__", "") or "", file=file, line=line, harness=tuple(entry.harness_names),
        params=tuple(params), origin=PLUGIN,
        higher_is_better=bool(getattr(obj, "higher_is_better", True)) if entry.kind == "metric" else None,
    )


# --- the catalog --------------------------------------------------------------------------------


def catalog(include_plugins: bool = True, extra_plugins: Sequence[Plugin] | Plugin = ()) -> list[CatalogEntry]:
    """Every entry, built-ins by parsing and plugins by importing only them, sorted by kind and name.
    ``include_plugins``: the installed entry points; ``extra_plugins``: modules, ``module:callable``
    names, ``.py`` files or callables to import as well (``--plugin PATH``)."""
    return sorted(builtin_entries() + plugin_entries(extra_plugins, installed=include_plugins), key=_order)


def kind_of(text: str) -> str:
    """``models`` or ``model`` -> ``model``; raises ``UnknownEntry`` for anything else."""
    singular = text.removesuffix("s")
    if singular in _KIND_ORDER:
        return singular
    close = difflib.get_close_matches(text, list(KINDS), n=2, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownEntry(f"unknown kind {text!r}{hint} (kinds: {', '.join(KINDS)})")


def find(entries: Iterable[CatalogEntry], kind: str, name: str) -> CatalogEntry:
    """The entry of ``kind`` (``models`` or ``model``) named ``name``; ``UnknownEntry`` suggests close names."""
    singular = kind_of(kind)
    of_kind = {e.name: e for e in entries if e.kind == singular}
    if name in of_kind:
        return of_kind[name]
    close = difflib.get_close_matches(name, list(of_kind), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownEntry(f"unknown {singular} {name!r}{hint} (`podium list {singular}s` shows all)")


# --- rendering ----------------------------------------------------------------------------------

NAME_WIDTH = 22


def render_listing(entries: Iterable[CatalogEntry], kind: str | None = None, *, width: int = 120,
                   unseen: Sequence[Unseen] | None = None) -> str:
    """Per kind, one entry a line (name, description, parameters), wrapped to ``width`` columns.
    ``unseen`` (default: ``unseen_registrations()``) is noted at the end: entries the listing misses."""
    wanted = [kind_of(kind)] if kind else list(_KIND_ORDER)
    entries = list(entries)
    out: list[str] = []
    for singular in wanted:
        out.append(f"{singular}s:")
        for entry in (e for e in entries if e.kind == singular):
            out += _listing_lines(entry, width)
    missed = [u for u in (unseen_registrations() if unseen is None else unseen) if u.kind in wanted or not u.kind]
    if missed:
        out.append("not listed (registered in a way the catalog cannot read; `podium list` misses them):")
        out += [textwrap.fill(str(u), width, initial_indent="  ", subsequent_indent="    ") for u in missed]
    return "\n".join(out) + "\n"


def _listing_lines(entry: CatalogEntry, width: int) -> list[str]:
    indent = " " * (2 + NAME_WIDTH + 1)
    head = f"  {entry.name:<{NAME_WIDTH}} "
    description = entry.description + (f" (plugin {entry.module})" if entry.origin == PLUGIN else "")
    tail = [p.compact() for p in entry.params]
    if entry.kind == "metric" and entry.higher_is_better is not None:
        tail.append("higher is better" if entry.higher_is_better else "lower is better")
    bracketed = f"[{', '.join(tail)}]" if tail else ""
    one_line = f"{head}{description}  {bracketed}".rstrip()
    if len(one_line) <= width:
        return [one_line]
    lines = textwrap.wrap(description, width, initial_indent=head, subsequent_indent=indent,
                          break_long_words=False, break_on_hyphens=False) or [head.rstrip()]
    if not bracketed:
        return lines
    if len(lines[-1]) + 2 + len(bracketed) <= width:
        lines[-1] += f"  {bracketed}"
        return lines
    if len(indent) + len(bracketed) <= width:
        return lines + [indent + bracketed]
    packed = _pack(tail, indent + " ", width - 1)  # inside the brackets
    packed[0] = indent + "[" + packed[0][len(indent) + 1:]
    return lines + packed[:-1] + [packed[-1] + "]"]


def _pack(items: list[str], indent: str, width: int) -> list[str]:
    """``items`` joined by ", " into lines of at most ``width`` (an item longer than a line stands alone)."""
    lines: list[str] = []
    current = ""
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if current and len(indent) + len(current) + 1 + len(piece) > width:
            lines.append(indent + current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    if current:
        lines.append(indent + current)
    return lines


def render_entry(entry: CatalogEntry) -> str:
    """One entry in full: where it lives, its docstring, who supplies which parameter, types and defaults."""
    where = f"{entry.file}:{entry.line}" if entry.file and entry.line else entry.file or "source unknown"
    out = [f"{entry.kind} {entry.name}" + (" (plugin)" if entry.origin == PLUGIN else ""),
           f"  module: {entry.module} ({where})", ""]
    out += [f"  {line}".rstrip() for line in (entry.doc or entry.description or "(no docstring)").splitlines()]
    out.append("")
    out.append(f"  supplied by the harness: {', '.join(entry.harness) if entry.harness else 'nothing'}")
    if entry.params:
        out.append("  parameters (a spec sets them under params):")
        out += [f"    {p.compact()}" for p in entry.params]
    else:
        out.append("  parameters: none")
    if entry.kind == "metric":
        direction = {True: "higher is better", False: "lower is better", None: "direction not known statically"}
        out.append(f"  {direction[entry.higher_is_better]}")
    return "\n".join(out) + "\n"


def to_json(entries: CatalogEntry | Iterable[CatalogEntry]) -> str:
    """``--format json``: a list of entry dicts (one entry: that entry's dict)."""
    if isinstance(entries, CatalogEntry):
        return json.dumps(entries.to_dict(), indent=2)
    return json.dumps([e.to_dict() for e in entries], indent=2)
