"""Checks for chapter 07 (convolutional networks): convolution and pooling in NumPy.

Layout: channels last, as Keras's default ``data_format``. Images ``x`` are (N, H, W, C),
kernels ``w`` (kh, kw, C, F) — `keras.layers.Conv2D`'s ``kernel`` — biases ``b`` (F,).

* ``conv_output_size(n, k, stride=1, padding="valid", dilation=1)`` against
  ``keras.layers.Conv2D(...).compute_output_shape`` over sizes, kernels, strides, paddings and
  dilations (Keras refuses ``strides > 1`` together with ``dilation_rate > 1``; those are not
  asked).
* ``conv2d(x, w, b, stride=1, padding="valid", dilation=1)`` against ``keras.layers.Conv2D``
  holding the same weights (`CONV_CASES`: "same" with an even kernel and with stride 2 on an
  even size, where TensorFlow pads one more row and column *after* than before; dilation;
  several channels; rectangular kernels).
* ``conv2d_backward(dout, x, w, stride, padding, dilation)`` → ``(dx, dw, db)`` against
  ``tf.GradientTape`` of ``sum(conv2d(x, w, b) * dout)``.
* ``max_pool(x, pool, stride)`` ("valid" padding; ``stride=None`` means ``pool``) against
  ``keras.layers.MaxPooling2D``, and ``max_pool_backward(dout, x, pool, stride)`` against the
  tape (overlapping windows add their gradients). The inputs have no ties within a window:
  with ties TensorFlow gives the whole gradient to the first maximum in row-major order, a
  convention a student cannot be asked to guess.

Profile ``keras_layer`` for values (Keras computes in float32, a student often in float64);
``exact`` for sizes. The CNN's test accuracy is checked by
`autograder.checks.training.check_cnn`.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.activations import call_strict
from autograder.checks.arrays import check_array, matches_mistake, to_numpy
from autograder.checks.failure import call_label, check_returns, explains_errors, fail
from autograder.checks.tolerances import tolerance

SIZE_HINT = ("the kernel covers k_eff = (k − 1)·dilation + 1 pixels; 'valid' keeps the positions where it "
             "fits: floor((n − k_eff) / stride) + 1; 'same' pads so that the output is ceil(n / stride).")
CONV_HINT = {
    "valid": ("out[n, i, j, f] = b[f] + Σ over (p, q, c) of x[n, i·s + p·d, j·s + q·d, c] · w[p, q, c, f] "
              "(s the stride, d the dilation): a dot product of the kernel with the window under it."),
    "same": ("TensorFlow pads 'same' with pad = max((out − 1)·s + k_eff − n, 0) zeros per axis, pad // 2 "
             "before and the rest after (one more after when pad is odd), out = ceil(n / s)."),
}
BACKWARD_HINT = ("every output position (n, i, j, f) adds dout[n, i, j, f] · window to dw[..., f] and "
                 "dout[n, i, j, f] · w[..., f] to the window's place in dx (padding cut off at the end); "
                 "db sums dout over n, i, j.")
FLIP_HINT = ("Keras computes a cross-correlation, out[i, j] = Σ x[i·s + p, j·s + q] · w[p, q], without the "
             "textbook convolution's flip (w[k − 1 − p, k − 1 − q]).")
POOL_HINT = ("out[n, i, j, c] = max over the pool × pool window starting at (i·stride, j·stride) of channel c; "
             "'valid': floor((n − pool) / stride) + 1 windows per axis.")
POOL_BACKWARD_HINT = ("each window sends its dout to the position of its maximum only; where windows overlap "
                      "(stride < pool) the contributions add up (np.add.at, or +=).")

# (input shape (N, H, W, C), kernel shape (kh, kw, C, F), stride, padding, dilation)
CONV_CASES = (
    ((2, 6, 6, 1), (3, 3, 1, 2), 1, "valid", 1),
    ((2, 7, 6, 3), (3, 3, 3, 4), 1, "same", 1),
    ((1, 7, 6, 2), (3, 3, 2, 3), 2, "valid", 1),
    ((1, 8, 8, 2), (3, 3, 2, 2), 2, "same", 1),
    ((2, 5, 6, 1), (2, 2, 1, 3), 1, "same", 1),
    ((1, 8, 7, 2), (3, 3, 2, 2), 1, "valid", 2),
    ((1, 7, 7, 1), (3, 2, 1, 2), 1, "same", 2),
    ((1, 9, 8, 3), (2, 3, 3, 2), 3, "same", 1),
)
# (input shape (N, H, W, C), pool, stride)
POOL_CASES = (
    ((2, 4, 4, 1), 2, None),
    ((1, 6, 5, 3), 2, 2),
    ((2, 7, 7, 2), 3, 2),
    ((1, 5, 6, 1), 2, 1),
)


def conv_case(x_shape, w_shape, seed: int = 0):
    """float32 ``x`` (N, H, W, C) in [−1, 1], kernel ``w`` (kh, kw, C, F), bias ``b`` (F,),
    and ``dout`` shaped like no output in particular (the check makes it)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=x_shape).astype("float32")
    w = rng.normal(0, 0.5, size=w_shape).astype("float32")
    b = rng.normal(0, 0.5, size=w_shape[-1]).astype("float32")
    return x, w, b


def pool_case(x_shape, seed: int = 0) -> np.ndarray:
    """float32 ``x`` (N, H, W, C): a random permutation of distinct values, so that no window
    holds two equal maxima."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(x_shape))).reshape(x_shape) / 10.0 - 1.0).astype("float32")


def keras_conv(x, w, b, stride, padding, dilation):
    """`keras.layers.Conv2D` holding kernel ``w`` and bias ``b``, applied to ``x``; returns the
    output and the layer."""
    import keras

    layer = keras.layers.Conv2D(w.shape[-1], w.shape[:2], strides=stride, padding=padding,
                                dilation_rate=dilation)
    layer.build(x.shape)
    layer.set_weights([w, b])
    return to_numpy(layer(x)), layer


def _conv_label(name: str, stride, padding, dilation, *args) -> str:
    return call_label(name, *args, stride=stride, padding=padding, dilation=dilation)


def _inputs_shapes(x, w) -> dict:
    return {"x.shape": x.shape, "w.shape": w.shape}


@explains_errors
def check_conv_output_size(student_fn, sizes=(5, 6, 7, 28), kernels=(1, 2, 3, 5)) -> None:
    """``student_fn(n, k, stride, padding, dilation)`` must equal the size of
    `keras.layers.Conv2D`'s output for every size, kernel, stride 1–3, padding and dilation
    1–2 (stride 1 only with dilation 2) where the kernel fits."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    for n in sizes:
        for k in kernels:
            for stride, dilation in ((1, 1), (2, 1), (3, 1), (1, 2)):
                for padding in ("valid", "same"):
                    if padding == "valid" and (k - 1) * dilation + 1 > n:
                        continue
                    layer = keras.layers.Conv2D(1, k, strides=stride, padding=padding, dilation_rate=dilation)
                    expected = int(layer.compute_output_shape((1, n, n, 1))[1])
                    label = call_label("conv_output_size", str(n), str(k), stride=stride, padding=padding,
                                       dilation=dilation)
                    found = student_fn(n, k, stride=stride, padding=padding, dilation=dilation)
                    if isinstance(found, (bool, np.bool_)) or not isinstance(found, (int, np.integer)):
                        fail(f"{label} should return an int", details=[f"found: {found!r}"],
                             hint="use integer division (//) or int(np.ceil(...)): a size is a whole number.")
                    if found != expected:
                        fail(f"{label} is {int(found)}, Keras gives {expected}", SIZE_HINT)


@explains_errors
def check_conv2d(student_fn, cases=CONV_CASES, seed: int = 0) -> None:
    """``student_fn(x, w, b, stride=, padding=, dilation=)`` must equal `keras.layers.Conv2D`
    with the same weights on every case (x, w, b from `conv_case`), float32 or float64."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    for x_shape, w_shape, stride, padding, dilation in cases:
        x, w, b = conv_case(x_shape, w_shape, seed)
        expected, _ = keras_conv(x, w, b, stride, padding, dilation)
        label = _conv_label("conv2d", stride, padding, dilation, "x", "w", "b")
        found = call_strict(student_fn, x.copy(), w.copy(), b.copy(), stride=stride, padding=padding,
                            dilation=dilation, name=label, hint=CONV_HINT[padding])
        def flipped(x=x, w=w, b=b, stride=stride, padding=padding, dilation=dilation):
            return keras_conv(x, w[::-1, ::-1].copy(), b, stride, padding, dilation)[0]

        if matches_mistake(found, expected, flipped, **tolerance("keras_layer")):
            fail("conv2d flips the kernel: Keras does not", FLIP_HINT, details=[f"checked: {label}"])
        check_array(found, expected, name=label, check_dtype=False, hint=CONV_HINT[padding],
                    inputs=_inputs_shapes(x, w), **tolerance("keras_layer"))


def tape_conv_gradients(x, w, b, dout, stride, padding, dilation):
    """(dx, dw, db) of ``sum(Conv2D(x) * dout)`` by `tf.GradientTape`, the layer holding
    ``w`` and ``b``."""
    import tensorflow as tf

    _, layer = keras_conv(x, w, b, stride, padding, dilation)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(layer(xt) * dout)
    dx, dw, db = tape.gradient(loss, [xt, layer.kernel, layer.bias])
    return to_numpy(dx), to_numpy(dw), to_numpy(db)


@explains_errors
def check_conv2d_backward(student_fn, cases=CONV_CASES, seed: int = 0) -> None:
    """``student_fn(dout, x, w, stride=, padding=, dilation=)`` must return ``(dx, dw, db)``
    equal to the tape's gradients of ``sum(Conv2D(x) * dout)`` (``dout`` standard normal,
    shaped like the output) on every case."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    for x_shape, w_shape, stride, padding, dilation in cases:
        x, w, b = conv_case(x_shape, w_shape, seed)
        out, _ = keras_conv(x, w, b, stride, padding, dilation)
        dout = np.random.default_rng(seed + 1).normal(size=out.shape).astype("float32")
        expected = tape_conv_gradients(x, w, b, dout, stride, padding, dilation)
        label = _conv_label("conv2d_backward", stride, padding, dilation, "dout", "x", "w")
        found = call_strict(student_fn, dout.copy(), x.copy(), w.copy(), stride=stride, padding=padding,
                            dilation=dilation, name=label, hint=BACKWARD_HINT)
        check_returns(found, label, ("dx", "dw", "db"))
        for what, value, ref in zip(("dx", "dw", "db"), found, expected, strict=True):
            check_array(value, ref, name=f"{what} of {label}", check_dtype=False, hint=BACKWARD_HINT,
                        inputs=_inputs_shapes(x, w), **tolerance("keras_layer"))


def keras_max_pool(x, pool, stride):
    """`keras.layers.MaxPooling2D(pool, stride)` ("valid") on ``x``, and the tape gradient of
    ``sum(pool(x) * dout)`` as a function of ``dout``."""
    import keras
    import tensorflow as tf

    layer = keras.layers.MaxPooling2D(pool, strides=stride)
    out = to_numpy(layer(x))

    def gradient(dout):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = tf.reduce_sum(layer(xt) * dout)
        return to_numpy(tape.gradient(loss, xt))

    return out, gradient


@explains_errors
def check_max_pool(student_fn, cases=POOL_CASES, seed: int = 0) -> None:
    """``student_fn(x, pool, stride)`` must equal `keras.layers.MaxPooling2D` on every case
    (x from `pool_case`: no ties)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    for x_shape, pool, stride in cases:
        x = pool_case(x_shape, seed)
        expected, _ = keras_max_pool(x, pool, stride)
        label = call_label("max_pool", "x", str(pool), stride=stride)
        found = call_strict(student_fn, x.copy(), pool, stride, name=label, hint=POOL_HINT)
        check_array(found, expected, name=label, check_dtype=False, hint=POOL_HINT,
                    inputs={"x.shape": x.shape}, **tolerance("exact"))


@explains_errors
def check_max_pool_backward(student_fn, cases=POOL_CASES, seed: int = 0, *, overlapping: bool = True) -> None:
    """``student_fn(dout, x, pool, stride)`` must equal the tape's gradient of
    ``sum(MaxPooling2D(x) * dout)`` with respect to ``x`` on every case (``overlapping=False``:
    only the cases whose windows do not overlap, ``stride`` None or ``pool``)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    for x_shape, pool, stride in cases:
        if not overlapping and stride not in (None, pool):
            continue
        x = pool_case(x_shape, seed)
        out, gradient = keras_max_pool(x, pool, stride)
        dout = np.random.default_rng(seed + 1).normal(size=out.shape).astype("float32")
        label = call_label("max_pool_backward", "dout", "x", str(pool), stride=stride)
        found = call_strict(student_fn, dout.copy(), x.copy(), pool, stride, name=label, hint=POOL_BACKWARD_HINT)
        check_array(found, gradient(dout), name=label, check_dtype=False, hint=POOL_BACKWARD_HINT,
                    inputs={"x.shape": x.shape}, **tolerance("keras_layer"))
