"""course/ is exactly what `nbgrader generate_assignment` makes from solutions/."""

import json
import re

import pytest

from autograder.grader import grading, samples

# Environment facts have no edge cases; an accuracy threshold is measured on held-out data the
# student never sees, which is its hidden test.
# Graded cells whose test is itself the held-out part: environment facts, accuracy on the
# Fashion-MNIST test set, a real fit compared with Keras's, a checkpoint reloaded from disk.
NOTHING_TO_HIDE = (
    "test_environment_facts", "test_train", "test_regressor", "test_classifier", "test_cnn", "test_forecaster",
    "test_regularized_model",
    "test_augmented_model",
    "test_two_head_model", "test_callbacks_in_fit", "test_checkpoint", "test_transfer_model",
    "test_transfer_accuracy", "test_mixed_model", "test_speedup",
)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    return grading.make_course(tmp_path_factory.mktemp("release"))


def comparable(path):
    nb = json.loads(path.read_text())
    return [(c["cell_type"], "".join(c["source"]), c["metadata"].get("nbgrader")) for c in nb["cells"]]


def test_committed_course_equals_a_fresh_release(repo, regenerated):
    for chapter in grading.chapters(repo):
        committed = grading.notebook_path(repo, grading.RELEASE, chapter)
        assert committed.is_file(), f"{committed} missing: run `make release`"
        fresh = grading.notebook_path(regenerated, grading.RELEASE, chapter)
        assert comparable(committed) == comparable(fresh), (
            f"course/{chapter} is out of date with solutions/{chapter}: run `make release`"
        )


def test_student_notebooks_hold_no_solutions_and_no_hidden_tests(repo):
    for chapter in grading.chapters(repo):
        text = grading.notebook_path(repo, grading.RELEASE, chapter).read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "MARK SCHEME" not in text
        assert "Rubric (" not in text and "model answer" not in text
        nb = samples.untouched_notebook(chapter)
        answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert answers, f"{chapter}: no answer cells"
        for cell in answers:
            stub = "raise NotImplementedError()" if cell.cell_type == "code" else "YOUR ANSWER HERE"
            assert stub in cell.source, f"{chapter}/{cell.metadata.nbgrader.grade_id}"


def test_every_chapter_ends_with_a_written_answer_and_its_rubric(repo):
    """One manually graded answer per chapter (2 points), right after the read-only question
    whose mark scheme the formgrader shows; the intro counts its points."""
    for chapter in grading.chapters(repo):
        nb = samples.solution_notebook(chapter)
        written = samples.manual_cells(nb)
        assert list(written.values()) == [2.0], f"{chapter}: {written}"
        (grade_id,) = written
        answer = samples.find_cell(nb, grade_id)
        question = nb.cells[nb.cells.index(answer) - 1]
        meta = question.metadata.get("nbgrader", {})
        assert answer.cell_type == question.cell_type == "markdown"
        assert meta.get("locked") and meta.get("grade_id") == f"{grade_id}_question", chapter
        assert "=== BEGIN MARK SCHEME ===" in question.source and "=== END MARK SCHEME ===" in question.source
        assert "**1 point:**" in question.source.split("MARK SCHEME")[1], f"{chapter}: no rubric points"
        assert len(answer.source.split()) > 40, f"{chapter}: no model answer"
        intro = nb.cells[0].source
        if chapter != "00_setup":
            assert "written answer" in intro and f"{sum(samples.graded_cells(nb).values()):g} points" in intro, chapter


def test_every_graded_cell_has_visible_and_hidden_tests(repo):
    for chapter in grading.chapters(repo):
        nb = samples.solution_notebook(chapter)
        for grade_id in samples.graded_cells(nb):
            source = samples.find_cell(nb, grade_id).source
            visible = source.split("### BEGIN HIDDEN TESTS")[0]
            assert re.search(r"from autograder\.checks(\.\w+)? import", visible), f"{chapter}/{grade_id}: no visible test"
            if grade_id not in NOTHING_TO_HIDE:
                assert "### BEGIN HIDDEN TESTS" in source, f"{chapter}/{grade_id}: no hidden tests"
