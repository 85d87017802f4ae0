"""How a spec (``plugins:``) or the command line (``--plugin``) names a plugin: a Python file or a
module. Kept apart from the loader so that listing and importing plugins need no omegaconf."""
from __future__ import annotations

from pathlib import Path


def is_file_ref(ref: str) -> bool:
    """A plugin reference to a file (``./my_models.py``, ``plugins/models.py``) rather than a module (``my_pkg.models``)."""
    return ref.endswith(".py") or "/" in ref or "\\" in ref


def plugin_ref(ref: str, base: Path) -> str:
    """A plugin as an import reference: a file (``./models.py``) made absolute against ``base`` (the
    spec's folder, or the working folder for ``--plugin``), a module (``my_pkg.models``) as named."""
    if not is_file_ref(ref):
        return ref
    path = Path(ref).expanduser()
    return str((path if path.is_absolute() else base / path).resolve())
