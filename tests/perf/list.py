"""`podium list`'s start-up: the source-parsed catalog against importing the whole registry.

    .venv/bin/python tests/perf/list.py [--repeats 1]

Times, each in a fresh interpreter (the best of ``--repeats`` runs; one by default): a bare
``python -c pass``; the catalog path (``registry.catalog``: parse the sources, render the listing);
and the old path (``registry.load_all()``, which imports every entry and so torch, then the listing
as the CLI printed it). Prints each figure in seconds and the ratios.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BARE = "pass"
CATALOG = "from registry.catalog import catalog, render_listing; print(render_listing(catalog()))"
OLD = """
from registry import KINDS, load_all, registry_of
load_all()
for kind in KINDS:
    print(f"{kind}:")
    for entry in registry_of(kind):
        params = ", ".join(entry.params_model.model_fields)
        print(f"  {entry.name:<22} {entry.description}" + (f"  [params: {params}]" if params else ""))
"""


def seconds(code: str, repeats: int) -> float:
    """Best wall time of ``python -c code`` run from the repository root."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    bare, new, old = (seconds(code, args.repeats) for code in (BARE, CATALOG, OLD))
    print(f"python -c pass:                 {bare:.3f} s")
    print(f"catalog (parse + render):       {new:.3f} s")
    print(f"load_all + listing (old path):  {old:.3f} s")
    print(f"old / catalog: {old / new:.1f}x   catalog / bare: {new / bare:.1f}x   old / bare: {old / bare:.1f}x")


if __name__ == "__main__":
    main()
