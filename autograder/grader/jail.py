"""The grading kernel's sandbox: bubblewrap around the kernel nbgrader starts, nothing else.

nbgrader itself (it reads the gradebook and the hidden tests) runs outside, in the grading
process; only the kernel, which runs the student's code, is jailed. The jail is described by a
Jupyter kernel spec written into the job's private ``JUPYTER_PATH``: its ``argv`` is
``bwrap ... python -m ipykernel_launcher -f {connection_file}``, so plain ``nbgrader
autograde`` starts it like any kernel. Inside the jail the kernel sees

* the system (``/usr``, ``/etc``, ...), the Python installation and the virtualenv, read-only;
* the kernel side of the ``autograder`` package, read-only (``autograder/grader`` is hidden);
* the course data and model caches, read-only, under ``/opt/course-data``
  (``$AUTOGRADER_DATA_DIR``);
* the submission's autograded folder (its working directory) and the job's kernel runtime
  folder (the connection file and its IPC sockets), writable;
* a private ``/tmp`` and ``HOME`` (``/tmp/home``, with its own Keras cache), ``/dev``, ``/proc``.

Nothing else: no gradebook, ``solutions/``, ``submitted/``, HOME or other job. It has no
network (``--unshare-all``: a new network namespace holds only a loopback device), so the
kernel talks to nbgrader over IPC sockets (``KernelManager.transport = "ipc"``), and it is
interrupted by a message (``interrupt_mode: "message"``): a SIGINT to its process group would
kill ``bwrap`` itself. Memory and time limits keep working: the jailed processes are
descendants of the grading process, which the sandbox watches and kills.

Where bubblewrap cannot run (macOS, Windows, a kernel without unprivileged user namespaces)
:func:`probe` says why, and the batch grader grades without isolation, saying so in its
report.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import autograder

BWRAP = "bwrap"
DATA_MOUNT = "/opt/course-data"  # $AUTOGRADER_DATA_DIR inside the jail
JAIL_HOME = "/tmp/home"
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@functools.lru_cache(maxsize=1)
def probe() -> tuple[bool, str]:
    """Whether bubblewrap can jail a process here: (True, version) or (False, why not)."""
    path = shutil.which(BWRAP)
    if path is None:
        return False, "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    try:
        run = subprocess.run([path, "--unshare-all", "--die-with-parent", *system_binds(), "true"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"bwrap could not start: {err}"
    if run.returncode != 0:
        return False, f"bwrap cannot create a sandbox here: {run.stderr.strip() or run.returncode}"
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    return True, version


def system_binds() -> list[str]:
    """Read-only binds of the system folders (symlinks such as ``/lib -> usr/lib`` kept)."""
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    return args


def keras_home() -> Path:
    """The grader's Keras cache (``$KERAS_HOME``, else ``~/.keras``), read without importing Keras."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


def data_binds() -> list[str]:
    """Read-only binds of the course's offline data into ``/opt/course-data``: the first
    Fashion-MNIST folder found (Keras cache, then ``$AUTOGRADER_DATA_DIR``) and the cached
    models (chapter 11's source model)."""
    args: list[str] = []
    env_dir = os.environ.get("AUTOGRADER_DATA_DIR")
    candidates = [keras_home() / "datasets" / "fashion-mnist"]
    if env_dir:
        candidates += [Path(env_dir) / "fashion-mnist", Path(env_dir)]
    for folder in candidates:
        if (folder / "train-images-idx3-ubyte.gz").is_file():
            args += ["--ro-bind", str(folder.resolve()), f"{DATA_MOUNT}/fashion-mnist"]
            break
    for models in (keras_home() / "models", Path(env_dir or "/nonexistent") / "models"):
        if models.is_dir():
            args += ["--ro-bind", str(models.resolve()), f"{DATA_MOUNT}/models"]
            break
    return args


def python_binds(grader_files: tuple[str, ...] = ()) -> list[str]:
    """The interpreter, the virtualenv and the kernel side of ``autograder``, read-only; of
    ``autograder/grader`` only ``grader_files`` (the warm process's own module)."""
    args: list[str] = []
    for prefix in sorted({sys.base_prefix, sys.prefix}):
        if not any(prefix.startswith(d + "/") for d in SYSTEM_DIRS):
            args += ["--ro-bind", prefix, prefix]
    package = Path(autograder.__file__).resolve().parent
    args += ["--ro-bind", str(package), str(package), "--tmpfs", str(package / "grader")]
    for name in grader_files:
        args += ["--ro-bind", str(package / "grader" / name), str(package / "grader" / name)]
    return args


def bwrap_argv(workdir: Path, runtime_dir: Path | None = None, *, grader_files: tuple[str, ...] = ()) -> list[str]:
    """``bwrap`` and its options for one job: ``workdir`` (the autograded folder, the kernel's
    working directory) and ``runtime_dir`` (connection file, sockets; None: inside ``workdir``)
    writable, ``grader_files`` of ``autograder/grader`` visible, the rest as the module doc says."""
    runtime_dir = runtime_dir or workdir
    return [
        shutil.which(BWRAP) or BWRAP,
        "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        *system_binds(), *python_binds(grader_files),
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        *data_binds(),
        "--bind", str(workdir), str(workdir),
        "--bind", str(runtime_dir), str(runtime_dir),
        "--chdir", str(workdir),
        "--setenv", "HOME", JAIL_HOME,
        "--setenv", "KERAS_HOME", f"{JAIL_HOME}/.keras",
        "--setenv", "TMPDIR", "/tmp",
        "--setenv", "IPYTHONDIR", "/tmp/ipython",
        "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib",
        "--setenv", "AUTOGRADER_DATA_DIR", DATA_MOUNT,
        "--setenv", "AUTOGRADER_SANDBOX", "bwrap",
        "--unsetenv", "JPY_PARENT_PID",  # its parent's pid is another number in the jail's namespace
        "--",
    ]


def kernel_manager_args(runtime_dir: Path) -> list[str]:
    """nbgrader options that make its kernel manager talk to a jailed kernel: IPC sockets and
    the connection file in ``runtime_dir`` (absolute paths: nbgrader and the kernel have
    different working directories)."""
    return ["--KernelManager.transport=ipc", f"--KernelManager.ip={runtime_dir / 'kernel-ipc'}",
            f"--KernelManager.connection_file={runtime_dir / 'kernel.json'}"]


def kernel_argv(jail: list[str] | None) -> list[str]:
    """The kernel's command line, jailed by ``jail`` (a :func:`bwrap_argv`) or not (None)."""
    return [*(jail or []), sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def write_kernel_spec(jupyter_path: Path, argv: list[str]) -> Path:
    """Write the ``python3`` kernel spec that the job's nbgrader will start (it comes first on
    the job's ``JUPYTER_PATH``, before the one ipykernel installs)."""
    spec_dir = jupyter_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv, "display_name": "Python 3 (grading)", "language": "python",
            "interrupt_mode": "message", "metadata": {"debugger": False}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir
