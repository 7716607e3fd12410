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
