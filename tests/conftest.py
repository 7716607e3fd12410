"""Shared fixtures. Tests run inside the course virtualenv (``make test``)."""

import linecache
import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def book_cache(tmp_path_factory) -> Path:
    """Executed solution notebooks for the web book, shared by the xdist workers of one run: each
    chapter's soundness class leaves its perfect student's run here and tests/test_book.py
    renders the pages from them (a chapter whose run is not there yet is run by the book)."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "book-cache"
    path.mkdir(exist_ok=True)
    return path


def failure(fn, *args, **kwargs) -> str:
    """The AssertionError message that ``fn(*args, **kwargs)`` raises (fails if none), after
    asserting the layout every check message keeps (autograder.checks.failure): no line longer
    than 78 characters (the first one not even behind "AssertionError: "), no NumPy scalar repr."""
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    too_long = [line for line in message.splitlines() if len(line) > 78]
    assert not too_long, f"lines over 78 characters: {too_long}"
    first = message.splitlines()[0] if message else ""
    assert len("AssertionError: " + first) <= 78, f"first line too long behind 'AssertionError: ': {first!r}"
    assert not re.search(r"np\.(float|int|uint)\d*\((-?\d|nan|inf)", message), message
    return Message(message)


def flat(message: str) -> str:
    """A message with its line wrapping undone."""
    return " ".join(message.split())


class Message(str):
    """A check's message; ``phrase in message`` also finds a phrase the 78-column wrapping
    broke over two lines (the layout itself is asserted by `failure`)."""

    def __contains__(self, phrase) -> bool:
        return str.__contains__(self, phrase) or flat(phrase) in flat(self)


def solution_functions(chapter: str, preamble: str = "") -> dict:
    """Execute the code answer cells of ``solutions/CHAPTER`` (not the written answers) and
    return the names they define, so unit tests check the checks against the very code the
    notebook ships."""
    from autograder.grader import samples

    namespace: dict = {"__name__": f"solutions_{chapter}"}
    exec(preamble, namespace)
    for cell in samples.solution_notebook(chapter).cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            # a file name in linecache, as IPython gives each cell: checks read sources
            filename = f"<solution {chapter} {cell.metadata['nbgrader']['grade_id']}>"
            linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(True), filename)
            exec(compile(cell.source, filename, "exec"), namespace)
    return namespace


def scope_seconds(item) -> float:
    """The measured cost of an item's xdist scope: ``SECONDS`` of its class, else of its module
    (0 for the many quick ones)."""
    return getattr(item.cls, "SECONDS", 0) or getattr(item.module, "SECONDS", 0)


def pytest_collection_modifyitems(items):
    """Longest scopes first (``--dist loadscope --no-loadscope-reorder`` hands them out in this
    order): a long class started last would run alone at the end of the suite."""
    items.sort(key=lambda item: -scope_seconds(item))
