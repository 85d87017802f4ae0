"""``podium list``: what the registry holds (names, descriptions, parameters)."""
from __future__ import annotations

import click

from runners.cli.common import EXIT_OK, examples, settings

KINDS = ("datasets", "models", "tasks", "metrics")


@click.command("list", epilog=examples("podium list models", "podium list models small_cnn --format json"))
@click.argument("kind", required=False, type=click.Choice(KINDS), metavar="[KIND]")
@click.argument("name", required=False, metavar="[NAME]")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True, help="output format")
def listing(kind: str | None, name: str | None, fmt: str) -> int:
    """List registered datasets, models, tasks and metrics with their parameters; KIND NAME shows one in full."""
    from registry import KINDS as ALL, load_all, registry_of
    from registry.plugins import import_plugins
    from runners.cli.running import plugin_refs

    load_all()
    import_plugins(plugin_refs(settings().plugins))
    for each in [kind] if kind else list(ALL):
        print(f"{each}:")
        for entry in registry_of(each):
            params = ", ".join(entry.params_model.model_fields)
            print(f"  {entry.name:<22} {entry.description}" + (f"  [params: {params}]" if params else ""))
    return EXIT_OK


COMMANDS = [listing]
