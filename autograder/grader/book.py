"""The course as a static web book, to read before running anything.

One page per chapter of the student edition, in course order, with the demos executed: every
cell students get, the outputs of the course's own cells (figures, tables, interactive plotly
figures) taken from a run of the solution notebook, and the exercises exactly as students get
them — answer cells with ``# YOUR CODE HERE``, test cells with the visible tests only, no
output under either, so no solution or hidden test reaches a page (:func:`leaks` proves it on
the pages' text). Maths is MathML (the browser renders it; no CDN), plotly.js is served from the
book's folder, and the contents page has a search box over every section. Nothing is fetched
from the network: the book opens from disk.

    python -m autograder book [--out DIR] [CHAPTER ...]    # or: make book  (BOOK_DIR=build/book)

Executed notebooks are cached by a digest of the solution, the kernel-side package and the pins,
so a second build re-renders without running anything.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import nbformat

from autograder.grader import edition, feedback, grading

TEMPLATES = Path(__file__).parent / "templates"  # book/book.html.j2 extends nbconvert's lab template
WIDGET = "application/vnd.jupyter.widget-view+json"  # a progress bar: no widget manager offline
EXERCISE_TAG, TEST_TAG = "exercise", "visible-test"
CELL_TIMEOUT = 600
CSS = """
body { max-width: 62rem; margin: 0 auto; }
nav.book-nav { display: flex; flex-wrap: wrap; gap: 1.2em; padding: 0.6em 1em; margin: 0.5em 0;
  background: #f3f5f8; border-radius: 4px; font-family: var(--jp-ui-font-family, sans-serif); }
nav.book-nav a.colab { margin-left: auto; }
math[display="block"] { display: block; margin: 0.6em 0; }
.celltag_exercise { border-left: 4px solid #e69500; background: #fff8ec; }
.celltag_exercise::before { content: "Exercise: you write this cell in the notebook";
  display: block; font: bold 0.85em sans-serif; color: #8a5a00; padding: 0.3em 0.6em; }
.celltag_visible-test { border-left: 4px solid #5b8def; }
.celltag_visible-test::before { content: "Test cell: run it in the notebook";
  display: block; font: bold 0.85em sans-serif; color: #2f5db3; padding: 0.3em 0.6em; }
img { max-width: 100%; height: auto; }
"""


class BookError(RuntimeError):
    """The book cannot be built: a notebook failed, or course/ and solutions/ disagree."""


# --- executing the solutions ------------------------------------------------------------------

def digest(chapter: str, root: Path) -> str:
    """What an executed notebook depends on: the solution, the kernel-side package, the pins."""
    root = Path(root)
    h = hashlib.sha256(grading.notebook_path(root, grading.SOLUTIONS, chapter).read_bytes())
    for path in sorted((root / "autograder").rglob("*.py")):
        if "grader" not in path.relative_to(root / "autograder").parts:
            h.update(path.read_bytes())
    h.update((root / "requirements.txt").read_bytes())
    return h.hexdigest()[:16]


def _execute(source: str, target: str) -> str:
    """Run the notebook ``source`` (a copy of its folder, so files it writes stay out of the
    repository) and write it with its outputs to ``target``. Runs in a worker process."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    os.environ.update(grading.nbgrader_env())
    nb = nbformat.read(source, as_version=4)
    with tempfile.TemporaryDirectory(prefix="book-") as work:
        folder = Path(work) / Path(source).parent.name
        shutil.copytree(Path(source).parent, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(work) / "kernel"))
        try:
            NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()
        except CellExecutionError as err:
            raise BookError(f"{Path(source).name} failed while building the book:\n{str(err)[-2000:]}") from None
    nbformat.write(nb, target)
    return target


def executed_notebooks(chapters: list[str], root: Path, cache: Path, jobs: int = 1, log=print) -> dict[str, Path]:
    """chapter -> its solution notebook with outputs, run now or found in ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    found, todo = {}, []
    for chapter in chapters:
        target = cache / f"{chapter}-{digest(chapter, root)}.ipynb"
        found[chapter] = target
        if not target.is_file():
            todo.append((str(grading.notebook_path(root, grading.SOLUTIONS, chapter)), str(target)))
    if todo:
        log(f"running {len(todo)} solution notebook(s), {jobs} at a time (cached in {cache})")
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn")) as pool:
            for done in pool.map(_execute, *zip(*todo, strict=True)):
                log(f"  ran {Path(done).name.rsplit('-', 1)[0]}")
    return found


# --- one page ---------------------------------------------------------------------------------

def page_notebook(released, executed):
    """The notebook a page shows: ``released`` (the student's notebook) cell by cell, with the
    outputs of ``executed`` (the solution, run) under the course's own cells; answer and test
    cells keep the released source and show no output."""
    if len(released.cells) != len(executed.cells):
        raise BookError("course/ and solutions/ differ in their cells: run `make release`")
    for cell, ran in zip(released.cells, executed.cells, strict=True):
        meta = cell.metadata.get("nbgrader", {})
        cell.metadata.pop("nbgrader", None)
        if meta.get("solution") or meta.get("grade"):
            cell.metadata["tags"] = [EXERCISE_TAG if meta.get("solution") else TEST_TAG]
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            continue
        if cell.cell_type != ran.cell_type or (cell.cell_type == "code" and cell.source != ran.source):
            raise BookError(f"cell {cell.get('id')} differs between course/ and solutions/: run `make release`")
        if cell.cell_type == "code":  # (a markdown cell may lose a mark scheme on release)
            cell.outputs = [readable_output(o) for o in ran.outputs]
            cell.execution_count = ran.execution_count
    for cell in released.cells:
        if cell.cell_type == "markdown":
            cell.source = feedback.offline_markdown(cell.source)
    return feedback.describe_images(released)


def readable_output(output):
    """An output as the book shows it: a plotly figure drawn by the page's plotly.js, a widget
    (no widget manager offline) as a sentence saying what it is."""
    data = output.get("data", {})
    if feedback.PLOTLY in data:
        import plotly.io

        figure = plotly.io.to_html(data[feedback.PLOTLY], include_plotlyjs=False, full_html=False,
                                   validate=False, default_width="100%")
        output["data"] = {"text/html": figure}
    elif WIDGET in data:  # its text is the widget's first state ("0epoch [00:00, ?epoch/s]")
        output["data"] = {"text/plain": "(a widget, such as a progress bar: it shows when you run the notebook)"}
    return output


def exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="book", template_file="book.html.j2",
                        extra_template_basedirs=[str(TEMPLATES)],
                        exclude_input_prompt=True, exclude_output_prompt=True)


# --- the book ---------------------------------------------------------------------------------

NAV = re.compile(r"<nav\b.*?</nav>", re.S)
HEADING = re.compile(r"<h([1-3])[^>]*\bid=\"([^\"]+)\"[^>]*>(.*?)</h\1>", re.S)
TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)


def page_text(markup: str, sep: str = " ") -> str:
    """What a reader sees of an HTML page: tags, scripts and styles replaced by ``sep``, entities
    decoded (``sep=""`` rejoins code that syntax highlighting cut into spans)."""
    return html.unescape(TAG.sub(sep, markup))


def sections(markup: str) -> list[dict]:
    """The page's headings (with their anchors) and the words under each, for the search box."""
    markup = NAV.sub(" ", markup)
    found, marks = [], list(HEADING.finditer(markup))
    for i, match in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(markup)
        title = " ".join(page_text(match.group(3)).replace("¶", "").split())
        body = " ".join(page_text(markup[match.end():end]).split())
        found.append({"anchor": match.group(2), "title": title, "text": body[:4000]})
    return found


def index_page(entries: list[dict]) -> str:
    rows = "\n".join(f'<li><a href="{e["href"]}">{html.escape(e["title"])}</a> '
                     f'<a class="colab" href="{e["colab"]}">(Colab)</a></li>' for e in entries)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Deep Learning with TensorFlow 2 / Keras 3</title>
<style>body {{ font-family: sans-serif; max-width: 50rem; margin: 2em auto; line-height: 1.5; }}
#results li {{ margin: 0.5em 0; }} #results p {{ margin: 0; color: #444; font-size: 0.9em; }}
input {{ font-size: 1.1em; width: 100%; padding: 0.3em; }}</style>
<script src="search.js"></script>
</head>
<body>
<h1>Deep Learning with TensorFlow 2 / Keras 3</h1>
<p>The chapters as students get them, with the course's own cells run: explanation, maths,
code and its output. Exercises are shown as in the notebook (you write them there); open a
chapter on Colab or in JupyterLab to run it.</p>
<label for="search">Search the book</label>
<input id="search" type="search" placeholder="e.g. dropout, GradientTape, learning rate" autocomplete="off">
<ol id="results"></ol>
<h2>Chapters</h2>
<ol id="chapters" start="0">
{rows}
</ol>
<script>
const box = document.getElementById("search"), list = document.getElementById("results");
box.addEventListener("input", () => {{
  const words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
  list.replaceChildren();
  if (!words.length) return;
  const hits = [];
  for (const page of BOOK) for (const s of page.sections) {{
    const text = (s.title + " " + s.text).toLowerCase();
    if (words.every(w => text.includes(w))) hits.push([page, s, text.indexOf(words[0])]);
  }}
  for (const [page, s, at] of hits.slice(0, 40)) {{
    const li = document.createElement("li"), a = document.createElement("a"), p = document.createElement("p");
    a.href = page.href + "#" + s.anchor; a.textContent = page.title + " — " + s.title;
    const from = Math.max(0, at - (s.title.length + 1) - 60);
    p.textContent = "…" + s.text.slice(from, from + 200) + "…";
    li.append(a, p); list.append(li);
  }}
  if (!hits.length) list.textContent = "No section mentions all of these words.";
}});
</script>
</body>
</html>
"""


def write_book(dest: Path, root: Path = grading.REPO_ROOT, *, chapters: list[str] | None = None,
               cache: Path | None = None, jobs: int = 1, log=print) -> list[Path]:
    """Write the web book of the course at ``root`` into ``dest`` (its pages are replaced);
    returns the chapter pages. Raises :class:`BookError` when a notebook fails or a page would
    hold instructor material."""
    root, dest = Path(root), Path(dest)
    chapters = chapters or grading.chapters(root)
    executed = executed_notebooks(chapters, root, cache or dest.parent / f"{dest.name}-cache", jobs, log)
    dest.mkdir(parents=True, exist_ok=True)
    import plotly

    shutil.copy2(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", dest / "plotly.min.js")
    (dest / "book.css").write_text(CSS)
    released = {chapter: nbformat.read(grading.notebook_path(root, grading.RELEASE, chapter), as_version=4)
                for chapter in chapters}
    entries = [{"chapter": chapter, "href": f"{chapter}.html", "colab": edition.colab_url(chapter),
                "title": edition.chapter_title(released[chapter])} for chapter in chapters]
    html_exporter, pages = exporter(), []
    for i, entry in enumerate(entries):
        nb = page_notebook(released[entry["chapter"]], nbformat.read(executed[entry["chapter"]], as_version=4))
        nb.metadata["title"] = entry["title"]
        book = {"colab": entry["colab"],
                "previous": entries[i - 1] if i > 0 else None,
                "next": entries[i + 1] if i + 1 < len(entries) else None}
        body, _ = html_exporter.from_notebook_node(nb, resources={"book": book})
        page = dest / entry["href"]
        page.write_text(body)
        entry["sections"] = sections(body)
        pages.append(page)
    (dest / "search.js").write_text("const BOOK = " + json.dumps(
        [{k: e[k] for k in ("href", "title", "sections")} for e in entries], ensure_ascii=False) + ";\n")
    (dest / "index.html").write_text(index_page(entries))
    found = leaks(dest, root)
    if found:
        raise BookError("\n".join(["the book holds instructor material:", *found[:20]]))
    log(f"book written to {dest / 'index.html'}: {len(pages)} chapters; checked: no solution or hidden test")
    return pages


def leaks(dest: Path, root: Path = grading.REPO_ROOT) -> list[str]:
    """Where the book's text, as a reader of the pages sees it, holds a line of a solution or a
    hidden test (:func:`edition.secret_lines`) or nbgrader's region markers."""
    solutions, hidden = edition.secret_lines(root)
    return [found for path in sorted(Path(dest).glob("*.html"))  # (search.js holds these pages' words only)
            for found in edition.secrets_in(path.name, page_text(path.read_text(), sep=""), solutions, hidden)]
