"""The static read of the student's cells at intake: attacks are flagged with a reason that
names what they do; honest answers (every chapter's solutions, unusual but fair code) are not."""

import pytest

from autograder.grader import codescan, grading, intake, samples


def flags_of(*cells, kind=codescan.ANSWER, prelude="import numpy as np\nimport keras\nimport tensorflow as tf"):
    rows = [("course", prelude, codescan.COURSE)] + [(f"cell {i}", src, kind) for i, src in enumerate(cells)]
    return codescan.read_cells(rows)


def test_the_solutions_of_every_chapter_raise_no_flag(repo):
    for chapter in grading.chapters(repo):
        course = intake.Course(repo, repo / "solutions", repo / "submitted", repo / "autograded",
                               repo / "feedback", "", "")
        nb = samples.solution_notebook(chapter)
        refs = {chapter: {
            cell.metadata.nbgrader.grade_id: intake.ReferenceCell(
                cell.metadata.nbgrader.grade_id, cell.cell_type, cell.source, None,
                bool(cell.metadata.nbgrader.get("locked")), bool(cell.metadata.nbgrader.get("grade")),
                bool(cell.metadata.nbgrader.get("solution")), cell.metadata.nbgrader.get("points"), i)
            for i, cell in enumerate(nb.cells) if "nbgrader" in cell.metadata}}
        files = {f"{chapter}.ipynb": (repo / "solutions" / chapter / f"{chapter}.ipynb").read_bytes()}
        assert intake.flag_code(files, refs, intake.course_cells(course, chapter)) == [], chapter


HONEST = [
    # float64 state, loops, helpers, prints, classes with attributes: the shapes of real code
    "class Adam:\n    def __init__(self, lr=1e-3):\n        self.lr = lr\n        self.m = None\n"
    "    def apply(self, params, grads):\n        for p, g in zip(params, grads):\n            p -= self.lr * g\n",
    "def helper(x):\n    out = np.zeros_like(x, dtype=np.float64)\n    out[x > 0] = 1.0\n    return out\n",
    "import math\nprint('value', math.sqrt(2.0))\nfor i in range(3):\n    print(i)",
    "%timeit np.ones(3)\n%matplotlib inline",
    "layer = keras.layers.Dense(3)\nlayer.trainable = False\nmodel = keras.Sequential([layer])\nmodel.stop_training = True",
    "layers = keras.layers\nlayers = [1, 2]\nlayers[0] = 3",
    "def evaluate(model, x_test, y_test):\n    return model.evaluate(x_test, y_test)",
    "w = getattr(model, 'weights', None)\nsetattr(self, 'm', 0)" if False else "w = getattr(np, 'float32')",
    "with open('notes.txt', 'w') as f:\n    f.write('relative files in the notebook folder are fine')",
]


@pytest.mark.parametrize("source", HONEST)
def test_honest_code_is_not_flagged(source):
    assert flags_of(source) == []


ATTACKS = {
    "np.isclose = lambda *a, **k: True": "numpy.isclose",
    "import autograder.checks.activations as a\na.check_activation = lambda *a, **k: None": "autograder",
    "keras.activations.gelu = lambda x, approximate=False: x": "keras.activations.gelu",
    "get_ipython().run_code = lambda *a, **k: None": "get_ipython",
    "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None": "get_ipython",
    "setattr(np, 'isclose', lambda *a, **k: True)": "setattr",
    "f = getattr(tf, 'one' + '_hot')": "computed attribute",
    "exec('np.isclose = 1')": "exec",
    "eval('1')": "eval",
    "import importlib\nm = importlib.import_module('numpy')": "importlib",
    "src = open('/work/solutions/02/02.ipynb').read()": "outside the notebook",
    "import autograder\nfrom pathlib import Path\np = Path(autograder.__file__).parents[1] / 'solutions'": "__file__",
    "import sys\nsys.modules['numpy'].isclose = None": "sys.modules",
    "import builtins\nbuiltins.abs = lambda x: 0": "builtins",
    "__builtins__['abs'] = None": "__builtins__",
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)": "signal",
    "import subprocess\nsubprocess.run(['ls'])": "subprocess",
    "import os\nos.system('cat /etc/passwd')": "os.system",
    "import socket\ns = socket.socket()": "socket",
    "from autograder.grader import samples": "grader",
    "from autograder.data import load_fashion_mnist\n(x, y), (xt, yt) = load_fashion_mnist()": "dataset",
    "def train(model, x, y):\n    model.fit(x_test, y_test)": "x_test",
    "t = np.testing\nt.assert_allclose = lambda *a, **k: None": "np.testing.assert_allclose",
    "vars(np)['isclose'] = None": "vars",
    "np.__dict__['isclose'] = None": "__dict__",
    "import gc\ngc.get_referrers(np)": "garbage collector",
    "import ctypes": "ctypes",
    "%%bash\ncat /etc/passwd": "get_ipython",
    "!ls /": "get_ipython",
    "def f():\n    return f.__code__": "__code__",
    "import threading\nthreading.Thread(target=print).start()": "threads",
    "x = np.core._multiarray_umath": "private part of numpy",
    "import os\nkey = os.environ['HOME']": "environ",
    "with open('sklearn.py', 'w') as f:\n    f.write('x = 1')": "python code on disk",
    "from pathlib import Path\nPath('numpy.py').write_text('')": "python code on disk",
    "import sys\nsys.stdout = None": "sys.stdout",
    "check = np.isclose\ncheck.__kwdefaults__ = {}": "__kwdefaults__",
}


@pytest.mark.parametrize("source,named", list(ATTACKS.items()))
def test_each_attack_is_flagged_with_what_it_does(source, named):
    flags = flags_of(source)
    assert flags, f"not flagged: {source!r}"
    text = " | ".join(str(f) for f in flags)
    assert named.lower() in text.lower(), text
    assert all(f.line >= 1 and f.code for f in flags)


def test_a_flag_names_the_cell_and_line():
    (flag,) = flags_of("x = 1\nnp.isclose = None")
    assert (flag.cell, flag.line) == ("cell 0", 2)
    assert "np.isclose = None" in str(flag)


def test_metadata_edits_are_restored_and_noted(repo):
    nb = samples.untouched_notebook("02_activations")
    refs = {}
    for i, cell in enumerate(samples.solution_notebook("02_activations").cells):
        meta = cell.metadata.get("nbgrader")
        if meta:
            refs[meta["grade_id"]] = intake.ReferenceCell(
                meta["grade_id"], cell.cell_type, cell.source, meta.get("checksum"), bool(meta.get("locked")),
                bool(meta.get("grade")), bool(meta.get("solution")), meta.get("points"), i, cell.get("id"))
    untouched = samples.untouched_notebook("02_activations")
    assert intake.restore_metadata(untouched, refs) == []
    samples.find_cell(nb, "test_relu_family").metadata.nbgrader["grade"] = False
    samples.find_cell(nb, "test_gelu").metadata.nbgrader["points"] = 20
    samples.find_cell(nb, "test_softmax").metadata.nbgrader["grade_id"] = "renamed"
    notes = intake.restore_metadata(nb, refs)
    assert len(notes) == 3, notes
    assert samples.find_cell(nb, "test_relu_family").metadata.nbgrader["grade"] is True
    assert samples.find_cell(nb, "test_gelu").metadata.nbgrader["points"] == 2
    assert samples.find_cell(nb, "test_softmax").metadata.nbgrader["locked"] is True
    assert any("'test_softmax'" in n and "renamed" in n for n in notes)


def test_symbolic_links_in_a_submission_are_never_followed(tmp_path):
    from autograder.grader import sandbox

    secret = tmp_path / "gradebook.db"
    secret.write_text("scores of every student")
    folder = tmp_path / "submitted" / "mallory" / "00_setup"
    (folder / "sub").mkdir(parents=True)
    (folder / "00_setup.ipynb").write_text("{}")
    (folder / "notes.txt").symlink_to(secret)
    (folder / "sub" / "more").symlink_to(tmp_path)
    files = sandbox.read_files(folder)
    assert sorted(files) == ["00_setup.ipynb"]
    assert intake.symlinks(folder) == [f"notes.txt -> {secret}", f"sub/more -> {tmp_path}"]
    before = intake.fingerprint(folder)
    secret.write_text("changed")  # the target's bytes are not part of the submission
    assert intake.fingerprint(folder) == before
