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
    from leaderboard.store import Store, StoreLocked, StoreUnusable

    root = results_root(results)
    if not root.is_dir():
        raise UsageError(f"--results {root}: no such results folder (run `podium run SPEC` first)")
    try:
        store = Store(root / "podium.duckdb")
    except (StoreLocked, StoreUnusable) as err:
        raise UsageError(str(err)) from None
    try:
        store.sync(root, on_invalid=lambda message: print(f"warning: skipped {message}", file=sys.stderr))
    except BaseException:
        store.close()
        raise
    if store.notice:  # after the sync, which may find the file damaged too
        print(store.notice, file=sys.stderr)
    return store


def multiple(name: str, metavar: str, what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A repeatable filter option (``--model a --model b``)."""
    return click.option(f"--{name}", f"{name.replace('-', '_')}s", multiple=True, metavar=metavar, help=f"only {what} (repeatable)")


def split_fields(text: str | None) -> list[str]:
    """``model,method`` -> ["model", "method"]."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def output_folder(path: str | Path, option: str = "--out") -> Path:
    """A folder to write into, created if need be; ``UsageError`` when it is a file or cannot be made."""
    folder = Path(path)
    if str(path) == "":
        raise UsageError(f"{option}: give a folder")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {folder}: a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{option} {folder}: cannot create the folder: {err.strerror or err}") from None
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {folder}: not writable")
    return folder


def output_file(path: str | Path, option: str = "--out") -> Path:
    """A file to write, its folder created if need be; ``UsageError`` when it is a folder or its folder cannot be made."""
    file = Path(path)
    if str(path) == "" or file.is_dir():
        raise UsageError(f"{option} {path or '(empty)'}: a folder; give a file name")
    output_folder(file.parent, option=f"{option} {file}: its folder")
    return file


def os_message(err: OSError) -> str:
    """An OSError as one line: the file it is about and what went wrong."""
    names = " -> ".join(str(n) for n in (err.filename, err.filename2) if n is not None)
    what = err.strerror or str(err) or type(err).__name__
    return f"{names}: {what}" if names else what

