"""Autograder of the Deep Learning with TensorFlow 2 / Keras 3 course.

Two wings. The **kernel side** -- what runs inside a student's kernel, and all the student
edition ships: `runtime` (the set-up call every notebook makes), `data` (offline-first
datasets), `pretrained` (chapter 11's source model), `checks` (what test cells call),
`integrity` (loaded in grading kernels: puts back and reports what answer cells patched),
`doctor` and `cli` (``python -m autograder doctor | pretrain``).

The **grader side**, `autograder.grader` -- what runs on the instructor's machine: nbgrader
glue (`grading`), `intake`, `codescan`, the `jail` and `sandbox` of one submission, `warm`
kernels (with `warmstart`, the process in a worker's jail, and `warmclient`), `batch`,
`report`, `feedback`, the student `edition`, `samples` and planted bugs, and the instructor
verbs of the command line. The kernel side never imports it.
"""

__version__ = "0.1.0"
