"""Comparing a student's array with a reference, with feedback a student can act on.

Every check in the course ends in `check_array`: it converts what the student returned,
checks type, shape, dtype and finiteness, then values with ``|found - expected| <= atol +
rtol * |expected|`` (NumPy's ``allclose`` rule), and on failure raises ``AssertionError`` with
the first offending index, expected vs found, the largest errors, the tolerance and a hint.
"""

from __future__ import annotations

import re

import numpy as np

from autograder import integrity
from autograder.checks.failure import FIRST_WIDTH, explains_errors, fail, number
from autograder.checks.tolerances import tolerance


def default_tolerance(dtype) -> dict:
    """`rtol`/`atol` for comparing arrays of ``dtype``."""
    return tolerance("float64" if np.dtype(dtype) == np.float64 else "float32")


def to_numpy(value, *, name: str = "value") -> np.ndarray:
    """Convert a NumPy array, a tf.Tensor, a Variable, a list or a scalar to ``np.ndarray``.

    Raises:
        AssertionError: for None or a value that is not array-like, with a hint.
    """
    if value is None:
        fail(f"{name} is None", hint="did you forget the `return` statement?")
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    try:
        array = np.asarray(value)
    except Exception as err:  # ragged lists, objects that refuse conversion
        fail(f"{name} could not be converted to an array", details=[f"{type(value).__name__}: {err}"])
    if array.dtype == object:
        fail(f"{name} is not a numeric array", details=[f"found: {type(value).__name__} (an object array)"],
             hint="return a tensor or a NumPy array, not a list of tensors.")
    return array


def dtype_hint(expected, found, *, numpy: bool) -> str:
    """What to do about a wrong dtype, in NumPy's words when the student returned a NumPy
    array and in TensorFlow's when a tensor, naming the usual cause."""
    expected, found = np.dtype(expected), np.dtype(found)
    if not numpy:
        return (f"cast with tf.cast(..., {expected.name!r}) or choose the dtype where the tensor "
                "is created.")
    if expected.kind == "f" and found.kind in "iub":
        cause = ("np.where(x > 0, 1, 0) and comparisons give integers or booleans: "
                 "write 1.0 and 0.0, or cast")
    elif expected == np.float32 and found == np.float64:
        cause = ("a float64 number promotes float32 arrays in NumPy 2 (np.sqrt(2 / np.pi) is a "
                 "float64 scalar; so is np.float64(...) or an array made without dtype)")
    else:
        cause = "an input or constant of another dtype entered the computation"
    return f"{cause}. Return result.astype(x.dtype) ({expected.name} here)."


def _format(value) -> str:
    return np.array2string(np.asarray(value), precision=7, threshold=12, edgeitems=3)


def _index(flat_index: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat_index, shape)) if shape else ()


def _describe_inputs(inputs: dict | None, index: tuple | None, shape: tuple) -> list[str]:
    """Say where the failure happened: an input shaped like the result is shown at ``index``."""
    if not inputs:
        return []
    parts = []
    for key, value in inputs.items():
        value = np.asarray(value)
        if index is not None and value.shape == shape and shape:
            parts.append(f"{key}{list(index)} = {number(value[index])}")
        else:
            parts.append(f"{key} = {_format(value)}")
    return ["input: " + ", ".join(parts)]


def _fail_value(name: str, lines: list[str], hint: str | None) -> None:
    """Fail with ``name: lines[0]`` first; a name too long for the first line is shortened to
    the function's name there and given whole on the next line."""
    __tracebackhide__ = True  # noqa: F841 - read by IPython
    first = f"{name}: {lines[0]}"
    details = list(lines[1:])
    if len(first) > FIRST_WIDTH:
        short = re.split(r" with |\(", name)[0].strip()
        first = f"{short}: {lines[0]}"
        details.insert(0, f"checked: {name}")
    fail(first, hint, details=details)


@explains_errors
def check_array(
    found,
    expected,
    *,
    name: str = "result",
    rtol: float | None = None,
    atol: float | None = None,
    check_dtype: bool = True,
    hint: str | None = None,
    inputs: dict | None = None,
) -> None:
    """Assert that ``found`` equals ``expected`` in shape, dtype and values.

    Args:
        found: what the student's code returned (array-like, tf.Tensor, scalar).
        expected: the reference (array-like); its dtype is the expected dtype.
        name: how the value is called in the message, e.g. ``"stable_softmax(logits)"``.
        rtol, atol: tolerance; default `default_tolerance` of the expected dtype.
        check_dtype: require ``found.dtype == expected.dtype``.
        hint: what a student should look at when the values differ.
        inputs: arrays or values shown in the message to say where the test was made.

    Raises:
        AssertionError: naming what differs (type, shape, dtype, NaN/inf, values).
        ValueError: the check itself was called wrongly (negative tolerance, bad reference).
    """
    __tracebackhide__ = True  # noqa: F841 - read by IPython: the student sees the message
    integrity.audit()  # in a grading kernel: undo and report what an answer cell patched
    expected = np.asarray(expected)
    if expected.dtype == object or not (
        np.issubdtype(expected.dtype, np.number) or expected.dtype == bool
    ):
        raise ValueError(f"check_array: the reference must be numeric, got dtype {expected.dtype}")
    tol = default_tolerance(expected.dtype)
    rtol = tol["rtol"] if rtol is None else rtol
    atol = tol["atol"] if atol is None else atol
    if rtol < 0 or atol < 0:
        raise ValueError(f"check_array: tolerances must be >= 0, got rtol={rtol}, atol={atol}")

    numpy_result = isinstance(found, (np.ndarray, np.generic, float, int))
    found = to_numpy(found, name=name)
    where = _describe_inputs(inputs, None, ())

    if found.shape != expected.shape:
        shape_hint = hint
        if abs(found.ndim - expected.ndim) == 1:
            shape_hint = "one axis too many or too few: check keepdims=True, squeeze or expand_dims."
        elif found.size == expected.size:
            shape_hint = "same number of elements, different shape: check reshape/transpose/keepdims."
        _fail_value(name, [f"wrong shape: expected {expected.shape}, found {found.shape}", *where], shape_hint)

    if check_dtype and found.dtype != expected.dtype:
        _fail_value(name, [f"wrong dtype: expected {expected.dtype}, found {found.dtype}", *where],
              dtype_hint(expected.dtype, found.dtype, numpy=numpy_result))

    if not np.issubdtype(expected.dtype, np.floating):
        bad = np.flatnonzero(found.ravel() != expected.ravel())
        if bad.size:
            idx = _index(bad[0], expected.shape)
            _fail_value(
                name,
                [
                    f"{bad.size} of {expected.size} values differ; first at index {idx}",
                    f"expected: {number(expected[idx])}",
                    f"found:    {number(found[idx])}",
                    *_describe_inputs(inputs, idx, expected.shape),
                ],
                hint,
            )
        return

    found_f = found.astype(np.float64)
    expected_f = expected.astype(np.float64)
    nonfinite = ~np.isfinite(found_f) & np.isfinite(expected_f)
    if nonfinite.any():
        first = _index(np.flatnonzero(nonfinite.ravel())[0], expected.shape)
        kind = "NaN" if np.isnan(found_f[first]) else "inf"
        _fail_value(
            name,
            [
                f"found {kind} at index {first}, expected {number(expected[first])}",
                f"{int(nonfinite.sum())} of {expected.size} values are NaN or inf",
                *_describe_inputs(inputs, first, expected.shape),
            ],
            hint
            or "NaN or inf usually comes from exp() of a large number, log(0), sqrt of a "
            "negative number or 0/0: make the computation numerically stable.",
        )

    same_nonfinite = (np.isnan(found_f) & np.isnan(expected_f)) | (found_f == expected_f)
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf
        err = np.where(same_nonfinite, 0.0, np.abs(found_f - expected_f))
    bad = err > atol + rtol * np.abs(expected_f)
    if bad.any():
        first = _index(np.flatnonzero(bad.ravel())[0], expected.shape)
        worst = _index(int(np.argmax(np.where(same_nonfinite, 0.0, err))), expected.shape)
        worst_error = f"largest error {number(err[worst])} at index {worst}"
        if expected_f[worst] != 0:  # a relative error means nothing next to a zero
            worst_error += f" ({number(err[worst] / abs(expected_f[worst]))} relative)"
        _fail_value(
            name,
            [
                (f"{int(bad.sum())} of {expected.size} values differ; first at index {first}"
                 if expected.ndim else "wrong value"),
                f"expected: {number(expected[first])}",
                f"found:    {number(found[first])}",
                worst_error,
                f"tolerance: rtol={rtol:g}, atol={atol:g}",
                *_describe_inputs(inputs, first, expected.shape),
            ],
            hint,
        )


@explains_errors
def check_scalar(found, expected, *, name: str = "result", **kwargs) -> None:
    """`check_array` for a single number: a Python or NumPy scalar, or a 0-d tensor.

    The dtype is checked only when ``expected`` has one (a NumPy scalar or array), not for a
    plain Python number.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    found_array = to_numpy(found, name=name)
    if isinstance(expected, (int, float)):
        kwargs.setdefault("check_dtype", False)
    if found_array.size != 1:
        fail(f"{name}: expected a single number", details=[f"found: an array of shape {found_array.shape}"],
             hint="reduce over all axes (tf.reduce_mean without axis) to get a scalar.")
    check_array(found_array.reshape(()), np.asarray(expected).reshape(()), name=name, **kwargs)


def matches_mistake(found, expected: np.ndarray, mistake, *, rtol: float, atol: float) -> bool:
    """Whether ``found`` (a student's array) misses ``expected`` but equals ``mistake()``, the
    answer of a known mistake (a flipped kernel, a gate the other way round), within the
    tolerances. ``mistake`` is called only for a wrong answer of the right shape; anything
    else (no array, another shape, NaN) is left to `check_array` to describe."""
    if isinstance(found, (list, tuple)) or tuple(getattr(found, "shape", (None,))) != tuple(expected.shape):
        return False
    found = np.asarray(to_numpy(found), dtype="float64")
    if not np.isfinite(found).all() or np.allclose(found, expected, rtol=rtol, atol=atol):
        return False
    return bool(np.allclose(found, mistake(), rtol=rtol, atol=atol))


def relative_error(a, b, *, eps: float = 1e-12) -> float:
    """Largest elementwise relative error ``|a - b| / max(|a| + |b|, eps)``.

    The symmetric form used for gradient checking (CS231n): about 1e-7 or less means two
    float64 gradients agree; 1e-2 or more means one of them is wrong.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: shapes differ, {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps), initial=0.0))
