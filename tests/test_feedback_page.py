"""The feedback page as a student reads it, in real Chromium: a long failure message is shown
whole (wrapped, not cut at the right edge), maths is rendered offline (MathML, no CDN), every
graded cell is named in the score index, every image has alternative text, and an interactive
plotly figure leaves a static image. The page is rendered with nbconvert's HTML exporter and the
course's template and preprocessors (what `nbgrader generate_feedback` runs, see
autograder/grader/feedback.py). A screenshot is saved under pytest's temporary directory.
"""

import base64
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.grader import feedback, samples

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LONG = ("sigmoid_grad(x) in float32: 5 of 9 values differ; first at index (3,) "
        "and this line goes on well past the right edge of any window, ending with the words THE END")


def graded_notebook():
    """Chapter 02's solution as nbgrader leaves it after grading: scores in the metadata, a
    failing test cell with a long message, a matplotlib image and a plotly figure."""
    nb = samples.solution_notebook("02_activations")
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["score"] = meta["points"]
    failing = samples.find_cell(nb, "test_sigmoid_tanh")
    failing.metadata["nbgrader"]["score"] = 0.0
    failing.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue=LONG,
                                              traceback=[f"AssertionError: {LONG}"])]
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    code = next(c for c in nb.cells if c.cell_type == "code" and "plotly" in c.source)
    xs = np.linspace(-1, 1, 5).astype("float32")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(buffer.getvalue()).decode()}),
        nbformat.v4.new_output("display_data", data={feedback.PLOTLY: {
            "data": [{"type": "scatter", "name": "relu", "visible": True,
                      "x": {"bdata": base64.b64encode(xs.tobytes()).decode(), "dtype": "f4"},
                      "y": {"bdata": base64.b64encode(np.maximum(xs, 0).tobytes()).decode(), "dtype": "f4"}}],
            "layout": {"title": {"text": "relu"}}}}),
    ]
    return nb


def render(nb, pending=frozenset()) -> str:
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    c = Config()
    c.HTMLExporter.template_name = "feedback"
    c.HTMLExporter.template_file = "course_feedback.html.j2"
    c.HTMLExporter.extra_template_basedirs = [str(feedback.TEMPLATES), str(feedback.NBGRADER_TEMPLATES)]
    c.HTMLExporter.extra_template_paths = [str(feedback.NBGRADER_TEMPLATES.parent / "static" / "node_modules"
                                               / "bootstrap" / "dist" / "css")]
    nb = feedback.make_readable(feedback.sanitize(nb), pending)
    resources = {"nbgrader": {"notebook": "02_activations", "score": 12.0, "max_score": 14.0, "late_penalty": 0},
                 "autograder": {"pending_points": 2.0 if pending else 0.0}}
    body, _ = HTMLExporter(config=c).from_notebook_node(nb, resources=resources)
    return body


def test_the_page_is_offline_and_names_every_graded_cell():
    page = render(graded_notebook())
    assert "mathjax" not in page.lower() and "cdn." not in page
    assert page.count("<math") > 10
    assert "Exercise 1 — sigmoid and tanh" in page and "test_gradient_check" in page
    assert "Test cell</a>" not in page
    assert 'alt="static image of the interactive plotly figure above"' in page
    assert "<img" in page and page.count("<img") == page.count('alt="')


def test_a_written_answer_waiting_for_a_grader_is_not_shown_as_failed():
    nb = graded_notebook()
    (written,) = samples.manual_cells(nb)
    samples.find_cell(nb, written).metadata["nbgrader"]["score"] = 0.0  # what nbgrader reads for "no score yet"
    waiting = render(nb, pending={written})
    assert "waiting for your instructor, 2.0 points" in waiting
    assert "2.0 of these points are for a written answer your instructor has not graded yet" in waiting
    assert f'<li class="failed"><a href="#{written}">' not in waiting
    graded = render(nb)  # once graded (here 0 points), the score shows as for any cell
    assert "waiting for your instructor" not in graded and f'<li class="failed"><a href="#{written}">' in graded


def test_chromium_shows_the_whole_message_and_renders_the_maths(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    html_file = tmp_path / "feedback.html"
    html_file.write_text(render(graded_notebook()))
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 900, "height": 1200})
        page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:")
                   else route.continue_())  # offline: any request to the network fails
        page.goto(html_file.as_uri())
        message = page.locator("#test_sigmoid_tanh ~ * pre, .output_error pre", has_text="THE END").first
        message.scroll_into_view_if_needed()
        box = message.bounding_box()
        assert box and box["x"] + box["width"] <= 900, box  # inside the window, not cut
        assert message.evaluate("e => e.scrollWidth <= e.clientWidth + 1")  # wrapped, no hidden overflow
        math = page.locator("math").first
        math.scroll_into_view_if_needed()
        math_box = math.bounding_box()
        assert math_box and math_box["width"] > 5 and math_box["height"] > 5  # laid out by the browser
        assert page.evaluate("[...document.images].every(i => i.alt && i.complete && i.naturalWidth > 0)")
        page.screenshot(path=str(tmp_path / "feedback.png"), full_page=False)
        toc = page.locator("#toc").inner_text()
        assert "Exercise 1 — sigmoid and tanh" in toc and "0.0 / 2.0" in toc
        browser.close()
