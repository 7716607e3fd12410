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
# After a cell's reply nbgrader waits iopub_timeout seconds for the rest of its output and, with
# nbgrader's raise_on_iopub_timeout, fails the *whole submission* when it lags. nbclient's 4 s
# default was exceeded on a loaded 2-core CI machine after a training cell (chapter 11); 30 s
# keeps a busy machine from failing a student's notebook.
c.Execute.iopub_timeout = 30

# nbgrader scores a test cell 0 when anything reaches stderr. TensorFlow/absl log lines and
# Python warnings from the libraries are not the student's fault: autograder/grader/stderr.py
# removes those *lines* (nbgrader's IgnorePattern would drop a whole stderr output, the
# student's own lines in it too), keeps the student's own, and notes in the feedback why a test
# cell with stderr output scores 0. A traceback is an `error` output, never hidden.
c.IgnorePattern.enabled = False
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "autograder.grader.stderr.DropLibraryLogs",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Every grading kernel loads autograder/integrity.py before the first cell: it snapshots the
# checks, their references and comparison primitives and IPython's machinery, and before each
# test cell puts back (and reports, for the instructor) whatever an answer cell patched.
c.Execute.extra_arguments = ["--ext=autograder.integrity"]

# Feedback never shows a hidden test, whichever path writes it (generate_feedback, the
# formgrader, release_feedback, python -m autograder grade), and reads well offline: graded
# cells named, messages wrapped, maths as MathML, figures static with alternative text. See
# autograder/grader/feedback.py and its template feedback/course_feedback.html.j2. The template
# is set for the exporter of GenerateFeedback only: the formgrader renders its manual-grading
# page with an HTMLExporter of its own, and a global HTMLExporter setting would hand it the
# feedback template (a 500 error on every submission page).
from autograder.grader import feedback  # noqa: E402

c.GenerateFeedback.preprocessors = list(feedback.PREPROCESSORS)
c.GenerateFeedback.HTMLExporter.template_name = feedback.TEMPLATE_NAME  # nbgrader's, which the course's file extends
c.GenerateFeedback.HTMLExporter.template_file = feedback.TEMPLATE_FILE
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [str(feedback.TEMPLATES), str(feedback.NBGRADER_TEMPLATES)]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Written answers ("Going further" at the end of every chapter) are nbgrader "manually graded
# answer" cells; the read-only question cell above each holds the rubric between
# === BEGIN MARK SCHEME === and === END MARK SCHEME ===. generate_assignment cuts the rubric out
# of the student notebooks; autograde puts the question back whole from the gradebook, so the
# formgrader shows the rubric right above the answer; feedback cuts it again (feedback.py).
# nbgrader expects mark schemes in "task" cells only, which are always left for a grader even
# when no answer was written; a read-only question cell keeps a blank answer at 0 ("No response").
c.ClearMarkScheme.enforce_metadata = False
