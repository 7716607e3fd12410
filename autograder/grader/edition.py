"""The student edition: the tree students clone, open on Binder or run with ``make lab``.

It holds what a student needs and nothing an instructor keeps: the released notebooks
(``course/``), the kernel side of the package (``autograder/`` without ``autograder/grader``),
its own Binder set-up, a JupyterLab configuration without the instructor menus, a student
README and Makefile, and the student guide. Never ``solutions/``, a hidden test, the grader
wing, the planted bugs or the tests. :func:`leaks` proves it line by line against
``solutions/``; the test suite calls it on a freshly written edition.

    python -m autograder student-edition DIR     # or: make student-edition DIR=...
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder.grader import grading

# Instructor tools in requirements.txt that students do not need.
INSTRUCTOR_ONLY = ("dask", "distributed", "pytest", "pytest-xdist", "playwright", "ruff", "nbval")
# nbgrader's JupyterLab plugins and server extensions that only instructors use.
HIDDEN_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list")
HIDDEN_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
TEMPLATES = Path(__file__).with_name("edition_files")
# Where the student edition is published: the Binder and Colab badges and the notebooks' first
# cell (which installs the package from it on Colab) name it.
PUBLIC_REPO = "dl-keras3/course-student"
CHAPTERS_MARK = "<!-- chapters -->"  # the student README's line that the chapter table replaces
MIN_LINE = 16  # shorter solution lines ("return x", "axis=-1)") are too common to call a leak


def student_requirements(text: str) -> str:
    keep = [line for line in text.splitlines()
            if line.split("==")[0].strip().lower() not in INSTRUCTOR_ONLY]
    return "\n".join(keep) + "\n"


def colab_url(chapter: str) -> str:
    """The address that opens ``course/CHAPTER/CHAPTER.ipynb`` of the published edition on Colab."""
    return f"https://colab.research.google.com/github/{PUBLIC_REPO}/blob/main/{grading.RELEASE}/{chapter}/{chapter}.ipynb"


def chapter_title(nb) -> str:
    """The text of the notebook's first ``# `` heading ("01 · Tensors")."""
    for line in nb.cells[0].source.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise ValueError("the first cell of a chapter starts with its '# NN · Title' heading")


def chapter_table(root: Path = grading.REPO_ROOT) -> str:
    """A markdown table of the released chapters: title, the notebook, an Open-in-Colab badge."""
    rows = ["| chapter | notebook | Colab |", "|---|---|---|"]
    for chapter in grading.chapters(root):
        path = grading.notebook_path(root, grading.RELEASE, chapter)
        title = chapter_title(nbformat.read(path, as_version=4))
        rows.append(f"| {title} | [{path.name}]({grading.RELEASE}/{chapter}/{path.name}) | "
                    f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(chapter)}) |")
    return "\n".join(rows)


def _copy_package(root: Path, dest: Path) -> None:
    shutil.copytree(root / "autograder", dest / "autograder",
                    ignore=shutil.ignore_patterns("grader", "__pycache__", "*.pyc"))


def write_edition(dest: Path, root: Path = grading.REPO_ROOT, *, force: bool = False) -> Path:
    """Write the student edition of the course at ``root`` into ``dest`` (empty or absent;
    ``force`` replaces what is there). Returns ``dest``."""
    root, dest = Path(root), Path(dest)
    if dest.exists() and any(dest.iterdir()):
        if not force:
            raise FileExistsError(f"{dest} is not empty (use --force to replace it)")
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(root / grading.RELEASE, dest / grading.RELEASE,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    _copy_package(root, dest)
    for name in ("pyproject.toml",):
        shutil.copy2(root / name, dest / name)
    (dest / "requirements.txt").write_text(student_requirements((root / "requirements.txt").read_text()))
    shutil.copytree(root / "binder", dest / "binder")
    (dest / "binder" / "requirements.txt").write_text(
        student_requirements((root / "binder" / "requirements.txt").read_text()))
    (dest / "docs").mkdir()
    for guide in ("student.md", "tolerances.md"):  # the checks' docstrings cite docs/tolerances.md
        shutil.copy2(root / "docs" / guide, dest / "docs" / guide)
    for template in sorted(TEMPLATES.rglob("*")):
        if template.is_file():
            target = dest / template.relative_to(TEMPLATES)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = template.read_text()
            target.write_text(text.replace(CHAPTERS_MARK, chapter_table(root)) if template.name == "README.md" else text)
    (dest / ".gitignore").write_text(".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n")
    return dest


MARK_SCHEME = ("=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ===")  # a written answer's rubric


def _regions(source: str, begin: str, end: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(begin):
            inside = True
        elif stripped.startswith(end):
            inside = False
        elif inside and stripped:
            lines.append(stripped)
    return lines


def secret_lines(root: Path = grading.REPO_ROOT) -> tuple[dict[str, str], dict[str, str]]:
    """The lines of ``solutions/`` students must not get, mapped to where they come from:
    (solution lines: solution regions and written answers' model answers; hidden lines: hidden
    tests and mark schemes). Only lines of at least ``MIN_LINE`` characters that are not in the
    released notebooks (whose visible code may repeat them)."""
    root = Path(root)
    released = set()
    for path in (root / grading.RELEASE).rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            released.update(line.strip() for line in cell.source.splitlines())
    solutions, hidden = {}, {}
    for path in sorted((root / grading.SOLUTIONS).rglob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            where = f"{path.relative_to(root)} {meta.get('grade_id', '')}"
            model_answer = cell.cell_type == "markdown" and meta.get("solution")  # replaced whole on release
            for kind, begin, end in ((solutions, "### BEGIN SOLUTION", "### END SOLUTION"),
                                     (hidden, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
                                     (hidden, MARK_SCHEME[0], MARK_SCHEME[1])):
                lines = _regions(cell.source, begin, end)
                if model_answer and kind is solutions:
                    lines = [line.strip() for line in cell.source.splitlines() if line.strip()]
                for line in lines:
                    if len(line) >= MIN_LINE and line not in released:
                        kind.setdefault(line, where)
    return solutions, hidden


def _text_files(edition: Path):
    for path in sorted(p for p in edition.rglob("*") if p.is_file()):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        yield path.relative_to(edition), text, {line.strip() for line in text.replace("\\n", "\n").splitlines()}


MARKERS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "BEGIN MARK SCHEME")  # nbgrader's regions


def secrets_in(name, text: str, solutions: dict[str, str], hidden: dict[str, str], *,
               solution_lines: bool = True) -> list[str]:
    """What of :func:`secret_lines` the text ``text`` (of the file ``name``) holds, line by
    line: nbgrader's region markers, hidden-test lines and (``solution_lines``) solution lines."""
    lines = {line.strip() for line in text.splitlines()}
    found = [f"{name}: holds {marker!r}" for marker in MARKERS if marker in text]
    found += [f"{name}: hidden-test line from {hidden[line]}: {line}" for line in sorted(lines & hidden.keys())]
    if solution_lines:
        found += [f"{name}: solution line from {solutions[line]}: {line}" for line in sorted(lines & solutions.keys())]
    return found


def is_reference_code(rel: Path) -> bool:
    """The checks compute their references with Keras (the grading contract), so where an
    exercise is "call Keras like this" a check's reference may share a line with the solution."""
    return rel.parts[:2] == ("autograder", "checks") and rel.suffix == ".py"


def leaks(edition: Path, root: Path = grading.REPO_ROOT) -> list[str]:
    """Where the edition at ``edition`` holds instructor material: a hidden-test line anywhere,
    a solution line outside the checks' reference code (:func:`reference_overlaps`), a planted
    bug's code, ``solutions/``, ``tests/``, the grader wing, or the markers of nbgrader's
    solution and hidden-test regions. Empty when clean."""
    from autograder.grader import samples

    edition = Path(edition)
    found = [f"{p.relative_to(edition)} exists" for p in
             (edition / "solutions", edition / "autograder" / "grader", edition / "tests") if p.exists()]
    solutions, hidden = secret_lines(root)
    bugs = {line.strip() for bug in samples.PLANTED_BUGS for line in bug.new.splitlines()
            if len(line.strip()) >= MIN_LINE and "### " not in line and line not in bug.old}
    for rel, text, lines in _text_files(edition):
        found += secrets_in(rel, text.replace("\\n", "\n"), solutions, hidden, solution_lines=not is_reference_code(rel))
        found += [f"{rel}: planted-bug line: {line}" for line in sorted(lines & (bugs - solutions.keys()))]
    return found


def reference_overlaps(edition: Path, root: Path = grading.REPO_ROOT) -> list[str]:
    """Solution lines that also stand in a check's reference code (see :func:`is_reference_code`)."""
    solutions, _ = secret_lines(root)
    return [f"{rel}: {line}" for rel, _, lines in _text_files(Path(edition)) if is_reference_code(rel)
            for line in sorted(lines & solutions.keys())]
