"""Plugins outside the source tree: a Python file or an importable module whose import registers
entries (``@MODELS.register("my_mlp")``), named by a spec (``plugins: [./my_models.py]``, relative to
the spec) or on the command line (``podium --plugin PATH``).

Importing a plugin runs its code, so the command line allows a spec's plugins only with
``--allow-code``; a plugin given with ``--plugin`` is the runner's own choice. Installed packages can
instead declare the entry-point group ``podium.plugins`` (see ``registry.load_all``).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from registry import load_all
from specs.plugin_refs import is_file_ref, plugin_ref

__all__ = ["PluginError", "import_plugin", "import_plugins", "plugin_ref"]

_imported: dict[str, ModuleType] = {}


class PluginError(Exception):
    """A plugin that cannot be imported: a missing file, an unknown module, or an error inside it."""


def import_plugin(ref: str, *, builtins_first: bool = True) -> ModuleType:
    """Import one plugin (once per process), by default after the built-in entries, so that a name it
    shares with one of them is an error rather than shadowed."""
    if builtins_first:
        load_all()
    if ref in _imported:
        return _imported[ref]
    if is_file_ref(ref):
        path = Path(ref)
        if not path.is_file():
            raise PluginError(f"plugin file not found: {path}")
        name = f"podium_plugin_{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PluginError(f"{path}: not an importable Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[name]
            raise PluginError(f"importing {path} failed: {type(err).__name__}: {err}") from None
    else:
        try:
            module = importlib.import_module(ref)
        except ImportError as err:
            raise PluginError(f"cannot import plugin module {ref!r}: {err}") from None
        except Exception as err:
            raise PluginError(f"importing {ref!r} failed: {type(err).__name__}: {err}") from None
    _imported[ref] = module
    return module


def import_plugins(refs: tuple[str, ...] | list[str]) -> None:
    """Import each plugin reference (absolute files or module names), in order."""
    for ref in refs:
        import_plugin(ref)
