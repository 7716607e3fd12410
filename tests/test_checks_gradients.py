"""Tape references, central differences and check_gradient."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import failure

from autograder.checks import check_gradient, numeric_gradient, reference_gradient, relative_error


def test_reference_gradient_is_the_elementwise_derivative_with_keras_kink_values():
    x = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    assert reference_gradient(keras.activations.relu, x).tolist() == [0.0, 0.0, 1.0]
    np.testing.assert_allclose(reference_gradient(tf.tanh, x), 1 - np.tanh(x) ** 2, rtol=1e-6)
    assert reference_gradient(tf.sigmoid, np.zeros(2, np.float64)).dtype == np.float64


def test_reference_gradient_of_a_non_differentiable_function_is_an_error():
    with pytest.raises(ValueError, match="not differentiable"):
        reference_gradient(lambda t: tf.constant(1.0), np.ones(3, np.float32))


def test_numeric_gradient_matches_analytic_in_float64():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    num = numeric_gradient(lambda v: np.sum(np.sin(v) * v**2), x)
    exact = np.cos(x) * x**2 + 2 * x * np.sin(x)
    assert relative_error(num, exact) < 1e-8


def test_check_gradient_accepts_a_correct_derivative():
    x = np.linspace(-5, 5, 41).astype(np.float32)
    check_gradient(lambda v: 1 - np.tanh(v) ** 2, tf.tanh, x, name="tanh_grad")


def test_check_gradient_reports_the_input_where_the_derivative_is_wrong():
    x = np.array([-2.0, -0.5, 1.0, 3.0], dtype=np.float32)
    wrong = lambda v: np.where(v > 0, 1.0, 0.1).astype(np.float32)  # noqa: E731
    msg = failure(check_gradient, wrong, keras.activations.relu, x, name="relu_grad", hint="slope is 0 for x < 0")
    assert msg.startswith("relu_grad: 2 of 4 values differ; first at index (0,)")
    assert "input: x[0] = -2.0" in msg and msg.endswith("Hint: slope is 0 for x < 0")


def test_check_gradient_can_exclude_kinks():
    x = np.array([-1.0, 0.0, 1.0], dtype=np.float32)
    right_derivative_at_0 = lambda v: (v >= 0).astype(np.float32)  # noqa: E731
    assert "index (1,)" in failure(check_gradient, right_derivative_at_0, keras.activations.relu, x)
    check_gradient(right_derivative_at_0, keras.activations.relu, x, exclude=(x == 0))
