"""Finding submissions and checking them before any kernel starts.

Reads the course the way nbgrader does (its ``nbgrader_config.py`` through
``CourseDirectory``), lists ``submitted/STUDENT/ASSIGNMENT/`` folders, fingerprints them
(so a re-run knows what it already graded), and inspects each notebook against the
gradebook's copy of the assignment:

* **missing notebook**: the folder lacks ``NAME.ipynb`` (nbgrader gives it 0);
* **corrupt notebook**: not JSON, or not a valid nbformat 4 notebook (never sent to a kernel);
* **tampered cells**: a graded or read-only cell was edited (nbgrader restores it from the
  gradebook), deleted (re-inserted here at its place, so its tests run), duplicated
  (nbgrader 0.9.6 fails the whole notebook on a duplicate id; here the extra copies lose their
  grading metadata, the last copy stays graded, as nbgrader's ``DeduplicateIds`` intends), or
  had its nbgrader metadata edited (``grade``, ``points``, ``grade_id``, ``locked``: nbgrader
  0.9.6 fails the whole notebook on "Inconsistent checksums"; here the gradebook's metadata is
  put back, matched by grade_id, else by the cell's id, else by its source);
* **flags** (:func:`flag_code`): code in the cells the student wrote that reaches into the
  grader, the libraries' internals, the shell, files or the network (:mod:`codescan`).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.grader import codescan, grading, sandbox


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
    """SHA-256 of every file's relative path and bytes under ``folder`` (timestamp.txt included;
    a symbolic link by its target's name, never by what it points to)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
        data = f"-> {path.readlink()}".encode() if path.is_symlink() else path.read_bytes()
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def symlinks(folder: Path) -> list[str]:
    """Symbolic links in a submitted folder, as "name -> target": never followed (one could
    point at the gradebook or solutions/), never passed to the kernel, reported."""
    return [f"{p.relative_to(folder)} -> {p.readlink()}" for p in sorted(folder.rglob("*")) if p.is_symlink()]


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
    cell_id: str | None = None  # the cell's nbformat id in the source (and released) notebook
    task: bool = False  # a "manually graded task" (a written answer's question and its mark scheme)


def reference_cells(course: Course, assignment: str) -> dict[str, dict[str, ReferenceCell]]:
    """Notebook name -> grade_id -> ReferenceCell, from the gradebook and the source notebook."""
    from nbgrader.api import Gradebook

    cells: dict[str, dict[str, ReferenceCell]] = {}
    with Gradebook(course.db_url) as gb:
        for notebook in gb.find_assignment(assignment).notebooks:
            source_nb = course.source / assignment / f"{notebook.name}.ipynb"
            order, cell_ids = {}, {}
            if source_nb.is_file():
                source_cells = nbformat.read(source_nb, 4).cells
                ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in source_cells]
                order = {gid: i for i, gid in enumerate(ids) if gid}
                cell_ids = {gid: c.get("id") for gid, c in zip(ids, source_cells, strict=True) if gid}
            grades = {c.name: c.max_score for c in notebook.grade_cells}
            tasks = {c.name: c.max_score for c in notebook.task_cells}
            solutions = {c.name for c in notebook.solution_cells}
            cells[notebook.name] = {
                c.name: ReferenceCell(c.name, c.cell_type, c.source, c.checksum, bool(c.locked), c.name in grades,
                                      c.name in solutions, grades.get(c.name, tasks.get(c.name)),
                                      order.get(c.name, len(order)), cell_ids.get(c.name), c.name in tasks)
                for c in notebook.source_cells
            }
    return cells


def reference_metadata(ref: ReferenceCell) -> dict:
    """The nbgrader metadata ``generate_assignment`` gave the cell ``ref``."""
    meta = {"grade": ref.grade, "grade_id": ref.grade_id, "locked": ref.locked, "schema_version": 3,
            "solution": ref.solution}
    if ref.grade or ref.task:
        meta["points"] = ref.points
    if ref.task:
        meta["task"] = True
    if ref.checksum:
        meta["checksum"] = ref.checksum
    return meta


def rebuild_cell(ref: ReferenceCell):
    """A notebook cell carrying ``ref``'s source and nbgrader metadata (for a deleted cell)."""
    make = nbformat.v4.new_code_cell if ref.cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = make(ref.source)
    cell.metadata["nbgrader"] = reference_metadata(ref)
    return cell


GRADING_KEYS = ("grade", "grade_id", "locked", "solution", "points", "task")


def restore_metadata(nb, refs: dict[str, ReferenceCell]) -> list[str]:
    """Put back the gradebook's nbgrader metadata where a student edited it (``grade``,
    ``points``, ``locked``, ``solution``, ``grade_id``, or removed it); return what was found.

    A cell is matched to its reference by grade_id; a cell whose grade_id is unknown or gone
    is matched by its nbformat id, else by its source (read-only cells), and only to a
    reference that no other cell of the notebook carries."""
    notes = []
    present = {grade_id(c) for c in nb.cells}
    by_cell_id = {r.cell_id: r for r in refs.values() if r.cell_id}
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        ref = refs.get(grade_id(cell) or "")
        if ref is None:
            candidate = by_cell_id.get(cell.get("id"))
            if candidate is None and cell.cell_type == "code":
                candidate = next((r for r in refs.values() if not r.solution and r.grade_id not in present
                                  and cell.source.strip() in {r.source.strip(), released_source(r).strip()}), None)
            if candidate is None or candidate.grade_id in present or candidate.cell_type != cell.cell_type:
                continue
            ref = candidate
            present.add(ref.grade_id)
            was = f"grade_id {grade_id(cell)!r}" if meta else "no nbgrader metadata"
            notes.append(f"cell {ref.grade_id!r} (cell {index + 1}) had {was}: its metadata was restored")
        else:
            want = reference_metadata(ref)
            changed = [k for k in GRADING_KEYS if k != "grade_id" and bool(meta.get(k)) != bool(want.get(k))
                       or k == "points" and (ref.grade or ref.task) and meta.get(k) != want.get(k)]
            if not changed:
                continue
            notes.append(f"cell {ref.grade_id!r}: its nbgrader metadata was edited "
                         f"({', '.join(f'{k} {meta.get(k)!r}' for k in changed)}): restored")
        cell.metadata["nbgrader"] = {**(meta or {}), **reference_metadata(ref)}
        if not ref.task:
            cell.metadata["nbgrader"].pop("task", None)
    return notes


def released_cell(ref: ReferenceCell) -> tuple[object, bool]:
    """``ref``'s cell as students got it (hidden tests and mark scheme cut out, as
    ``generate_assignment`` does), and whether anything was cut."""
    cell = rebuild_cell(ref)
    return cell, grading.cut_for_students(cell)


def released_source(ref: ReferenceCell) -> str:
    """``ref``'s source as students got it."""
    return released_cell(ref)[0].source


def released_checksums(ref: ReferenceCell) -> set[str | None]:
    """Checksums a read-only cell may have when untouched: the gradebook's (hidden tests and
    mark scheme in), and the released one's (cut out, as ``generate_assignment`` does)."""
    from nbgrader.utils import compute_checksum

    cell, cut = released_cell(ref)
    return {ref.checksum, compute_checksum(cell)} if cut else {ref.checksum}


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def repair(nb, refs: dict[str, ReferenceCell]) -> list[str]:
    """Find and undo tampering in ``nb`` (in place); return what was found, one line each."""
    from nbgrader.utils import compute_checksum

    notes = restore_metadata(nb, refs)
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
    renamed = ""
    for name in sorted(refs):
        rel = f"{name}.ipynb"
        if rel not in files:
            found = sorted(f for f in files if f.endswith(".ipynb") and ".ipynb_checkpoints" not in f)
            if len(refs) == 1 and len(found) == 1 and "/" not in found[0]:
                # the folder's only notebook, renamed (Bob_final.ipynb): graded, and said so
                files[rel] = files.pop(found[0])
                renamed = f"graded {found[0]} as {rel} (the folder's only notebook, renamed)"
            else:
                return files, sandbox.MISSING, f"no {rel} in the submission (found: {found or 'no notebook'})"
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
        return files, sandbox.TAMPERED, "; ".join(([renamed] if renamed else []) + notes)
    if renamed:
        return files, sandbox.RENAMED, renamed
    return files, sandbox.GRADED, ""


def course_cells(course: Course, assignment: str) -> dict[str, set[str]]:
    """Notebook name -> sources of the course's own code cells (no nbgrader metadata) in the
    source notebook: a submitted cell equal to one of them is the course's code, not read."""
    cells = {}
    for path in sorted((course.source / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells[path.stem] = {c.source.strip() for c in nb.cells if c.cell_type == "code" and "nbgrader" not in c.metadata}
    return cells


def flag_code(files: dict[str, bytes], refs: dict[str, dict[str, ReferenceCell]],
              course_code: dict[str, set[str]] | None = None) -> list[str]:
    """What a static read of the student's cells finds (see :mod:`codescan`), one line each,
    prefixed with the notebook's name. Read-only cells (restored by nbgrader) are skipped;
    cells equal to the course's own code only contribute their imports."""
    flags = []
    for name in sorted(refs):
        data = files.get(f"{name}.ipynb")
        if data is None:
            continue
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception:  # noqa: BLE001 - a corrupt notebook is reported by inspect()
            continue
        known = (course_code or {}).get(name, set())
        cells = []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            ref = refs[name].get(grade_id(cell) or "")
            if ref is not None and not ref.solution:
                continue  # read-only: nbgrader puts the gradebook's source back
            if ref is not None:
                cells.append((ref.grade_id, cell.source, codescan.ANSWER))
            elif cell.source.strip() in known:
                cells.append((f"cell {index + 1}", cell.source, codescan.COURSE))
            else:
                cells.append((f"cell {index + 1}", cell.source, codescan.STUDENT))
        flags += [f"{name}.ipynb {flag}" for flag in codescan.read_cells(cells)]
    return flags
