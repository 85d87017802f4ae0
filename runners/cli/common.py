"""What the command modules share: exit codes, the usage error, the results folder, the store, examples."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

if TYPE_CHECKING:
    from leaderboard.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line mistake: print the message, exit 2."""


@dataclass(frozen=True)
class Settings:
    """The options of ``podium`` itself, before the command: plugins to import and whether specs may run code."""

    plugins: tuple[str, ...] = ()
    allow_code: bool = False


def settings() -> Settings:
    """The root command's settings (defaults when a command is invoked on its own)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Settings) if ctx is not None else None
    return found or Settings()


def examples(*lines: str) -> str:
    """A command's help epilog: its examples, kept as written (``\\b`` stops Click rewrapping them)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def default_results() -> str:
    return os.environ.get("PODIUM_RESULTS", "results")


def results_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--results DIR``: the results folder (default ./results, or $PODIUM_RESULTS)."""
    return click.option("--results", default=None, metavar="DIR", help="results folder (default ./results, or $PODIUM_RESULTS)")(func)


def results_root(results: str | None) -> Path:
    return Path(results or default_results())


def open_store(results: str | None) -> "Store":
    """The results folder's store, brought up to date with its records (warnings for unreadable ones)."""
    from leaderboard.store import Store

    root = results_root(results)
    if not root.is_dir():
        raise UsageError(f"--results {root}: no such results folder (run `podium run SPEC` first)")
    store = Store(root / "podium.duckdb")
    if store.rebuilt:
        print(f"note: rebuilt {store.path} from the records (its schema was older or it could not be read)", file=sys.stderr)
    store.sync(root, on_invalid=lambda message: print(f"warning: skipped {message}", file=sys.stderr))
    return store


def multiple(name: str, metavar: str, what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A repeatable filter option (``--model a --model b``)."""
    return click.option(f"--{name}", f"{name.replace('-', '_')}s", multiple=True, metavar=metavar, help=f"only {what} (repeatable)")


def split_fields(text: str | None) -> list[str]:
    """``model,method`` -> ["model", "method"]."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]
