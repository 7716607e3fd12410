"""Chapter 00 checks: environment facts and seeded weights."""


import keras
import numpy as np
import tensorflow as tf
from conftest import failure, solution_functions

from autograder.checks import check_environment_facts, check_seeded_kernel

# The notebook's own solutions are the correct implementations.
S = solution_functions("00_setup", "import platform\nimport keras\nimport tensorflow as tf")
seeded = S["seeded_kernel"]


def facts(**override):
    return {**S["environment_facts"](), **override}


def test_true_facts_pass():
    check_environment_facts(facts())


def test_wrong_or_missing_facts_are_named_with_a_hint():
    msg = failure(check_environment_facts, facts(keras=tf.__version__))
    assert f"facts['keras']: expected {keras.__version__!r}, found {tf.__version__!r}" in msg
    assert "keras.__version__" in msg
    broken = facts()
    del broken["backend"]
    assert "missing the key(s) ['backend']" in failure(check_environment_facts, broken)
    assert "should be an int" in failure(check_environment_facts, facts(gpus="0"))
    assert "should return a dict" in failure(check_environment_facts, None)


def test_seeded_kernel_solution_passes():
    check_seeded_kernel(seeded)


def test_unseeded_kernel_is_not_reproducible():
    def unseeded(seed):
        layer = keras.layers.Dense(4)
        layer.build((None, 3))
        return layer.kernel.numpy()

    assert "different kernels on two calls" in failure(check_seeded_kernel, unseeded)


def test_fixed_seed_ignores_the_argument():
    assert "are identical" in failure(check_seeded_kernel, lambda seed: seeded(0))


def test_extra_randomness_before_the_layer_changes_the_weights():
    def draws_first(seed):
        keras.utils.set_random_seed(seed)
        keras.random.normal((2,))
        layer = keras.layers.Dense(4)
        layer.build((None, 3))
        return layer.kernel.numpy()

    msg = failure(check_seeded_kernel, draws_first)
    assert "values differ" in msg and "nothing random in between" in msg


def test_wrong_shape_is_reported():
    assert "wrong shape: expected (3, 4)" in failure(check_seeded_kernel, lambda s: seeded(s).T * np.float32(1))
