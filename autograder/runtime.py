"""Runtime set-up: the one call every notebook makes first.

``setup()`` makes a kernel reproducible and gradeable:

* seeds Python, NumPy and the Keras/TensorFlow backend (``keras.utils.set_random_seed``);
* turns on TensorFlow op determinism (same result for the same op on the same device);
* turns off TF32, which Ampere/Hopper GPUs use by default for float32 matmuls and
  convolutions (10-bit mantissa: a 512-deep matmul errs by ~3e-2), so a check gives the same
  grade on a GPU kernel as on a CPU one;
* quiets TensorFlow's C++ and Python logging (including the lines TensorFlow prints while it
  is imported), because nbgrader scores a test cell 0 when anything reaches stderr;
* prints a short device report (stdout).

Importing this module sets the logging environment variables *before* TensorFlow is imported,
which is the only moment they take effect for the C++ logs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import sys
import warnings
from dataclasses import dataclass

# Must happen before `import tensorflow` anywhere in the process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # drop INFO, WARNING, ERROR logs from C++
os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # the checks use tf.GradientTape

DEFAULT_SEED = 42


@dataclass(frozen=True)
class RuntimeInfo:
    """What `setup` configured, as facts a notebook or `doctor` can print."""

    python: str
    tensorflow: str
    keras: str
    backend: str
    gpus: tuple[str, ...]
    seed: int
    deterministic: bool
    tf32: bool

    @property
    def device(self) -> str:
        return f"GPU x{len(self.gpus)} ({', '.join(self.gpus)})" if self.gpus else "CPU"

    def report(self) -> str:
        return (
            f"Python {self.python} | TensorFlow {self.tensorflow} | Keras {self.keras} "
            f"(backend: {self.backend})\n"
            f"device: {self.device} | seed: {self.seed} | "
            f"op determinism: {'on' if self.deterministic else 'off'} | "
            f"TF32: {'on' if self.tf32 else 'off'}"
        )


@contextlib.contextmanager
def silenced_stderr_fd():
    """Send file descriptor 2 to /dev/null for the duration (C++ writes bypass sys.stderr).

    TensorFlow 2.21 prints absl's "All log messages before absl::InitializeLog()" and oneDNN /
    CUDA notices from C++ while it is imported, whatever TF_CPP_MIN_LOG_LEVEL says. Python
    exceptions are unaffected: they are raised, not printed.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow():
    """Import TensorFlow and Keras without their start-up log lines on stderr."""
    with silenced_stderr_fd():
        import keras
        import tensorflow as tf

        tf.config.list_physical_devices()  # device discovery logs too (CUDA notices)
    return tf, keras


def quiet_logging() -> None:
    """Silence TensorFlow/absl/Keras log chatter that would go to stderr."""
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl ships with tensorflow
        pass
    for module in ("keras", "tensorflow", "absl"):
        warnings.filterwarnings("ignore", module=module)


def gpu_names() -> tuple[str, ...]:
    """Names of the visible GPUs, empty on a CPU-only machine."""
    import tensorflow as tf

    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        names.append(details.get("device_name", gpu.name))
    return tuple(names)


def setup(
    seed: int = DEFAULT_SEED,
    *,
    deterministic: bool = True,
    quiet: bool = True,
    report: bool = True,
) -> RuntimeInfo:
    """Seed everything, fix numerics for grading and print a device report.

    Args:
        seed: Python int seed for `random`, NumPy and the TensorFlow backend.
        deterministic: turn on `tf.config.experimental.enable_op_determinism()`.
            It cannot be turned off again in the same process.
        quiet: silence TensorFlow/Keras logging and warnings.
        report: print one two-line report to stdout.

    Returns:
        RuntimeInfo with versions, GPUs and the settings applied.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")

    tf, keras = import_tensorflow()

    if quiet:
        quiet_logging()
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    tf.config.experimental.enable_tensor_float_32_execution(False)

    info = RuntimeInfo(
        python=platform.python_version(),
        tensorflow=tf.__version__,
        keras=keras.__version__,
        backend=keras.config.backend(),
        gpus=gpu_names(),
        seed=seed,
        deterministic=deterministic,
        tf32=tf.config.experimental.tensor_float_32_execution_enabled(),
    )
    if report:
        print(info.report())
    return info
