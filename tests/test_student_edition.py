"""The student edition (python -m autograder student-edition DIR): no solution, hidden test
or planted bug in it, the grader wing absent, and a chapter runs from it."""

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.grader import edition, grading


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    dest = tmp_path_factory.mktemp("edition") / "course-student"
    run = subprocess.run([sys.executable, "-m", "autograder", "student-edition", str(dest)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return dest


def test_it_holds_the_course_and_the_kernel_side_only(written, repo):
    assert sorted(p.name for p in (written / "course").iterdir()) == grading.chapters(repo)
    assert (written / "autograder" / "checks" / "activations.py").is_file()
    for absent in ("solutions", "tests", "autograder/grader", "benchmarks", "nbgrader_config.py"):
        assert not (written / absent).exists(), absent
    requirements = (written / "requirements.txt").read_text()
    assert "tensorflow==" in requirements and "nbgrader==" in requirements and "pytest" not in requirements
    assert "make lab" in (written / "README.md").read_text()


def test_no_solution_hidden_test_or_planted_bug_is_in_it(written, repo):
    assert edition.leaks(written, repo) == []


def test_the_leak_scan_finds_a_planted_leak(written, repo, tmp_path):
    solutions, hidden = edition.secret_lines(repo)
    assert len(solutions) > 100 and len(hidden) > 30
    leaked = tmp_path / "leaky"
    edition.write_edition(leaked, repo)
    (leaked / "course" / "notes.py").write_text(next(iter(hidden)) + "\n" + next(iter(solutions)) + "\n")
    found = edition.leaks(leaked, repo)
    assert any("hidden-test line" in f for f in found) and any("solution line" in f for f in found)


def test_its_command_line_has_no_instructor_verbs(written):
    # The edition's own package, without this repository's editable install (which a student
    # does not have: its finder would supply autograder.grader from here).
    script = ("import runpy, sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
              "sys.argv = ['autograder', '--help']; runpy.run_module('autograder', run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=written, timeout=120)
    assert out.returncode == 0 and "doctor" in out.stdout
    assert "grade" not in out.stdout.split("positional arguments")[-1].split("options")[0]


def test_a_chapter_runs_from_it(written):
    """Chapter 00 from the edition, importing the edition's package: the course cells run, and
    what fails is only the unanswered exercises (NotImplementedError), never an import."""
    path = written / "course" / "00_setup" / "00_setup.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell("import autograder\nprint('PACKAGE', autograder.__file__)"))
    os.environ["PYTHONPATH"] = str(written)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        del os.environ["PYTHONPATH"]
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert f"PACKAGE {written}" in printed
    errors = [(c, o) for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors, "the untouched answers should raise NotImplementedError"
    assert {o.ename for _, o in errors} == {"NotImplementedError"}, [(o.ename, o.evalue) for _, o in errors]
