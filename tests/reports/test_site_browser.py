"""The leaderboard website in headless Chromium (Debian's /usr/bin/chromium driven by Playwright, no
browser download): sorting, filtering, following a row to its runs, a screenshot, and no request
leaving the page. Skipped, with the reason, where Chromium or Playwright is missing; CI installs both."""
from __future__ import annotations

import pytest

from leaderboard.store import Store
from reports.site import write_site
from tests.reports.site_records import (
    CHROMIUM,
    CITATION,
    FLAGS,
    add_site_rows,
    fill_long_board,
)

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium chromium-driver; .ci/run does)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is absent (pip install -e '.[test]')")

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


class Tab:
    """A fresh browser context and page that records every request and script error."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)

    def assert_local(self) -> None:
        """Only the site's own files were read; nothing failed to load or raised."""
        remote = [url for url in self.requests if not url.startswith(("file://", "data:"))]
        assert remote == [], f"requests that left the page: {remote}"
        assert self.errors == []


@pytest.fixture
def tab(browser):
    opened = Tab(browser)
    yield opened
    opened.context.close()


def board(page, title: str):
    """The section of the board headed ``title`` and its table."""
    section = page.locator("section.board").filter(has=page.locator("h2", has_text=f"{title} "))
    return section, section.locator("table.sortable").first


def column(table, index: int) -> list[str]:
    return [text.strip() for text in table.locator(f"tbody tr:visible td:nth-child({index})").all_inner_texts()]


LABEL, MODEL, MEAN = 2, 3, 5  # a board's columns: rank, entry (the configuration's label), model, method, mean, ...
RESNET8 = "kd-digits[model.name=resnet8,method=vanilla_kd]"


def means(table) -> list[float]:
    return [float(v) for v in column(table, MEAN)]


def test_track_page_sorts_filters_and_links_to_runs(store, tmp_path, tab):
    add_site_rows(store)
    write_site(store, tmp_path / "site")
    page = tab.page
    page.goto((tmp_path / "site" / "index.html").as_uri())
    assert page.title() == "Leaderboards · Podium"
    page.get_by_role("link", name="kd", exact=True).click()
    page.wait_for_url("**/tracks/kd.html")
    section, table = board(page, "distillation / digits / accuracy")
    assert table.locator("tbody tr").count() == 13
    shown = means(table)
    assert shown[:-1] == sorted(shown[:-1], reverse=True) and column(table, 1)[-1] == "ref"  # competitors best first, then the published row
    assert shown[-1] == max(shown)  # though its number is the best: a reference is not ranked

    table.get_by_role("button", name="mean ↑").click()  # ascending, then descending
    assert means(table) == sorted(shown) and means(table) != shown
    assert table.locator("th", has_text="mean").get_attribute("aria-sort") == "ascending"
    table.get_by_role("button", name="mean ↑").click()
    assert means(table) == sorted(shown, reverse=True)
    assert table.locator("th", has_text="mean").get_attribute("aria-sort") == "descending"

    table.get_by_role("button", name="rank").click()  # numbers, and the unranked published row (ref) last either way
    ranks = column(table, 1)
    assert ranks[-1] == "ref" and [int(r) for r in ranks[:-1]] == sorted(int(r) for r in ranks[:-1])
    table.get_by_role("button", name="rank").click()
    ranks = column(table, 1)
    assert ranks[-1] == "ref" and [int(r) for r in ranks[:-1]] == sorted((int(r) for r in ranks[:-1]), reverse=True)

    table.get_by_role("button", name="model").click()  # text sorts numeric-aware: cnn-w2 before cnn-w10
    models = column(table, MODEL)
    assert models.index("cnn-w2") < models.index("cnn-w3") < models.index("cnn-w10") < models.index("cnn-w16")
    table.get_by_role("button", name="model").click()
    assert column(table, MODEL) == models[::-1]

    published = table.locator("tr.published")
    assert published.count() == 1 and CITATION in published.inner_text() and published.locator("a").count() == 0

    section.get_by_placeholder("Filter entries…").fill("cnn-w1")
    assert column(table, MODEL) == ["cnn-w16", "cnn-w12", "cnn-w10"]  # in the order sorted last
    assert section.locator("output.count").inner_text() == "3 of 13 entries"
    section.get_by_placeholder("Filter entries…").fill("resnet vanilla")  # every word must match
    assert column(table, MODEL) == ["resnet8"] and column(table, LABEL) == [RESNET8]
    section.get_by_placeholder("Filter entries…").fill("")
    assert table.locator("tbody tr:visible").count() == 13 and section.locator("output.count").inner_text() == "13 entries"

    shot = tmp_path / "track.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000 and shot.read_bytes().startswith(PNG)
    charts = page.locator("figure.chart img")
    assert charts.count() == 4
    charts.first.scroll_into_view_if_needed()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", charts.first.element_handle())

    table.get_by_role("link", name=RESNET8, exact=True).click()  # a row's link to its configuration's runs
    page.wait_for_url("**/runs/kd/kd-digits-model.name-resnet8-method-vanilla_kd-*.html")
    assert page.get_by_role("heading", level=1).inner_text() == RESNET8
    seeds = page.locator("#t-seeds")
    assert column(seeds, 1) == ["0", "1", "2"] and column(seeds, 3) == ["0.9000", "0.9200", "0.9400"]
    seeds.get_by_role("link", name="2", exact=True).click()
    assert page.url.endswith("#run-kd-digits-resnet8-vanilla_kd-2")
    assert "name: resnet8" in page.locator("#run-kd-digits-resnet8-vanilla_kd-0 pre.spec").inner_text()
    page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)
    assert (tmp_path / "runs.png").read_bytes().startswith(PNG)
    tab.assert_local()


def test_a_board_of_three_thousand_rows_sorts_and_filters(tmp_path, tab):
    with Store(tmp_path / "podium.duckdb") as store:
        fill_long_board(store, 3000)
        write_site(store, tmp_path / "site")
    page = tab.page
    page.goto((tmp_path / "site" / "tracks" / "long.html").as_uri())
    section, table = board(page, "classification / digits / accuracy")
    rows = table.locator("tbody tr")
    assert rows.count() == 3000
    first = page.evaluate("t => Array.from(t.tBodies[0].rows, r => r.cells[2].textContent)", table.element_handle())
    table.get_by_role("button", name="model").click()
    after = page.evaluate("t => Array.from(t.tBodies[0].rows, r => r.cells[2].textContent)", table.element_handle())
    assert after != first and after == sorted(first) and len(after) == 3000
    table.get_by_role("button", name="mean ↑").click()
    shown = page.evaluate("t => Array.from(t.tBodies[0].rows, r => parseFloat(r.cells[4].dataset.v))", table.element_handle())
    assert shown == sorted(shown)
    section.get_by_placeholder("Filter entries…").fill("m-0042")
    assert column(table, MODEL) == ["m-0042"]
    assert section.locator("output.count").inner_text() == "1 of 3000 entries"
    tab.assert_local()


def test_references_are_shaded_and_unranked_and_ties_carry_a_visible_mark(tmp_path, tab):
    """The teacher, best of the board, stands after the competitors on a shaded row ranked ``ref``; the
    index names the best competitor as the leader; a tied entry's ``≈`` shows its explanation on hover."""
    from tests.reports.report_records import configuration_records

    with Store(tmp_path / "podium.duckdb") as store:
        store.ingest((r, 1.0) for r in configuration_records())
        write_site(store, tmp_path / "site")
    page = tab.page
    page.goto((tmp_path / "site" / "index.html").as_uri())
    leader = page.locator("table.boards td.leader").first
    assert leader.inner_text().startswith("sweep[hidden=64]") and "resnet56" not in page.locator("table.boards").inner_text()
    page.get_by_role("link", name="kd", exact=True).click()
    page.wait_for_url("**/tracks/kd.html")
    _, table = board(page, "distillation / digits / accuracy")
    assert column(table, 1) == ["1", "2 ≈", "3", "ref"] and column(table, LABEL) == ["sweep[hidden=64]", "baseline", "sweep[hidden=16]", "sweep"]
    reference = table.locator("tbody tr.reference")
    assert reference.count() == 1 and "resnet56" in reference.inner_text()
    colour = "row => getComputedStyle(row).backgroundColor"
    competitor = table.locator("tbody tr").first
    assert page.evaluate(colour, reference.element_handle()) != page.evaluate(colour, competitor.element_handle())  # shaded
    mark = table.locator("span.mark")
    assert mark.count() == 1 and mark.is_visible() and mark.inner_text() == "≈"
    assert mark.get_attribute("title").startswith("tied with the leader")
    table.get_by_role("button", name="mean ↑").click()  # sorting keeps the marks with their rows
    assert column(table, LABEL)[0] == "sweep[hidden=16]" and column(table, 1)[0] == "3"
    table.get_by_role("link", name="sweep[hidden=16]", exact=True).click()
    page.wait_for_url("**/runs/kd/sweep-hidden-16-*.html")
    assert page.get_by_role("heading", level=1).inner_text() == "sweep[hidden=16]"
    assert column(page.locator("#t-seeds"), 1) == ["0", "1", "2"]
    tab.assert_local()
