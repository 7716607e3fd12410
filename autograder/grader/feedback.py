"""Feedback that shows failure messages but never a hidden test, whichever nbgrader path
writes it.

nbgrader's ``generate_feedback`` renders the autograded notebook, in which the hidden tests
were put back, so a student would read them (nbgrader issue #917); the formgrader's feedback
button and ``release_feedback`` publish the same HTML. :class:`HideHiddenTests` is an nbgrader
preprocessor that the course's ``nbgrader_config.py`` puts in ``GenerateFeedback``'s list, so
every one of those paths runs it. For each notebook it

* cuts the ``### BEGIN HIDDEN TESTS`` region out of every cell (as ``generate_assignment``
  does);
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

from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Bool, Integer

from autograder.grader import grading

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
REDACTED = "[hidden test line removed]"
PREPROCESSORS = ("nbgrader.preprocessors.GetGrades", "autograder.grader.feedback.HideHiddenTests",
                 "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor")


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
    """``nb`` (changed in place and returned) without hidden tests in sources or outputs."""
    lines = hidden_lines(nb)
    clear = ClearHiddenTests()
    for cell in nb.cells:
        clear._remove_hidden_test_region(cell)
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


def feedback_args() -> list[str]:
    """``nbgrader generate_feedback`` options naming this module's preprocessor chain."""
    return [f"--GenerateFeedback.preprocessors={name}" for name in PREPROCESSORS]


def write_feedback(course, assignment: str, students: list[str]) -> Path:
    """Render feedback for ``students`` into ``feedback/STUDENT/ASSIGNMENT/`` with nbgrader's own
    ``generate_feedback``; return the feedback folder."""
    if students:
        grading.run_nbgrader(["generate_feedback", assignment, "--force", *feedback_args()], course.root)
    return course.feedback
