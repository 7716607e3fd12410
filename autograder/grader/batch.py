"""The batch grader: every submission of an assignment, in parallel, into one gradebook.

    grade_assignment(root, "01_tensors", jobs=8)                         # local processes
    grade_assignment(root, "01_tensors", scheduler="tcp://host:8786")    # a Dask cluster
    grade_assignments(root, ["00_setup", "01_tensors"], jobs=2)          # chapters through one pool

1. :mod:`autograder.grader.intake` lists ``submitted/*/ASSIGNMENT`` and inspects each notebook
   (missing, corrupt, tampered cells repaired) without starting a kernel.
2. Each remaining submission becomes a :class:`sandbox.Job` (plain data) and runs
   :func:`sandbox.grade_job` -- real ``nbgrader autograde`` in a private course directory under
   time and memory limits -- in a local thread pool (each job is its own process tree) or on a
   Dask ``distributed`` cluster.
3. As outcomes arrive, this process alone writes them, one at a time: the autograded files
   (swapped in atomically), the scores into the course gradebook (one transaction per
   submission, keyed by assignment and student, so a repeat replaces instead of duplicating),
   then a line in the journal ``grading/ASSIGNMENT/journal.jsonl`` (flushed and fsync'd).
   A re-run skips a submission whose journal line has the same fingerprint (the submitted
   files' SHA-256) and a final status; one interrupted anywhere before its journal line is
   graded again, and writing it again changes nothing.
4. Reports (``report.csv``, ``report.json``, ``summary.txt``) and feedback HTML that shows
   failure messages but not hidden tests (:mod:`autograder.grader.feedback`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from autograder.grader import grading, intake, jail, report, sandbox
from autograder.grader.sandbox import Job, Limits, Outcome

STATE_DIR = "grading"
JOURNAL = "journal.jsonl"


def default_jobs(memory_mb: int) -> int:
    """As many workers as cores, but no more than the memory limits fit in available RAM."""
    by_memory = int(psutil.virtual_memory().available / 2**20 // max(memory_mb, 1))
    return max(1, min(os.cpu_count() or 1, by_memory))


def state_dir(course: intake.Course, assignment: str) -> Path:
    return course.root / STATE_DIR / assignment


# --- the journal -----------------------------------------------------------------------------


def read_journal(path: Path) -> dict[str, dict]:
    """The last entry per student; a torn last line (grader killed mid-write) is ignored."""
    entries: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            entries[entry["student"]] = entry
    return entries


def append_journal(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def needs_grading(sub: intake.Submission, last: dict | None, force: bool) -> bool:
    return force or last is None or last["fingerprint"] != sub.fingerprint or last["status"] == sandbox.WORKER_DIED


# --- building jobs ---------------------------------------------------------------------------


def gradebook_snapshot(course: intake.Course, assignment: str) -> bytes:
    """A SQLite gradebook holding ``assignment`` and nothing else, as bytes for the workers'
    private courses: no other assignment, no student, no score (a job's nbgrader adds its own
    student), vacuumed so that deleted rows are not left in free pages.

    A SQLite course gradebook is copied with SQLite's backup API (consistent even mid-write);
    for another database (Postgres, ...) the assignment is released into a fresh SQLite file
    with ``nbgrader generate_assignment``."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    from autograder.grader import grading

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "gradebook.db"
        if course.db_url.startswith("sqlite:///"):
            src = sqlite3.connect(course.db_url.removeprefix("sqlite:///"))
            dst = sqlite3.connect(target)
            with dst:
                src.backup(dst)
            src.close()
            dst.close()
        else:
            (Path(tmp) / "nbgrader_config.py").write_text(course.config_text)
            shutil.copytree(course.source / assignment, Path(tmp) / "source" / assignment)
            grading.run_nbgrader(["generate_assignment", assignment, "--force", f"--CourseDirectory.root={tmp}",
                                  "--CourseDirectory.source_directory=source",
                                  f"--CourseDirectory.db_url=sqlite:///{target}"], Path(tmp))
        with Gradebook(f"sqlite:///{target}") as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            for other in [a.name for a in gb.assignments if a.name != assignment]:
                gb.remove_assignment(other)
            for student in [s.id for s in gb.students]:
                gb.remove_student(student)
        db = sqlite3.connect(target)
        db.execute("VACUUM")
        db.close()
        return target.read_bytes()


def zero_scores(refs: dict[str, dict[str, intake.ReferenceCell]]) -> dict[str, dict]:
    """What nbgrader records for a notebook that is not there: 0 on every graded cell."""
    return {
        name: {"late_penalty": None, "grades": {g: (0.0, False) for g, r in cells.items() if r.grade}, "comments": {}}
        for name, cells in refs.items()
    }


def make_job(sub: intake.Submission, refs, config: str, gradebook: bytes, source_files: dict[str, bytes],
             limits: Limits, isolation: str = "none", course_code: dict[str, set[str]] | None = None,
             warm: bool = False) -> Job | Outcome:
    """A job for ``sub``, or directly an outcome when no kernel is needed (missing, corrupt)."""
    files, status, reason = intake.inspect(sandbox.read_files(sub.folder), refs)
    if status in (sandbox.MISSING, sandbox.CORRUPT):
        return Outcome(sub.assignment, sub.student, status, reason, notebooks=zero_scores(refs))
    flags = tuple(intake.flag_code(files, refs, course_code)) + tuple(
        f"the submission holds a symbolic link, not followed: {link}" for link in intake.symlinks(sub.folder))
    return Job(sub.assignment, sub.student, files, source_files, config, gradebook, limits, status, reason,
               isolation, flags, warm)


def choose_sandbox(requested: str | None) -> tuple[str, str]:
    """The isolation to grade with and a sentence for the report: ``requested`` ("bwrap",
    "none") or, when None, bubblewrap where it works and no isolation (said plainly) elsewhere.

    Raises:
        RuntimeError: "bwrap" was requested and bubblewrap cannot run here.
    """
    works, detail = jail.probe()
    if requested == "none":
        return "none", "NOT ISOLATED (--sandbox none): answer cells could read files and use the network"
    if works:
        return "bwrap", f"each kernel jailed by {detail}: no course files, other students or network in reach"
    if requested == "bwrap":
        raise RuntimeError(f"--sandbox bwrap: {detail}")
    return "none", f"NOT ISOLATED: {detail}; answer cells could read files and use the network"


# --- writing outcomes (this process only) ----------------------------------------------------


def replace_dir(dest: Path, files: dict[str, bytes]) -> None:
    """Make ``dest`` hold exactly ``files`` (none: remove it), swapping a complete copy in."""
    if not files:
        shutil.rmtree(dest, ignore_errors=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    sandbox.write_files(staging, files)
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    staging.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def save_scores(db_url: str, outcome: Outcome) -> tuple[float, float, float, float]:
    """Write ``outcome``'s scores into the course gradebook in one transaction; return the
    submission's (score, max score, late penalty) as nbgrader computes them, and the points that
    wait for a grader (written answers; a score a grader already gave is kept)."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with Gradebook(db_url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own autoflush notices, as in its autograde
        gb.update_or_create_student(outcome.student)
        extra = {"timestamp": dt.datetime.fromisoformat(outcome.timestamp)} if outcome.timestamp else {}
        submission = gb.update_or_create_submission(outcome.assignment, outcome.student, **extra)
        for notebook in submission.notebooks:
            saved = outcome.notebooks.get(notebook.name, {"late_penalty": None, "grades": {}, "comments": {}})
            notebook.late_submission_penalty = saved["late_penalty"]
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = saved["grades"].get(grade.name, (None, False))
            for comment in notebook.comments:
                comment.auto_comment = saved["comments"].get(comment.name)
        gb.db.commit()
        submission = gb.find_submission(outcome.assignment, outcome.student)
        penalty = sum(nb.late_submission_penalty or 0.0 for nb in submission.notebooks)
        pending = grading.pending_points(g for nb in submission.notebooks for g in nb.grades)
        return float(submission.score), float(submission.max_score), float(penalty), pending


def cell_results(outcome: Outcome) -> dict[str, dict]:
    """Per graded cell of the submission: ``{"score", "points", "failure"}``, the failure being
    the first line of what made the cell lose points (the error's message, or "stderr output")
    as the autograded notebook shows it; "" when it scored, or when nothing was run."""
    import nbformat

    scores = {gid: score for nb in outcome.notebooks.values() for gid, (score, _) in nb["grades"].items()}
    results: dict[str, dict] = {}
    for rel, data in sorted(outcome.autograded.items()):
        if not rel.endswith(".ipynb") or "/" in rel:
            continue
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception:  # an unreadable autograded copy: scores only
            continue
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            gid = meta["grade_id"]
            failure = ""
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    first = (output.get("evalue", "").strip().splitlines() or [""])[0]
                    failure = f"{output.get('ename', 'Error')}: {first}".strip()
                    break
                if output.get("name") == "stderr" and not failure:
                    failure = "stderr output"
            score = scores.get(gid)
            results[gid] = {"score": score, "points": float(meta.get("points", 0)),
                            "failure": failure if score is not None and score < float(meta.get("points", 0)) else ""}
    for gid, score in scores.items():
        results.setdefault(gid, {"score": score, "points": None, "failure": ""})
    return results


def record(course: intake.Course, sub: intake.Submission, outcome: Outcome, where: str) -> dict:
    """Write one outcome (files, gradebook, journal, in that order) and return its report row."""
    replace_dir(course.autograded / sub.student / sub.assignment, outcome.autograded)
    score, max_score, penalty, pending = save_scores(course.db_url, outcome)
    entry = {
        "student": sub.student,
        "assignment": sub.assignment,
        "status": outcome.status,
        "reason": outcome.reason,
        "score": score,
        "max_score": max_score,
        "pending": pending,
        "late_penalty": penalty,
        "seconds": round(outcome.seconds, 2),
        "peak_mb": round(outcome.peak_mb, 1),
        "fingerprint": sub.fingerprint,
        "graded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "where": where,
        "flags": "; ".join(outcome.flags),
        "cells": cell_results(outcome),
    }
    append_journal(state_dir(course, sub.assignment) / JOURNAL, entry)
    return entry


# --- running ---------------------------------------------------------------------------------


def crashed(job: Job, err: BaseException) -> Outcome:
    """The outcome of a job whose worker failed (not the student's doing): graded again on re-run."""
    return Outcome(job.assignment, job.student, sandbox.WORKER_DIED,
                   f"the worker failed: {type(err).__name__}: {err}; it is graded again on re-run")


def run_local(jobs: list[Job], workers: int):
    """Yield (job, outcome) as local jobs finish; each job runs its own process tree."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade") as pool:
        futures = {pool.submit(sandbox.grade_job, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                yield job, future.result()
            except Exception as err:  # a bug or an I/O error around the job, not the submission
                yield job, crashed(job, err)


def run_dask(jobs: list[Job], address: str):
    """Yield (job, outcome) as jobs finish on the Dask cluster at ``address``.

    Dask re-runs a task whose worker died on another worker (``distributed.scheduler.
    allowed-failures`` times) before it reports ``KilledWorker``."""
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(address, timeout="30s") as client:
        futures = {
            client.submit(sandbox.grade_job, job, key=f"grade-{job.assignment}-{job.student}-{time.time_ns()}",
                          pure=False): job
            for job in jobs
        }
        for future in dask_completed(futures):
            job = futures[future]
            try:
                yield job, future.result()
            except Exception as err:
                yield job, crashed(job, err)


@dataclass
class BatchResult:
    assignment: str
    rows: list[dict]  # one per submission, this run's or the journal's
    graded_now: int
    seconds: float
    report_dir: Path

    @property
    def retry(self) -> list[str]:
        return [r["student"] for r in self.rows if r["status"] == sandbox.WORKER_DIED]


def grade_assignment(root: Path, assignment: str, *, progress: report.Progress | None = None, **options) -> BatchResult:
    """Grade every submission of ``assignment`` in the nbgrader course at ``root``: one
    assignment of :func:`grade_assignments` (same ``options``), with its own ``progress``."""
    return grade_assignments(root, [assignment], progress=(lambda _: progress) if progress else None, **options)[0]


def grade_assignments(
    root: Path,
    assignments: list[str],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    limits: Limits | None = None,
    force: bool = False,
    feedback: bool = True,
    progress=None,
    isolation: str | None = None,
    warm: bool = True,
) -> list[BatchResult]:
    """Grade every submission of each of ``assignments`` in the nbgrader course at ``root``,
    all through one pool of workers: a worker that finishes the last submission of one
    assignment takes the first of the next, instead of waiting for the slowest of its
    assignment (and keeps its warm jail). Each assignment gets its own rows, gradebook scores,
    feedback and reports, as if graded alone; its ``seconds`` run from the start of the batch.

    ``progress``: a function giving the :class:`report.Progress` of an assignment (default:
    quiet). ``isolation``: "bwrap" (each kernel jailed; an error where bubblewrap cannot run),
    "none" (not isolated), or None (bubblewrap where it works; see :func:`choose_sandbox`).
    ``warm``: fork each kernel from the grading thread's warm jail (:mod:`autograder.grader.warm`;
    where forking is not available, or False, each kernel starts cold, as nbgrader starts it)."""
    start = time.monotonic()
    isolation, isolation_note = choose_sandbox(isolation)
    course = intake.load_course(root)
    limits = limits or Limits()
    workers = jobs or default_jobs(limits.memory_mb)
    if not limits.threads and not scheduler and workers > 1:
        limits = Limits(limits.timeout, limits.cell_timeout, limits.memory_mb, max(1, (os.cpu_count() or 1) // workers))
    where = scheduler or f"local x{workers}"

    states, pending = {}, []
    for assignment in assignments:
        journal = read_journal(state_dir(course, assignment) / JOURNAL)
        submissions = intake.discover(course, assignment)
        todo = {s.student: s for s in submissions if needs_grading(s, journal.get(s.student), force)}
        shown = (progress(assignment) if progress else None) or report.Progress(assignment, quiet=True)
        shown.start(len(todo), skipped=len(submissions) - len(todo))
        rows = {s.student: journal[s.student] for s in submissions if s.student not in todo}
        states[assignment] = (submissions, todo, rows, shown)
        if not todo:
            continue
        refs = intake.reference_cells(course, assignment)
        course_code = intake.course_cells(course, assignment)
        gradebook = gradebook_snapshot(course, assignment)
        source_files = {k: v for k, v in sandbox.read_files(course.source / assignment).items()
                        if not k.endswith(".ipynb") and ".ipynb_checkpoints" not in k}
        for sub in todo.values():
            made = make_job(sub, refs, course.config_text, gradebook, source_files, limits, isolation, course_code,
                            warm)
            if isinstance(made, Outcome):
                rows[sub.student] = record(course, sub, made, "intake")
                shown.update(rows[sub.student])
            else:
                pending.append(made)

    outcomes = run_dask(pending, scheduler) if scheduler else run_local(pending, workers)
    for job, outcome in outcomes:
        submissions, todo, rows, shown = states[job.assignment]
        rows[job.student] = record(course, todo[job.student], outcome, where)
        shown.update(rows[job.student])

    results = []
    for assignment, (submissions, todo, rows, shown) in states.items():
        shown.close()
        ordered = [rows[s.student] for s in submissions]
        out_dir = state_dir(course, assignment)
        if feedback:
            from autograder.grader import feedback as fb

            graded = [r["student"] for r in ordered if (course.autograded / r["student"] / assignment).is_dir()]
            fb.write_feedback(course, assignment, graded)
            notebooks = sorted(p.stem for p in (course.source / assignment).glob("*.ipynb"))
            fb.write_not_graded(course, assignment, [r for r in ordered if r["status"] != sandbox.GRADED or
                                                     r["student"] not in graded], notebooks)
        result = BatchResult(assignment, ordered, len(todo), time.monotonic() - start, out_dir)
        report.write_reports(out_dir, ordered, limits=asdict(limits), seconds=result.seconds, where=where,
                             isolation=isolation_note)
        results.append(result)
    return results
