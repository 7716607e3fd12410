"""Finding submissions and checking them before any kernel starts.

Reads the course the way nbgrader does (its ``nbgrader_config.py`` through
``CourseDirectory``), lists ``submitted/STUDENT/ASSIGNMENT/`` folders, fingerprints them
(so a re-run knows what it already graded), and inspects each notebook against the
gradebook's copy of the assignment:

* **missing notebook**: the folder lacks ``NAME.ipynb`` (nbgrader gives it 0);
* **corrupt notebook**: not JSON, or not a valid nbformat 4 notebook (never sent to a kernel);
* **tampered cells**: a graded or read-only cell was edited (nbgrader restores it from the
  gradebook), deleted (re-inserted here at its place, so its tests run), or duplicated
  (nbgrader 0.9.6 fails the whole notebook on a duplicate id; here the extra copies lose their
  grading metadata, the last copy stays graded, as nbgrader's ``DeduplicateIds`` intends).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import sandbox


@dataclass(frozen=True)
class Course:
    """The folders and gradebook URL of an nbgrader course, as its config sets them."""

    root: Path
    source: Path
    submitted: Path
    autograded: Path
    feedback: Path
    db_url: str
    config_text: str


def load_course(root: Path) -> Course:
    """Read ``root/nbgrader_config.py`` with nbgrader's own ``CourseDirectory``."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root).resolve()
    config_file = root / "nbgrader_config.py"
    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file} not found: is {root} an nbgrader course root?")
    config = PyFileConfigLoader(config_file.name, path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return Course(
        root=root,
        source=root / coursedir.source_directory,
        submitted=root / coursedir.submitted_directory,
        autograded=root / coursedir.autograded_directory,
        feedback=root / coursedir.feedback_directory,
        db_url=coursedir.db_url,
        config_text=config_file.read_text(),
    )


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str
    folder: Path
    fingerprint: str


def fingerprint(folder: Path) -> str:
    """SHA-256 of every file's relative path and bytes under ``folder`` (timestamp.txt included)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def discover(course: Course, assignment: str) -> list[Submission]:
    """Every ``submitted/STUDENT/ASSIGNMENT/`` folder, by student id."""
    if not course.submitted.is_dir():
        return []
    return [
        Submission(student.name, assignment, student / assignment, fingerprint(student / assignment))
        for student in sorted(course.submitted.iterdir())
        if (student / assignment).is_dir()
    ]


@dataclass(frozen=True)
class ReferenceCell:
    """A cell nbgrader tracks, as the gradebook stores it, with its place in the source."""

    grade_id: str
    cell_type: str
    source: str
    checksum: str | None
    locked: bool
    grade: bool
    solution: bool
    points: float | None
    order: int


def reference_cells(course: Course, assignment: str) -> dict[str, dict[str, ReferenceCell]]:
    """Notebook name -> grade_id -> ReferenceCell, from the gradebook and the source notebook."""
    from nbgrader.api import Gradebook

    cells: dict[str, dict[str, ReferenceCell]] = {}
    with Gradebook(course.db_url) as gb:
        for notebook in gb.find_assignment(assignment).notebooks:
            source_nb = course.source / assignment / f"{notebook.name}.ipynb"
            order = {}
            if source_nb.is_file():
                ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nbformat.read(source_nb, 4).cells]
                order = {gid: i for i, gid in enumerate(ids) if gid}
            grades = {c.name: c.max_score for c in notebook.grade_cells}
            solutions = {c.name for c in notebook.solution_cells}
            cells[notebook.name] = {
                c.name: ReferenceCell(c.name, c.cell_type, c.source, c.checksum, bool(c.locked), c.name in grades,
                                      c.name in solutions, grades.get(c.name), order.get(c.name, len(order)))
                for c in notebook.source_cells
            }
    return cells


def rebuild_cell(ref: ReferenceCell):
    """A notebook cell carrying ``ref``'s source and nbgrader metadata (for a deleted cell)."""
    make = nbformat.v4.new_code_cell if ref.cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = make(ref.source)
    meta = {"grade": ref.grade, "grade_id": ref.grade_id, "locked": ref.locked, "schema_version": 3,
            "solution": ref.solution}
    if ref.grade:
        meta["points"] = ref.points
    if ref.checksum:
        meta["checksum"] = ref.checksum
    cell.metadata["nbgrader"] = meta
    return cell


def released_checksums(ref: ReferenceCell) -> set[str | None]:
    """Checksums a read-only cell may have when untouched: the gradebook's (hidden tests in),
    and the released one's (hidden tests cut out, as ``generate_assignment`` does)."""
    from nbgrader.preprocessors import ClearHiddenTests
    from nbgrader.utils import compute_checksum

    cell = rebuild_cell(ref)
    sums = {ref.checksum}
    if ClearHiddenTests()._remove_hidden_test_region(cell):
        sums.add(compute_checksum(cell))
    return sums


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def repair(nb, refs: dict[str, ReferenceCell]) -> list[str]:
    """Find and undo tampering in ``nb`` (in place); return what was found, one line each."""
    from nbgrader.utils import compute_checksum

    notes = []
    ids = [grade_id(c) for c in nb.cells]
    for gid in sorted({g for g in ids if g and ids.count(g) > 1}):
        positions = [i for i, g in enumerate(ids) if g == gid]
        for i in positions[:-1]:
            del nb.cells[i].metadata["nbgrader"]
        notes.append(f"cell {gid!r} appears {len(positions)} times: the last copy is graded")
    for cell in nb.cells:
        ref = refs.get(grade_id(cell) or "")
        if ref and (ref.grade or ref.locked) and not ref.solution and compute_checksum(cell) not in released_checksums(ref):
            notes.append(f"read-only cell {ref.grade_id!r} was edited: restored from the gradebook")
    present = {grade_id(c) for c in nb.cells}
    for ref in sorted(refs.values(), key=lambda r: r.order):
        if ref.grade_id in present:
            continue
        before = [i for i, c in enumerate(nb.cells) if grade_id(c) in refs and refs[grade_id(c)].order < ref.order]
        nb.cells.insert(before[-1] + 1 if before else 0, rebuild_cell(ref))
        present.add(ref.grade_id)
        notes.append(f"cell {ref.grade_id!r} was deleted: re-inserted from the gradebook")
    return notes


def inspect(files: dict[str, bytes], refs: dict[str, dict[str, ReferenceCell]]) -> tuple[dict[str, bytes], str, str]:
    """Check a submission's notebooks; return (files to grade, status, reason).

    ``files`` maps paths relative to the submission folder to bytes; repaired notebooks are
    rewritten in the returned copy, untouched ones are passed on byte for byte."""
    files = dict(files)
    notes = []
    for name in sorted(refs):
        rel = f"{name}.ipynb"
        if rel not in files:
            found = sorted(f for f in files if f.endswith(".ipynb")) or "no notebook"
            return files, sandbox.MISSING, f"no {rel} in the submission (found: {found})"
        try:
            nb = nbformat.reads(files[rel].decode("utf-8"), as_version=4)
            nbformat.validate(nb)
        except (UnicodeDecodeError, json.JSONDecodeError, nbformat.ValidationError, ValueError, KeyError) as err:
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            return files, sandbox.CORRUPT, f"{rel} cannot be read as a notebook: {first_line}"
        original = copy.deepcopy(nb)
        found = repair(nb, refs[name])
        notes += [f"{rel}: {note}" for note in found]
        if nb != original:
            files[rel] = nbformat.writes(nb).encode("utf-8")
    if notes:
        return files, sandbox.TAMPERED, "; ".join(notes)
    return files, sandbox.GRADED, ""
