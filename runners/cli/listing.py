"""``podium list``: what the registry holds, read from the sources without importing torch."""
from __future__ import annotations

import click

from runners.cli.common import EXIT_OK, UsageError, examples, settings


@click.command("list", epilog=examples("podium list models", "podium list models small_cnn --format json"))
@click.argument("kind", required=False, metavar="[KIND]")
@click.argument("name", required=False, metavar="[NAME]")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True, help="output format")
def listing(kind: str | None, name: str | None, fmt: str) -> int:
    """List registered datasets, models, tasks and metrics with their parameters' types and defaults.

    KIND is datasets, models, tasks or metrics; KIND NAME shows one entry in full. Plugins given with
    --plugin (and installed ones) are listed too."""
    from registry.catalog import UnknownEntry, catalog, find, kind_of, render_entry, render_listing, to_json
    from registry.plugins import PluginError
    from runners.cli.running import plugin_refs

    try:
        entries = catalog(extra_plugins=plugin_refs(settings().plugins))
        if name is not None:
            entry = find(entries, kind or "", name)
            print(to_json(entry) if fmt == "json" else render_entry(entry))
            return EXIT_OK
        singular = kind_of(kind) if kind else None
    except (UnknownEntry, PluginError) as err:
        raise UsageError(str(err).strip("'\"")) from None
    if fmt == "json":
        print(to_json([e for e in entries if singular is None or e.kind == singular]))
    else:
        print(render_listing(entries, kind))
    return EXIT_OK


COMMANDS = [listing]
