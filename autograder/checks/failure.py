"""The one way a check fails: `fail` raises the ``AssertionError`` a test cell shows.

Layout of every message (what students read in the notebook, in nbgrader's Validate dialog,
which cuts lines at about 80 characters, and in the feedback page)::

    softmax(x): 3 of 6 values differ from Keras; first at index (0, 2)
      expected: 0.66524096
      found:    0.24472848
      tolerance: rtol=1e-05, atol=1e-06
    Hint: subtract the maximum before exp(): ...

The first line says what is wrong and where to look; details follow on their own indented
lines; the hint comes last. Every line is wrapped at `WIDTH` characters, the first at
`FIRST_WIDTH`, so that it still fits once a traceback prefixes it with ``AssertionError: ``.
Numbers are printed plainly (`number`), never as NumPy reprs such as ``np.float32(0.1)``.
Frames of the checks are hidden from IPython's tracebacks (``__tracebackhide__``): a student
sees the test cell's line, `fail`'s few lines (IPython always shows the innermost frame) and
the message, not the checks' code.
"""

from __future__ import annotations

import textwrap
from typing import NoReturn

import numpy as np

WIDTH = 78
FIRST_WIDTH = WIDTH - len("AssertionError: ")


def number(value) -> str:
    """A number as a student reads it: ``0.66524096``, ``1e-07``, ``-3``, ``nan``, ``True``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, np.floating):
        return str(value)  # the shortest text that reads back as this float32/float64
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return repr(value)


def _wrap(line: str, indent: str, width: int = WIDTH) -> list[str]:
    return textwrap.wrap(
        line, width, initial_indent=indent, subsequent_indent=indent + "  ",
        break_on_hyphens=False, replace_whitespace=False, drop_whitespace=True,
    ) or [indent.rstrip()]


def message(summary: str, details=(), hint: str | None = None) -> str:
    """The text of a failure (see the module docstring). A ``Hint:`` written inside
    ``summary`` is moved to the end; lines of ``summary`` after the first become details."""
    for marker in ("\nHint: ", " Hint: "):
        if hint is None and marker in summary:
            summary, hint = summary.split(marker, 1)
    first, *more = summary.strip().splitlines() or [""]
    head, *rest = _wrap(first, "", FIRST_WIDTH)
    lines = [head, *(_wrap(" ".join(part.strip() for part in rest), "  ") if rest else [])]
    for detail in [*more, *details]:
        lines += _wrap(detail.strip(), "  ")
    if hint:
        first_hint, *more_hints = hint.strip().splitlines()
        lines += _wrap(f"Hint: {first_hint}", "")
        for extra in more_hints:
            lines += _wrap(extra.strip(), "  ")
    return "\n".join(lines)


def fail(summary: str, hint: str | None = None, *, details=()) -> NoReturn:
    """Raise ``AssertionError(message(summary, details, hint))``, without the traceback of an
    exception being handled (the message explains it)."""
    __tracebackhide__ = True  # noqa: F841 - read by IPython
    raise AssertionError(message(summary, details, hint)) from None
