"""Grading soundness with real nbgrader, per chapter, in a temporary course directory.

For every chapter one `nbgrader autograde` run grades these students:

* ``perfect``   — the solution notebook: full marks on every graded cell;
* ``untouched`` — the released student notebook: 0 on every graded cell;
* ``bug_<name>`` — the solution with one planted bug: loses exactly its test cell's points
  (chapters that train models plant the bugs of a shard *together*, in ``bugs_<n>`` students
  whose bugs sit in different cells, so that a training notebook runs once per group, not
  once per bug — the budget's "as few times as the soundness proof allows");
* ``tampered``  — every bug planted *and* every test cell replaced by a passing print: nbgrader
  restores the test cells from the gradebook by checksum, so it scores what the bugs deserve;
* ``noisy``     — the solution whose answer writes TensorFlow-style log lines to stderr from
  inside a graded call: the library-log filter (autograder/grader/stderr.py) keeps the full
  marks nbgrader would otherwise take away; and, where the chapter names a ``debug`` cell, a
  second answer of the same notebook writes the student's own stderr line: that test cell
  scores 0, as nbgrader rules, with a note saying why (one execution proves both);
* ``debug_print`` — the student's own stderr line in a notebook of its own, for a chapter
  without a ``debug`` cell.

Each chapter is a class, so pytest-xdist (--dist loadscope) grades chapters in parallel; a
chapter with many bugs splits them into shards (`PlantedBugs` classes) graded side by side.
"""

import pytest

from autograder.grader import grading, samples

TF_LOG = (
    "import sys\n"
    "sys.stderr.write('2026-11-22 09:00:00.123456: W tensorflow/core/framework/op_kernel.cc:1: "
    "some warning\\n')\n"
    "sys.stderr.write('I0000 00:00:1795338298.576500    3517 port.cc:153] oneDNN custom operations are on.\\n')\n"
)


def noisy(solution, cell_id, code=TF_LOG):
    """The solution whose `cell_id` function runs `code` (writing to stderr) when called."""
    nb = samples.plant(solution, [])
    cell = samples.find_cell(nb, cell_id)
    logging = "".join(f"    {line}\n" for line in code.splitlines())
    cell.source = cell.source.replace("### BEGIN SOLUTION\n", "### BEGIN SOLUTION\n" + logging, 1)
    assert logging in cell.source
    return nb


def bug_shard(chapter, shard):
    """Planted bugs number shard[0], shard[0] + shard[1], ... of the chapter."""
    index, count = shard
    return samples.bugs_for(chapter)[index::count]


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


def bug_students(chapter, shard, together):
    """Submissions for the planted bugs of `shard`: one per bug, or one per `bug_groups` group."""
    bugs = bug_shard(chapter, shard)
    if together:
        return {f"bugs_{i}": (group, samples.buggy_student(chapter, group)) for i, group in enumerate(bug_groups(bugs))}
    return {f"bug_{planted.name}": ([planted], samples.buggy_student(chapter, [planted])) for planted in bugs}


# Other test cells whose check calls the noisy function (a threshold check trains with the
# student's functions): the student's stderr line zeros them too, by the same nbgrader rule.
NOISY_CALLERS = {"fine_tune": ("test_transfer_accuracy",), "transfer_model": ("test_transfer_accuracy",)}


DEBUG_LINE = "import sys\nsys.stderr.write('my debug output\\n')"


def debug_scores(solution, cell: str, test: str) -> dict[str, float]:
    """Expected scores when answer ``cell`` writes to stderr: its test cell (and the cells
    whose check calls it) 0, the rest full marks."""
    return {**samples.expected_scores(solution, []), **dict.fromkeys((test, *NOISY_CALLERS.get(cell, ())), 0.0)}


def grade_chapter(tmp_path_factory, chapter, noisy_cell, shard, core=True, together=False, debug=None):
    """Grade the core students (if `core`) and the planted-bug students of `shard`."""
    root = tmp_path_factory.mktemp(chapter)
    grading.make_course(root, [chapter])
    solution = samples.solution_notebook(chapter)
    students = {}
    if core:
        all_bugs, all_bugs_expected = samples.buggy_student(chapter, samples.bugs_for(chapter))
        students = {
            "perfect": samples.perfect_student(chapter),
            "untouched": samples.untouched_student(chapter),
            "tampered": (samples.tamper_tests(all_bugs), all_bugs_expected),
        }
        if debug:
            debug_cell, debug_test = debug
            students["noisy"] = (noisy(noisy(solution, noisy_cell), debug_cell, DEBUG_LINE),
                                 debug_scores(solution, debug_cell, debug_test))
        else:
            students["noisy"] = (noisy(solution, noisy_cell), samples.expected_scores(solution, []))
            students["debug_print"] = (noisy(solution, noisy_cell, DEBUG_LINE),
                                       debug_scores(solution, noisy_cell, f"test_{noisy_cell}"))
    for student, (_, submission) in bug_students(chapter, shard, together).items():
        students[student] = submission
    for student, (nb, _) in students.items():
        grading.submit(root, student, chapter, nb)
    grading.autograde(root, chapter)
    got = {s: {g: c.score for g, c in grading.cell_scores(root, chapter, s).items()} for s in students}
    want = {s: expected for s, (_, expected) in students.items()}
    return root, got, want


class PlantedBugs:
    """Each planted bug of one shard, each in its own submission, loses exactly its cell."""

    chapter = ""
    noisy_cell = ""
    shard = (0, 1)
    core = False
    together = False  # plant the shard's bugs in as few submissions as their cells allow
    debug = None  # (answer cell, its test cell) that writes the student's own stderr line

    @pytest.fixture(scope="class")
    def graded(self, tmp_path_factory):
        return grade_chapter(
            tmp_path_factory, self.chapter, self.noisy_cell, self.shard, self.core, self.together, self.debug
        )

    def test_each_planted_bug_loses_exactly_its_cell(self, graded):
        _, got, want = graded
        students = bug_students(self.chapter, self.shard, self.together)
        assert students, "every shard has planted bugs"
        for student, (bugs, _) in students.items():
            names = ", ".join(f"{b.name} ({b.why})" for b in bugs)
            assert got[student] == want[student], names
            assert all(got[student][planted.fails] == 0.0 for planted in bugs), names


class SoundnessSuite(PlantedBugs):
    """The whole proof for a chapter (with the bugs of its shard; other shards are
    `PlantedBugs` subclasses, graded in parallel by another worker)."""

    core = True

    def test_solution_scores_full_marks(self, graded):
        _, got, want = graded
        assert got["perfect"] == want["perfect"]
        written = samples.manual_cells(samples.solution_notebook(self.chapter))
        assert all(score > 0 for cell, score in got["perfect"].items() if cell not in written)

    def test_untouched_notebook_scores_zero_everywhere(self, graded):
        _, got, _ = graded
        assert got["untouched"] and set(got["untouched"].values()) == {0.0}

    def test_every_exercise_has_a_planted_bug(self, graded):
        _, got, _ = graded
        written = samples.manual_cells(samples.solution_notebook(self.chapter))
        assert {b.fails for b in samples.bugs_for(self.chapter)} == set(got["perfect"]) - set(written)

    def test_written_answers_wait_for_a_grader_with_the_rubric_in_view(self, graded):
        """A written answer is neither passed nor failed by the autograder: an answered one waits
        for a grader (whatever the rest of the notebook did, tampering included), an unchanged one
        scores 0; its points cannot be raised by the student; the formgrader's copy of the
        question holds the rubric, even where the student rewrote the question."""
        root, got, _ = graded
        written = samples.manual_cells(samples.solution_notebook(self.chapter))
        assert written
        for student in got:
            scores = grading.cell_scores(root, self.chapter, student)
            for cell, points in written.items():
                score = scores[cell]
                assert score.max_score == points, (student, score)
                if student == "untouched":
                    assert (score.score, score.needs_manual_grade) == (0.0, False), score
                else:
                    assert score.score is None and score.needs_manual_grade, (student, score)
        for student in ("perfect", "tampered"):
            graded_nb = samples.read_notebook(grading.notebook_path(root / "autograded", student, self.chapter))
            for cell in written:
                question = samples.find_cell(graded_nb, f"{cell}_question").source
                assert "=== BEGIN MARK SCHEME ===" in question and "**1 point:**" in question, student
                assert "edited by the student" not in question

    def test_edited_test_cells_are_restored(self, graded):
        root, got, want = graded
        assert got["tampered"] == want["tampered"]
        graded_nb = samples.read_notebook(grading.notebook_path(root / "autograded", "tampered", self.chapter))
        for cell_id in want["tampered"]:
            assert "edited by the student" not in samples.find_cell(graded_nb, cell_id).source

    def test_library_log_lines_on_stderr_do_not_cost_points(self, graded):
        root, got, want = graded
        assert got["noisy"] == want["noisy"]
        assert got["noisy"][f"test_{self.noisy_cell}"] > 0
        graded_nb = samples.read_notebook(grading.notebook_path(root / "autograded", "noisy", self.chapter))
        stderr = [o for c in graded_nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
        assert not any("oneDNN" in o["text"] for o in stderr)

    def test_other_stderr_output_still_scores_zero(self, graded):
        # nbgrader's own rule, kept: the filter above is specific to library log lines.
        root, got, want = graded
        student, test = ("noisy", self.debug[1]) if self.debug else ("debug_print", f"test_{self.noisy_cell}")
        assert got[student] == want[student]
        assert got[student][test] == 0.0
        graded_nb = samples.read_notebook(grading.notebook_path(root / "autograded", student, self.chapter))
        outputs = samples.find_cell(graded_nb, test).outputs
        assert any("my debug output" in o.get("text", "") for o in outputs)  # the student sees it
        assert any("scores 0 because something was written to stderr" in o.get("text", "") for o in outputs)


class TestChapter00(SoundnessSuite):
    chapter = "00_setup"
    noisy_cell = "environment_facts"
    debug = ("seeded_kernel", "test_seeded_kernel")


class TestChapter01(SoundnessSuite):
    chapter = "01_tensors"
    noisy_cell = "one_hot"
    debug = ("stable_softmax", "test_stable_softmax")


class TestChapter02(SoundnessSuite):
    chapter = "02_activations"
    noisy_cell = "softmax"
    together = True
    debug = ("gelu", "test_gelu")


class TestChapter03(SoundnessSuite):
    chapter = "03_optimizers"
    noisy_cell = "schedules"
    shard = (0, 2)
    together = True  # its threshold check trains a model with the student's Adam (~80 s a run)
    debug = ("focal", "test_focal")


class TestChapter03MoreBugs(PlantedBugs):
    chapter = "03_optimizers"
    shard = (1, 2)
    together = True


class TestChapter04(SoundnessSuite):
    chapter = "04_regularization"
    noisy_cell = "penalties"
    shard = (0, 2)
    together = True
    debug = ("dropout", "test_dropout")


class TestChapter04MoreBugs(PlantedBugs):
    chapter = "04_regularization"
    shard = (1, 2)
    together = True


class TestChapter05(SoundnessSuite):
    chapter = "05_data_augmentation"
    noisy_cell = "swap_delete"
    shard = (0, 2)
    together = True
    debug = ("replace_insert", "test_replace_insert")  # build_augmenter is also called by two later checks


class TestChapter05MoreBugs(PlantedBugs):
    chapter = "05_data_augmentation"
    shard = (1, 2)
    together = True


class TestChapter06(SoundnessSuite):
    chapter = "06_model_apis"
    noisy_cell = "sequential"
    shard = (0, 2)
    together = True
    debug = ("functional", "test_functional")


class TestChapter06MoreBugs(PlantedBugs):
    chapter = "06_model_apis"
    shard = (1, 2)
    together = True


class TestChapter07(SoundnessSuite):
    chapter = "07_callbacks"
    noisy_cell = "checkpoint"
    shard = (0, 2)
    together = True


class TestChapter07MoreBugs(PlantedBugs):
    chapter = "07_callbacks"
    shard = (1, 2)
    together = True


class TestChapter08(SoundnessSuite):
    chapter = "08_transfer_learning"
    noisy_cell = "fine_tune"
    together = True
    debug = ("transfer_model", "test_transfer_model")


class TestChapter09(SoundnessSuite):
    chapter = "09_mixed_precision"
    noisy_cell = "scaled_gradients"
    together = True
    debug = ("mixed_model", "test_mixed_model")


def test_every_chapter_has_a_soundness_suite_and_every_bug_a_shard():
    suites = SoundnessSuite.__subclasses__()
    assert {cls.chapter for cls in suites} == set(grading.chapters())
    shards = suites + [cls for cls in PlantedBugs.__subclasses__() if cls is not SoundnessSuite]
    for chapter in grading.chapters():
        covered = [b.name for cls in shards if cls.chapter == chapter for b in bug_shard(chapter, cls.shard)]
        assert sorted(covered) == sorted(b.name for b in samples.bugs_for(chapter))


def test_planted_bugs_apply_to_the_current_solutions():
    for chapter in grading.chapters():
        solution = samples.solution_notebook(chapter)
        samples.plant(solution, samples.bugs_for(chapter))  # raises StaleBugError if drifted
    stale = samples.PlantedBug("x", "01_tensors", "one_hot", "not in the cell", "", "test_one_hot", "")
    with pytest.raises(samples.StaleBugError, match="found it 0 times"):
        samples.plant(samples.solution_notebook("01_tensors"), [stale])
