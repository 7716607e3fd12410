"""Autograder of the Deep Learning with TensorFlow 2 / Keras 3 course.

Modules: `runtime` (the set-up call every notebook makes), `data` (offline-first datasets),
`checks` (what test cells call), `nbgrader_tools` (running real nbgrader on a course
directory), `samples` (sample submissions: perfect, untouched, planted bugs), `cli`
(``python -m autograder``: release, grade, demo, doctor).
"""

__version__ = "0.1.0"
