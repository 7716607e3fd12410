"""Feedback that shows failure messages but never a hidden test, whichever nbgrader path
writes it.

nbgrader's ``generate_feedback`` renders the autograded notebook, in which the hidden tests
were put back, so a student would read them (nbgrader issue #917); the formgrader's feedback
button and ``release_feedback`` publish the same HTML. :class:`HideHiddenTests` is an nbgrader
preprocessor that the course's ``nbgrader_config.py`` puts in ``GenerateFeedback``'s list, so
every one of those paths runs it. For each notebook it

* cuts the ``### BEGIN HIDDEN TESTS`` region and the ``=== BEGIN MARK SCHEME ===`` region (the
  rubric of a written answer, which nbgrader puts back so that the formgrader shows it) out of
  every cell, as ``generate_assignment`` does;
* reduces a test cell's error output to ``Ename: message``: a traceback quotes test lines;
* removes every line of a hidden test from every output of every cell -- an answer cell can
  print the source of the cells that run after it (an IPython hook, a traceback) -- and
  strips terminal colour codes from tracebacks first, so that a coloured line still matches.

:func:`write_feedback` (the batch grader's last step) runs ``nbgrader generate_feedback`` with
the preprocessor named on the command line as well, so a course whose own config lacks it
still gets clean feedback.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbgrader
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer

from autograder.grader import grading

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
REDACTED = "[hidden test line removed]"
PREPROCESSORS = ("nbgrader.preprocessors.GetGrades", "autograder.grader.feedback.HideHiddenTests",
                 "autograder.grader.feedback.ReadableFeedback", "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor")
TEMPLATES = Path(__file__).parent / "templates"  # feedback/course_feedback.html.j2 extends nbgrader's feedback/
NBGRADER_TEMPLATES = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
TEMPLATE_NAME, TEMPLATE_FILE = "feedback", "course_feedback.html.j2"  # nbgrader's template, the course's file


def hidden_lines(nb, min_length: int = 12) -> set[str]:
    """Lines of the hidden-test regions of ``nb`` worth hiding: at least ``min_length``
    characters once stripped, and not also in a visible part of a cell (``import numpy as np``)."""
    hidden, visible = set(), set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped.startswith(BEGIN):
                inside = True
            elif stripped.startswith(END):
                inside = False
            elif stripped:
                (hidden if inside else visible).add(stripped)
    return {line for line in hidden - visible if len(line) >= min_length}


REGION = re.compile(re.escape(BEGIN) + r".*?(" + re.escape(END) + r"|\Z)", re.DOTALL)


def redact(text: str, lines: set[str]) -> str:
    """``text`` without any hidden-test region (markers included) or any of ``lines``."""
    text = REGION.sub(REDACTED, text)
    for line in sorted(lines, key=len, reverse=True):
        if line in text:
            text = text.replace(line, REDACTED)
    return text


def is_test_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def sanitize(nb):
    """``nb`` (changed in place and returned) without hidden tests in sources or outputs, and
    without mark schemes."""
    lines = hidden_lines(nb)
    for cell in nb.cells:
        grading.cut_for_students(cell)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                if is_test_cell(cell):
                    output["traceback"] = [f"{output['ename']}: {output['evalue']}"]
                output["traceback"] = [redact(ANSI.sub("", line), lines) for line in output["traceback"]]
                output["evalue"] = redact(output.get("evalue", ""), lines)
            elif output.get("output_type") == "stream":
                output["text"] = redact(output["text"], lines)
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and (mime.startswith("text/") or mime.endswith(("json", "javascript"))):
                    output["data"][mime] = redact(value, lines)
                elif isinstance(value, list):
                    output["data"][mime] = [redact(v, lines) if isinstance(v, str) else v for v in value]
    return nb


class HideHiddenTests(NbGraderPreprocessor):
    """nbgrader preprocessor for ``GenerateFeedback``: :func:`sanitize` each notebook."""

    enabled = Bool(True).tag(config=True)
    min_line_length = Integer(12, help="shorter hidden-test lines are not searched for in outputs").tag(config=True)

    def preprocess(self, nb, resources):
        return sanitize(nb), resources


# --- a page a student can read ----------------------------------------------------------------

EXERCISE = re.compile(r"^#+\s*(Exercise[^\n]*)", re.MULTILINE)
MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$", re.DOTALL)
PLOTLY = "application/vnd.plotly.v1+json"
LINE_SPACING = re.compile(r"\\\\\[[^\]]*\]")


def cell_titles(nb) -> dict[str, str]:
    """grade_id -> what the graded cell checks, from the closest "Exercise" heading above it
    ("Exercise 3 — inverted dropout"); the grade_id where there is none; "Written answer
    (graded by hand)" for a written answer."""
    titles, current = {}, None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = EXERCISE.findall(cell.source)
            if found:
                current = re.sub(r"\s*\(\d+(\.\d+)? points?\)", "", found[-1]).strip()
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "markdown":
            titles[meta["grade_id"]] = "Written answer (graded by hand)"
        elif meta.get("grade"):
            titles[meta["grade_id"]] = current or meta["grade_id"]
    return titles


def math_to_mathml(markdown: str) -> str:
    """``$...$`` and ``$$...$$`` in a markdown text replaced by MathML (rendered by the browser
    itself, offline); a formula latex2mathml cannot read is left as LaTeX in ``<code>``."""
    from latex2mathml.converter import convert

    def replace(match):
        display, inline = match.group(1), match.group(2)
        latex = display if display is not None else inline
        latex = LINE_SPACING.sub(r"\\\\", latex)  # "\\[4pt]": a spacing latex2mathml would print
        try:
            return convert(latex.strip(), display="block" if display is not None else "inline")
        except Exception:
            return f"<code>{latex}</code>"

    return MATH.sub(replace, markdown)


COLAB_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\(([^)]*)\)")


def offline_markdown(markdown: str) -> str:
    """``markdown`` for a page that fetches nothing: maths as MathML (:func:`math_to_mathml`), the
    Open-in-Colab badge (an image on Google's server) as a plain link."""
    return math_to_mathml(COLAB_BADGE.sub(r"[Open in Colab](\1)", markdown))


def plotly_array(value):
    """A plotly trace's data as a list or array: plotly 6+ writes NumPy arrays as
    ``{"bdata": base64, "dtype": "f4", "shape": "..."}``."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value.get("dtype", "f8"))
        shape = value.get("shape")
        if shape:
            array = array.reshape([int(n) for n in str(shape).split(",")])
        return array
    return value


def plotly_png(figure: dict) -> str:
    """A static PNG (base64) of a plotly figure's visible scatter traces, drawn with matplotlib:
    the feedback page has no JavaScript, and this course's interactive figures are line plots."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for trace in figure.get("data", []):
        if trace.get("visible", True) is not True or "x" not in trace or "y" not in trace:
            continue
        style = "--" if trace.get("line", {}).get("dash") == "dash" else "-"
        ax.plot(plotly_array(trace["x"]), plotly_array(trace["y"]), style, label=trace.get("name"))
    title = figure.get("layout", {}).get("title", {})
    ax.set_title(title.get("text", "") if isinstance(title, dict) else str(title))
    if ax.lines:
        ax.legend(fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def pending_cells(resources) -> dict[str, float]:
    """grade_id -> points of the notebook's cells that wait for a grader (a written answer no
    one has graded yet: nbgrader counts it as 0 until then), read from the gradebook that
    nbgrader's ``GetGrades`` read; empty outside ``generate_feedback``."""
    info = resources.get("nbgrader", {})
    if not all(key in info for key in ("db_url", "notebook", "assignment", "student")):
        return {}
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(info["db_url"]) as gb:
        try:
            submission = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
        except MissingEntry:
            return {}
        return {g.name: float(g.max_score) for g in submission.grades if grading.waits_for_grader(g)}


def describe_images(nb):
    """Alternative text on every image output of ``nb`` that has none (in place): which figure
    of the notebook it is and the first line of the cell that drew it."""
    figure = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}) or "image/jpeg" in output.get("data", {}):
                figure += 1
                source = (cell.source.strip().splitlines() or [""])[0][:60]
                output.setdefault("metadata", {}).setdefault(
                    "alt", f"figure {figure} of the notebook, drawn by the cell starting {source!r}")
    return nb


def make_readable(nb, pending: set[str] | frozenset[str] = frozenset()):
    """``nb`` (changed in place and returned) for the feedback page: graded cells titled (and
    those in ``pending`` marked as waiting for a grader), maths as MathML, plotly figures as
    static images, every image with alternative text."""
    titles = cell_titles(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            cell.metadata["autograder"] = {"title": titles[meta["grade_id"]], "pending": meta["grade_id"] in pending}
        if cell.cell_type == "markdown":
            cell.source = offline_markdown(cell.source)
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY in data:
                try:
                    png = plotly_png(data[PLOTLY])
                except Exception:  # a figure we cannot draw: say so rather than show nothing
                    output["data"] = {"text/plain": "(an interactive plotly figure: open the notebook to see it)"}
                    continue
                output["data"] = {"image/png": png, "text/plain": "a static image of an interactive figure"}
                output.setdefault("metadata", {})["alt"] = "static image of the interactive plotly figure above"
    return describe_images(nb)


class ReadableFeedback(NbGraderPreprocessor):
    """nbgrader preprocessor for ``GenerateFeedback``: :func:`make_readable` each notebook (the
    course's ``course_feedback`` template shows the titles and keeps the page offline)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        pending = pending_cells(resources)
        resources.setdefault("autograder", {})["pending_points"] = sum(pending.values())
        return make_readable(nb, set(pending)), resources


def feedback_args() -> list[str]:
    """``nbgrader generate_feedback`` options naming this module's preprocessor chain and the
    course's template."""
    return [
        *(f"--GenerateFeedback.preprocessors={name}" for name in PREPROCESSORS),
        f"--HTMLExporter.template_name={TEMPLATE_NAME}",
        f"--HTMLExporter.template_file={TEMPLATE_FILE}",
        f"--HTMLExporter.extra_template_basedirs={TEMPLATES}",
        f"--HTMLExporter.extra_template_basedirs={NBGRADER_TEMPLATES}",
    ]


def write_feedback(course, assignment: str, students: list[str]) -> Path:
    """Render feedback for ``students`` into ``feedback/STUDENT/ASSIGNMENT/`` with nbgrader's own
    ``generate_feedback``; return the feedback folder."""
    if students:
        grading.run_nbgrader(["generate_feedback", assignment, "--force", *feedback_args()], course.root)
    return course.feedback


# --- submissions that never ran ----------------------------------------------------------------

ADVICE = {
    "missing notebook": "Submit the notebook under its original name in the assignment's folder.",
    "corrupt notebook": "The file is not a readable notebook. Open it in JupyterLab to check it (or restore a "
    "checkpoint: File > Revert Notebook to Checkpoint), save it, and submit it again.",
    "timed out": "The notebook did not finish in time. Look for a loop that never ends or training far longer than "
    "the exercise asks; Kernel > Restart Kernel and Run All Cells should finish in a few minutes.",
    "out of memory": "The notebook used more memory than a submission may. Look for a very large array or a "
    "dataset loaded many times; Restart Kernel and Run All Cells and watch the memory.",
    "kernel died": "The Python kernel stopped while running your notebook (os._exit, a crash in a library, or code "
    "that kills its own process). Run Restart Kernel and Run All Cells and fix the cell where it stops.",
    "worker died": "Grading was interrupted on the grader's side: nothing is wrong with your notebook; it will be "
    "graded again.",
}


def not_graded_page(notebook: str, status: str, reason: str) -> str:
    """A feedback page for a submission no kernel graded: what happened, 0 points, what to do."""
    import html

    advice = ADVICE.get(status, "Ask your instructor.")
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(notebook)}: feedback</title>
<style>body {{ font-family: sans-serif; max-width: 48em; margin: 2em auto; line-height: 1.5; }}
.status {{ color: #a94442; }} pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}</style></head>
<body><main>
<h1>{html.escape(notebook)}: not graded</h1>
<p class="status"><strong>{html.escape(status)}</strong>: your notebook was not run, so every graded cell
scores 0 for this submission.</p>
<p>What the grader found:</p>
<pre>{html.escape(reason or status)}</pre>
<p><strong>What to do:</strong> {html.escape(advice)}</p>
</main></body></html>
"""


def write_not_graded(course, assignment: str, rows: list[dict], notebooks: list[str]) -> list[Path]:
    """A `not_graded_page` for every notebook of every row whose feedback nbgrader did not write
    (nothing was run: missing, corrupt, timed out, out of memory, kernel died)."""
    written = []
    for row in rows:
        folder = Path(course.feedback) / row["student"] / assignment
        for name in notebooks:
            page = folder / f"{name}.html"
            if page.exists():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            page.write_text(not_graded_page(name, row["status"], row.get("reason", "")))
            written.append(page)
    return written
