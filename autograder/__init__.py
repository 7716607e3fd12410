"""Autograder of the Deep Learning with TensorFlow 2 / Keras 3 course.

Modules: `runtime` (the set-up call every notebook makes), `data` (offline-first datasets),
`pretrained` (chapter 08's source model), `checks` (what test cells call), `grading` (running
real nbgrader on a course directory), the batch grader -- `intake` (finding and inspecting
submissions), `sandbox` (one submission under limits), `batch` (a class, locally or on Dask),
`report`, `feedback` --, `samples` (sample submissions: perfect, untouched, planted bugs),
`cli` (``python -m autograder``: release, grade, demo, pretrain, doctor).
"""

__version__ = "0.1.0"
