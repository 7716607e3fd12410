"""Shared fixtures. Tests run inside the course virtualenv (``make test``)."""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# nbgrader runs `alembic` as a subprocess: the virtualenv's bin/ must be on PATH.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def failure(fn, *args, **kwargs) -> str:
    """The AssertionError message that ``fn(*args, **kwargs)`` raises (fails if none)."""
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)
