"""python -m autograder: help, clear errors, doctor."""

import subprocess
import sys


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_lists_every_command():
    out = run("--help")
    assert out.returncode == 0
    for command in ("release", "grade", "demo", "doctor"):
        assert command in out.stdout


def test_no_command_is_a_usage_error():
    out = run()
    assert out.returncode == 2 and "required" in out.stderr


def test_unknown_chapter_is_a_clear_error(tmp_path):
    out = run("release", "99_nothing")
    assert out.returncode == 2
    assert "unknown chapter(s) ['99_nothing']" in out.stderr and "01_tensors" in out.stderr


def test_grade_without_submissions_says_how_to_collect(tmp_path):
    (tmp_path / "solutions").mkdir()
    out = run("grade", "--root", str(tmp_path))
    assert out.returncode == 2
    assert "nothing to grade" in out.stderr and "nbgrader collect" in out.stderr


def test_doctor_reports_versions_device_and_data(tmp_path):
    out = run("doctor", cwd=tmp_path)  # works from any directory
    assert "tensorflow 2.21" in out.stdout and "device:" in out.stdout and "Fashion-MNIST" in out.stdout
    assert out.returncode in (0, 1)
    assert ("OK: nothing to fix" in out.stdout) == (out.returncode == 0)


def test_grade_autogrades_exports_csv_and_writes_feedback(tmp_path):
    from autograder.grader import grading, samples

    root = grading.make_course(tmp_path / "course_root", ["00_setup"])
    grading.submit(root, "alice", "00_setup", samples.solution_notebook("00_setup"))
    grading.submit(root, "bob", "00_setup", samples.untouched_notebook("00_setup"))
    out = run("grade", "00_setup", "--root", str(root), "--export", str(tmp_path / "grades.csv"))
    assert out.returncode == 0, out.stdout + out.stderr
    csv = (tmp_path / "grades.csv").read_text().splitlines()
    header = csv[0].split(",")
    rows = {r.split(",")[header.index("student_id")]: r.split(",") for r in csv[1:]}
    assert float(rows["alice"][header.index("score")]) == 2.0
    assert float(rows["bob"][header.index("score")]) == 0.0
    assert (root / "feedback" / "alice" / "00_setup" / "00_setup.html").is_file()
    assert "alice" in out.stdout and "grades exported" in out.stdout


def test_doctor_names_each_missing_tool_and_prints_each_line_once(monkeypatch):
    """Without Graphviz on PATH and with little disk left, the doctor says what breaks and how to
    fix it; bubblewrap is an instructor's tool, named but not a student's problem."""
    import collections
    import shutil
    from pathlib import Path

    from autograder import doctor

    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # the virtualenv only: no dot, no bwrap
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(2**30, 2**30 - 2**20, 2**20))
    lines = []
    problems = doctor.run(say=lines.append)
    assert any("Graphviz" in p for p in problems) and any("MB free" in p for p in problems)
    assert not any("bubblewrap" in p for p in problems)
    text = "\n".join(lines)
    assert "apt-get install graphviz" in text and "apt-get install bubblewrap" in text
    assert "chapter 11's pretrained source model" in text and f"{len(problems)} problem(s) found" in text
    repeated = [line for line, n in collections.Counter(lines).items() if n > 1]
    assert not repeated, repeated
    assert sum(line.strip().startswith("device:") for line in text.splitlines()) == 1


def test_doctor_reports_the_penguins_table_and_how_to_get_it(monkeypatch):
    from autograder import doctor

    lines = []
    doctor.run(say=lines.append)
    assert any("344 rows, bundled by palmerpenguins 0.1.6" in line for line in lines)
    monkeypatch.setitem(sys.modules, "palmerpenguins", None)  # not installed: import raises
    lines = []
    problems = doctor.run(say=lines.append)
    assert any("penguins table cannot be loaded" in p for p in problems)
    assert any("pip install pandas==3.1.1 palmerpenguins==0.1.6" in line for line in lines)


def _make_lab_command(makefile, as_user=None):
    """`make -n lab` with ``makefile`` in a fresh world-readable folder (as in a new clone)."""
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="make-lab-"))
    try:
        folder.chmod(0o755)
        shutil.copy(makefile, folder / "Makefile")
        for name in ("requirements.txt", "pyproject.toml"):
            (folder / name).touch()
        command = ["make", "-n", "lab"]
        if as_user is not None:  # setpriv: run make as another user (no root)
            command = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *command]
        return subprocess.run(command, capture_output=True, text=True, cwd=folder, timeout=60)
    finally:
        shutil.rmtree(folder)


def test_make_lab_passes_allow_root_only_to_root(repo):
    """JupyterLab refuses root without --allow-root (containers, WSL, cloud VMs): both Makefiles
    add it, with a line saying so, for root and only for root."""
    import os
    import shutil

    import pytest

    makefiles = [repo / "Makefile", repo / "autograder" / "grader" / "edition_files" / "Makefile"]
    for makefile in makefiles:
        out = _make_lab_command(makefile)
        assert out.returncode == 0, out.stderr
        lab = out.stdout.split("jupyter lab", 1)[1]  # the command and its continuation line
        assert ("--allow-root" in lab) == (os.geteuid() == 0), out.stdout
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("the non-root half needs root and setpriv")
    for makefile in makefiles:
        out = _make_lab_command(makefile, as_user=65534)
        assert out.returncode == 0, out.stderr
        assert "--allow-root" not in out.stdout.split("jupyter lab", 1)[1], out.stdout


def test_doctor_reports_chapter_13s_data(monkeypatch):
    from autograder import doctor

    lines = []
    doctor.run(say=lines.append)
    assert any("2284 weeks of CO2, bundled by statsmodels 0.15.0" in line for line in lines)
    assert any("3132 surnames, bundled by faker 40.63.0" in line for line in lines)
    monkeypatch.setitem(sys.modules, "faker", None)  # not installed: import raises
    for name in [m for m in sys.modules if m.startswith("faker.")]:
        monkeypatch.delitem(sys.modules, name)
    problems = doctor.run(say=[].append)
    assert any("surnames cannot be loaded: faker is missing" in p for p in problems)
