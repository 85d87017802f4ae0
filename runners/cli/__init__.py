"""The ``podium`` command (Click): validate, list, run, leaderboard, rank, report, runs, export,
import, baseline, check, plan.

Exit codes (DESIGN.md, "Errors"): 0 all done; 1 some run failed (the others ran and were stored),
or ``check`` found a regression; 2 the spec or the command line is wrong and nothing ran. Every
mistake is one line on stderr starting with ``error:``. Commands that only read results never import
torch, so they start fast; each command module imports what it needs inside its functions.

Click rather than argparse: nested command groups (``podium runs rm``, ``podium baseline save``),
per-command examples, ``--version`` and shell completion (``_PODIUM_COMPLETE=bash_source podium``)
come with it, and its usage errors already exit 2.
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

import click

from runners.cli.common import EXIT_USAGE, Settings, UsageError, examples, os_message
from specs.errors import SpecError


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    epilog=examples(
        "podium run specs/kd/digits.yaml && podium leaderboard --track kd",
        "podium --plugin ./my_models.py list models",
    ),
)
@click.version_option(package_name="podium", prog_name="podium", message="%(prog)s %(version)s")
@click.option("--plugin", "plugins", multiple=True, metavar="PATH", help="import this Python file or module first (registers your entries); repeatable")
@click.option("--allow-code", is_flag=True, envvar="PODIUM_ALLOW_CODE", help="let specs run code they name: plugin files, evaluate modules (also PODIUM_ALLOW_CODE=1)")
@click.pass_context
def podium(ctx: click.Context, plugins: tuple[str, ...], allow_code: bool) -> None:
    """Declarative benchmark harness: YAML specs in, ranked leaderboards out."""
    ctx.obj = Settings(plugins=plugins, allow_code=allow_code)


def _register_commands() -> None:
    from runners.cli import boards, gate, listing, manage, running

    for module in (running, listing, boards, manage, gate):
        for command in module.COMMANDS:
            podium.add_command(command)


_register_commands()


def _undecodable(argv: Sequence[str]) -> str | None:
    """The first argument holding bytes that are not UTF-8 (Python carries them as surrogates), unless
    it is a path: a file's name may be any bytes, but a track, model or metric name is text."""
    for token in argv:
        try:
            token.encode("utf-8")
        except UnicodeEncodeError:
            value = token.split("=", 1)[-1] if token.startswith("--") else token
            if os.sep in value or os.path.exists(value):
                continue
            return token
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``podium`` console script; returns the exit code."""
    given = list(argv) if argv is not None else sys.argv[1:]
    bad = _undecodable(given)
    if bad is not None:
        print(f"error: argument {ascii(bad)} is not UTF-8 text (names of tracks, models, metrics and runs are text)", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = podium.main(args=list(argv) if argv is not None else None, prog_name="podium", standalone_mode=False)
    except SpecError as err:
        for problem in err.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except click.exceptions.NoArgsIsHelpError as err:
        print(err.ctx.get_help() if err.ctx else str(err))
        return EXIT_USAGE
    except click.UsageError as err:  # Click's own: an unknown option, a missing argument, a bad choice
        hint = f" (see `{err.ctx.command_path} --help`)" if err.ctx is not None else ""
        print(f"error: {err.format_message().rstrip('.')}{hint}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:  # a path on the command line that cannot be read or written (a file for a folder, no permission)
        print(f"error: {os_message(err)}", file=sys.stderr)
        return EXIT_USAGE
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except click.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # finished runs are stored; the interrupted one left no record
        print("interrupted: rerun the same command to resume where it stopped", file=sys.stderr)
        return 130
    return int(result or 0)


__all__ = ["main", "podium"]
