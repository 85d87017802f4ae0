"""The leaderboard website without a browser: pages, links, escaping, published rows, direction marks,
runs pages, the CLI, and no torch on the way."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from markupsafe import escape

from leaderboard.store import Store
from reports.site import TIED_TITLE, write_site
from runners.cli import main
from tests.conftest import PROJECT
from tests.reports.report_records import GPU
from tests.reports.site_records import CITATION, HOSTILE, add_site_rows

LINK = re.compile(r'(?:href|src)="([^"]*)"')
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def site(store, tmp_path) -> Path:
    add_site_rows(store)
    out = tmp_path / "site"
    write_site(store, out)
    return out


def board_section(page: str, title: str) -> str:
    """The HTML of the board titled ``title`` on a track page."""
    start = page.index(f"<h2>{title} ")
    return page[start: page.index("</section>", start)]


def runs_page(site: Path, label: str, track: str = "kd") -> str:
    """The runs page of the configuration labelled ``label``."""
    pages = [p.read_text(encoding="utf-8") for p in (site / "runs" / track).glob("*.html")]
    [page] = [page for page in pages if f"<h1>{escape(label)}<" in page or f"<h1>{escape(label)} <" in page]
    return page


RESNET8 = "kd-digits[model.name=resnet8,method=vanilla_kd]"  # the report records' labels on kd / digits
RESNET56 = "kd-digits[model.name=resnet56,method=vanilla_kd]"


def test_site_layout_and_returned_files(store, tmp_path):
    out = tmp_path / "nested" / "site"  # created
    files = write_site(store, out)
    assert all(p.is_file() for p in files) and len(set(files)) == len(files)
    assert {p.relative_to(out).as_posix() for p in files if p.parent == out or p.parent.name in ("static", "tracks")} == {
        "index.html", "tracks/kd.html", "tracks/scaling.html", "static/podium.css", "static/podium.js"}
    pages = sorted(p.name for p in (out / "runs" / "kd").iterdir())
    configs = dict(store.con.execute("SELECT config_id, label FROM configs WHERE track = 'kd'").fetchall())
    assert len(pages) == len(configs) == 5  # one page per configuration: resnet8 on two datasets, small_cnn, resnet20, resnet56
    assert {re.fullmatch(r"[a-z0-9_.-]+-([0-9a-f]{16})\.html", p).group(1) for p in pages} == set(configs)
    assert "kd-cifar10-" + next(c for c, label in configs.items() if label == "kd-cifar10") + ".html" in pages  # the label's plain characters, then the id
    charts = sorted((out / "plots" / "kd").glob("b-*.png"))
    assert len(charts) == 4 and all(p.read_bytes().startswith(PNG) for p in charts)  # one per board


def test_every_link_resolves_to_a_written_file_and_anchor(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 5
    for page in pages:
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            target, _, anchor = link.partition("#")
            path = (page.parent / unquote(target)).resolve() if target else page
            assert path.is_file(), f"{page.relative_to(site)} links to missing {link}"
            if anchor:
                assert f'id="{anchor}"' in path.read_text(encoding="utf-8"), f"{page.relative_to(site)}: no #{anchor} in {target}"


def test_no_written_page_names_a_remote_url(site):
    text_files = [p for p in site.rglob("*") if p.suffix in (".html", ".css", ".js")]
    assert {p.suffix for p in text_files} == {".html", ".css", ".js"}
    for path in text_files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text, re.IGNORECASE), path


def test_names_from_the_store_are_escaped(site):
    pages = [p.read_text(encoding="utf-8") for p in site.rglob("*.html")]
    assert not any(HOSTILE in page for page in pages)
    track = (site / "tracks" / "kd.html").read_text(encoding="utf-8")
    assert escape(HOSTILE) in track  # shown, as text
    assert escape(CITATION) in track and CITATION not in track
    assert all(re.fullmatch(r"[a-z0-9_.-]+\.html", p.name) for p in site.rglob("*.html"))  # file names from names stay plain


def test_published_rows_are_distinguished_unranked_and_cited(site):
    board = board_section((site / "tracks" / "kd.html").read_text(encoding="utf-8"), "distillation / digits / accuracy")
    rows = re.findall(r"<tr( class=\"[^\"]*\")?>(.*?)</tr>", board, re.DOTALL)[1:]  # after the header
    assert len(rows) == 13
    published = [cells for cls, cells in rows if cls == ' class="published reference"']
    assert len(published) == 1
    [cells] = published
    assert "resnet20 (paper)" in cells and escape(CITATION) in cells and 'class="badge"' in cells and "<a " not in cells
    assert re.match(r'<td class="num ref" data-v="" title="a reference[^"]*">ref</td>', cells)  # no rank
    assert all("<a href=" in cells for cls, cells in rows if "reference" not in (cls or ""))  # every run row links to its runs


def test_direction_is_marked_per_metric(site):
    track = (site / "tracks" / "kd.html").read_text(encoding="utf-8")
    assert "mean ↑" in board_section(track, "distillation / digits / accuracy")
    assert "↑ higher is better" in board_section(track, "distillation / digits / accuracy")
    assert "mean ↓" in board_section(track, "distillation / digits / loss")
    assert "↓ lower is better" in board_section(track, "distillation / digits / loss")
    index = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r"distillation / digits / loss</a> <span class=\"dir\" title=\"lower is better\">↓", index)


def test_board_columns_and_failed_counts(site):
    board = board_section((site / "tracks" / "kd.html").read_text(encoding="utf-8"), "distillation / digits / accuracy")
    headers = re.findall(r"<button type=\"button\">([^<]*)</button>", board)
    assert headers == ["rank", "entry", "model", "method", "mean ↑", "95% CI (t, clipped)", "std", "n", "failed", "tied with"]
    small_cnn = next(row for row in re.findall(r"<tr>(.*?)</tr>", board, re.DOTALL) if "small_cnn" in row)
    assert '<td class="num warn" data-v="1.0">1</td>' in small_cnn  # one of its three runs failed
    resnet8 = next(row for row in re.findall(r"<tr>(.*?)</tr>", board, re.DOTALL) if ">resnet8<" in row)
    assert ">0.9200<" in resnet8 and "[0.8703, 0.9697]" in resnet8 and ">3<" in resnet8


def test_index_tells_when_and_from_what_it_was_built(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r"Built \d{4}-\d\d-\d\d \d\d:\d\d UTC by Podium \S+ from <code>[^<]*podium.duckdb</code>", index)
    assert "27 successful and 2 failed runs in 2 tracks" in index
    assert 'href="tracks/kd.html"' in index and 'href="tracks/scaling.html"' in index
    assert "1a2b3c4-dirty" in index and "1a2b3c4" in index  # the commits the runs came from


def test_runs_page_holds_per_seed_values_spec_and_provenance(site):
    page = runs_page(site, RESNET8)  # on digits; cifar10 has its own page
    assert "Model <code>resnet8</code> · method <code>vanilla_kd</code>" in page and "dataset <code>digits</code>" in page
    seeds = page[page.index('id="t-seeds"'): page.index("</table>", page.index('id="t-seeds"'))]
    assert [m for m in re.findall(r">(0\.\d{4})<", seeds)] == ["0.9000", "0.3000", "0.9200", "0.2800", "0.9400", "0.2600"]
    for fact in ("cuda:0", GPU["device_name"], GPU["torch"], GPU["git_commit"], "2024-05-01 12:00:01 UTC", "2.0"):
        assert fact in page
    assert "<pre class=\"spec\"><code>dataset:\n  name: digits\n  params: {}\nmodel:\n  name: resnet8\n  params: {}\nname: kd-digits\n" in page
    assert 'id="run-kd-digits-resnet8-vanilla_kd-2"' in page and 'href="#run-kd-digits-resnet8-vanilla_kd-2"' in page


def test_entries_with_only_failed_runs_link_to_their_errors(site):
    track = (site / "tracks" / "kd.html").read_text(encoding="utf-8")
    failed = track[track.index('id="failed-only"'):]
    assert re.search(r'<a href="../runs/kd/kd-digits-model.name-resnet56-method-vanilla_kd-[0-9a-f]{16}.html">' + re.escape(RESNET56) + "</a>", failed)
    page = runs_page(site, RESNET56)
    assert '<pre class="error">RuntimeError: boom</pre>' in page and "0 successful and 1 failed run." in page


def test_an_empty_store_gives_an_index_that_says_so(tmp_path):
    with Store(tmp_path / "podium.duckdb") as empty:
        files = write_site(empty, tmp_path / "site")
    assert (tmp_path / "site" / "index.html") in files
    assert "No runs yet" in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


def test_long_boards_scroll_in_their_own_box(tmp_path):
    from tests.reports.site_records import fill_long_board

    with Store(tmp_path / "podium.duckdb") as store:
        fill_long_board(store, 60, seeds=1)
        write_site(store, tmp_path / "site")
    track = (tmp_path / "site" / "tracks" / "long.html").read_text(encoding="utf-8")
    assert '<div class="table-wrap long">' in track
    assert board_section(track, "classification / digits / accuracy").count("<tr>") == 60 + 1  # and the header
    assert len(list((tmp_path / "site" / "runs" / "long").iterdir())) == 60


def test_cli_report_html_writes_the_site(records, tmp_path, capsys):
    results = tmp_path / "results"
    for record in records:
        folder = results / "runs" / record.run_id
        folder.mkdir(parents=True)
        (folder / "record.json").write_text(record.model_dump_json(), encoding="utf-8")
    assert main(["report", "--format", "html", "--results", str(results)]) == 0
    assert (results / "site" / "index.html").is_file() and (results / "site" / "tracks" / "kd.html").is_file()
    assert capsys.readouterr().out.startswith(f"wrote {results / 'site' / 'index.html'} (")
    assert main(["report", "--format", "html", "--results", str(results), "--out", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "index.html").is_file()
    assert main(["report", "--results", str(results)]) == 0  # markdown stays the default
    assert (results / "reports" / "kd.md").is_file()


def test_site_modules_never_import_torch():
    code = "import sys, reports.site, reports.site_plots; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=PROJECT, check=True)


def test_survey_statistics_get_their_table_on_the_track_page(tmp_path):
    from tests.reports.test_survey import survey_store

    with survey_store(tmp_path / "podium.duckdb") as store:
        write_site(store, tmp_path / "site")
    page = (tmp_path / "site" / "tracks").glob("*.html").__next__().read_text(encoding="utf-8")
    section = page.split('id="participation-survey"', 1)[1].split("</section>", 1)[0]
    assert "41 responses from 5 challenges" in section
    assert re.search(r"deep-learning-based solution</td>\s*<td[^>]*>90.0% \[80.0, 95.0\]</td>", section)
    assert "94%" in section and 'href="#participation-survey"' in page


# ---------------------------------------------------------------- configurations, references, ties
@pytest.fixture
def configured_site(tmp_path) -> Path:
    """The site of a board of configurations (see ``report_records.configuration_records``)."""
    from tests.reports.report_records import configuration_records

    with Store(tmp_path / "podium.duckdb") as store:
        store.ingest((r, 1.0) for r in configuration_records())
        write_site(store, tmp_path / "site")
    return tmp_path / "site"


def board_rows(page: str, title: str) -> list[tuple[str, str]]:
    """(row class, row html) of each body row of a board's table."""
    return [(cls, cells) for cls, cells in re.findall(r'<tr(?: class="([^"]*)")?>(.*?)</tr>', board_section(page, title), re.DOTALL)[1:]]


def cell_texts(cells: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.DOTALL)]


def test_two_configurations_of_one_spec_are_two_rows_with_their_own_runs_pages(configured_site):
    track = (configured_site / "tracks" / "kd.html").read_text(encoding="utf-8")
    rows = {cell_texts(cells)[1]: (cells, cell_texts(cells)) for _, cells in board_rows(track, "distillation / digits / accuracy")}
    for hidden, values in ((16, "0.8000 0.8100 0.8200"), (64, "0.9000 0.9100 0.9200")):
        cells, texts = rows[f"sweep[hidden={hidden}]"]
        assert texts[2:4] == ["mlp", "vanilla_kd"] and texts[7] == "3"  # model, method, n
        [href] = re.findall(r'<a href="\.\./(runs/kd/[^"]+)">', cells)
        assert re.fullmatch(rf"runs/kd/sweep-hidden-{hidden}-[0-9a-f]{{16}}\.html", href)
        page = (configured_site / href).read_text(encoding="utf-8")
        assert f"<h1>sweep[hidden={hidden}]</h1>" in page and "Model <code>mlp</code> · method <code>vanilla_kd</code>" in page
        seeds = page[page.index('id="t-seeds"'): page.index("</table>", page.index('id="t-seeds"'))]
        assert " ".join(re.findall(r">(0\.\d{4})<", seeds)) == values  # per seed
        assert page.count('<pre class="spec">') == 3 and f"hidden: {hidden}" in page  # each run's resolved spec
    assert rows["sweep[hidden=16]"][0] != rows["sweep[hidden=64]"][0]


def test_a_teacher_with_the_best_mean_is_a_shaded_unranked_reference_and_never_the_leader(configured_site):
    index = (configured_site / "index.html").read_text(encoding="utf-8")
    leader = re.search(r'<td class="leader">(.*?)</td><td class="num">([^<]*)</td>', index, re.DOTALL)
    assert re.sub(r"<[^>]+>", "", leader.group(1)).split() == ["sweep[hidden=64]", "mlp", "·", "vanilla_kd"] and leader.group(2) == "0.9100"
    assert "resnet56" not in index
    track = (configured_site / "tracks" / "kd.html").read_text(encoding="utf-8")
    rows = board_rows(track, "distillation / digits / accuracy")
    assert [cell_texts(cells)[0] for _, cells in rows] == ["1", "2 ≈", "3", "ref"]  # competitors by rank, then the reference
    cls, cells = rows[-1]
    assert cls == "reference" and cell_texts(cells)[1:4] == ["sweep", "resnet56", "teacher"]
    assert re.search(r'<td class="num ref" data-v="" title="a reference \(a distillation teacher, a published result\)[^"]*">ref</td>', cells)
    assert "ref marks a reference (a distillation teacher, a published result): shown beside the competitors, not ranked." in track
    runs = [p.read_text(encoding="utf-8") for p in (configured_site / "runs" / "kd").glob("sweep-*.html")]
    assert sum('<span class="reference-key"' in page for page in runs) == 1  # the teacher's page says it is a reference


def test_each_row_says_which_ranks_it_is_tied_with_and_the_note_names_the_test(configured_site):
    """Welch's test over the seeds (no per-case values): baseline cannot be separated from the leader,
    so it is tied with #1 and carries the mark; sweep[hidden=16] is separated from both; the teacher is not tested."""
    track = (configured_site / "tracks" / "kd.html").read_text(encoding="utf-8")
    rows = {cell_texts(cells)[1]: (cls, cells) for cls, cells in board_rows(track, "distillation / digits / accuracy")}
    assert {label: cell_texts(cells)[-1] for label, (_, cells) in rows.items()} == {
        "sweep[hidden=64]": "#2", "baseline": "#1", "sweep[hidden=16]": "none", "sweep": ""}
    mark = f'<span class="mark" title="{escape(TIED_TITLE)}">≈</span>'
    assert rows["baseline"][0] == "tied" and mark in rows["baseline"][1]
    for label in ("sweep[hidden=64]", "sweep[hidden=16]", "sweep"):  # the leader, one the test separates, the reference
        assert 'class="mark"' not in rows[label][1] and rows[label][0] != "tied"
    section = board_section(track, "distillation / digits / accuracy")
    mark_note = escape("≈ marks a competitor that the board's test cannot separate from the leader.")
    assert f'<p class="board-note">{mark_note}</p>' in section
    test = ("tied with: the ranks (#) of the entries this one cannot be separated from by Welch&#39;s t-test over seeds, two-sided "
            "(p-values adjusted by holm over 3 pairs, alpha 0.05).")
    assert f'<p class="board-note">{test}</p>' in section
    assert "overlaps the leader" not in track  # the interval is the mean's; ties are the test's


def test_no_interval_on_the_site_passes_an_accuracy_of_one(configured_site):
    from tests.reports.report_records import intervals

    track = (configured_site / "tracks" / "kd.html").read_text(encoding="utf-8")
    pairs = intervals(board_section(track, "distillation / digits / accuracy"))
    assert len(pairs) == 4 and all(0 <= low <= high <= 1 for low, high in pairs) and (0.9823, 1.0) in pairs
