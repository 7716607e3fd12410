"""Shared fixtures. Tests run inside the course virtualenv (``make test``)."""

import linecache
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def failure(fn, *args, **kwargs) -> str:
    """The AssertionError message that ``fn(*args, **kwargs)`` raises (fails if none)."""
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def solution_functions(chapter: str, preamble: str = "") -> dict:
    """Execute the answer cells of ``solutions/CHAPTER`` and return the names they define,
    so unit tests check the checks against the very code the notebook ships."""
    from autograder.grader import samples

    namespace: dict = {"__name__": f"solutions_{chapter}"}
    exec(preamble, namespace)
    for cell in samples.solution_notebook(chapter).cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            # a file name in linecache, as IPython gives each cell: checks read sources
            filename = f"<solution {chapter} {cell.metadata['nbgrader']['grade_id']}>"
            linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(True), filename)
            exec(compile(cell.source, filename, "exec"), namespace)
    return namespace
