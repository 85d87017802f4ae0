"""Rendering results: leaderboard tables (tabulate), markdown reports per track; never imports torch.

The names below are imported on first use (PEP 562): ``podium leaderboard`` renders tables without
loading the report writer and its plots."""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"write_reports": "reports.markdown", "FORMATS": "reports.tables", "render_leaderboard": "reports.tables", "render_wide": "reports.tables"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'reports' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
