"""What the Validate button runs (`nbgrader validate`): a solution passes, an untouched
student notebook is reported as failing."""

import pytest

from autograder.grader import grading


@pytest.mark.parametrize("chapter", ["00_setup"])
def test_validate_solution_passes_and_student_notebook_fails(repo, chapter):
    passed = grading.run_nbgrader(["validate", str(grading.notebook_path(repo, grading.SOLUTIONS, chapter))], repo)
    assert "Success! Your notebook passes all the tests." in passed
    failed = grading.run_nbgrader(["validate", str(grading.notebook_path(repo, grading.RELEASE, chapter))], repo)
    assert "VALIDATION FAILED" in failed and "NotImplementedError" in failed
