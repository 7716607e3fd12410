"""Running real nbgrader on a course directory: release, submit, autograde, read the gradebook.

nbgrader is driven through its own command line (``python -m nbgrader``), with the course's
``nbgrader_config.py`` in the course root, exactly as an instructor runs it. This module only
adds what every caller needs around it: the virtualenv's ``bin/`` on ``PATH`` (nbgrader runs
``alembic`` as a subprocess to create the gradebook), quiet TensorFlow logging in the kernels,
errors that show nbgrader's own output, and reading scores back per graded cell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = "solutions"
RELEASE = "course"


class NbgraderError(RuntimeError):
    """nbgrader exited with an error; the message holds its output."""


def chapters(root: Path = REPO_ROOT) -> list[str]:
    """Chapter (assignment) names in ``solutions/``, in course order: ``00_setup``, ..."""
    return sorted(p.name for p in (Path(root) / SOLUTIONS).iterdir() if (p / f"{p.name}.ipynb").is_file())


def notebook_path(root: Path, folder: str, chapter: str) -> Path:
    """``root/folder/chapter/chapter.ipynb`` (one notebook per chapter)."""
    return Path(root) / folder / chapter / f"{chapter}.ipynb"


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader and the kernels it starts."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env


def run_nbgrader(args: list[str], root: Path, *, timeout: float | None = None) -> str:
    """Run ``nbgrader ARGS`` in course root ``root``; return its combined output.

    Raises:
        NbgraderError: on a non-zero exit, with the tail of nbgrader's output.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=root,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise NbgraderError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode}):\n{output[-4000:]}")
    return output


def make_course(dest: Path, chapter_names: list[str] | None = None, *, source_root: Path = REPO_ROOT) -> Path:
    """A fresh course directory at ``dest``: the config and the solution notebooks,
    released with ``nbgrader generate_assignment`` (which also creates the gradebook)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(source_root) / "nbgrader_config.py", dest / "nbgrader_config.py")
    for chapter in chapter_names or chapters(source_root):
        shutil.copytree(Path(source_root) / SOLUTIONS / chapter, dest / SOLUTIONS / chapter, dirs_exist_ok=True)
        release(dest, chapter)
    return dest


def release(root: Path, chapter: str) -> Path:
    """``nbgrader generate_assignment CHAPTER --force``: writes ``course/CHAPTER/``."""
    run_nbgrader(["generate_assignment", chapter, "--force"], root)
    return notebook_path(root, RELEASE, chapter)


def submit(root: Path, student: str, chapter: str, notebook) -> Path:
    """Place a notebook (a path or a NotebookNode) as ``submitted/STUDENT/CHAPTER/CHAPTER.ipynb``."""
    target = Path(root) / "submitted" / student / chapter / f"{chapter}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, (str, Path)):
        shutil.copy2(notebook, target)
    else:
        nbformat.write(notebook, target)
    return target


def autograde(root: Path, chapter: str, *, student: str | None = None, timeout: float | None = None) -> str:
    """``nbgrader autograde CHAPTER [--student S] --force``."""
    args = ["autograde", chapter, "--force"]
    if student:
        args += ["--student", student]
    return run_nbgrader(args, root, timeout=timeout)


def gradebook(root: Path):
    """nbgrader's Gradebook of the course at ``root`` (``root/gradebook.db``), a context manager."""
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}")


def in_gradebook(root: Path, chapter: str) -> bool:
    """Whether ``chapter`` was released into the course's gradebook (False if there is none)."""
    from nbgrader.api import MissingEntry

    if not (Path(root) / "gradebook.db").exists():
        return False
    with gradebook(root) as gb:
        try:
            gb.find_assignment(chapter)
            return True
        except MissingEntry:
            return False


@dataclass(frozen=True)
class CellScore:
    """A graded cell's score: None while it waits for a grader (a written answer)."""

    grade_id: str
    score: float | None
    max_score: float
    needs_manual_grade: bool = False


def cell_scores(root: Path, chapter: str, student: str) -> dict[str, CellScore]:
    """Score of every graded cell (tests and written answers) of ``student``'s ``chapter``, by grade_id."""
    with gradebook(root) as gb:
        submission = gb.find_submission_notebook(chapter, chapter, student)
        return {
            g.name: CellScore(g.name, None if g.auto_score is None and g.manual_score is None else float(g.score),
                              float(g.max_score), bool(g.needs_manual_grade))
            for g in submission.grades
        }  # nbgrader's Grade.score is 0.0 while a cell has neither score


def cut_for_students(cell) -> bool:
    """Cut the hidden-test and mark-scheme regions out of ``cell`` (in place), as
    ``generate_assignment`` does; return whether anything was cut."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme

    cut_tests = ClearHiddenTests()._remove_hidden_test_region(cell)
    cut_scheme = ClearMarkScheme()._remove_mark_scheme_region(cell)
    return cut_tests or cut_scheme


def waits_for_grader(grade) -> bool:
    """Whether an nbgrader ``Grade`` waits for a person: marked for manual grading, no manual score yet."""
    return bool(grade.needs_manual_grade) and grade.manual_score is None


def pending_points(grades) -> float:
    """Points of nbgrader ``grades`` that wait for a grader."""
    return float(sum(g.max_score for g in grades if waits_for_grader(g)))


def gradebook_rows(root: Path) -> list[dict]:
    """One row per (student, chapter) from the gradebook: score, max score, and the points still
    waiting for a grader ("pending": written answers not yet graded in the formgrader; the score
    counts them as 0 until then)."""
    rows = []
    with gradebook(root) as gb:
        for assignment in gb.assignments:
            for submission in assignment.submissions:
                rows.append(
                    {
                        "student": submission.student.id,
                        "chapter": assignment.name,
                        "score": float(submission.score),
                        "max_score": float(submission.max_score),
                        "pending": pending_points(g for nb in submission.notebooks for g in nb.grades),
                    }
                )
    return sorted(rows, key=lambda r: (r["chapter"], r["student"]))


def format_table(rows: list[dict], columns: list[str]) -> str:
    """A plain-text table of ``rows`` (dicts) with the given columns."""
    cells = [[str(c) for c in columns]] + [
        [f"{r[c]:g}" if isinstance(r[c], float) else str(r[c]) for c in columns] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
