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

import functools
import os
import re
import sys
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


def call_label(name: str, *args: str, **kwargs) -> str:
    """How a message names a call: ``name(arg, key=value, ...)``, the one spelling of every
    check (``Adam(learning_rate=0.01)``, ``softmax(x, axis=1)``)."""
    parts = [*args, *(f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
                      for key, value in kwargs.items())]
    return f"{name}({', '.join(parts)})"


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


def check_returns(found, label: str, names: tuple[str, ...]) -> None:
    """Fail unless ``found`` is a tuple or list of ``len(names)`` values, the results a function
    returns together (``normalization_stats(x) should return a pair (mean, variance)``)."""
    __tracebackhide__ = True  # noqa: F841 - read by IPython
    if not isinstance(found, (tuple, list)) or len(found) != len(names):
        pair = "a pair " if len(names) == 2 else ""
        fail(f"{label} should return {pair}({', '.join(names)})", details=[f"found: {type(found).__name__}"],
             hint=f"return {', '.join(names)}")


# --- errors of the libraries, raised inside the student's code --------------------------------

EXPLANATIONS = (
    (re.compile(r"expected to be a (\w+) tensor but is a (\w+) tensor|"
                r"(int64|int32|float32|float64)\b.*\b(int64|int32|float32|float64)\b", re.IGNORECASE),
     "two dtypes met in one TensorFlow op. Cast one to the other's dtype with tf.cast; labels "
     "often arrive as int64 while tf.range and indices default to int32, and NumPy floats are "
     "float64."),
    (re.compile(r"not connected to inputs|is not connected|Graph disconnected", re.IGNORECASE),
     "the model's outputs must be computed from its own inputs: build "
     "keras.Model(model.inputs, model.get_layer(name).output), not from a new keras.Input."),
    (re.compile(r"Incompatible shapes|Dimensions must be equal|could not be broadcast|"
                r"shapes? .* (are|is) incompatible", re.IGNORECASE),
     "the shapes do not line up: reduce with keepdims=True (or expand_dims) so that the result "
     "broadcasts against the input, and check the axis."),
    (re.compile(r"NoneType", re.IGNORECASE),
     "a value is None: a function of yours lacks a `return`, or a variable was never set."),
)


def explain(error: BaseException) -> str | None:
    """What a library error raised in the student's code usually means, or None."""
    text = f"{type(error).__name__}: {error}"
    return next((why for pattern, why in EXPLANATIONS if pattern.search(text)), None)


def _through_student_code(tb) -> bool:
    """Whether a frame of the traceback is the student's: code outside the autograder package,
    the Python installation and the virtualenv (a notebook cell)."""
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    installed = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not (filename.startswith(ours) or filename.startswith(installed)):
            return True
        tb = tb.tb_next
    return False


def explains_errors(check):
    """Decorator of a check: an exception other than ``AssertionError`` (or the
    ``NotImplementedError`` of an exercise not done yet) that comes up through
    the student's code is raised again as an ``AssertionError`` naming the check, the error's
    first line and, where known, what it means (`EXPLANATIONS`); the original traceback, with
    the student's line in it, stays chained above. Errors of the check's own making (a check
    called wrongly) pass unchanged."""

    @functools.wraps(check)
    def wrapper(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841 - read by IPython
        try:
            return check(*args, **kwargs)
        except (AssertionError, NotImplementedError):  # a check's verdict; an exercise not done yet
            raise
        except Exception as error:
            if not _through_student_code(error.__traceback__):
                raise
            first = (str(error).strip().splitlines() or [""])[0]
            raise AssertionError(message(
                f"{check.__name__}: your code raised {type(error).__name__}",
                details=[first[:300]] if first else [],
                hint=explain(error) or "the traceback above shows the line of your code where it happened.",
            )) from error

    return wrapper
