"""The instructor verbs of ``python -m autograder``: release, grade, demo, student-edition, book.

Registered by :func:`add_commands` into the top-level parser of :mod:`autograder.cli` when
this wing is installed (never in the student edition).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from autograder.cli import EXIT_FAILED, EXIT_OK, CliError
from autograder.grader import grading


def _chapters(requested: list[str], root: Path) -> list[str]:
    known = grading.chapters(root)
    unknown = [c for c in requested if c not in known]
    if unknown:
        raise CliError(f"unknown chapter(s) {unknown}; chapters in {root / grading.SOLUTIONS}: {known}")
    return requested or known


def cmd_release(args) -> int:
    root = Path(args.root)
    for chapter in _chapters(args.chapters, root):
        path = grading.release(root, chapter)
        print(f"released {chapter} -> {path.relative_to(root)}")
    return EXIT_OK


def cmd_grade(args) -> int:
    from autograder.grader import batch, report
    from autograder.grader.sandbox import Limits

    root = Path(args.root)
    submitted = root / "submitted"
    if not submitted.is_dir() or not any(submitted.iterdir()):
        raise CliError(
            f"nothing to grade: {submitted} is empty or missing. Collect submissions first "
            "(nbgrader collect CHAPTER, or copy them to submitted/STUDENT/CHAPTER/CHAPTER.ipynb)."
        )
    if args.jobs is not None and args.jobs < 1:
        raise CliError("--jobs must be at least 1")
    if args.sandbox == "bwrap":
        from autograder.grader import jail

        works, why = jail.probe()
        if not works:
            raise CliError(f"--sandbox bwrap: {why}")
    limits = Limits(timeout=args.timeout, cell_timeout=args.cell_timeout, memory_mb=args.memory, threads=args.threads)
    chapters = []
    for chapter in _chapters(args.chapters, root):
        if not any(submitted.glob(f"*/{chapter}")):
            print(f"{chapter}: no submissions, skipped")
            continue
        # A chapter must be in the gradebook before it can be graded.
        if not grading.in_gradebook(root, chapter):
            grading.release(root, chapter)
        chapters.append(chapter)
    where = args.scheduler or f"{args.jobs or batch.default_jobs(limits.memory_mb)} local worker(s)"
    print(f"grading {', '.join(chapters) or 'nothing'} with {where} ...", flush=True)
    results = batch.grade_assignments(
        root, chapters, jobs=args.jobs, scheduler=args.scheduler, limits=limits, force=args.force,
        feedback=args.feedback, progress=lambda chapter: report.Progress(chapter, quiet=args.quiet),
        isolation=args.sandbox, warm=not args.cold,
    )
    retry = []
    for result in results:
        print((result.report_dir / "summary.txt").read_text().rstrip())
        print(f"report: {result.report_dir / 'report.csv'} (and report.json)")
        retry += result.retry
    grading.run_nbgrader(["export", "--to", str(Path(args.export).resolve())], root)
    rows = grading.gradebook_rows(root)
    print(grading.format_table(rows, ["chapter", "student", "score", "max_score", "pending"]))
    print(f"grades exported to {args.export}")
    lms = report.write_lms_exports(root / "grading" / "exports", rows)
    print(f"for an LMS: {lms['canvas']} (Canvas), {lms['gradescope']} (Gradescope)")
    waiting = [r for r in rows if r["pending"]]
    if waiting:
        print(f"{len(waiting)} submission(s) hold written answers not yet graded by hand ({sum(r['pending'] for r in waiting):g}"
              " points, counted as 0 in the scores above and in the exports): grade them in the formgrader's"
              " Manual Grading, then run this command again (docs/instructor.md, \"Written answers\")")
    if retry:
        print(f"{len(retry)} submission(s) not graded because a worker died: run the command again", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_demo(args) -> int:
    from autograder.grader import batch, report, samples

    start = time.monotonic()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="autograder-demo-"))
    chapters = _chapters(args.chapters, grading.REPO_ROOT)
    print(f"demo course in {workdir}")
    grading.make_course(workdir, chapters)
    expected: dict[tuple[str, str], dict[str, float]] = {}
    for chapter in chapters:
        for student, (nb, scores) in samples.demo_students(chapter).items():
            grading.submit(workdir, student, chapter, nb)
            expected[(chapter, student)] = scores
    first_lines = {}
    # One pool for every chapter: a worker never waits for the slowest submission of a chapter.
    for chapter, result in zip(chapters, batch.grade_assignments(workdir, chapters, progress=report.Progress),
                               strict=True):
        buggy = next(r for r in result.rows if r["student"] == "buggy")
        failing = [(gid, c["failure"]) for gid, c in (buggy.get("cells") or {}).items() if c.get("failure")]
        if failing:
            first_lines[chapter] = failing[0]

    rows, mismatches = [], []
    for (chapter, student), want in sorted(expected.items()):
        got = grading.cell_scores(workdir, chapter, student)
        rows.append(
            {
                "chapter": chapter,
                "student": student,
                "score": sum(c.score for c in got.values() if c.score is not None),
                "max_score": sum(c.max_score for c in got.values()),
                "by hand": sum(c.max_score for c in got.values() if c.score is None),
                "expected": sum(v for v in want.values() if v is not None),
                "failed cells": ", ".join(g for g, c in sorted(got.items())
                                          if c.score is not None and c.score < c.max_score) or "-",
            }
        )
        if {g: c.score for g, c in got.items()} != want:
            mismatches.append((chapter, student))
    print()
    print(grading.format_table(rows, ["chapter", "student", "score", "max_score", "by hand", "expected", "failed cells"]))
    print('("by hand": points of written answers, which wait for a grader in the formgrader)')
    print("\nwhat the buggy student reads first (feedback/buggy/CHAPTER/CHAPTER.html):")
    for chapter, (cell, line) in first_lines.items():
        print(f"  {chapter} {cell}: {line}")
    print(f"\ngraded in {time.monotonic() - start:.0f} s")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    if mismatches:
        print(f"\nMISMATCH: scores differ from the expected ones for {mismatches}")
        return EXIT_FAILED
    print("\nall scores as expected")
    return EXIT_OK


def cmd_student_edition(args) -> int:
    from autograder.grader import edition

    try:
        dest = edition.write_edition(Path(args.dest), Path(args.root), force=args.force)
    except FileExistsError as err:
        raise CliError(str(err)) from err
    found = edition.leaks(dest, Path(args.root))
    if found:
        print("\n".join(["the edition holds instructor material:", *found[:20]]), file=sys.stderr)
        return EXIT_FAILED
    shared = edition.reference_overlaps(dest, Path(args.root))
    print(f"student edition written to {dest}: course/, the kernel side of autograder/, binder/, "
          "README.md, Makefile (make lab, make doctor); checked: no solution, hidden test or planted bug")
    if shared:
        print(f"note: {len(shared)} solution line(s) also stand in the checks' Keras reference code "
              "(by design: a check computes what it compares with)")
    return EXIT_OK


def cmd_book(args) -> int:
    from autograder.grader import book

    try:
        book.write_book(Path(args.out), Path(args.root), chapters=args.chapters or None,
                        cache=Path(args.cache) if args.cache else None, jobs=args.jobs)
    except book.BookError as err:
        print(err, file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def add_commands(sub) -> None:
    """Add the instructor verbs to the ``python -m autograder`` sub-parsers ``sub``."""
    p = sub.add_parser("release", help="regenerate course/ from solutions/ with nbgrader")
    p.add_argument("chapters", nargs="*", metavar="CHAPTER", help="e.g. 01_tensors (default: all)")
    p.add_argument("--root", default=str(grading.REPO_ROOT), help="course root (default: the repository)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="autograde submitted/ in parallel, export grades, write feedback",
                       description="Grade every submission of each CHAPTER with real nbgrader autograde, each in "
                       "its own kernel under time and memory limits, N at a time (or on a Dask cluster), into "
                       "the one gradebook. Re-running skips what is graded and unchanged.")
    p.add_argument("chapters", nargs="*", metavar="CHAPTER", help="default: every chapter with submissions")
    p.add_argument("--root", default=str(grading.REPO_ROOT), help="course root (default: the repository)")
    p.add_argument("--export", default="grades.csv", help="CSV file for the grades (default: grades.csv)")
    p.add_argument("--no-feedback", dest="feedback", action="store_false", help="skip feedback HTML")
    p.add_argument("--jobs", "-j", type=int, help="parallel submissions (default: cores, as memory allows)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://host:8786 (default: local)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per notebook (default: 1800)")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell (default: Execute.timeout of the config)")
    p.add_argument("--memory", type=int, default=4096, help="MB per submission, kernel included (default: 4096)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads per kernel (default: cores / jobs)")
    p.add_argument("--force", action="store_true", help="grade again what is already graded and unchanged")
    p.add_argument("--sandbox", choices=("bwrap", "none"), default=None,
                   help="jail each kernel with bubblewrap (default where it works; an error if asked for and "
                   "unavailable) or grade without isolation (said in the report)")
    p.add_argument("--cold", action="store_true", help="start every kernel as nbgrader does, instead of "
                   "forking it from a worker's warm process (TensorFlow imported once per worker)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("demo", help="grade sample students (perfect, untouched, buggy) end to end")
    p.add_argument("chapters", nargs="*", metavar="CHAPTER", help="default: all chapters")
    p.add_argument("--keep", metavar="DIR", help="build the demo course in DIR and keep it")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("book", help="build the course as a static web book (demos run, exercises shown, no solution)",
                       description="Run every solution notebook (cached), then write one HTML page per chapter of the "
                       "student edition with the course's outputs, a contents page with a search box, maths as MathML "
                       "and plotly.js beside the pages: opens from disk, nothing from the network. Fails if a page "
                       "would show a solution or hidden-test line.")
    p.add_argument("--out", default="build/book", metavar="DIR", help="where the pages go (default: build/book)")
    p.add_argument("chapters", nargs="*", metavar="CHAPTER", help="default: all chapters")
    p.add_argument("--root", default=str(grading.REPO_ROOT), help="course root (default: the repository)")
    p.add_argument("--cache", metavar="DIR", help="executed notebooks (default: OUT-cache beside OUT)")
    p.add_argument("--jobs", "-j", type=int, default=1, help="notebooks run at a time (default: 1)")
    p.set_defaults(func=cmd_book)

    p = sub.add_parser("student-edition", help="write the solution-free edition students get into DIR",
                       description="Write course/, the kernel side of the autograder package, Binder files, a "
                       "student README and Makefile into DIR, then check that no solution line, hidden test or "
                       "planted bug is in it. Publish DIR as a branch or repository of its own.")
    p.add_argument("dest", metavar="DIR")
    p.add_argument("--root", default=str(grading.REPO_ROOT), help="course root (default: the repository)")
    p.add_argument("--force", action="store_true", help="replace DIR's contents")
    p.set_defaults(func=cmd_student_edition)
