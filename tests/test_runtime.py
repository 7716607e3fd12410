"""autograder.runtime.setup: seeds, determinism, TF32 off, report."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from autograder import runtime


def test_setup_makes_draws_reproducible_and_turns_tf32_off(capsys):
    info = runtime.setup(seed=3)
    first = (np.random.rand(3), keras.random.normal((3,)).numpy(), tf.random.uniform((2,)).numpy())
    runtime.setup(seed=3, report=False)
    second = (np.random.rand(3), keras.random.normal((3,)).numpy(), tf.random.uniform((2,)).numpy())
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not tf.config.experimental.tensor_float_32_execution_enabled()
    assert info.tf32 is False and info.seed == 3 and info.deterministic
    out = capsys.readouterr()
    assert f"TensorFlow {tf.__version__} | Keras {keras.__version__}" in out.out
    assert "seed: 3 | op determinism: on | TF32: off" in out.out
    assert out.err == ""


def test_report_names_the_device():
    info = runtime.setup(seed=0, report=False)
    assert info.device == ("CPU" if not info.gpus else info.device)
    assert info.backend == "tensorflow"


@pytest.mark.parametrize("seed", [-1, 1.5, "42", True])
def test_bad_seeds_are_rejected(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        runtime.setup(seed=seed)


def test_setup_in_a_fresh_kernel_writes_nothing_to_stderr(tmp_path):
    # nbgrader zeroes a test cell on any stderr; TensorFlow's import-time C++ lines must not leak.
    import subprocess
    import sys

    code = "from autograder.runtime import setup; setup(); import tensorflow as tf; print(float(tf.reduce_sum(tf.ones(3))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={k: v for k, v in __import__("os").environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert out.returncode == 0, out.stderr
    assert out.stderr == "" and out.stdout.strip().endswith("3.0")


def test_silenced_stderr_is_restored_after_an_exception(capfd):
    import os

    with pytest.raises(RuntimeError), runtime.silenced_stderr_fd():
        os.write(2, b"hidden\n")
        raise RuntimeError("boom")
    os.write(2, b"visible\n")
    err = capfd.readouterr().err
    assert "visible" in err and "hidden" not in err
