"""Interpolation in a spec: ``${key.path}`` references to the spec's own keys, and nothing else.

omegaconf's resolvers (``${oc.env:HOME}``, ``${oc.decode:...}``, any ``${name:...}``) would let a
spec read the environment of whoever runs it. Two locks keep them out, so that no spelling of a
resolver (``${oc.${track}:X}``, spaces, nesting) reaches one:

- every string is parsed with omegaconf's own interpolation grammar before anything is resolved,
  and one that calls a resolver anywhere in its parse tree is refused, naming the file and key;
- resolution itself runs with omegaconf's resolver table emptied, so even a string the first lock
  let through would fail instead of calling a resolver.

An escaped ``\\${...}`` is text, not an interpolation, and stays in the spec as ``${...}``.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.basecontainer import BaseContainer
from omegaconf.errors import GrammarParseError, OmegaConfBaseException
from omegaconf.grammar.gen.OmegaConfGrammarParser import OmegaConfGrammarParser
from omegaconf.grammar_parser import parse

from specs.errors import SpecError

_NO_RESOLVERS = threading.Lock()


def check_strings(node: Any, file: str, path: str = "") -> None:
    """Raise ``SpecError`` at the first string in ``node`` (plain data) that is not plain text or
    node references: a resolver call, however spelt, or an interpolation omegaconf cannot parse."""
    for where, text in _strings(node, path):
        if "${" not in text:
            continue
        try:
            tree = parse(text)
        except GrammarParseError as err:
            raise SpecError.one(file, where, f"{text!r} is not a valid ${{key.path}} reference ({str(err).splitlines()[0]}); write \\${{ for a literal ${{") from None
        if _calls_resolver(tree):
            raise SpecError.one(
                file, where, f"{text!r} calls a resolver, which is not allowed: a spec may only reference its own keys (${{key.path}}), never the environment or code"
            )


def has_interpolation(node: Any) -> bool:
    """Whether any string in ``node`` (plain data) needs omegaconf to resolve it (a reference or an escape)."""
    return any("${" in text for _, text in _strings(node, ""))


def resolve(cfg: DictConfig, file: str) -> dict[str, Any]:
    """The config as plain data with its references resolved, under an empty resolver table."""
    try:
        with no_resolvers():
            return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", "") or ""
        raise SpecError.one(file, str(key), f"cannot interpolate: {first_line(err)}") from None


@contextmanager
def no_resolvers() -> Iterator[None]:
    """omegaconf's (process-wide) resolver table emptied for the block; a lock keeps threads from
    seeing each other's empty table."""
    with _NO_RESOLVERS:
        saved = BaseContainer._resolvers
        BaseContainer._resolvers = {}
        try:
            yield
        finally:
            BaseContainer._resolvers = saved


def first_line(err: Exception) -> str:
    """An omegaconf error's message without the ``full_key: ...`` detail lines it appends."""
    text = getattr(err, "msg", None) or str(err)
    return text.splitlines()[0] if text.strip() else type(err).__name__


def _calls_resolver(tree: Any) -> bool:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, OmegaConfGrammarParser.InterpolationResolverContext):
            return True
        stack.extend(getattr(node, "children", None) or ())
    return False


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """(key path, text) of every string value and key in plain data, without recursion."""
    stack = [(node, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            yield where, value
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{where}.{key}" if where else str(key)
                if isinstance(key, str):
                    yield child, key
                stack.append((item, child))
        elif isinstance(value, (list, tuple)):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
