"""nbgrader configuration of the course (read from the course root, the repository root).

Folders: instructors edit solutions/ (nbgrader's "source"); `nbgrader generate_assignment`
(or `make release`) writes the student notebooks to course/ (nbgrader's "release");
collected work goes to submitted/STUDENT/CHAPTER/, autograded copies to autograded/ and
feedback to feedback/.
"""

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "dl-keras3"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# Per-cell time limit while autograding. The slowest graded cell of chapters 00-01 runs in
# under 5 s on a 2-core CPU; training cells of later chapters stay under 60 s by the budget.
# 120 s leaves margin on a loaded machine and stops an infinite loop in 2 minutes.
c.Execute.timeout = 120

# nbgrader scores a test cell 0 when anything reaches stderr. TensorFlow/absl log lines and
# Python warnings from the libraries are not the student's fault: drop them before grading.
# A traceback is an `error` output, not stderr, so real failures are never hidden.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(^|\n)("
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "  # TensorFlow C++ log
    r"|[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ \S+:\d+\] "  # absl C++ log
    r"|WARNING: All log messages before absl::InitializeLog"
    r"|\S+\.py:\d+: \w*Warning: "  # warnings.warn from a library
    r")"
)

# Every grading kernel loads autograder/integrity.py before the first cell: it snapshots the
# checks, their references and comparison primitives and IPython's machinery, and before each
# test cell puts back (and reports, for the instructor) whatever an answer cell patched.
c.Execute.extra_arguments = ["--ext=autograder.integrity"]

# Feedback never shows a hidden test, whichever path writes it (generate_feedback, the
# formgrader, release_feedback, python -m autograder grade): see autograder/grader/feedback.py.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.grader.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
