"""Text that goes into markdown shown as itself: names, labels, citations, settings and errors come
from specs, published files and record files, which anyone may have written.

GitHub markdown (and CommonMark) passes HTML through, splits table rows at ``|`` and reads
backslashes, backticks and ``[...](...)`` as markup. ``md_text`` escapes all of that, so a
``<script>`` in a citation or a ``|`` in a model name is text in every renderer and a table keeps
its columns; ``md_code`` puts text in a code span that its own backticks cannot close;
``md_frame`` escapes a table's cells and headers. The markdown report, ``podium leaderboard
--format md`` and ``podium check --format md`` (a pull-request comment) all use them.
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd

_ESCAPES = [
    ("\\", "\\\\"),  # first: the escapes below add backslashes
    ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"),  # no HTML: tags, comments, entities shown as typed
    ("|", "\\|"),  # a table cell's content, not a column break
    ("`", "\\`"),  # no code span swallowing the rest
    ("](", "]\\("),  # no [text](link) or ![alt](image)
]


def md_text(value: Any) -> str:
    """``value`` as markdown text that renders as itself, on one line."""
    text = " ".join(str(value).splitlines())
    for plain, escaped in _ESCAPES:
        text = text.replace(plain, escaped)
    return text


def md_code(value: Any) -> str:
    """``value`` in a code span (``kd``), with a fence longer than any run of backticks inside it."""
    text = " ".join(str(value).splitlines())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def md_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its text cells and headers escaped (numbers as they are)."""
    escaped = frame.map(lambda v: md_text(v) if isinstance(v, str) else v)
    escaped.columns = [md_text(c) for c in frame.columns]
    return escaped
