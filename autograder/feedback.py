"""Feedback HTML that shows failure messages but not hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook, in which the hidden tests
were put back, so a student reads them (nbgrader issue #917). Here each autograded notebook is
copied with, in every graded test cell, the hidden-test region cut out of the source (as
``generate_assignment`` cuts it) and every error output reduced to its last line
(``AssertionError: did you apply bias correction?``): a traceback would quote hidden lines.
nbgrader's own ``generate_feedback`` then renders those copies with the scores from the
gradebook.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder import grading


def sanitize(nb):
    """``nb`` (changed in place and returned) without hidden tests or test-cell tracebacks."""
    from nbgrader.preprocessors import ClearHiddenTests

    clear = ClearHiddenTests()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or meta.get("solution"):
            continue
        clear._remove_hidden_test_region(cell)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output['ename']}: {output['evalue']}"]
    return nb


def write_feedback(course, assignment: str, students: list[str]) -> Path:
    """Render feedback for ``students`` into ``feedback/STUDENT/ASSIGNMENT/``; return the
    folder of sanitized copies nbgrader rendered from."""
    staging = course.root / "grading" / assignment / "feedback-src"
    shutil.rmtree(staging, ignore_errors=True)
    for student in students:
        src = course.autograded / student / assignment
        dest = staging / student / assignment
        shutil.copytree(src, dest)
        for path in dest.glob("*.ipynb"):
            nbformat.write(sanitize(nbformat.read(path, as_version=4)), path)
    if students:
        grading.run_nbgrader(["generate_feedback", assignment, "--force",
                              f"--CourseDirectory.autograded_directory={staging.relative_to(course.root)}"],
                             course.root)
    return staging
