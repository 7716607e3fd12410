"""Checks for chapter 01 (tensors).

Each ``check_*`` takes the student's function and, optionally, the inputs to test it on.
Called with the function alone it runs the visible cases; hidden tests in the notebook pass
their own edge-case inputs. References come from TensorFlow/Keras ops (``keras.ops.softmax``,
``tf.one_hot``, ``tf.image.extract_patches``, ``tf.nn.batch_normalization``,
``tf.GradientTape``), computed on the same inputs.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.arrays import check_array, check_scalar, to_numpy
from autograder.checks.failure import explains_errors, fail
from autograder.checks.source import check_not_used
from autograder.checks.tolerances import distance_tolerance, tolerance


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- stable softmax --------------------------------------------------------------------


def softmax_cases():
    rng = _rng(1)
    return [
        (rng.normal(size=(4, 5)).astype("float32"), -1),
        (np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]], dtype="float32"), -1),
        (rng.normal(scale=3.0, size=(3, 6)).astype("float64"), -1),
    ]


@explains_errors
def check_stable_softmax(stable_softmax, logits=None, axis: int = -1) -> None:
    """``stable_softmax(logits, axis)`` must equal ``keras.ops.softmax(logits, axis)``.

    The result keeps the input's dtype and shape; large logits (|x| ~ 1000) must not overflow.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    import tensorflow as tf

    cases = softmax_cases() if logits is None else [(np.asarray(logits), axis)]
    for x, ax in cases:
        expected = keras.ops.convert_to_numpy(keras.ops.softmax(x, axis=ax))
        found = stable_softmax(tf.constant(x), axis=ax)
        check_array(
            found,
            expected,
            name=f"stable_softmax(logits, axis={ax}) with {x.dtype} logits of shape {x.shape}",
            inputs={"logits": x},
            hint="subtract the maximum along `axis` (keepdims=True) before tf.exp, and divide "
            "by the sum along the same axis.",
        )


# --- pairwise distances ----------------------------------------------------------------


def pairwise_cases():
    rng = _rng(2)
    return [
        (rng.normal(size=(5, 3)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")),
        (rng.normal(size=(2, 8)).astype("float64"), rng.normal(size=(6, 8)).astype("float64")),
    ]


def reference_pairwise_distances(a, b) -> np.ndarray:
    """Euclidean distances (n, m) between rows of a (n, d) and b (m, d), in a's dtype."""
    a64 = np.asarray(a, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    dist = np.sqrt(((a64[:, None, :] - b64[None, :, :]) ** 2).sum(axis=-1))
    return dist.astype(np.asarray(a).dtype)


@explains_errors
def check_pairwise_distances(pairwise_distances, a=None, b=None) -> None:
    """``pairwise_distances(a, b)[i, j] == ||a[i] - b[j]||`` for a (n, d), b (m, d).

    Tolerance: rtol 1e-4 and ``atol = 4 * sqrt(eps * (max|a_i|^2 + max|b_j|^2))`` (eps of
    the dtype): the expansion ``|a|^2 - 2ab + |b|^2`` loses up to ``eps * |a|^2`` to
    cancellation in the squared distance, which the square root turns into that much for
    points that (almost) coincide. Distances must never be NaN, even for identical points.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    cases = pairwise_cases() if a is None else [(np.asarray(a), np.asarray(b))]
    for x, y in cases:
        expected = reference_pairwise_distances(x, y)
        eps = float(np.finfo(expected.dtype).eps)
        scale = float((x.astype(np.float64) ** 2).sum(axis=1).max() + (y.astype(np.float64) ** 2).sum(axis=1).max())
        tol = distance_tolerance(eps, scale)
        found = pairwise_distances(tf.constant(x), tf.constant(y))
        check_array(
            found,
            expected,
            name=f"pairwise_distances(a, b) with a {x.shape}, b {y.shape} ({x.dtype})",
            hint="broadcast a[:, None, :] against b[None, :, :], or use |a|^2 - 2 a.b + |b|^2; "
            "clip squared distances at 0 before tf.sqrt so round-off cannot make them negative.",
            **tol,
        )


# --- one-hot -------------------------------------------------------------------------------


@explains_errors
def check_one_hot(one_hot, labels=None, depth: int = 4) -> None:
    """``one_hot(labels, depth)`` must equal ``tf.one_hot(labels, depth)``: float32, shape
    ``labels.shape + (depth,)``, an all-zero row for a label outside ``[0, depth)``.
    It must not call ``tf.one_hot`` or ``keras.ops.one_hot``.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    check_not_used(
        one_hot,
        ("one_hot", "to_categorical"),
        "build it yourself by comparing labels with tf.range(depth) (broadcasting).",
    )
    cases = [(np.array([0, 2, 1, 3, 2], dtype="int32"), 4)] if labels is None else [
        (np.asarray(labels), depth)
    ]
    for y, d in cases:
        expected = tf.one_hot(y, d).numpy()
        check_array(
            one_hot(tf.constant(y), d),
            expected,
            name=f"one_hot(labels, depth={d}) with labels {y.tolist()}",
            hint="compare labels[..., None] == tf.range(depth) and cast the boolean result to float32.",
        )


# --- per-channel normalisation -------------------------------------------------------------


@explains_errors
def check_normalize_channels(normalize_channels, images=None, eps: float = 1e-5) -> None:
    """``normalize_channels(images, eps)``: per-channel ``(x - mean_c) / sqrt(var_c + eps)``
    over axes (0, 1, 2) of NHWC images, biased variance, returned as float32 (uint8 inputs
    are cast first). Reference: ``tf.nn.moments`` and ``tf.nn.batch_normalization``.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    if images is None:
        rng = _rng(3)
        images = rng.normal(loc=[0.5, -2.0, 10.0], scale=[1.0, 0.5, 3.0], size=(6, 4, 5, 3))
        images = images.astype("float32")
    images = np.asarray(images)
    x = tf.cast(images, "float32")
    mean, var = tf.nn.moments(x, axes=[0, 1, 2])
    expected = tf.nn.batch_normalization(x, mean, var, None, None, variance_epsilon=eps).numpy()
    found = normalize_channels(tf.constant(images), eps=eps)
    check_array(
        found,
        expected,
        name=f"normalize_channels(images, eps={eps}) with {images.dtype} images {images.shape}",
        **tolerance("reduction_float32"),
        hint="cast to float32, reduce over axes [0, 1, 2] with keepdims=True, and put eps "
        "inside the square root: (x - mean) / sqrt(var + eps).",
    )


# --- patches -------------------------------------------------------------------------------


def reference_patches(images, k: int) -> np.ndarray:
    """Non-overlapping k x k patches of NHWC images: (N, (H//k)*(W//k), k*k*C)."""
    import tensorflow as tf

    images = np.asarray(images)
    patches = tf.image.extract_patches(
        images, sizes=[1, k, k, 1], strides=[1, k, k, 1], rates=[1, 1, 1, 1], padding="VALID"
    )
    return tf.reshape(patches, (images.shape[0], -1, k * k * images.shape[-1])).numpy()


@explains_errors
def check_extract_patches(extract_patches, images=None, k: int = 2) -> None:
    """``extract_patches(images, k)`` must equal `reference_patches` (``tf.image.extract_patches``):
    patches in row-major order, each flattened in (row, column, channel) order. Only
    reshape/transpose are needed; no Python loops.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    check_not_used(extract_patches, ("extract_patches",), "use tf.reshape and tf.transpose only.")
    if images is None:
        images = np.arange(2 * 4 * 6 * 1, dtype="float32").reshape(2, 4, 6, 1)
    images = np.asarray(images)
    expected = reference_patches(images, k)
    check_array(
        extract_patches(tf.constant(images), k),
        expected,
        name=f"extract_patches(images, k={k}) with images {images.shape}",
        hint="reshape to (N, H//k, k, W//k, k, C), transpose to (N, H//k, W//k, k, k, C), "
        "then reshape to (N, -1, k*k*C).",
    )


# --- GradientTape ------------------------------------------------------------------------


def linear_mse_case(dtype: str = "float32", n: int = 8, d: int = 3):
    rng = _rng(4)
    return (
        rng.normal(size=(d, 1)).astype(dtype),
        rng.normal(size=(1,)).astype(dtype),
        rng.normal(size=(n, d)).astype(dtype),
        rng.normal(size=(n, 1)).astype(dtype),
    )


@explains_errors
def check_linear_mse_gradients(linear_mse_gradients, w=None, b=None, x=None, y=None) -> None:
    """``linear_mse_gradients(w, b, x, y)`` returns ``(loss, dw, db)`` for
    ``loss = mean((x @ w + b - y)^2)``, computed with ``tf.GradientTape``.
    Reference: an independent tape over the same variables.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    if w is None:
        w, b, x, y = linear_mse_case()
    w, b, x, y = (np.asarray(v) for v in (w, b, x, y))
    wv, bv = tf.Variable(w), tf.Variable(b)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(tf.matmul(x, wv) + bv - y))
    dw, db = tape.gradient(loss, [wv, bv])

    result = linear_mse_gradients(tf.constant(w), tf.constant(b), tf.constant(x), tf.constant(y))
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(
            "linear_mse_gradients should return a tuple (loss, dw, db), found "
            f"{type(result).__name__}{'' if not hasattr(result, '__len__') else f' of length {len(result)}'}."
        )
    found_loss, found_dw, found_db = result
    name = f"linear_mse_gradients with x {x.shape} ({x.dtype})"
    check_scalar(found_loss, loss.numpy(), name=f"loss of {name}", **tolerance("keras_float32"),
                 hint="loss is tf.reduce_mean of the squared error, a scalar.")
    grad_hint = (
        "record the forward pass inside `with tf.GradientTape() as tape:`, tape.watch() the "
        "constants w and b (or wrap them in tf.Variable), and take the gradient of the mean, "
        "not the sum."
    )
    check_array(to_numpy(found_dw, name="dw"), dw.numpy(), name=f"dw of {name}",
                hint=grad_hint, **tolerance("keras_float32"))
    check_array(to_numpy(found_db, name="db"), db.numpy(), name=f"db of {name}",
                hint=grad_hint, **tolerance("keras_float32"))


# --- masked mean -------------------------------------------------------------------------


@explains_errors
def check_masked_mean(masked_mean, values=None, mask=None, axis: int = -1) -> None:
    """``masked_mean(values, mask, axis)``: mean of ``values`` where ``mask`` is 1, along
    ``axis``; a slice with no selected element gives 0, never NaN.
    Reference: ``tf.math.divide_no_nan(tf.reduce_sum(v * m, axis), tf.reduce_sum(m, axis))``.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    if values is None:
        values = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]], dtype="float32")
        mask = np.array([[1, 1, 0, 0], [0, 1, 1, 1]], dtype="float32")
    values = np.asarray(values)
    mask = np.asarray(mask)
    m = tf.cast(mask, values.dtype)
    expected = tf.math.divide_no_nan(
        tf.reduce_sum(values * m, axis=axis), tf.reduce_sum(m, axis=axis)
    ).numpy()
    check_array(
        masked_mean(tf.constant(values), tf.constant(mask), axis=axis),
        expected,
        name=f"masked_mean(values, mask, axis={axis}) with values {values.shape}",
        inputs={"mask": mask},
        hint="sum values * mask and divide by the sum of the mask along `axis`; "
        "tf.math.divide_no_nan gives 0 where nothing is selected.",
    )
