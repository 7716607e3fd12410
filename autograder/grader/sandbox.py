"""Grading one submission in isolation: real ``nbgrader autograde`` under limits.

A :class:`Job` carries everything one submission needs as plain data (file contents, not
paths), so the same function grades it in a local thread or on a Dask worker on another
machine. :func:`grade_job` builds a private course directory (the course's
``nbgrader_config.py``, the assignment's gradebook, the submission), runs nbgrader's command
line ``autograde ASSIGNMENT --student S --force`` there in a process of its own (forked from a
:class:`Zygote` that imported nbgrader once) with a clean environment, and watches it:

* a wall-time limit for the whole notebook (nbgrader's own ``Execute.timeout`` is per cell);
* a memory limit on the resident memory of nbgrader *and* the kernel it starts (sampled every
  0.1 s with psutil; nbgrader issue #1429: one student's OOM must not take the batch down);
* every process it started is killed when it ends, so nothing outlives the job, and every
  grading process dies with the grader (Linux ``PR_SET_PDEATHSIG``);
* the kernel, which runs the student's code, in a bubblewrap jail (``Job.sandbox == "bwrap"``,
  see :mod:`autograder.grader.jail`): it sees its own autograded folder and nothing else of
  the course, and has no network.

The outcome is a :class:`Outcome`: a status (see ``STATUSES``) with a reason, the scores
nbgrader saved in the private gradebook, and the autograded files. Nothing here writes the
course's gradebook; the batch grader merges outcomes into it, one at a time.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from autograder.grader import jail

# Final statuses (a re-run keeps them unless --force) and the retryable one.
GRADED = "graded"
TIMED_OUT = "timed out"
OUT_OF_MEMORY = "out of memory"
KERNEL_DIED = "kernel died"
CORRUPT = "corrupt notebook"
TAMPERED = "tampered cells restored"
RENAMED = "renamed notebook graded"  # the folder's only notebook, under another name
MISSING = "missing notebook"
WORKER_DIED = "worker died"  # the grading process itself was killed: graded again on re-run
STATUSES = (GRADED, TIMED_OUT, OUT_OF_MEMORY, KERNEL_DIED, CORRUPT, TAMPERED, RENAMED, MISSING, WORKER_DIED)

POLL_SECONDS = 0.1
# Environment variables a grading kernel may inherit; everything else is dropped.
ENV_KEEP = ("HOME", "LANG", "LC_ALL", "KERAS_HOME", "AUTOGRADER_DATA_DIR", "CUDA_VISIBLE_DEVICES", "KERAS_BACKEND")


@dataclass(frozen=True)
class Limits:
    """Limits of one submission: whole-notebook wall time (s), per-cell time (s; None keeps the
    course's ``Execute.timeout``), memory (MB),
    and CPU threads its TensorFlow may use (0: TensorFlow's default, all cores)."""

    timeout: float = 1800.0
    cell_timeout: int | None = None  # None: the course config's Execute.timeout
    memory_mb: int = 4096
    threads: int = 0


@dataclass(frozen=True)
class Job:
    """One submission to grade. ``files`` are the submitted folder's files (relative path ->
    bytes), ``source_files`` the assignment's non-notebook files from ``source/``,
    ``gradebook`` the bytes of a SQLite gradebook holding the assignment."""

    assignment: str
    student: str
    files: dict[str, bytes]
    source_files: dict[str, bytes]
    config: str
    gradebook: bytes
    limits: Limits = Limits()
    status: str = GRADED  # set by intake: TAMPERED when it repaired cells, MISSING, ...
    reason: str = ""
    sandbox: str = "none"  # "bwrap": the kernel runs jailed (jail.py); "none": not isolated
    flags: tuple[str, ...] = ()  # what intake's static read found for the instructor to look at
    warm: bool = False  # fork the kernel from a warm jail (warm.py) instead of starting it cold


@dataclass
class Outcome:
    """What grading a job gave. ``notebooks`` maps a notebook name to
    ``{"late_penalty": float|None, "grades": {grade_id: (auto_score|None, needs_manual)},
    "comments": {comment_id: auto_comment|None}}`` as nbgrader saved them; ``timestamp`` is the
    submission time nbgrader read (ISO text or None)."""

    assignment: str
    student: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    peak_mb: float = 0.0
    notebooks: dict[str, dict] = field(default_factory=dict)
    timestamp: str | None = None
    autograded: dict[str, bytes] = field(default_factory=dict)
    flags: tuple[str, ...] = ()


def clean_env(limits: Limits, workdir: Path) -> dict[str, str]:
    """A minimal environment: the virtualenv's ``bin/`` on PATH, quiet TensorFlow, private
    temporary/IPython/matplotlib/Jupyter folders (the job's kernel spec comes first on
    ``JUPYTER_PATH``), thread counts; nothing else of the caller's."""
    env = {key: os.environ[key] for key in ENV_KEEP if key in os.environ}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    env.update(
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONWARNINGS="ignore::DeprecationWarning",
        PYTHONNOUSERSITE="1",
        TMPDIR=str(workdir / "tmp"),
        IPYTHONDIR=str(workdir / "ipython"),
        MPLCONFIGDIR=str(workdir / "matplotlib"),
        JUPYTER_PLATFORM_DIRS="1",
        JUPYTER_PATH=str(workdir / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
    )
    if limits.threads:
        threads = str(limits.threads)
        env.update(OMP_NUM_THREADS=threads, TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads)
    for name in ("tmp", "ipython", "matplotlib", "jupyter", "runtime"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
    return env


def write_files(base: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = base / rel
        if base.resolve() not in path.resolve().parents:
            raise ValueError(f"refusing to write {rel!r} outside {base}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def read_files(base: Path) -> dict[str, bytes]:
    """Every regular file under ``base`` (relative path -> bytes); symbolic links are skipped,
    never followed."""
    if not base.is_dir():
        return {}
    root = base.resolve()
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*"))
            if p.is_file() and not p.is_symlink() and root in p.resolve().parents}


def kill_tree(pids: set[int]) -> None:
    """SIGKILL every process in ``pids`` that still runs (nbgrader and its kernel)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def tree_rss_mb(roots: list[psutil.Process], seen: set[int]) -> float:
    """Resident memory (MB) of ``roots`` and all their descendants; adds their pids to ``seen``."""
    total = 0
    members = []
    for root in roots:
        try:
            members += [root, *root.children(recursive=True)]
        except psutil.Error:
            pass
    for member in members:
        seen.add(member.pid)
        try:
            total += member.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def die_with_parent() -> None:
    """Linux: get SIGKILL when the parent process dies (PR_SET_PDEATHSIG), so no grading
    process outlives a killed grader; elsewhere a no-op."""
    from autograder.grader.warmstart import PR_SET_PDEATHSIG, prctl  # stdlib only: no import cost

    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def nbgrader_child(argv: list[str], cwd: str, env: dict, log_path: str) -> None:
    """Body of a forked grading process: a new session, the clean environment, output to the
    log, then nbgrader's command line in-process (what ``python -m nbgrader ARGV`` runs)."""
    die_with_parent()
    os.setsid()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    from nbgrader.apps.nbgraderapp import NbGraderApp

    code = 0
    try:
        NbGraderApp.launch_instance(argv=argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported in the log, like a crashed nbgrader
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def zygote_main() -> None:
    """``python -m autograder.grader.sandbox``: import nbgrader once (2.7 s, measured), then for each
    request line ``{"argv", "cwd", "env", "log"}`` on stdin fork a grading process, print its
    pid, wait for it and print its exit code (negative: the signal that killed it)."""
    import json

    die_with_parent()
    import nbgrader.apps.nbgraderapp  # noqa: F401 - the point: imported before the forks
    import nbgrader.converters.autograde  # noqa: F401

    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            nbgrader_child(request["argv"], request["cwd"], request["env"], request["log"])
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), flush=True)


class Zygote:
    """A single-threaded process with nbgrader imported that forks one grading process per
    request. One per grading thread (local threads, Dask worker threads): forking from it is
    safe where forking the multi-threaded grader is not, and needs no ``__main__`` guard."""

    _local = threading.local()

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "autograder.grader.sandbox"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the grading zygote did not start (python -m autograder.grader.sandbox)")

    @classmethod
    def for_this_thread(cls) -> Zygote:
        zygote = getattr(cls._local, "zygote", None)
        if zygote is None or zygote.proc.poll() is not None:
            zygote = cls._local.zygote = cls()
        return zygote

    def start(self, argv: list[str], cwd: Path, env: dict, log_path: Path) -> ZygoteChild:
        import json

        request = {"argv": argv, "cwd": str(cwd), "env": env, "log": str(log_path)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return ZygoteChild(self, int(self.proc.stdout.readline()))


class ZygoteChild:
    """A grading process forked by a :class:`Zygote`, with the part of ``Popen``'s interface
    used here (``pid``, ``poll``, ``wait``, ``returncode``)."""

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote, self.pid, self.returncode = zygote, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                running = psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                running = False
            if not running:
                self.wait()
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            line = self.zygote.proc.stdout.readline()
            if not line:
                raise RuntimeError("the grading zygote exited while a submission was being graded")
            self.returncode = int(line)
        return self.returncode


def run_limited(argv: list[str], cwd: Path, env: dict, limits: Limits,
                also_watch=lambda: []) -> tuple[int | None, str, str, float, float]:
    """Run ``nbgrader ARGV`` watching wall time and memory of its process tree and of the
    processes ``also_watch()`` returns (a warm kernel, which is not nbgrader's child).

    Returns (exit code or None when we killed it, why we killed it or "", output, seconds,
    peak MB)."""
    log_path = cwd / "nbgrader.log"
    start = time.monotonic()
    proc = Zygote.for_this_thread().start(argv, cwd, env, log_path)
    watched, seen, peak, killed = psutil.Process(proc.pid), {proc.pid}, 0.0, ""
    try:
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb([watched, *also_watch()], seen))
            if peak > limits.memory_mb:
                killed = OUT_OF_MEMORY
            elif time.monotonic() - start > limits.timeout:
                killed = TIMED_OUT
            if killed:
                kill_tree(seen)
                proc.wait()
                break
            time.sleep(POLL_SECONDS)
    finally:
        kill_tree(seen - {proc.pid})  # a kernel nbgrader left behind, or every process on error
        if proc.poll() is None:
            kill_tree({proc.pid})
            proc.wait()
    output = log_path.read_text(errors="replace")
    return (None if killed else proc.returncode), killed, output, time.monotonic() - start, peak


def read_scores(db_path: Path, assignment: str, student: str) -> tuple[dict[str, dict], str | None]:
    """The scores nbgrader saved for ``student`` in a private gradebook, through nbgrader's API."""
    from nbgrader.api import Gradebook, MissingEntry

    if not db_path.is_file():
        return {}, None
    with Gradebook(f"sqlite:///{db_path}") as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return {}, None
        notebooks = {
            nb.name: {
                "late_penalty": nb.late_submission_penalty,
                "grades": {g.name: (g.auto_score, bool(g.needs_manual_grade)) for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
            }
            for nb in submission.notebooks
        }
        timestamp = submission.timestamp.isoformat() if submission.timestamp else None
        return notebooks, timestamp


TIMEOUT_ERROR = re.compile(r'"ename": "CellTimeoutError"')
MEMORY_ERROR = re.compile(r'"ename": "MemoryError"')


def classify(code: int | None, killed: str, output: str, autograded: dict[str, bytes], job: Job) -> tuple[str, str]:
    """The status and reason of a finished nbgrader run (see ``STATUSES``)."""
    if killed == TIMED_OUT:
        return TIMED_OUT, f"the notebook ran past {job.limits.timeout:g} s and was stopped"
    if killed == OUT_OF_MEMORY:
        return OUT_OF_MEMORY, f"used more than {job.limits.memory_mb} MB and was stopped"
    if code is not None and code < 0:
        return WORKER_DIED, f"the grading process was killed by signal {-code}; it is graded again on re-run"
    if code != 0 and "CellTimeoutError" in output:
        return TIMED_OUT, "a cell ran past the per-cell time limit and did not stop when interrupted; nbgrader gave up"
    if "DeadKernelError" in output or "Kernel died" in output:
        return KERNEL_DIED, "the kernel exited or was killed while a cell ran (os._exit, a crash, a signal)"
    if code != 0:
        tail = "\n".join(output.strip().splitlines()[-3:])
        return KERNEL_DIED, f"nbgrader could not grade it (exit {code}): {tail}"
    notebooks = "".join(data.decode("utf-8", "replace") for rel, data in autograded.items() if rel.endswith(".ipynb"))
    if TIMEOUT_ERROR.search(notebooks):
        return TIMED_OUT, "a cell ran past the per-cell time limit and was interrupted; the other cells were graded"
    if MEMORY_ERROR.search(notebooks):
        return OUT_OF_MEMORY, "a cell raised MemoryError; the other cells were graded"
    return job.status, job.reason


def runtime_flags(autograded: dict[str, bytes]) -> list[str]:
    """What the kernel's integrity guard (:mod:`autograder.integrity`) reported in the outputs
    of the autograded notebooks: one line per report, with its cell."""
    import json

    from autograder.integrity import MARK

    flags = []
    for rel, data in sorted(autograded.items()):
        if not rel.endswith(".ipynb"):
            continue
        try:
            cells = json.loads(data).get("cells", [])
        except (ValueError, AttributeError):
            continue
        for index, cell in enumerate(cells):
            for output in cell.get("outputs", []):
                text = output.get("text", "")
                text = "".join(text) if isinstance(text, list) else str(text)
                for line in text.splitlines():
                    if line.startswith(MARK):
                        flags.append(f"{rel} cell {index + 1}: at run time, {line.removeprefix(MARK).strip()}")
    return flags


def start_warm(job: Job, env: dict):
    """A warm jail for ``job`` (:mod:`autograder.grader.warm`; the caller checks it in again),
    or None: the job asks for a cold kernel, forking is not available here, or the warm process
    did not start (the job then starts its kernel cold, as nbgrader does)."""
    from autograder.grader import warm

    if not (job.warm and warm.available()):
        return None
    try:
        return warm.WarmJail.checkout(job.sandbox, warm.kernel_env(env))
    except (OSError, RuntimeError):
        return None


def grade_job(job: Job) -> Outcome:
    """Grade one submission with real nbgrader in a private course directory (see module doc)."""
    with tempfile.TemporaryDirectory(prefix=f"grade-{job.student}-") as tmp:
        course = Path(tmp) / "course"
        course.mkdir()
        (course / "nbgrader_config.py").write_text(job.config)
        (course / "gradebook.db").write_bytes(job.gradebook)
        write_files(course / "source" / job.assignment, job.source_files)
        write_files(course / "submitted" / job.student / job.assignment, job.files)
        (course / "submitted" / job.student / job.assignment).mkdir(parents=True, exist_ok=True)
        argv = [
            "autograde", job.assignment, "--student", job.student, "--force",
            f"--CourseDirectory.root={course}", "--CourseDirectory.source_directory=source",
            f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
        ]
        if job.limits.cell_timeout:
            argv.append(f"--Execute.timeout={job.limits.cell_timeout}")
        env = clean_env(job.limits, Path(tmp))
        warm = start_warm(job, env)
        if warm:
            warm.begin()
            argv += [f"--CourseDirectory.autograded_directory={warm.autograded}",
                     *jail.kernel_manager_args(warm.runtime)]
            kernel = warm.kernel_argv()
        elif job.sandbox == "bwrap":
            runtime = Path(env["JUPYTER_RUNTIME_DIR"])
            kernel = jail.kernel_argv(jail.bwrap_argv(course / "autograded" / job.student / job.assignment, runtime))
            argv += jail.kernel_manager_args(runtime)
        else:
            kernel = jail.kernel_argv(None)
        jail.write_kernel_spec(Path(env["JUPYTER_PATH"]), kernel)
        try:
            code, killed, output, seconds, peak = run_limited(argv, course, env, job.limits,
                                                              warm.job_processes if warm else lambda: [])
            autograded = read_files((warm.autograded if warm else course / "autograded") / job.student / job.assignment)
        finally:
            if warm:
                warm.end()
                warm.checkin()
        notebooks, timestamp = read_scores(course / "gradebook.db", job.assignment, job.student)
        status, reason = classify(code, killed, output, autograded, job)
        flags = (*job.flags, *runtime_flags(autograded))
        if code != 0:
            autograded = {}  # nbgrader removes a failed notebook; keep nothing of a half-run
        return Outcome(job.assignment, job.student, status, reason, seconds, peak, notebooks, timestamp,
                       autograded, flags)


if __name__ == "__main__":
    zygote_main()
