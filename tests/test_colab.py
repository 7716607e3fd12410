"""Colab, as closely as this machine allows (no Colab here, and no internet but PyPI).

A fresh virtualenv stands in for a Colab runtime: Colab's Python (3.12, from pyenv when this
machine has it; else this Python) holding only what Colab preinstalls that the course uses —
TensorFlow, Keras, NumPy, matplotlib, plotly, scikit-learn — at the course's pins, plus the
Jupyter pieces that run a notebook there (ipykernel, nbclient, nbformat). The student edition is
built into a wheel, as it would be installed from its repository. Then chapter notebooks run in
that environment with ``COURSE_PACKAGE`` pointing at the wheel: their first cell finds no
``autograder``, installs it with pip (which brings the packages Colab lacks from the wheel's
dependency ranges and leaves TensorFlow and Keras as they are), and every cell runs, tests
included.

Not tested here: Colab itself, its own package versions, and Keras's download of Fashion-MNIST
(this machine has no internet; the loader finds Debian's copy first).
"""

import glob
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.grader import edition, grading

SECONDS = 240  # a clean-clone run, downloads from PyPI included (tests/conftest.py's schedule)
PREINSTALLED = ("tensorflow", "keras", "numpy", "matplotlib", "plotly", "scikit-learn")
HARNESS = ("ipykernel", "nbclient", "nbformat")
CHAPTERS = ("00_setup", "04_regression")  # Fashion-MNIST through the loader; the penguins from a package Colab lacks

RUN = """
import nbformat, sys
from nbclient import NotebookClient
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.rsplit("/", 1)[0])}}).execute()
    print("executed", path.rsplit("/", 1)[-1], sum(c.cell_type == "code" for c in nb.cells), "code cells", flush=True)
"""


def colab_python() -> str:
    """Python 3.12 (Colab's) where pyenv has it, else the Python running the tests."""
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    return found[-1] if found else sys._base_executable


def pinned(repo: Path, names) -> list[str]:
    pins = dict(line.split("==", 1) for line in (repo / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    return [f"{name}=={pins[name].split()[0]}" for name in names]


@pytest.fixture(scope="module")
def wheel(repo, tmp_path_factory) -> Path:
    """The student edition built into a wheel (pip's build, as from its git repository)."""
    tmp = tmp_path_factory.mktemp("colab-wheel")
    source = edition.write_edition(tmp / "course-student", repo)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp / "dist"),
                            str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    (found,) = (tmp / "dist").glob("autograder-*.whl")
    return found


@pytest.fixture(scope="module")
def colab(repo, tmp_path_factory) -> dict:
    """A virtualenv with Colab's preinstalled packages the course uses, and nothing else."""
    env_dir = tmp_path_factory.mktemp("colab") / "venv"
    subprocess.run([colab_python(), "-m", "venv", str(env_dir)], check=True)
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(env_dir)}
    for name in ("PYTHONPATH", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR"):
        env.pop(name, None)
    python = str(env_dir / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", *pinned(repo, PREINSTALLED + HARNESS)],
                             env=env, capture_output=True, text=True, timeout=1500)
    assert install.returncode == 0, install.stderr[-3000:]
    return {"python": python, "env": env}


def pip_versions(colab) -> dict[str, str]:
    listed = subprocess.run([colab["python"], "-m", "pip", "list", "--format=freeze"], env=colab["env"],
                            capture_output=True, text=True, check=True).stdout
    return dict(line.lower().split("==", 1) for line in listed.splitlines() if "==" in line)


def test_the_wheel_is_the_kernel_side(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "autograder/checks/activations.py" in names and "autograder/data.py" in names
    assert not [n for n in names if n.startswith("autograder/grader/")], "the grader wing is not the students'"
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:")]
    assert any("tensorflow>=" in line for line in requires), requires
    assert not any("==" in line for line in requires), "ranges, not pins: Colab's TensorFlow must stay"


def test_the_first_cell_installs_the_package_and_the_chapters_run(colab, wheel, repo, tmp_path):
    before = pip_versions(colab)
    assert "autograder" not in before and "tensorflow" in before and "pandas" not in before
    notebooks = []
    for chapter in CHAPTERS:  # the solution: the student's notebook with the answers filled in
        folder = tmp_path / chapter
        shutil.copytree(repo / grading.SOLUTIONS / chapter, folder)
        notebooks.append(str(folder / f"{chapter}.ipynb"))
    env = {**colab["env"], "COURSE_PACKAGE": str(wheel)}
    run = subprocess.run([colab["python"], "-c", RUN, *notebooks], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert run.stdout.count("executed") == len(CHAPTERS), run.stdout
    after = pip_versions(colab)
    assert after["autograder"] == "0.1.0" and "pandas" in after and "palmerpenguins" in after
    for name in PREINSTALLED:  # pip kept what Colab had
        assert after[name] == before[name], (name, before[name], after[name])
    shown = subprocess.run([colab["python"], "-c", "import autograder; print(autograder.__file__)"], env=colab["env"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert "site-packages" in shown.stdout, shown.stdout + shown.stderr


def test_every_chapter_opens_with_the_install_cell_and_a_colab_badge(repo):
    import nbformat

    first_cells = set()
    for chapter in grading.chapters(repo):
        for folder in (grading.SOLUTIONS, grading.RELEASE):
            nb = nbformat.read(grading.notebook_path(repo, folder, chapter), as_version=4)
            assert f"({edition.colab_url(chapter)})" in nb.cells[0].source, f"{folder}/{chapter}: no Colab badge"
            assert "Validate" in nb.cells[0].source and "Download .ipynb" in nb.cells[0].source
            first_cells.add(next(c.source for c in nb.cells if c.cell_type == "code"))
    (cell,) = first_cells  # the same cell everywhere
    assert f"git+https://github.com/{edition.PUBLIC_REPO}" in cell and "COURSE_PACKAGE" in cell
    assert cell.index("import autograder") < cell.index("pip") < cell.index("from autograder.runtime import setup")


def test_the_student_readme_lists_every_chapter_with_its_colab_badge(repo, tmp_path):
    written = edition.write_edition(tmp_path / "course-student", repo)
    readme = (written / "README.md").read_text()
    assert edition.CHAPTERS_MARK not in readme
    for chapter in grading.chapters(repo):
        assert edition.colab_url(chapter) in readme, chapter
