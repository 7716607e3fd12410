"""Grading integrity with real nbgrader, kernels and bubblewrap (chapter 00, about 8 s a kernel).

* The jail: an answer cell that reaches for solutions/, the course gradebook, HOME, another
  job's folder, the grader's processes or the network finds nothing; the same cell without
  the jail (``--sandbox none``) does reach them, so the test can fail; honest submissions get
  the same grades either way, and the report says when kernels were not isolated.
* Tampering: a check patched in the kernel is put back before the test runs and flagged;
  edited nbgrader metadata is restored, not fatal; an IPython hook that prints the hidden
  tests reaches no feedback, whichever path writes it.
"""

from __future__ import annotations

import html
import os
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from autograder.grader import batch, feedback, grading, jail, samples, sandbox
from autograder.grader.sandbox import Limits

CHAPTER = "00_setup"
FULL = 2.0
LIMITS = Limits(timeout=300, cell_timeout=60, memory_mb=2500)
needs_bwrap = pytest.mark.skipif(not jail.probe()[0], reason=f"bubblewrap cannot run here: {jail.probe()[1]}")

SNOOP = '''\
import os, socket
def attempt(name, action):
    try:
        found = action()
        print("OPEN", name, repr(found)[:80])
    except Exception as err:
        print("BLOCKED", name, type(err).__name__)
attempt("solutions", lambda: open({solutions!r}).read(100))
attempt("gradebook", lambda: open({gradebook!r}, "rb").read(16))
attempt("home", lambda: open({home!r}).read())
attempt("other-job", lambda: [p for p in os.listdir("/tmp") if p.startswith("grade-") and "snoop" not in p] or 1 / 0)
def grader_processes():
    found = []
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            command = open(f"/proc/{{pid}}/cmdline", "rb").read()
        except OSError:
            continue
        if b"nbgrader" in command or b"pytest" in command:
            found.append(pid)
    return found or 1 / 0
attempt("processes", grader_processes)
attempt("network", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3).close())
'''

PATCHER = '''\
import numpy as np
import autograder.checks.environment as env_checks
env_checks.check_seeded_kernel = lambda *a, **k: None
np.allclose = lambda *a, **k: True
'''

LEAKER = '''\
get_ipython().events.register("pre_run_cell", lambda info: print("NEXT CELL:", info.raw_cell))
'''


def with_cell(nb, source: str):
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))
    first_test = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade"))
    nb.cells.insert(first_test, nbformat.v4.new_code_cell(source))
    return nb


@pytest.fixture(scope="module")
def listener():
    """A TCP server on this machine's loopback that a kernel must not reach from the jail."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.5)
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()


@pytest.fixture(scope="module")
def home_secret():
    """A file in the grader's HOME, as an SSH key or a token would be."""
    path = Path.home() / f".autograder-test-secret-{os.getpid()}"
    path.write_text("not for students")
    yield path
    path.unlink()


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    return grading.make_course(tmp_path_factory.mktemp("integrity") / "course", [CHAPTER])


def make_class(root: Path, port: int, secret: Path) -> None:
    solution = samples.solution_notebook(CHAPTER)
    grading.submit(root, "perfect", CHAPTER, solution)
    snoop = SNOOP.format(solutions=str(grading.REPO_ROOT / "solutions" / CHAPTER / f"{CHAPTER}.ipynb"),
                         gradebook=str(root / "gradebook.db"), home=str(secret), port=port)
    grading.submit(root, "snoop", CHAPTER, with_cell(solution, snoop))
    grading.submit(root, "patcher", CHAPTER, with_cell(samples.plant(solution, [samples.bug("no_seed")]), PATCHER))
    grading.submit(root, "leaker", CHAPTER, with_cell(samples.plant(solution, [samples.bug("no_seed")]), LEAKER))
    edited = nbformat.from_dict(nbformat.reads(nbformat.writes(solution), as_version=4))
    samples.find_cell(edited, "test_seeded_kernel").metadata.nbgrader["grade"] = False
    samples.find_cell(edited, "test_environment_facts").metadata.nbgrader["points"] = 50
    grading.submit(root, "metadata", CHAPTER, edited)


def grade(released: Path, dest: Path, port: int, secret: Path, isolation: str) -> dict:
    import shutil

    root = Path(shutil.copytree(released, dest))
    make_class(root, port, secret)
    result = batch.grade_assignment(root, CHAPTER, jobs=2, limits=LIMITS, isolation=isolation)
    rows = {r["student"]: r for r in result.rows}
    outputs = {}
    for student in rows:
        path = root / "autograded" / student / CHAPTER / f"{CHAPTER}.ipynb"
        nb = nbformat.read(path, as_version=4) if path.is_file() else None
        outputs[student] = "".join(o.get("text", "") for c in (nb.cells if nb else []) for o in c.get("outputs", []))
    return {"root": root, "rows": rows, "outputs": outputs,
            "summary": (result.report_dir / "summary.txt").read_text()}


def attempts(text: str) -> dict[str, str]:
    return {line.split()[1]: line.split()[0] for line in text.splitlines() if line.startswith(("OPEN ", "BLOCKED "))}


@needs_bwrap
class TestJail:
    SECONDS = 200  # a clean-clone run (the longest-first schedule, tests/conftest.py)
    @pytest.fixture(scope="class")
    def jailed(self, released, listener, home_secret, tmp_path_factory):
        return grade(released, tmp_path_factory.mktemp("bwrap") / "course", listener, home_secret, "bwrap")

    @pytest.fixture(scope="class")
    def open_kernels(self, released, listener, home_secret, tmp_path_factory):
        return grade(released, tmp_path_factory.mktemp("none") / "course", listener, home_secret, "none")

    def test_nothing_outside_the_submission_is_in_reach(self, jailed):
        got = attempts(jailed["outputs"]["snoop"])
        assert got == dict.fromkeys(("solutions", "gradebook", "home", "other-job", "processes", "network"),
                                    "BLOCKED"), jailed["outputs"]["snoop"]

    def test_without_the_jail_the_same_cell_reaches_them(self, open_kernels):
        got = attempts(open_kernels["outputs"]["snoop"])
        assert got["solutions"] == got["gradebook"] == got["home"] == got["network"] == got["processes"] == "OPEN", got
        assert "NOT ISOLATED" in open_kernels["summary"]

    def test_honest_work_grades_the_same_in_and_out_of_the_jail(self, jailed, open_kernels):
        for student in jailed["rows"]:
            assert jailed["rows"][student]["score"] == open_kernels["rows"][student]["score"], student
        assert jailed["rows"]["perfect"]["score"] == FULL and not jailed["rows"]["perfect"]["flags"]
        assert jailed["rows"]["snoop"]["score"] == FULL  # its honest part: the answers are right
        assert "jailed by bubblewrap" in jailed["summary"]

    def test_snooping_is_flagged_with_what_it_did(self, jailed):
        flags = jailed["rows"]["snoop"]["flags"]
        assert "outside the notebook's folder" in flags and "opens network sockets" in flags
        assert "snoop" in jailed["summary"].split("needs a look:")[1]

    def test_a_patched_check_is_put_back_and_flagged(self, jailed):
        row = jailed["rows"]["patcher"]
        assert row["score"] == 1.0  # the planted bug still loses the seeded-kernel cell
        assert "autograder.checks.environment.check_seeded_kernel" in row["flags"]
        assert "at run time" in row["flags"] and "numpy.allclose" in row["flags"]

    def test_edited_metadata_is_restored_not_fatal(self, jailed):
        row = jailed["rows"]["metadata"]
        assert row["status"] == sandbox.TAMPERED and row["score"] == FULL
        assert "'test_seeded_kernel'" in row["reason"] and "metadata was edited" in row["reason"]

    def test_no_feedback_path_shows_a_hidden_test(self, jailed):
        root = jailed["root"]
        hidden = feedback.hidden_lines(samples.solution_notebook(CHAPTER))
        assert hidden and "NEXT CELL" in jailed["outputs"]["leaker"]  # the hook did print the cells
        assert any(line in jailed["outputs"]["leaker"] for line in hidden)  # hidden tests among them
        batch_written = {p: html.unescape(p.read_text()) for p in (root / "feedback").rglob("*.html")}
        grading.run_nbgrader(["generate_feedback", CHAPTER, "--force"], root)  # plain nbgrader, course config
        plain = {p: html.unescape(p.read_text()) for p in (root / "feedback").rglob("*.html")}
        assert len(batch_written) == len(plain) == 5
        for pages in (batch_written, plain):
            for path, text in pages.items():
                assert "HIDDEN TESTS" not in text, path
                assert not [line for line in hidden if line in text], path
        assert feedback.REDACTED in plain[root / "feedback" / "leaker" / CHAPTER / f"{CHAPTER}.html"]
        assert all('id="toc"' in text for text in plain.values())  # the course's template, from its config alone
