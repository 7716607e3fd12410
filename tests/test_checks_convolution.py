"""Chapter 07 checks: the notebook's answers pass; the convolution and pooling mistakes students
make fail with a message that points at the mistake; the Keras facts the chapter states hold."""

import keras
import numpy as np
import pytest
from conftest import failure, solution_functions

from autograder.checks.convolution import (
    check_conv2d,
    check_conv2d_backward,
    check_conv_output_size,
    check_max_pool,
    check_max_pool_backward,
    conv_case,
    keras_conv,
)
from autograder.checks.training import check_cnn
from autograder.grader import samples

# the chapter's given helpers (same_padding, taps), a plain code cell the answers build on
HELPERS = next(cell.source for cell in samples.solution_notebook("07_convolutions").cells
               if cell.cell_type == "code" and "def taps(" in cell.source)
S = solution_functions("07_convolutions", "import keras\nimport numpy as np\n" + HELPERS)


def test_solution_passes_every_check():
    check_conv_output_size(S["conv_output_size"])
    check_conv_output_size(S["conv_output_size"], sizes=(1, 2, 3, 224), kernels=(4, 7, 11))
    check_conv2d(S["conv2d"])
    check_conv2d(S["conv2d"], seed=7)
    check_conv2d_backward(S["conv2d_backward"])
    check_max_pool(S["max_pool"])
    check_max_pool_backward(S["max_pool_backward"])


def test_float64_answers_pass():
    def conv2d64(x, w, b, **kwargs):
        return S["conv2d"](x.astype("float64"), w.astype("float64"), b.astype("float64"), **kwargs)

    check_conv2d(conv2d64)


def test_keras_facts_the_chapter_states():
    x, w, b = conv_case((1, 8, 8, 1), (3, 3, 1, 1))
    from scipy.signal import convolve2d, correlate2d

    out, _ = keras_conv(x, w, b * 0, 1, "valid", 1)
    assert np.allclose(out[0, :, :, 0], correlate2d(x[0, :, :, 0], w[:, :, 0, 0], mode="valid"), atol=1e-5)
    assert not np.allclose(out[0, :, :, 0], convolve2d(x[0, :, :, 0], w[:, :, 0, 0], mode="valid"), atol=1e-3)
    # "same" with stride 2 on 8 pixels: P = 1 zero, after the image (the first output sees rows 0-2)
    out, _ = keras_conv(x, w, b * 0, 2, "same", 1)
    assert np.isclose(out[0, 0, 0, 0], np.sum(x[0, 0:3, 0:3, 0] * w[:, :, 0, 0]), atol=1e-5)
    with pytest.raises(ValueError, match="dilation_rate"):
        keras.layers.Conv2D(1, 3, strides=2, dilation_rate=2)
    # MaxPooling2D's gradient with ties: the first maximum in row-major order takes it all
    import tensorflow as tf

    tied = tf.constant(np.array([[1, 3], [3, 0]], "float32").reshape(1, 2, 2, 1))
    with tf.GradientTape() as tape:
        tape.watch(tied)
        pooled = keras.layers.MaxPooling2D(2)(tied)
    assert tape.gradient(pooled, tied).numpy().reshape(2, 2).tolist() == [[0, 1], [0, 0]]


# --- conv_output_size -----------------------------------------------------------------------

def size_same_floor(n, k, stride=1, padding="valid", dilation=1):
    k_eff = (k - 1) * dilation + 1
    return n // stride if padding == "same" else (n - k_eff) // stride + 1


def size_without_dilation(n, k, stride=1, padding="valid", dilation=1):
    return -(-n // stride) if padding == "same" else (n - k) // stride + 1


def size_float(n, k, stride=1, padding="valid", dilation=1):
    k_eff = (k - 1) * dilation + 1
    return np.ceil(n / stride) if padding == "same" else (n - k_eff) / stride + 1


@pytest.mark.parametrize(("wrong", "says"), [
    (size_same_floor, "padding='same'"),
    (size_without_dilation, "dilation=2"),
    (size_float, "should return an int"),
])
def test_wrong_output_sizes_fail(wrong, says):
    message = failure(check_conv_output_size, wrong)
    assert says in message and "Hint:" in message


# --- conv2d ---------------------------------------------------------------------------------

def conv2d_flipped(x, w, b, stride=1, padding="valid", dilation=1):
    return S["conv2d"](x, w[::-1, ::-1], b, stride=stride, padding=padding, dilation=dilation)


def conv2d_symmetric_same(x, w, b, stride=1, padding="valid", dilation=1):
    if padding == "valid":
        return S["conv2d"](x, w, b, stride=stride, dilation=dilation)
    kh, kw = ((k - 1) * dilation + 1 for k in w.shape[:2])
    ph, pw = S["same_padding"](x.shape[1], kh, stride), S["same_padding"](x.shape[2], kw, stride)
    x = np.pad(x, ((0, 0), ph[::-1], pw[::-1], (0, 0)))  # the extra zero before, not after
    return S["conv2d"](x, w, b, stride=stride, dilation=dilation)


def conv2d_no_dilation(x, w, b, stride=1, padding="valid", dilation=1):
    return S["conv2d"](x, w, b, stride=stride, padding=padding)


def conv2d_no_bias(x, w, b, stride=1, padding="valid", dilation=1):
    return S["conv2d"](x, w, 0 * b, stride=stride, padding=padding, dilation=dilation)


def conv2d_first_channel(x, w, b, stride=1, padding="valid", dilation=1):
    return S["conv2d"](x[..., :1], w[:, :, :1], b, stride=stride, padding=padding, dilation=dilation)


@pytest.mark.parametrize(("wrong", "says"), [
    (conv2d_flipped, "flips the kernel"),
    (conv2d_symmetric_same, "one more after"),
    (conv2d_no_dilation, "dilation=2"),
    (conv2d_no_bias, "values differ"),
    (conv2d_first_channel, "values differ"),
])
def test_wrong_convolutions_fail(wrong, says):
    message = failure(check_conv2d, wrong)
    assert says in message and "Hint:" in message


def test_a_shape_mistake_is_named():
    def conv2d_channels_first(x, w, b, **kwargs):
        return np.moveaxis(S["conv2d"](x, w, b, **kwargs), -1, 1)

    assert "wrong shape" in failure(check_conv2d, conv2d_channels_first)


# --- conv2d_backward -------------------------------------------------------------------------

def backward_db_mean(dout, x, w, **kwargs):
    dx, dw, db = S["conv2d_backward"](dout, x, w, **kwargs)
    return dx, dw, dout.mean(axis=(0, 1, 2))


def backward_dx_overwrites(dout, x, w, stride=1, padding="valid", dilation=1):
    # the scatter with "=": overlapping windows keep only the last tap's contribution
    kh, kw = w.shape[:2]
    ho, wo = dout.shape[1:3]
    pad_h = pad_w = (0, 0)
    if padding == "same":
        pad_h = S["same_padding"](x.shape[1], (kh - 1) * dilation + 1, stride)
        pad_w = S["same_padding"](x.shape[2], (kw - 1) * dilation + 1, stride)
    xp = np.pad(x, ((0, 0), pad_h, pad_w, (0, 0)))
    dxp = np.zeros_like(xp)
    for p in range(kh):
        for q in range(kw):
            rows, cols = S["taps"](p * dilation, ho, stride), S["taps"](q * dilation, wo, stride)
            dxp[:, rows, cols, :] = dout @ w[p, q].T
    _, dw, db = S["conv2d_backward"](dout, x, w, stride=stride, padding=padding, dilation=dilation)
    return dxp[:, pad_h[0]:pad_h[0] + x.shape[1], pad_w[0]:pad_w[0] + x.shape[2]], dw, db


def backward_dw_first_image(dout, x, w, **kwargs):
    dx, _, db = S["conv2d_backward"](dout, x, w, **kwargs)
    _, dw, _ = S["conv2d_backward"](dout[:1], x[:1], w, **kwargs)
    return dx, dw, db


def backward_dx_unflipped(dout, x, w, **kwargs):
    return S["conv2d_backward"](dout, x, w[::-1, ::-1], **kwargs)[0], *S["conv2d_backward"](dout, x, w, **kwargs)[1:]


@pytest.mark.parametrize(("wrong", "says"), [
    (backward_db_mean, "db of conv2d_backward"),
    (backward_dx_overwrites, "dx of conv2d_backward"),
    (backward_dw_first_image, "dw of conv2d_backward"),
    (backward_dx_unflipped, "dx of conv2d_backward"),
])
def test_wrong_backward_passes_fail(wrong, says):
    message = failure(check_conv2d_backward, wrong)
    assert says in message and "Hint:" in message


def test_backward_must_return_three_gradients():
    assert "should return (dx, dw, db)" in failure(check_conv2d_backward, lambda dout, x, w, **k: x * 0)


# --- pooling ---------------------------------------------------------------------------------

def pool_ignores_stride(x, pool=2, stride=None):
    return S["max_pool"](x, pool, pool)


def average_pool(x, pool=2, stride=None):
    return keras.layers.AveragePooling2D(pool, strides=stride)(x).numpy()


def pool_backward_overwrites(dout, x, pool=2, stride=None):
    stride = stride or pool
    out = S["max_pool"](x, pool, stride)
    ho, wo = out.shape[1:3]
    dx = np.zeros_like(x)
    for p in range(pool):
        for q in range(pool):
            rows, cols = S["taps"](p, ho, stride), S["taps"](q, wo, stride)
            hit = x[:, rows, cols, :] == out
            dx[:, rows, cols, :][hit] = dout[hit]
    return dx


def pool_backward_spread(dout, x, pool=2, stride=None):
    import tensorflow as tf

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(keras.layers.AveragePooling2D(pool, strides=stride)(xt) * dout)
    return tape.gradient(loss, xt).numpy()


@pytest.mark.parametrize(("wrong", "says"), [
    (pool_ignores_stride, "wrong shape"),
    (average_pool, "values differ"),
])
def test_wrong_pooling_fails(wrong, says):
    message = failure(check_max_pool, wrong)
    assert says in message and "max_pool(x" in message


@pytest.mark.parametrize("wrong", [pool_backward_overwrites, pool_backward_spread])
def test_wrong_pooling_gradients_fail(wrong):
    message = failure(check_max_pool_backward, wrong)
    assert "max_pool_backward" in message and "Hint:" in message


# --- the CNN -----------------------------------------------------------------------------------

def compiled(model):
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def test_a_dense_network_is_not_a_cnn():
    def build_dense(total_steps):
        return compiled(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]))

    assert "without a Conv2D layer" in failure(check_cnn, build_dense, threshold=0.865)


def test_an_uncompiled_or_misshapen_cnn_is_named():
    def uncompiled(total_steps):
        return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
                                 keras.layers.Dense(10)])

    def two_dimensional(total_steps):
        return compiled(keras.Sequential([keras.Input((28, 28)), keras.layers.Reshape((28, 28, 1)),
                                          keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(10)]))

    assert "compiled" in failure(check_cnn, uncompiled, threshold=0.865)
    assert "(28, 28, 1)" in failure(check_cnn, two_dimensional, threshold=0.865)


def test_the_solution_cnn_meets_the_threshold_and_a_weak_one_does_not(capsys):
    check_cnn(S["build_cnn"], threshold=0.865)
    assert "test accuracy 0.87" in capsys.readouterr().out

    def one_filter(total_steps):
        return compiled(keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(1, 3, strides=3),
                                          keras.layers.Flatten(), keras.layers.Dense(10)]))

    assert "below the required 0.865" in failure(check_cnn, one_filter, threshold=0.865)
