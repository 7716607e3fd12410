"""Warm kernels: a grading thread takes a jail whose process has imported TensorFlow, and
forks from it one kernel per submission.

A cold grading kernel starts Python and ipykernel and imports TensorFlow and Keras before the
notebook's first line does any work: seconds of every submission (docs/benchmarks.md). A
:class:`WarmJail` pays that once, and serves one grading thread at a time, submission after
submission, batch after batch (idle jails are kept until the grader exits):

* one bubblewrap jail (:func:`jail.bwrap_argv`, the same binds as a cold kernel's), whose
  only writable folder is the thread's *slot*, bound at the same path inside and out; in it
  ``python -m autograder.grader.warmstart`` imports the heavy libraries and waits on a Unix socket
  that lives outside the jail (a kernel cannot reach it);
* per submission, nbgrader autogrades into the slot (``CourseDirectory.autograded_directory``
  is the slot's ``autograded``, the connection file and IPC sockets are in its ``runtime``),
  and the kernel spec's command is :mod:`autograder.grader.warmclient`, which asks the warm
  process for a forked kernel and lives as long as it does;
* the submission's processes (the kernel and anything it started) are watched for memory and
  time like a cold kernel's and killed when its job ends; the slot is emptied before the next
  submission, and the warm process empties the jail's ``/tmp``, ``/dev/shm`` and System V IPC
  before each fork. A kernel that kills the warm process ends its own grading (the jail dies
  with it, as a cold kernel's would); the next submission gets a new jail.

What a forked kernel computes is what a cold one computes: tests/test_sandbox.py runs the same
cells (TensorFlow ops, a Keras fit, the course's data loaders, seeds) in both and compares.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import weakref
from pathlib import Path

import psutil

from autograder.grader import jail, warmstart

# The sandbox's per-job folders; a jail's kernels keep theirs in its slot (or its own /tmp).
PER_JOB = ("TMPDIR", "IPYTHONDIR", "MPLCONFIGDIR", "JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")


def kernel_env(env: dict[str, str]) -> dict[str, str]:
    """What a jail's kernels inherit of a job's ``sandbox.clean_env``: all but the per-job folders."""
    return {k: v for k, v in env.items() if k not in PER_JOB}


def available() -> bool:
    """Whether kernels can be forked here (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


_spawn_requests: queue.Queue = queue.Queue()
_spawner_lock = threading.Lock()
_spawner: threading.Thread | None = None


def _serve_spawns() -> None:
    while True:
        make, answer = _spawn_requests.get()
        try:
            answer.put((make(), None))
        except BaseException as err:  # noqa: BLE001 - handed to the caller
            answer.put((None, err))


def spawn(make):
    """``make()`` (which starts a process) run in one long-lived thread: a process that must
    die with its parent (``--die-with-parent``, ``PR_SET_PDEATHSIG``) dies with the thread that
    started it, so a warm jail started by a grading thread would die with that thread and
    could not serve the next batch."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = threading.Thread(target=_serve_spawns, name="warm-jail-spawner", daemon=True)
            _spawner.start()
    answer: queue.Queue = queue.Queue(maxsize=1)
    _spawn_requests.put((make, answer))
    result, err = answer.get()
    if err is not None:
        raise err
    return result


def _stop(proc: subprocess.Popen, base: Path) -> None:
    try:
        proc.kill()
        proc.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        pass
    shutil.rmtree(base, ignore_errors=True)


class WarmJail:
    """A warm process (jailed when ``sandbox == "bwrap"``) and its slot, used by one grading
    thread at a time (:meth:`checkout`, :meth:`checkin`) and kept between batches.

    ``env`` is the environment of its kernels (the sandbox's ``clean_env``): thread counts are
    read at import time, so a jail serves one environment, and the data it binds are those
    present when it started (chapter 11's model cached later needs a new jail)."""

    _idle: list[WarmJail] = []
    _idle_lock = threading.Lock()

    def __init__(self, sandbox: str, env: dict[str, str]):
        self.key = self.key_for(sandbox, env)
        self.base = Path(tempfile.mkdtemp(prefix="warm-"))
        self.slot = self.base / "slot"  # the only folder of the host a kernel can write
        self.slot.mkdir()
        control = self.base / "control"  # never bound into the jail
        control.mkdir(mode=0o700)
        self.socket_path = control / "kernel.sock"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.socket_path))
        listener.listen(1)
        command = [sys.executable, "-m", "autograder.grader.warmstart", str(listener.fileno()), str(self.slot)]
        if sandbox == "bwrap":
            command = [*jail.bwrap_argv(self.slot, grader_files=("warmstart.py",)), *command]
        kernel_env = {**env, **self.private_dirs()}
        log = control / "warm.log"  # the library log lines of the imports; why it failed, if it did
        with open(log, "w") as err:
            self.proc = spawn(lambda: subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True, env=kernel_env,
                cwd=self.slot, pass_fds=[listener.fileno()]))
        listener.close()
        self._finalizer = weakref.finalize(self, _stop, self.proc, self.base)
        ready = self.proc.stdout.readline().strip()
        if ready != "ready":
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            self._finalizer()
            raise RuntimeError(f"the warm kernel process did not start (exit {self.proc.poll()}): {' / '.join(tail)}")
        self.infrastructure = {self.proc.pid, *(p.pid for p in self.processes())}

    def private_dirs(self) -> dict[str, str]:
        """Where an unjailed kernel keeps its temporary files and IPython/matplotlib settings:
        in the slot, emptied per submission (a jailed one keeps them in the jail's ``/tmp``)."""
        dirs = {"TMPDIR": "tmp", "IPYTHONDIR": "ipython", "MPLCONFIGDIR": "matplotlib"}
        return {name: str(self.slot / sub) for name, sub in dirs.items()}

    @staticmethod
    def key_for(sandbox: str, env: dict[str, str]) -> tuple:
        return sandbox, tuple(sorted(env.items())), tuple(jail.data_binds()) if sandbox == "bwrap" else ()

    @classmethod
    def checkout(cls, sandbox: str, env: dict[str, str]) -> WarmJail:
        """An idle live jail for ``sandbox`` and ``env`` (and today's data), or a new one."""
        key = cls.key_for(sandbox, env)
        with cls._idle_lock:
            for warm in [w for w in cls._idle if w.proc.poll() is not None]:
                cls._idle.remove(warm)
                warm.close()
            for warm in cls._idle:
                if warm.key == key:
                    cls._idle.remove(warm)
                    return warm
        return cls(sandbox, env)

    def checkin(self) -> None:
        """Back to the idle jails (after :meth:`end`), or closed if its process died."""
        if self.proc.poll() is None:
            with self._idle_lock:
                self._idle.append(self)
        else:
            self.close()

    # --- one submission ----------------------------------------------------------------------

    @property
    def autograded(self) -> Path:
        return self.slot / "autograded"

    @property
    def runtime(self) -> Path:
        return self.slot / "runtime"

    def begin(self) -> None:
        """An empty slot for the next submission."""
        self.end()
        for sub in ("autograded", "runtime", *(Path(p).name for p in self.private_dirs().values())):
            (self.slot / sub).mkdir()

    def kernel_argv(self) -> list[str]:
        """The kernel spec's command: the client that asks for a forked kernel."""
        return [sys.executable, "-m", "autograder.grader.warmclient", str(self.socket_path), "{connection_file}"]

    def processes(self) -> list[psutil.Process]:
        """Every process of the jail (or under the warm process), itself included."""
        try:
            return [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.Error:
            return []

    def job_processes(self) -> list[psutil.Process]:
        """The submission's processes: the kernel and what it started, wherever they moved."""
        return [p for p in self.processes() if p.pid not in self.infrastructure]

    def end(self) -> None:
        """Kill the submission's processes and empty the slot."""
        left = self.job_processes()
        for proc in left:
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(left, timeout=10)
        warmstart.empty(self.slot)

    def close(self) -> None:
        self._finalizer()
