"""A stable hash of JSON-like data: the basis of run ids and artifact cache keys."""
from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal data always gives equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def stable_hash(data: Any, length: int = 16) -> str:
    """Hex SHA-256 prefix of the canonical JSON of ``data``."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()[:length]
