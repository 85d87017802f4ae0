"""Where a result came from: project version and commit, Python, torch, CUDA, host, package versions."""
from __future__ import annotations

import functools
import platform
import re
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FALLBACK_DEPENDENCIES = ("pydantic", "omegaconf", "torch", "datasets", "pandas", "duckdb", "tabulate", "numpy", "scipy", "rich", "scikit-learn")


@functools.lru_cache(maxsize=1)
def provenance() -> dict[str, Any]:
    """Facts about this process's software and machine (computed once per process)."""
    import torch

    return {
        "podium_version": _version("podium"),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in direct_dependencies()},
    }


def git_commit() -> str | None:
    """The project's commit, with ``-dirty`` when the work tree has changes; None outside git."""
    if not (PROJECT_ROOT / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def direct_dependencies() -> list[str]:
    """Names of podium's declared dependencies (the fallback list when it is not installed)."""
    try:
        requires = metadata.requires("podium") or []
    except metadata.PackageNotFoundError:
        return list(FALLBACK_DEPENDENCIES)
    names = [re.split(r"[\s<>=!~\[;]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r]
    return sorted(set(names))


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
