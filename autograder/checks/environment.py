"""Checks for chapter 00 (setup): environment facts and seeded reproducibility."""

from __future__ import annotations

import platform

import numpy as np

from autograder.checks.arrays import check_array, to_numpy
from autograder.checks.failure import explains_errors, fail

ENVIRONMENT_KEYS = ("python", "tensorflow", "keras", "backend", "gpus")


@explains_errors
def check_environment_facts(facts) -> None:
    """Assert that ``facts`` describes this kernel.

    Args:
        facts: dict with keys ``python``, ``tensorflow``, ``keras`` (version strings),
            ``backend`` (Keras backend name) and ``gpus`` (int, number of visible GPUs).
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    import tensorflow as tf

    if not isinstance(facts, dict):
        fail(
            f"environment_facts() should return a dict, found {type(facts).__name__}."
        )
    missing = [k for k in ENVIRONMENT_KEYS if k not in facts]
    if missing:
        fail(
            f"environment_facts() is missing the key(s) {missing}; expected keys {list(ENVIRONMENT_KEYS)}."
        )
    expected = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.config.backend(),
        "gpus": len(tf.config.list_physical_devices("GPU")),
    }
    hints = {
        "python": "use platform.python_version().",
        "tensorflow": "use tf.__version__.",
        "keras": "use keras.__version__ (Keras 3 is its own package, not tf.keras).",
        "backend": "use keras.config.backend().",
        "gpus": "count tf.config.list_physical_devices('GPU') (an int, 0 on a CPU-only machine).",
    }
    for key, value in expected.items():
        found = facts[key]
        if key == "gpus" and (isinstance(found, bool) or not isinstance(found, (int, np.integer))):
            fail(
                f"facts['gpus'] should be an int, found {type(found).__name__} {found!r}. "
                f"Hint: {hints[key]}"
            )
        if found != value:
            fail(
                f"facts[{key!r}]: expected {value!r}, found {found!r}. Hint: {hints[key]}"
            )


def reference_seeded_kernel(seed: int) -> np.ndarray:
    """The kernel of ``Dense(4)`` built on 3 inputs right after ``set_random_seed(seed)``."""
    import keras

    keras.utils.set_random_seed(seed)
    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    return layer.kernel.numpy()


@explains_errors
def check_seeded_kernel(seeded_kernel, seeds=(7, 2024)) -> None:
    """Assert that ``seeded_kernel(seed)`` is reproducible and follows the global seed.

    ``seeded_kernel(seed)`` must seed Python, NumPy and TensorFlow with
    ``keras.utils.set_random_seed(seed)``, then build ``keras.layers.Dense(4)`` on inputs
    with 3 features and return its kernel, a float32 array of shape (3, 4).
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    first = to_numpy(seeded_kernel(seeds[0]), name=f"seeded_kernel({seeds[0]})")
    again = to_numpy(seeded_kernel(seeds[0]), name=f"seeded_kernel({seeds[0]}) (second call)")
    other = to_numpy(seeded_kernel(seeds[1]), name=f"seeded_kernel({seeds[1]})")
    if first.shape == again.shape and not np.array_equal(first, again):
        fail(
            f"seeded_kernel({seeds[0]}) gave different kernels on two calls. Hint: call "
            "keras.utils.set_random_seed(seed) inside the function, before building the layer."
        )
    if first.shape == other.shape and np.array_equal(first, other):
        fail(
            f"seeded_kernel({seeds[0]}) and seeded_kernel({seeds[1]}) are identical. Hint: use "
            "the `seed` argument, not a fixed number."
        )
    for seed, found in ((seeds[0], first), (seeds[1], other)):
        check_array(
            found,
            reference_seeded_kernel(seed),
            name=f"seeded_kernel({seed})",
            hint="set the seed first, then create keras.layers.Dense(4) and build it on "
            "input shape (None, 3), with nothing random in between.",
        )
