"""The web book (``python -m autograder book``, ``make book``), built from every chapter and read in
real Chromium with the network cut off: every chapter page loads, its figures are drawn, its maths
is laid out, its interactive plotly figures are live, the exercises are there as students get them,
search finds a section, and no line of a solution or hidden test is anywhere in the site."""

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.grader import book, edition, grading

# Scheduled after the soundness classes (tests/conftest.py), whose runs it renders: rendering and
# Chromium take about a minute, plus any chapter whose soundness class has not finished.
SECONDS = 60
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def site(repo, tmp_path_factory, book_cache):
    """The whole book, from the soundness suite's runs of the solutions where they are done
    (tests/conftest.py's ``book_cache``), the others run here."""
    tmp = tmp_path_factory.mktemp("book")
    said = []
    pages = book.write_book(tmp / "book", repo, cache=book_cache, log=said.append)
    print("\n".join(said))
    return {"dir": tmp / "book", "cache": book_cache, "pages": pages}


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


def offline_page(browser, requests: list):
    page = browser.new_page(viewport={"width": 1100, "height": 1400})

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return page


def answer_cells(repo, chapter) -> int:
    nb = nbformat.read(grading.notebook_path(repo, grading.RELEASE, chapter), as_version=4)
    return sum(bool(c.metadata.get("nbgrader", {}).get("solution")) for c in nb.cells)


def test_every_chapter_page_loads_offline_with_figures_maths_and_exercises(site, browser, repo):
    chapters = grading.chapters(repo)
    assert [p.name for p in site["pages"]] == [f"{c}.html" for c in chapters]
    requests, errors = [], []
    page = offline_page(browser, requests)
    page.on("pageerror", lambda error: errors.append(error))
    for chapter in chapters:
        errors.clear()
        page.goto((site["dir"] / f"{chapter}.html").as_uri())
        page.wait_for_load_state("load")
        title = page.locator("h1").first.inner_text()
        assert title.startswith(chapter[:2]), (chapter, title)
        drawn = page.evaluate("[...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
        images = page.evaluate("document.images.length")
        plots = page.locator(".js-plotly-plot .main-svg").count()
        assert images == drawn and drawn + plots > 0, f"{chapter}: {drawn} of {images} images drawn, {plots} plots"
        assert page.evaluate("[...document.images].every(i => i.alt.startsWith(\"figure \"))"), f"{chapter}: alt text"
        math = page.locator("math")
        assert math.count() > 0, f"{chapter}: no maths"
        box = math.first.bounding_box()
        assert box and box["width"] > 3 and box["height"] > 3, f"{chapter}: maths not laid out"
        # (code cells carry the tag on the cell, markdown cells on their rendered text)
        assert page.locator(".celltag_exercise").count() == answer_cells(repo, chapter), chapter
        assert "Traceback (most recent call last)" not in page.inner_text("body"), f"{chapter}: an error output"
        assert page.locator("nav.book-nav a[href='index.html']").count() == 2
        assert not errors, f"{chapter}: JavaScript errors {errors[:3]}"
    assert requests == [], f"the book asked the network for {requests[:5]}"
    page.close()


def test_interactive_plots_are_live(site, browser):
    requests = []
    page = offline_page(browser, requests)
    page.goto((site["dir"] / "02_activations.html").as_uri())
    plot = page.locator(".js-plotly-plot").first
    plot.scroll_into_view_if_needed()
    assert page.locator(".js-plotly-plot .updatemenu-container").count() >= 1  # its drop-down menu is drawn
    assert requests == []
    page.close()


def test_search_finds_a_section_and_leads_to_it(site, browser):
    requests = []
    page = offline_page(browser, requests)
    page.goto((site["dir"] / "index.html").as_uri())
    assert page.locator("#chapters li").count() == len(site["pages"])
    page.fill("#search", "GradientTape jacobian")
    hit = page.locator("#results a").first
    href = hit.get_attribute("href")
    assert href and "#" in href, href
    hit.click()
    page.wait_for_load_state("load")
    anchor = href.split("#", 1)[1]
    assert page.locator(f"[id='{anchor}']").count() == 1, href
    page.go_back()
    page.fill("#search", "zzzqqq")
    assert "No section mentions" in page.locator("#results").inner_text()
    assert requests == []
    page.close()


def test_no_solution_or_hidden_test_is_in_the_book(site, browser, repo):
    assert book.leaks(site["dir"], repo) == []
    solutions, hidden = edition.secret_lines(repo)
    page = browser.new_page()
    for path in site["pages"]:  # what Chromium shows, line by line
        page.goto(path.as_uri())
        shown = {line.strip() for line in page.inner_text("body").splitlines()}
        assert not shown & hidden.keys(), (path.name, sorted(shown & hidden.keys())[:3])
        assert not shown & solutions.keys(), (path.name, sorted(shown & solutions.keys())[:3])
    page.close()
    texts = "\n".join(p.read_text() for p in site["dir"].iterdir() if p.suffix in (".html", ".js"))
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME", "END MARK SCHEME"):
        assert marker not in texts


def test_the_leak_check_finds_a_planted_solution_line(site, repo, tmp_path):
    solutions, hidden = edition.secret_lines(repo)
    leaky = tmp_path / "leaky"
    shutil.copytree(site["dir"], leaky)
    page = leaky / site["pages"][1].name
    line = next(iter(solutions))
    page.write_text(page.read_text().replace("</main>", f"<pre><span>{line[:5]}</span>{line[5:]}</pre></main>"))
    found = book.leaks(leaky, repo)
    assert found and "solution line" in found[0], found


def test_a_build_runs_the_notebooks_it_lacks_then_reuses_them(repo, tmp_path):
    said = []
    book.write_book(tmp_path / "book", repo, chapters=["00_setup"], cache=tmp_path / "cache", log=said.append)
    assert any("running 1 solution notebook" in s for s in said), said
    ran = nbformat.read(next((tmp_path / "cache").glob("00_setup-*.ipynb")), as_version=4)
    assert any("device:" in o.get("text", "") for c in ran.cells for o in c.get("outputs", []))
    said.clear()
    book.write_book(tmp_path / "again", repo, chapters=["00_setup"], cache=tmp_path / "cache", log=said.append)
    assert not any("running" in s for s in said), said
    assert "device: CPU" in (tmp_path / "again" / "00_setup.html").read_text()


def test_a_course_out_of_step_with_its_solution_is_refused(repo):
    released = nbformat.read(grading.notebook_path(repo, grading.RELEASE, "01_tensors"), as_version=4)
    solution = nbformat.read(grading.notebook_path(repo, grading.SOLUTIONS, "01_tensors"), as_version=4)
    course_cell = next(i for i, c in enumerate(solution.cells)
                       if c.cell_type == "code" and not c.metadata.get("nbgrader"))
    solution.cells[course_cell].source += "\nprint('changed after the release')"
    with pytest.raises(book.BookError, match="make release"):
        book.page_notebook(released, solution)
    with pytest.raises(book.BookError, match="make release"):
        book.page_notebook(released, nbformat.v4.new_notebook(cells=solution.cells[:-1]))
