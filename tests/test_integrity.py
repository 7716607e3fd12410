"""The grading kernel's integrity guard (autograder/integrity.py), in a real kernel: what an
answer cell patches is put back before the test cell runs, the test fails as it should, and
the report line the grader reads is printed."""

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.grader import sandbox
from autograder.integrity import MARK

ATTACK = """\
import numpy as np
import keras
import autograder.checks.activations as acts
np.isclose = lambda *a, **k: np.ones(np.broadcast(*a[:2]).shape, bool)
np.allclose = lambda *a, **k: True
keras.activations.relu = lambda x, *a, **k: x          # the reference now agrees with the identity
acts.check_activation = lambda *a, **k: None            # and the check itself is a no-op
ip = get_ipython()
ip.showtraceback = lambda *a, **k: None                 # errors would leave no output
ip.set_custom_exc((AssertionError,), lambda *a, **k: None)


async def quiet(code_obj, result=None, *, async_=False):  # runs every later cell, swallows its errors
    try:
        exec(code_obj, ip.user_global_ns, ip.user_ns)
    except BaseException:
        pass
    return False


ip.run_code = quiet
import sys
import autograder.checks.arrays as arrays
arrays.check_array.__wrapped__.__code__ = (lambda *a, **k: None).__code__  # the decorated check's own code
import autograder.checks.tolerances as tols
tols.TOLERANCES["activation_float32"]["rtol"] = 1e9                # the tolerance table edited in place
sys.stdout = open("/dev/null", "w")                               # would hide the report line
relu = lambda x: x
relu_grad = lambda x: np.ones_like(x)
"""

TEST_CELL = """\
from autograder.checks.activations import check_activation
check_activation(relu, relu_grad, "relu")
"""


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(ATTACK), nbformat.v4.new_code_cell(TEST_CELL)]
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            extra_arguments=["--ext=autograder.integrity"])
    client.execute()
    return nb


def test_the_patched_check_still_fails_the_wrong_answer(executed):
    errors = [o for o in executed.cells[1].outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "AssertionError", executed.cells[1].outputs
    assert "relu" in errors[0].evalue


def test_every_patch_is_reported_for_the_grader(executed):
    text = "".join(o.get("text", "") for o in executed.cells[1].outputs)
    assert MARK in text
    for what in ("numpy.isclose", "numpy.allclose", "keras.activations.relu",
                 "autograder.checks.activations.check_activation", "showtraceback", "custom_exceptions", "run_code",
                 "code or defaults of autograder.checks", "check_array",
                 "contents of autograder.checks.tolerances.TOLERANCES", "sys.stdout"):
        assert what in text, what
    flags = sandbox.runtime_flags({"nb.ipynb": nbformat.writes(executed).encode()})
    assert len(flags) == 1 and flags[0].startswith("nb.ipynb cell 2: at run time")


@pytest.mark.parametrize("stop, why", [
    ("import sys\nsys.exit()", "called sys.exit() or exit()"),
    ("raise MemoryError()", "ran out of memory"),
    ("raise KeyboardInterrupt()", "was interrupted (it ran past the time limit of a cell)"),
])
def test_a_name_missing_because_its_cell_stopped_is_explained(stop, why):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"{stop}\n\ndef my_answer(x):\n    return x"),
        nbformat.v4.new_code_cell("from autograder.checks import check_array\ncheck_array(my_answer(1.0), 1.0)"),
    ]
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   extra_arguments=["--ext=autograder.integrity"]).execute()
    outputs = nb.cells[1].outputs
    assert any(o.output_type == "error" and o.ename == "NameError" for o in outputs)
    note = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "`my_answer` is not defined because the cell that defines it " + why in note
    assert all(o.get("name") != "stderr" for o in outputs)  # a note never costs the cell
