"""Leaderboard website at size: a board of 3,000 entries (two seeds each). Prints the time to write the
site, and in headless Chromium (/usr/bin/chromium) the time to sort the board by a column (layout
included) and to filter it.

    .venv/bin/python tests/perf/site.py [ENTRIES]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from leaderboard.store import Store
from reports.site import write_site
from tests.reports.site_records import CHROMIUM, FLAGS, fill_long_board

TIMED = """([table, column, query]) => {
  const start = performance.now();
  if (column !== null) table.tHead.rows[0].cells[column].querySelector("button").click();
  else {
    const box = table.closest("section").querySelector("input.filter");
    box.value = query;
    box.dispatchEvent(new Event("input", {bubbles: true}));
  }
  document.body.offsetHeight;  // force the layout the change caused
  return performance.now() - start;
}"""


def main(entries: int = 3000) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        with Store(Path(tmp) / "podium.duckdb") as store:
            fill_long_board(store, entries)
            start = time.perf_counter()
            files = write_site(store, Path(tmp) / "site")
            print(f"write_site: {time.perf_counter() - start:5.2f} s for {entries:,} entries ({len(files):,} files)")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            start = time.perf_counter()
            page.goto((Path(tmp) / "site" / "tracks" / "long.html").as_uri())
            print(f"open track page: {time.perf_counter() - start:5.2f} s")
            table = page.locator("table.sortable").first.element_handle()
            for label, column, query in (("sort by model", 1, None), ("sort by mean", 3, None), ("reverse mean", 3, None),
                                         ("filter 'm-00'", None, "m-00"), ("clear filter", None, "")):
                print(f"{label:>16}: {page.evaluate(TIMED, [table, column, query]):7.1f} ms")
            browser.close()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
