"""Names -> implementations: one registry per kind (datasets, models, tasks, metrics).

Built-in entries live in the sub-packages, one small file per family, registered with a
decorator beside their code; every module there is imported by ``load_all``, so adding an entry
touches one file. Third-party packages add entries through the entry-point group
``podium.plugins`` (the entry point names a module to import, or a callable to call).

The registries themselves (``registry.core``, pydantic) are imported on first use (PEP 562), so
that ``podium list``, which reads the sources (``registry.catalog``), starts without them.
"""
from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registry.core import DATASETS, METRICS, MODELS, TASKS, Entry, Registry, UnknownName

PLUGIN_GROUP = "podium.plugins"
KINDS = ("datasets", "models", "tasks", "metrics")
_loaded = False


def load_all() -> None:
    """Import every built-in entry and every installed plugin (once per process)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for kind in KINDS:
        package = importlib.import_module(f"registry.{kind}")
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"registry.{kind}.{module.name}")
    for plugin in entry_points(group=PLUGIN_GROUP):
        loaded = plugin.load()
        if callable(loaded):
            loaded()


def registry_of(kind: str) -> Registry:
    """The registry for ``datasets``, ``models``, ``tasks`` or ``metrics``."""
    from registry import core

    return {"datasets": core.DATASETS, "models": core.MODELS, "tasks": core.TASKS, "metrics": core.METRICS}[kind]


_CORE = ("DATASETS", "METRICS", "MODELS", "TASKS", "Entry", "Registry", "UnknownName")


def __getattr__(name: str) -> Any:
    if name in _CORE:
        from registry import core

        return getattr(core, name)
    raise AttributeError(f"module 'registry' has no attribute {name!r}")


__all__ = [
    "DATASETS", "METRICS", "MODELS", "TASKS", "Entry", "Registry", "UnknownName", "load_all", "registry_of",
]
