"""stderr, fairly: library log lines never cost points, a student's own stderr is explained.

nbgrader scores a test cell 0 when any ``stderr`` stream output remains in it (its
``has_failed``). Its own ``IgnorePattern`` drops a *whole* stderr output when the pattern
matches anywhere in it, and Jupyter merges consecutive stderr writes into one output, so a
student's own line printed next to a TensorFlow log line would vanish with it; and a pattern
for "a warning from a .py file" also matches the student's cell files
(``/tmp/ipykernel_*/N.py``).

`DropLibraryLogs` replaces it in ``Autograde.autograde_preprocessors`` (see
``nbgrader_config.py``): it removes only the *lines* that a library wrote (TensorFlow and absl
C++ logs; ``warnings`` lines whose file is inside an installed package or the standard library,
with the source line Python prints under them) and keeps every other line. When a test cell
still has stderr output and no error, it adds a note below it saying that this is why the cell
scores 0, so the student reads the reason in the feedback.
"""

from __future__ import annotations

import re

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

LIBRARY_LINE = re.compile(
    r"^("
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "  # TensorFlow C++ log
    r"|[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ \S+:\d+\] "  # absl C++ log
    r"|WARNING: All log messages before absl::InitializeLog"
    r"|\S*/(site-packages|dist-packages|lib/python3(\.\d+)?)/\S+\.py:\d+: \w*Warning: "  # a library's warning
    r")"
)

NOTE = (
    "AUTOGRADER NOTE: this test cell scores 0 because something was written to stderr above "
    "(nbgrader counts any stderr output in a test cell as a failure). Library log lines are "
    "removed before grading; this line came from your code: a print(..., file=sys.stderr), a "
    "warnings.warn or a logging call. Print to stdout, or remove it, and the cell is graded on "
    "its checks alone.\n"
)


def library_lines_removed(text: str) -> str:
    """``text`` without the lines a library wrote (and the source line under a library's
    warning)."""
    kept, skip_source = [], False
    for line in text.splitlines(keepends=True):
        if skip_source and line.startswith((" ", "\t")):
            skip_source = False
            continue
        skip_source = False
        if LIBRARY_LINE.match(line):
            skip_source = "Warning: " in line and ".py:" in line
            continue
        kept.append(line)
    return "".join(kept)


class DropLibraryLogs(NbGraderPreprocessor):
    """Autograde preprocessor: line-level stderr filter, and a note where stderr zeros a cell."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                output.text = library_lines_removed(output.text)
                if not output.text.strip():
                    continue
            outputs.append(output)
        graded = cell.metadata.get("nbgrader", {}).get("grade", False)
        has_stderr = any(o.output_type == "stream" and o.name == "stderr" for o in outputs)
        has_error = any(o.output_type == "error" for o in outputs)
        if graded and has_stderr and not has_error:
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=NOTE))
        cell.outputs = outputs
        return cell, resources
