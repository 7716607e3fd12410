"""Reference gradients from ``tf.GradientTape`` and numerical gradients.

The course grades derivatives against autodiff of the real TensorFlow/Keras op, never
against a hand-written formula. For an elementwise function ``f`` the gradient of
``sum(f(x))`` with respect to ``x`` is the elementwise derivative ``f'(x)``; for any other
function it is the vector-Jacobian product with a vector of ones, which is what a student's
``*_grad`` function is asked to return.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autograder.checks.arrays import check_array, to_numpy
from autograder.checks.failure import explains_errors


def reference_gradient(fn: Callable, x, *, dtype: str | None = None) -> np.ndarray:
    """Gradient of ``sum(fn(x))`` with respect to ``x``, by ``tf.GradientTape``.

    Args:
        fn: a TensorFlow-differentiable function (e.g. ``keras.activations.gelu``).
        x: array-like input; ``dtype`` (default: x's dtype, float32 if not floating).

    Returns:
        np.ndarray with x's shape and dtype. Where ``fn`` is not differentiable the value is
        whatever TensorFlow's registered gradient gives (e.g. 0 for ``relu`` at 0).
    """
    import tensorflow as tf

    x = np.asarray(x)
    dtype = dtype or (x.dtype.name if np.issubdtype(x.dtype, np.floating) else "float32")
    x_tensor = tf.convert_to_tensor(x, dtype=dtype)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        y = tf.reduce_sum(fn(x_tensor))
    grad = tape.gradient(y, x_tensor)
    if grad is None:
        raise ValueError("reference_gradient: fn is not differentiable with respect to x")
    return grad.numpy()


def numeric_gradient(f: Callable, x, *, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of a scalar function: ``(f(x+h e_i) - f(x-h e_i)) / 2h``.

    Computed in float64 (truncation error O(h^2), round-off O(eps/h), so h ~ 1e-5 balances
    the two). ``f`` takes an array shaped like ``x`` and returns a number.

    Returns:
        float64 array with x's shape.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = float(to_numpy(f(x), name="f(x + h)").sum())
        x[i] = old - h
        f_minus = float(to_numpy(f(x), name="f(x - h)").sum())
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


@explains_errors
def check_gradient(
    grad_fn: Callable,
    fn: Callable,
    x,
    *,
    name: str = "gradient",
    rtol: float | None = None,
    atol: float | None = None,
    hint: str | None = None,
    exclude=None,
) -> None:
    """Assert that ``grad_fn(x)`` equals the tape gradient of ``sum(fn(x))``.

    Args:
        grad_fn: the student's analytic gradient; called with a NumPy array like ``x``.
        fn: the reference, a TensorFlow-differentiable function (a Keras activation...).
        x: inputs (NumPy array); their dtype is the dtype expected back.
        exclude: optional boolean mask of points not graded (kinks where the derivative is
            a convention); those entries are compared as equal.

    Raises:
        AssertionError: from `check_array`, naming the first wrong input.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    x = np.asarray(x)
    expected = reference_gradient(fn, x)
    found = to_numpy(grad_fn(x.copy()), name=name)
    if exclude is not None:
        exclude = np.broadcast_to(np.asarray(exclude, dtype=bool), x.shape)
        if found.shape == expected.shape:
            found = np.where(exclude, expected, found).astype(found.dtype)
    check_array(found, expected, name=name, rtol=rtol, atol=atol, hint=hint, inputs={"x": x})
