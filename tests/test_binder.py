"""Binder, checked: build the environment the way repo2docker does from binder/ and run a
chapter in it.

repo2docker (Python buildpack) creates an environment with runtime.txt's Python, installs
binder/requirements.txt, installs apt.txt's packages, copies the repository and runs postBuild
from its root. Here: a fresh virtualenv with this Python (checked against runtime.txt), the same
pip install, apt.txt's packages checked present (`.ci/run` installs them), postBuild run with the
virtualenv first on PATH, then a solution notebook executed with that environment's kernel
(nbclient, as nbval does) from a copy of the repository.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SECONDS = 270  # a clean-clone run (the longest-first schedule, tests/conftest.py)
pytestmark = pytest.mark.skipif(os.environ.get("SKIP_BINDER_CHECK") == "1", reason="SKIP_BINDER_CHECK=1")


def test_binder_environment_builds_and_runs_chapter_01(repo, tmp_path):
    runtime = (repo / "binder" / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", runtime
    for package in (repo / "binder" / "apt.txt").read_text().split():
        status = subprocess.run(["dpkg", "-s", package], capture_output=True, text=True)
        assert status.returncode == 0, f"apt.txt lists {package}, which is not installed (apt-get install {package})"

    checkout = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(repo), str(checkout)], check=True)
    for folder in ("autograder", "solutions", "binder"):  # the working tree, committed or not
        shutil.rmtree(checkout / folder)
        shutil.copytree(repo / folder, checkout / folder)
    env_dir = tmp_path / "binder-env"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(env_dir)}
    env.pop("PYTHONPATH", None)
    install = subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
                             cwd=checkout, env=env, capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    post = subprocess.run(["bash", "binder/postBuild"], cwd=checkout, env=env, capture_output=True, text=True)
    assert post.returncode == 0, post.stdout[-2000:] + post.stderr[-2000:]

    run = subprocess.run(
        [str(python), "-c",
         "import nbformat, sys; from nbclient import NotebookClient;"
         "nb = nbformat.read(sys.argv[1], as_version=4);"
         "NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': 'solutions/01_tensors'}}).execute();"
         "print('executed', sum(c.cell_type == 'code' for c in nb.cells), 'code cells')",
         "solutions/01_tensors/01_tensors.ipynb"],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "executed" in run.stdout
    # The student tools are on, the instructor's formgrader off (postBuild).
    labext = subprocess.run([str(env_dir / "bin" / "jupyter"), "labextension", "list"], env=env, capture_output=True, text=True)
    assert "@jupyter/nbgrader:formgrader" in labext.stdout + labext.stderr
    imported = subprocess.run([str(python), "-c", "import autograder, pathlib; print(pathlib.Path(autograder.__file__).parent.parent)"],
                              cwd=tmp_path, env=env, capture_output=True, text=True)
    assert Path(imported.stdout.strip()) == checkout
