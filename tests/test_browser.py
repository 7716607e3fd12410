"""The course as a student and an instructor meet it: real JupyterLab, real Chromium.

Starts `jupyter lab` from the course environment on a free localhost port, drives Debian's
Chromium with Playwright (no browser download), opens the student notebook of chapter 01, runs
its first code cell, presses nbgrader's Validate button, opens the formgrader, and grades a
written answer there by hand, with the rubric on the page. Screenshots
are saved under pytest's temporary directory. Skipped, with the reason, when Chromium or
Playwright is missing (`.ci/run` installs both).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -r requirements.txt)")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (apt-get install chromium); browser test skipped", allow_module_level=True)

TOKEN = "course-test-token"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


GRADED = ("00_setup", "alice", "written_stderr")  # chapter, student, written answer the instructor grades


@pytest.fixture(scope="module")
def course_copy(repo, tmp_path_factory):
    """A copy of the course root (Validate saves the notebook, which must not touch the repo),
    with one autograded submission of chapter 00 whose written answer waits for a grader."""
    from autograder.grader import grading, samples

    root = tmp_path_factory.mktemp("course_root")
    shutil.copy2(repo / "nbgrader_config.py", root)
    for folder in ("course", "solutions"):
        shutil.copytree(repo / folder, root / folder)
    chapter, student, _ = GRADED
    grading.release(root, chapter)
    grading.submit(root, student, chapter, samples.solution_notebook(chapter))
    grading.autograde(root, chapter)
    return root


@pytest.fixture(scope="module")
def lab(course_copy, tmp_path_factory):
    repo = course_copy
    port = free_port()
    bin_dir = Path(sys.executable).parent
    log = tmp_path_factory.mktemp("lab") / "lab.log"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_CONFIG_DIR": str(tmp_path_factory.mktemp("jupyter_config"))}
    proc = subprocess.Popen(
        [str(bin_dir / "jupyter"), "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={repo}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=repo, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def page(lab):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def test_lab_serves_the_course_with_the_nbgrader_extension(lab):
    with urllib.request.urlopen(f"{lab}/lab?token={TOKEN}") as response:
        assert response.status == 200
    with urllib.request.urlopen(f"{lab}/lab/api/extensions?token={TOKEN}") as response:
        assert '"jupyter-nbgrader"' in response.read().decode()


def test_student_runs_a_cell_and_validates(lab, page, tmp_path):
    page.goto(f"{lab}/lab/tree/course/01_tensors/01_tensors.ipynb?token={TOKEN}")
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
    setup_cell = page.locator(".jp-CodeCell", has_text="from autograder.runtime import setup").first
    setup_cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    output = setup_cell.locator(".jp-OutputArea-output")
    output.filter(has_text="TensorFlow 2.21").wait_for(timeout=180_000)
    assert "op determinism: on | TF32: off" in output.inner_text()
    assert setup_cell.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    page.screenshot(path=str(tmp_path / "cell.png"))

    page.locator(".validate-button").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Validation Results").wait_for(timeout=180_000)
    text = dialog.inner_text()
    page.screenshot(path=str(tmp_path / "validate.png"))
    assert "NotImplementedError" in text  # the untouched student notebook fails validation
    dialog.get_by_role("button", name="Ok").click()


def test_instructor_opens_the_formgrader(lab, page, tmp_path):
    page.goto(f"{lab}/formgrader?token={TOKEN}")
    page.get_by_text("Manage Assignments").first.wait_for()
    page.get_by_text("01_tensors").first.wait_for()
    page.screenshot(path=str(tmp_path / "formgrader.png"))


def test_instructor_grades_a_written_answer_in_the_formgrader(lab, course_copy, page, tmp_path):
    """Manual grading as an instructor does it: the formgrader's page of an autograded
    submission shows the question with its rubric above the student's answer; a score typed
    into the answer's box is saved to the gradebook, and the points stop being pending."""
    from autograder.grader import grading

    chapter, student, written = GRADED
    with grading.gradebook(course_copy) as gb:
        submission_id = gb.find_submission_notebook(chapter, chapter, student).id
    assert {r["student"]: r["pending"] for r in grading.gradebook_rows(course_copy)} == {student: 2.0}
    page.goto(f"{lab}/formgrader/submissions/{submission_id}/?token={TOKEN}")
    page.get_by_text("Rubric (2 points").first.wait_for()
    assert page.get_by_text("A debugging line such as").count() >= 1  # the student's answer, below it
    box = page.locator(f"input.score#{written}")
    box.fill("1.5")
    box.press("Tab")  # the formgrader saves a score on change
    page.locator(".score-saved").first.wait_for(state="attached")
    page.screenshot(path=str(tmp_path / "manual_grading.png"))
    deadline = time.time() + 30
    while True:
        with grading.gradebook(course_copy) as gb:
            grade = gb.find_grade(written, chapter, chapter, student)
            manual = grade.manual_score
        if manual == 1.5 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert manual == 1.5
    (row,) = grading.gradebook_rows(course_copy)
    assert row["pending"] == 0.0 and row["score"] == 2.0 + 1.5

