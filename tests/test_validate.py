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


def test_a_failure_reads_whole_in_validate_output(repo, tmp_path):
    """nbgrader's Validate dialog cuts lines at about 80 characters: every line of a check's
    message, the first behind "AssertionError: ", fits in 78; the checks' own frames are
    hidden from the traceback (but the innermost, which IPython always shows), so the message
    is what the student reads."""
    import nbformat

    from autograder.grader import samples

    nb = samples.plant(samples.solution_notebook("01_tensors"), [samples.bug("softmax_no_max_shift")])
    path = tmp_path / "01_tensors.ipynb"
    nbformat.write(nb, path)
    output = grading.run_nbgrader(["validate", str(path)], repo)
    assert "VALIDATION FAILED" in output
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("AssertionError: stable_softmax"))
    message = []
    for line in lines[start:]:
        if not line.strip() or line.startswith("["):
            break
        message.append(line.rstrip().removeprefix("    "))  # the validator indents errors by 4
    assert all(len(line) <= 78 for line in message), message
    assert not any(line.endswith("...") for line in message), message  # nothing cut by the validator
    assert "Hint: subtract the maximum" in "\n".join(message)
    # the checks' frames are hidden; IPython always shows the innermost one, `fail` (a few lines)
    assert "skipping hidden" in output and "arrays.py" not in output and "tensors.py" not in output
