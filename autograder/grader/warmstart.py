"""Warm kernel starts for the grader: import the heavy libraries once, fork one kernel per submission.

``python -m autograder.grader.warmstart LISTEN_FD [KEEP]`` runs inside a grading worker's jail,
started by :mod:`autograder.grader.warm` (the jail shows it this one file of
``autograder/grader``). It imports NumPy, TensorFlow, Keras, matplotlib
and IPython's kernel (3-4 s of every cold kernel, measured in docs/benchmarks.md), says
``ready`` on stdout, then serves the Unix socket it inherited as file descriptor ``LISTEN_FD``:
each connection carries one JSON line ``{"connection_file": path, "cwd": path, "options":
[...]}`` and gets a kernel forked for it -- a real ``ipykernel`` started with that connection
file and options, as ``python -m ipykernel_launcher -f FILE OPTION...`` would start it -- then ``{"pid": n}`` and, when the
kernel ends, ``{"exit": code}``. A connection closed early (nbgrader killed the kernel's
client) kills the kernel. One kernel at a time, each used for exactly one submission.

Before each fork the process puts the jail's private places back as they were after the
imports (``/tmp``, ``/dev/shm``, System V IPC objects); the grader empties the
submission's own folder and kills every process the previous kernel left. The process is not
dumpable (``PR_SET_DUMPABLE`` 0), so a kernel cannot read or write its memory; forked kernels
are made dumpable again, as any process is.

Nothing is imported that starts work: TensorFlow's runtime (its thread pools, the eager
context) is created on first use, after the fork, in the kernel. Linux only (``os.fork``);
the grader falls back to cold kernels elsewhere.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

HEAVY = ("numpy", "tensorflow", "keras", "matplotlib", "IPython", "ipykernel.kernelapp")
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


def prctl(option: int, value: int) -> None:
    """Linux ``prctl(option, value)``; a no-op where it does not exist."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(option, value)
    except (AttributeError, OSError):
        pass


def empty(folder: Path, keep: tuple[Path, ...] = ()) -> None:
    """Remove everything in ``folder`` but ``keep`` and the folders leading to it; permissions a
    kernel took away (``chmod 000``) are given back first."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry in keep:
            continue
        if any(entry in k.parents for k in keep):
            empty(entry, keep)
            continue
        if entry.is_dir() and not entry.is_symlink():
            for sub in [entry, *entry.rglob("*")]:
                if sub.is_dir() and not sub.is_symlink():
                    try:
                        sub.chmod(0o700)
                    except OSError:
                        pass
            shutil.rmtree(entry, ignore_errors=True)
        else:
            try:
                entry.unlink()
            except OSError:
                pass


def snapshot(folder: Path, keep: tuple[Path, ...]) -> dict[Path, bytes | None]:
    """What ``folder`` holds but ``keep``: file contents, None for a folder (in creation order)."""
    found: dict[Path, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        if any(path == k or k in path.parents or path in k.parents for k in keep):
            continue
        if path.is_dir() and not path.is_symlink():
            found[path] = None
        elif path.is_file() and not path.is_symlink():
            found[path] = path.read_bytes()
    return found


def clean_private_places(keep: tuple[Path, ...], after_imports: dict[Path, bytes | None]) -> None:
    """Put ``/tmp`` back as it was after the imports (Keras creates its ``$KERAS_HOME`` and
    ``keras.json`` when imported; a cold kernel has them too), ``keep`` aside; empty
    ``/dev/shm`` and remove the System V IPC objects of this jail."""
    empty(Path("/tmp"), keep)
    for path, data in after_imports.items():
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.write_bytes(data)
    empty(Path("/dev/shm"))
    ipcrm = shutil.which("ipcrm")
    if ipcrm:
        subprocess.run([ipcrm, "--all"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def kernel_child(connection_file: str, cwd: str, options: list[str]) -> None:
    """Body of a forked kernel: its own session, its folder, stdio to /dev/null (cell output
    goes over the kernel's sockets), then ipykernel's own start."""
    os.setsid()
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the warm process, jailed or not
    prctl(PR_SET_DUMPABLE, 1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(cwd)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    code = 0
    try:
        from ipykernel.kernelapp import IPKernelApp

        argv = ["-f", connection_file, *options]
        sys.argv = [sys.executable, "-m", "ipykernel_launcher", *argv]
        IPKernelApp.launch_instance(argv=argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    except BaseException:  # noqa: BLE001 - a kernel that cannot start ends; nbgrader reports it
        code = 1
    os._exit(code)


def serve_one(conn: socket.socket, listener: socket.socket, keep: tuple[Path, ...] | None,
              after_imports: dict[Path, bytes | None]) -> None:
    """Fork a kernel for the request on ``conn`` and report its pid and its exit code; first
    put the jail's private places back (:func:`clean_private_places`) unless ``keep`` is None
    (not jailed)."""
    line = conn.makefile("r").readline()
    if not line:
        return
    request = json.loads(line)
    if keep is not None:
        clean_private_places(keep, after_imports)
    pid = os.fork()
    if pid == 0:
        listener.close()
        conn.close()
        kernel_child(request["connection_file"], request["cwd"], request.get("options", []))
    conn.sendall((json.dumps({"pid": pid}) + "\n").encode())
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        readable, _, _ = select.select([conn], [], [], 0.1)
        if readable and not conn.recv(1, socket.MSG_PEEK):  # the client is gone
            for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    target()
                except OSError:
                    pass
            os.waitpid(pid, 0)
            return
    try:
        os.killpg(pid, signal.SIGKILL)  # what the kernel left running in its session
    except OSError:
        pass
    try:
        conn.sendall((json.dumps({"exit": code}) + "\n").encode())
    except OSError:
        pass


def main(argv: list[str]) -> None:
    """``LISTEN_FD [KEEP]``: serve the socket; in a jail, empty its ``/tmp`` (but ``KEEP``, the
    submissions' folder bound into it) before each kernel."""
    listener = socket.socket(fileno=int(argv[0]))
    jailed = os.environ.get("AUTOGRADER_SANDBOX") == "bwrap"  # never empty the /tmp of a machine
    keep = tuple(Path(p) for p in argv[1:]) if jailed else None
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the grading thread that started it
    prctl(PR_SET_DUMPABLE, 0)
    # What ipykernel does as it starts (IPKernelApp.init_gui_pylab), done here before matplotlib
    # is imported: matplotlib reads MPLBACKEND once, at import, so without it a forked kernel
    # draws with Agg and plt.show() leaves no figure in the graded notebook or the feedback.
    if not os.environ.get("MPLBACKEND"):
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    for name in HEAVY:
        __import__(name)
    after_imports = snapshot(Path("/tmp"), keep) if jailed else {}
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        with conn:
            serve_one(conn, listener, keep, after_imports)


if __name__ == "__main__":
    main(sys.argv[1:])
