"""Grading soundness with real nbgrader, per chapter, in a temporary course directory.

For every chapter the batch grader (``batch.grade_assignment``: real ``nbgrader autograde`` per
submission, each kernel forked warm in the bubblewrap jail where it runs, as an instructor's
``python -m autograder grade`` grades) grades these students:

* ``perfect``   — the solution notebook: full marks on every graded cell, and no cell raising
  (what ``pytest --nbval-lax`` checks, asserted on this very execution: each solution runs
  once per suite, not once for nbval and again for nbgrader);
* ``untouched`` — the released student notebook: 0 on every graded cell;
* ``bugs_<n>``  — the solution with planted bugs in different test cells: each bug loses
  exactly its test cell's points (and the cells its docstring says build on it). The chapter's
  bugs go into as few submissions as their cells allow (`bug_groups`), so that a notebook that
  trains models runs once per group, not once per bug;
* *tampered* — one bug group also has every test cell replaced by a passing print: nbgrader
  restores the test cells from the gradebook by checksum, so it scores what its bugs deserve;
* *noisy* — the first bug group that leaves the cells concerned at full marks also writes
  TensorFlow-style log lines to stderr from inside a graded call (the library-log filter,
  autograder/grader/stderr.py, keeps the marks nbgrader would otherwise take away) and, from
  another answer, the student's own stderr line (that test cell scores 0, as nbgrader rules,
  with a note saying why). Without such a group they get a submission of their own.

Roles share a submission because each is proven cell by cell against expected scores that
account for all of them; the class's assertions name the student and its bugs on failure.
Each chapter is a class, so pytest-xdist (--dist loadscope) grades chapters in parallel, the
longest first (``SECONDS``, see tests/conftest.py).
"""

import copy
import subprocess
import sys
from dataclasses import dataclass, field

import nbformat
import pytest

from autograder.grader import batch, book, grading, samples, sandbox

TF_LOG = (
    "import sys\n"
    "sys.stderr.write('2026-11-22 09:00:00.123456: W tensorflow/core/framework/op_kernel.cc:1: "
    "some warning\\n')\n"
    "sys.stderr.write('I0000 00:00:1795338298.576500    3517 port.cc:153] oneDNN custom operations are on.\\n')\n"
)
DEBUG_LINE = "import sys\nsys.stderr.write('my debug output\\n')"
BEGIN = "### BEGIN SOLUTION"


def noisy(nb, cell_id, code=TF_LOG, after=BEGIN):
    """A copy of ``nb`` whose answer ``cell_id`` runs ``code`` (writing to stderr) in the body
    that follows the line holding ``after`` (default: the answer's first line, a function body;
    for a class, the ``def`` line of a method), indented as that body is."""
    nb = samples.plant(nb, [])
    cell = samples.find_cell(nb, cell_id)
    lines = cell.source.split("\n")
    at = next(i for i, line in enumerate(lines) if after in line)
    body = next(line for line in lines[at + 1:] if line.strip())
    indent = body[: len(body) - len(body.lstrip())]
    lines[at + 1:at + 1] = [indent + line for line in code.splitlines()]
    cell.source = "\n".join(lines)
    return nb


def bug_groups(bugs):
    """Bugs in groups that each touch every test cell at most once (greedy, in order)."""
    groups = []
    for planted in bugs:
        cells = {planted.fails, *planted.cascades}
        for group in groups:
            if not cells & {c for b in group for c in (b.fails, *b.cascades)}:
                group.append(planted)
                break
        else:
            groups.append([planted])
    return groups


# Other test cells whose check calls an answer (a threshold check trains with the student's
# functions): the student's stderr line in that answer zeros them too, by the same nbgrader rule.
CALLERS = {
    "fine_tune": ("test_transfer_accuracy",),
    "transfer_model": ("test_transfer_accuracy",),
    "early_stopper": ("test_early_stopping", "test_early_stopping_restore"),
}


@dataclass
class Student:
    """A submission, the score per graded cell it must get, and what it proves."""

    notebook: object
    expected: dict
    bugs: list = field(default_factory=list)
    roles: set = field(default_factory=set)


def chapter_students(chapter, noisy_cell, debug):
    """The chapter's submissions (see the module doc), by student id."""
    solution = samples.solution_notebook(chapter)
    debug_cell, debug_test, *anchor = debug
    students = {
        "perfect": Student(*samples.perfect_student(chapter), roles={"perfect"}),
        "untouched": Student(*samples.untouched_student(chapter), roles={"untouched"}),
    }
    groups = [Student(*samples.buggy_student(chapter, group), bugs=group) for group in bug_groups(samples.bugs_for(chapter))]
    quiet = (f"test_{noisy_cell}", debug_test)  # full marks but for the stderr, to show both rules
    hosts = [s for s in groups if all(s.expected[cell] for cell in quiet)]
    noisy_host = hosts[0] if hosts else Student(solution, samples.expected_scores(solution, []))
    noisy_host.notebook = noisy(noisy(noisy_host.notebook, noisy_cell), debug_cell, DEBUG_LINE, *anchor)
    noisy_host.expected = {**noisy_host.expected, **dict.fromkeys((debug_test, *CALLERS.get(debug_cell, ())), 0.0)}
    noisy_host.roles.add("noisy")
    groups[0].notebook = samples.tamper_tests(groups[0].notebook)
    groups[0].roles.add("tampered")
    if not hosts:
        groups.append(noisy_host)
    for i, student in enumerate(groups):
        students["_".join([f"bugs_{i}" if student.bugs else "solution", *sorted(student.roles)])] = student
    return students


def with_role(students, role):
    """The id of the student that plays ``role``."""
    return next(name for name, student in students.items() if role in student.roles)


def grade_chapter(tmp_path_factory, chapter, noisy_cell, debug, pretrain=False):
    """Submit and grade the chapter's students with the batch grader, one worker; return
    (course root, students, scores got, the batch's rows)."""
    root = tmp_path_factory.mktemp(chapter)
    grading.make_course(root, [chapter])
    students = chapter_students(chapter, noisy_cell, debug)
    for name, student in students.items():
        grading.submit(root, name, chapter, student.notebook)
    if pretrain:  # as an instructor does once per machine: jailed kernels read the cached model
        subprocess.run([sys.executable, "-m", "autograder", "pretrain"], check=True, capture_output=True)
    rows = batch.grade_assignment(root, chapter, jobs=1, feedback=False).rows
    got = {s: {g: c.score for g, c in grading.cell_scores(root, chapter, s).items()} for s in students}
    return root, students, got, rows


def autograded(root, student, chapter):
    return samples.read_notebook(grading.notebook_path(root / "autograded", student, chapter))


class SoundnessSuite:
    """The whole proof for one chapter, from one `nbgrader autograde` run."""

    chapter = ""
    noisy_cell = ""  # an answer whose function writes library log lines when called
    debug = ("", "")  # (answer cell, its test cell[, the line after which its code runs])
    pretrain = False  # the chapter reads chapter 11's cached source model
    SECONDS = 0  # the class's setup in a clean-clone run's --durations, for the longest-first
                 # schedule (tests/conftest.py)

    @pytest.fixture(scope="class")
    def graded(self, tmp_path_factory):
        return grade_chapter(tmp_path_factory, self.chapter, self.noisy_cell, self.debug, self.pretrain)

    def test_every_submission_ran_to_its_end(self, graded):
        """No kernel died, timed out or ran out of memory: the scores below are the notebooks'."""
        _, students, _, rows = graded
        statuses = {r["student"]: r["status"] for r in rows}
        tampered = with_role(students, "tampered")
        assert statuses == {s: sandbox.TAMPERED if s == tampered else sandbox.GRADED for s in students}, rows

    def test_solution_scores_full_marks(self, graded):
        _, students, got, _ = graded
        assert got["perfect"] == students["perfect"].expected
        written = samples.manual_cells(samples.solution_notebook(self.chapter))
        assert all(score > 0 for cell, score in got["perfect"].items() if cell not in written)

    def test_every_solution_cell_runs_without_error(self, graded):
        """nbval's lax rule (every cell runs, none raises), on the perfect student's execution."""
        root, _, _, _ = graded
        cells = [c for c in autograded(root, "perfect", self.chapter).cells if c.cell_type == "code"]
        assert cells and all(c.execution_count for c in cells if c.source.strip())
        raised = [(c.execution_count, o.get("ename")) for c in cells for o in c.outputs if o.output_type == "error"]
        assert not raised, f"cells that raised (execution count, error): {raised}"

    def test_the_perfect_run_is_the_books_run(self, graded, repo, book_cache):
        """The web book shows the course's cells with the outputs of a run of the solution; this
        run is that run (tests/test_book.py renders the pages from it): it lines up cell by cell
        with the released notebook, and its course cells have outputs."""
        root, _, _, _ = graded
        ran = autograded(root, "perfect", self.chapter)
        released = samples.read_notebook(grading.notebook_path(repo, grading.RELEASE, self.chapter))
        page = book.page_notebook(released, copy.deepcopy(ran))
        assert sum(bool(c.outputs) for c in page.cells if c.cell_type == "code") >= 3
        target = book_cache / f"{self.chapter}-{book.digest(self.chapter, repo)}.ipynb"
        nbformat.write(ran, target.with_suffix(".part"))
        target.with_suffix(".part").replace(target)

    def test_untouched_notebook_scores_zero_everywhere(self, graded):
        _, _, got, _ = graded
        assert got["untouched"] and set(got["untouched"].values()) == {0.0}

    def test_each_planted_bug_loses_exactly_its_cell(self, graded):
        _, students, got, _ = graded
        planted = [(name, s) for name, s in students.items() if s.bugs]
        assert sum(len(s.bugs) for _, s in planted) == len(samples.bugs_for(self.chapter))
        for name, student in planted:
            why = f"{name}: " + ", ".join(f"{b.name} ({b.why})" for b in student.bugs)
            assert got[name] == student.expected, why
            assert all(got[name][b.fails] == 0.0 for b in student.bugs), why

    def test_every_exercise_has_a_planted_bug(self, graded):
        _, _, got, _ = graded
        written = samples.manual_cells(samples.solution_notebook(self.chapter))
        assert {b.fails for b in samples.bugs_for(self.chapter)} == set(got["perfect"]) - set(written)

    def test_written_answers_wait_for_a_grader_with_the_rubric_in_view(self, graded):
        """A written answer is neither passed nor failed by the autograder: an answered one waits
        for a grader (whatever the rest of the notebook did, tampering included), an unchanged one
        scores 0; its points cannot be raised by the student; the formgrader's copy of the
        question holds the rubric, even where the student rewrote the question."""
        root, students, _, _ = graded
        written = samples.manual_cells(samples.solution_notebook(self.chapter))
        assert written
        for student in students:
            scores = grading.cell_scores(root, self.chapter, student)
            for cell, points in written.items():
                score = scores[cell]
                assert score.max_score == points, (student, score)
                if student == "untouched":
                    assert (score.score, score.needs_manual_grade) == (0.0, False), score
                else:
                    assert score.score is None and score.needs_manual_grade, (student, score)
        for student in ("perfect", with_role(students, "tampered")):
            graded_nb = autograded(root, student, self.chapter)
            for cell in written:
                question = samples.find_cell(graded_nb, f"{cell}_question").source
                assert "=== BEGIN MARK SCHEME ===" in question and "**1 point:**" in question, student
                assert "edited by the student" not in question

    def test_edited_test_cells_are_restored(self, graded):
        root, students, got, _ = graded
        student = with_role(students, "tampered")
        assert got[student] == students[student].expected
        graded_nb = autograded(root, student, self.chapter)
        for cell_id in students[student].expected:
            assert "edited by the student" not in samples.find_cell(graded_nb, cell_id).source

    def test_library_log_lines_on_stderr_do_not_cost_points(self, graded):
        root, students, got, _ = graded
        student = with_role(students, "noisy")
        assert got[student] == students[student].expected
        assert got[student][f"test_{self.noisy_cell}"] > 0
        graded_nb = autograded(root, student, self.chapter)
        stderr = [o for c in graded_nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
        assert not any("oneDNN" in o["text"] for o in stderr)
        assert any("some warning" in c.source for c in graded_nb.cells), "the log lines were planted"

    def test_other_stderr_output_still_scores_zero(self, graded):
        # nbgrader's own rule, kept: the filter above is specific to library log lines.
        root, students, got, _ = graded
        student, test = with_role(students, "noisy"), self.debug[1]
        assert got[student] == students[student].expected
        assert got[student][test] == 0.0
        outputs = samples.find_cell(autograded(root, student, self.chapter), test).outputs
        assert any("my debug output" in o.get("text", "") for o in outputs)  # the student sees it
        assert any("scores 0 because something was written to stderr" in o.get("text", "") for o in outputs)


class TestChapter00(SoundnessSuite):
    chapter = "00_setup"
    noisy_cell = "environment_facts"
    debug = ("seeded_kernel", "test_seeded_kernel")
    SECONDS = 64


class TestChapter01(SoundnessSuite):
    chapter = "01_tensors"
    noisy_cell = "one_hot"
    debug = ("stable_softmax", "test_stable_softmax")
    SECONDS = 68


class TestChapter02(SoundnessSuite):
    chapter = "02_activations"
    noisy_cell = "softmax"
    debug = ("gelu", "test_gelu")
    SECONDS = 162


class TestChapter03(SoundnessSuite):
    chapter = "03_optimizers"
    noisy_cell = "schedules"
    debug = ("focal", "test_focal")
    SECONDS = 155


class TestChapter04(SoundnessSuite):
    chapter = "04_regression"
    noisy_cell = "normalization"
    debug = ("lookup", "test_lookup")
    SECONDS = 260


class TestChapter05(SoundnessSuite):
    chapter = "05_classification"
    noisy_cell = "decision_grid"
    debug = ("classifier", "test_classifier")
    SECONDS = 200


class TestChapter06(SoundnessSuite):
    chapter = "06_regularization"
    noisy_cell = "penalty_grads"
    debug = ("regularized_model", "test_regularized_model")
    SECONDS = 188


class TestChapter07(SoundnessSuite):
    chapter = "07_convolutions"
    noisy_cell = "conv_output_size"
    debug = ("cnn", "test_cnn")
    SECONDS = 325  # 176 s in 8b0db51's run, on a machine ~1.85x as fast as the one that measured the others


class TestChapter08(SoundnessSuite):
    chapter = "08_data_augmentation"
    noisy_cell = "augmenter"
    debug = ("augmented_model", "test_augmented_model")
    SECONDS = 256


class TestChapter09(SoundnessSuite):
    chapter = "09_model_apis"
    noisy_cell = "sequential"
    debug = ("functional", "test_functional")
    SECONDS = 111


class TestChapter10(SoundnessSuite):
    chapter = "10_callbacks"
    noisy_cell = "checkpoint"
    debug = ("early_stopper", "test_callbacks_in_fit", "def on_epoch_end(self, epoch, logs=None):")
    SECONDS = 369


class TestChapter11(SoundnessSuite):
    chapter = "11_transfer_learning"
    noisy_cell = "extract_features"
    debug = ("transfer_model", "test_transfer_model")
    pretrain = True
    SECONDS = 351


class TestChapter12(SoundnessSuite):
    chapter = "12_mixed_precision"
    noisy_cell = "scaled_gradients"
    debug = ("mixed_model", "test_mixed_model")
    SECONDS = 118


class TestChapter13(SoundnessSuite):
    chapter = "13_sequences"
    noisy_cell = "windows"
    debug = ("forecaster", "test_forecaster")
    SECONDS = 390  # 211 s in 8b0db51's run, on a machine ~1.85x as fast as the one that measured the others


def test_every_chapter_has_a_soundness_suite():
    assert {cls.chapter for cls in SoundnessSuite.__subclasses__()} == set(grading.chapters())


def test_each_chapters_submissions_carry_every_bug_and_every_role_once():
    for cls in SoundnessSuite.__subclasses__():
        students = chapter_students(cls.chapter, cls.noisy_cell, cls.debug)
        planted = sorted(b.name for s in students.values() for b in s.bugs)
        assert planted == sorted(b.name for b in samples.bugs_for(cls.chapter)), cls.chapter
        roles = sorted(r for s in students.values() for r in s.roles)
        assert roles == ["noisy", "perfect", "tampered", "untouched"], cls.chapter
        noisy_nb = students[with_role(students, "noisy")].notebook
        assert "my debug output" in samples.find_cell(noisy_nb, cls.debug[0]).source, cls.chapter


def test_planted_bugs_apply_to_the_current_solutions():
    for chapter in grading.chapters():
        solution = samples.solution_notebook(chapter)
        samples.plant(solution, samples.bugs_for(chapter))  # raises StaleBugError if drifted
    stale = samples.PlantedBug("x", "01_tensors", "one_hot", "not in the cell", "", "test_one_hot", "")
    with pytest.raises(samples.StaleBugError, match="found it 0 times"):
        samples.plant(samples.solution_notebook("01_tensors"), [stale])
