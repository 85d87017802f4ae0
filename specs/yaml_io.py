"""Reading a YAML file of Podium's (a spec, a ranking, published results) as untrusted data.

Every file a spec names is read here, so one set of limits holds for all of them: a regular file of
at most ``MAX_BYTES`` of UTF-8 text, nesting at most ``MAX_DEPTH`` deep, at most ``MAX_NODES`` values
once YAML aliases are expanded (an "alias bomb" of nested anchors stays small on disk and explodes
in memory), no key twice in one mapping, and integers that fit in 64 bits (nothing downstream,
numpy, DuckDB or torch, takes more). Each breach is a ``SpecError`` naming the file, the key and
the line; nothing here can recurse without bound, so a hostile file fails in well under a second.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from specs.errors import SpecError

MAX_BYTES = 1 << 20  # a spec is a page of YAML; a megabyte is far beyond any real one
MAX_DEPTH = 64  # containers inside containers
MAX_NODES = 2_000  # values once aliases are expanded: ten times the largest shipped spec (a 100 x 100 matrix is 200)
INT_TAG = "tag:yaml.org,2002:int"
MERGE_TAG = "tag:yaml.org,2002:merge"
# what a spec's values may be: YAML's plain data; dates, binary, sets and custom tags build Python
# objects that neither omegaconf nor a JSON record holds
DATA_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge")}


class _Refused(yaml.YAMLError):
    """A limit of this module was hit while composing (raised inside PyYAML, reported as a SpecError)."""

    def __init__(self, message: str, node_mark: Any = None):
        super().__init__(message)
        self.message, self.mark = message, node_mark


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with a bound on nesting while the node graph is composed (PyYAML's
    composer recurses once per level, so without it deep nesting ends in a RecursionError)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


# Dates stay text (YAML 1.1 would build datetime objects); YAML 1.1 reads `1e-3` (no dot) as a string; a spec means the number, as omegaconf's `--set` does.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"), list("-+0123456789.")
)


def read_yaml(path: str | Path, what: str = "spec file", max_nodes: int = MAX_NODES) -> Any:
    """The file's YAML document as plain Python data (``None`` for an empty file)."""
    return parse_yaml(read_text(path, what), str(path), max_nodes=max_nodes)


def parse_yaml(text: str, file: str, key: str = "", max_nodes: int = MAX_NODES) -> Any:
    """YAML text (a file's, or a ``--set`` value) as plain data, under this module's limits;
    problems name ``file`` and, for a value, its ``key``. A spec passes through omegaconf, which
    costs about a third of a millisecond per value, hence ``MAX_NODES``; a table that does not
    (published results) may allow more."""
    try:
        loader = _Loader(text)  # its reader refuses control characters at once
    except yaml.YAMLError as err:
        at = getattr(err, "position", None)
        where = f" (line {text[:at].count(chr(10)) + 1})" if isinstance(at, int) else ""
        raise SpecError.one(file, key, f"not valid YAML{where}: {getattr(err, 'reason', None) or err}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, file, key, max_nodes)
        try:
            return loader.construct_document(node)
        except (ValueError, TypeError, OverflowError) as err:  # a value its tag cannot build
            raise SpecError.one(file, key, f"cannot read a value: {err}") from None
    except _Refused as err:
        raise SpecError.one(file, key, f"{err.message}{_line(err.mark)}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise SpecError.one(file, key, f"not valid YAML{_line(mark)}: {getattr(err, 'problem', None) or err}") from None
    finally:
        loader.dispose()


def read_text(path: str | Path, what: str = "spec file") -> str:
    """A regular file's UTF-8 text, refused (``SpecError``) when it is missing, not a regular file
    (a folder, a device, a pipe: reading those could block or never end), too big, or not UTF-8."""
    file = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SpecError.one(file, "", f"{what} not found") from None
    except (OSError, ValueError) as err:  # a name too long, a NUL byte, no permission
        raise SpecError.one(file, "", f"cannot read the {what}: {getattr(err, 'strerror', None) or err}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SpecError.one(file, "", f"not a regular file, so not a {what}")
    if info.st_size > MAX_BYTES:
        raise SpecError.one(file, "", f"{info.st_size} bytes: more than the {MAX_BYTES} a {what} may have")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise SpecError.one(file, "", f"cannot read the {what}: {err.strerror or err}") from None
    if len(data) > MAX_BYTES:  # grew since the stat
        raise SpecError.one(file, "", f"more than the {MAX_BYTES} bytes a {what} may have")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SpecError.one(file, "", f"not UTF-8 text (byte {err.start}, line {line}): save the file as UTF-8") from None


def _check_graph(root: Node, file: str, key: str, max_nodes: int) -> None:
    """Duplicate keys, integers beyond 64 bits and the expanded size, checked on the composed nodes
    before anything is built. An alias is the same node object reached again, so sizes are memoised
    per node: the check costs the file's size, not its expansion's."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Node, path: str) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in open_nodes:  # `&a [*a]`: a value that contains itself never ends
            raise SpecError.one(file, path, f"a YAML alias refers to a value that contains it{_line(node.start_mark)}")
        open_nodes.add(id(node))
        total = 1
        if node.tag not in DATA_TAGS:
            raise SpecError.one(file, path, f"YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not allowed{_line(node.start_mark)}: a spec holds plain text, numbers, lists and mappings")
        if isinstance(node, ScalarNode):
            if node.tag == INT_TAG:
                _check_int(node, file, path)
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                total += size(item, f"{path}[{i}]")
        elif isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, ScalarNode) else None
                child = f"{path}.{key}" if path else str(key)
                if key_node.tag != MERGE_TAG and key is not None:
                    if key in seen:
                        raise SpecError.one(
                            file, child, f"duplicate key {key!r} (line {key_node.start_mark.line + 1}; first at line {seen[key]}): give each key once"
                        )
                    seen[key] = key_node.start_mark.line + 1
                total += size(key_node, child) + size(value_node, child)
        if total > max_nodes:
            raise SpecError.one(
                file, path, f"expands to more than {max_nodes} values (YAML aliases?){_line(node.start_mark)}: the file is limited to {max_nodes}"
            )
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root, key)


def _check_int(node: ScalarNode, file: str, path: str) -> None:
    digits = node.value.replace("_", "").lstrip("+-")
    try:
        value = int(digits, 0) if digits[:2].lower() in ("0x", "0o", "0b") else int(digits)
    except ValueError:  # sexagesimal (1:30) or more digits than Python converts: let the size decide
        value = 1 << 64 if len(digits) > 19 else 0
    if value >= 1 << 63:
        raise SpecError.one(file, path, f"integer {node.value[:24]}{'...' if len(node.value) > 24 else ''} is too large (at most 2**63 - 1){_line(node.start_mark)}")


def _line(mark: Any) -> str:
    return f" (line {mark.line + 1})" if mark is not None else ""
