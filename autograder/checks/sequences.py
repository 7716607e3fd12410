"""Checks for chapter 13 (sequence models): recurrent layers in NumPy, and windows of a series.

Layout: batch first, as Keras's recurrent layers: a batch of sequences ``x`` is (N, T, F), a
state ``h`` (N, units). Weights are those of the Keras layer, in its order.

* ``simple_rnn(x, kernel, recurrent_kernel, bias, h0=None)`` → every hidden state (N, T, units),
  against ``keras.layers.SimpleRNN(units, return_sequences=True)`` holding the same weights
  (kernel (F, units), recurrent_kernel (units, units), bias (units,); tanh), with and without
  an initial state.
* ``gru_step(x_t, h, kernel, recurrent_kernel, bias, reset_after=True)`` → the next state
  (N, units), against ``keras.layers.GRU`` run for one step from ``h``: gates in the order
  update z, reset r, candidate h̃ along the last axis of kernel (F, 3·units) and
  recurrent_kernel (units, 3·units); ``bias`` (2, 3·units) — input row, recurrent row — when
  ``reset_after`` (Keras 3's default), (3·units,) otherwise; h' = z·h + (1 − z)·h̃.
* ``make_windows(series, window, horizon=1, stride=1)`` → ``(x, y)``: x[i] =
  series[i·stride : i·stride + window], y[i] = series[i·stride + window + horizon − 1], every
  window whose target exists, against ``keras.utils.timeseries_dataset_from_array``.

Profiles ``keras_layer`` (Keras computes in float32; a student often in float64) and ``exact``
for windows (copies of the series). The forecaster's test error is checked by
`autograder.checks.training.check_forecaster`.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.activations import call_strict
from autograder.checks.arrays import check_array, matches_mistake, to_numpy
from autograder.checks.failure import call_label, check_returns, explains_errors, fail
from autograder.checks.tolerances import tolerance

RNN_HINT = ("h_t = tanh(x_t @ kernel + h_{t−1} @ recurrent_kernel + bias), from h_0 (zeros when h0 is None); "
            "return every h_t, t = 1 … T, stacked on axis 1.")
GRU_HINT = ("z = σ(x W_z + h U_z + b), r = σ(x W_r + h U_r + b), with W = kernel[:, :u], [:, u:2u], [:, 2u:] "
            "for z, r, h̃ (U likewise). reset_after: h̃ = tanh(x W_h + b_in + r · (h U_h + b_rec)), bias[0] the "
            "input row, bias[1] the recurrent row; otherwise h̃ = tanh(x W_h + (r · h) U_h + b). Then "
            "h' = z · h + (1 − z) · h̃.")
SWAPPED_HINT = ("Keras keeps the old state where the update gate is 1: h' = z · h + (1 − z) · h̃. Cho et al. "
                "and many textbooks write z · h̃ + (1 − z) · h: the same model with z renamed 1 − z, but not "
                "Keras's weights.")
WINDOW_HINT = ("x[i] = series[i·stride : i·stride + window] and its target y[i] = series[i·stride + window + "
               "horizon − 1] (horizon steps after the window's last value), for every i whose target exists.")

# (N, T, F, units) of the recurrent cases
RNN_CASES = ((2, 5, 3, 4), (1, 1, 2, 3), (3, 12, 1, 5))


def rnn_case(n, t, f, units, *, gates: int = 1, reset_after: bool = True, seed: int = 0):
    """float32 ``x`` (n, t, f) and weights of a recurrent layer with ``gates`` blocks:
    kernel (f, gates·units), recurrent_kernel (units, gates·units), bias (gates·units,) or
    (2, gates·units) with ``reset_after``, and an initial state (n, units); all random."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, t, f)).astype("float32")
    kernel = rng.normal(0, 0.6, (f, gates * units)).astype("float32")
    recurrent = rng.normal(0, 0.6, (units, gates * units)).astype("float32")
    bias_shape = (2, gates * units) if gates == 3 and reset_after else (gates * units,)
    bias = rng.normal(0, 0.5, bias_shape).astype("float32")
    h0 = rng.uniform(-1, 1, (n, units)).astype("float32")
    return x, kernel, recurrent, bias, h0


def keras_rnn(layer_class, weights, x, h0=None, **options):
    """The output of ``layer_class(units, **options)`` holding ``weights`` on ``x`` (from
    ``h0`` when given)."""
    units = weights[1].shape[0]
    layer = layer_class(units, **options)
    layer.build(x.shape)
    layer.set_weights(list(weights))
    return to_numpy(layer(x) if h0 is None else layer(x, initial_state=[h0]))


@explains_errors
def check_simple_rnn(student_fn, cases=RNN_CASES, seed: int = 0) -> None:
    """``student_fn(x, kernel, recurrent_kernel, bias, h0=None)`` must return every state of
    ``keras.layers.SimpleRNN(return_sequences=True)`` with the same weights, from zeros and
    from a given ``h0``."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    for n, t, f, units in cases:
        x, kernel, recurrent, bias, h0 = rnn_case(n, t, f, units, seed=seed)
        for start in (None, h0):
            expected = keras_rnn(keras.layers.SimpleRNN, (kernel, recurrent, bias), x, start,
                                 return_sequences=True)
            label = "simple_rnn(x, kernel, recurrent_kernel, bias" + (", h0)" if start is not None else ")")
            args = (x.copy(), kernel.copy(), recurrent.copy(), bias.copy())
            found = call_strict(student_fn, *args, h0=None if start is None else start.copy(), name=label,
                                hint=RNN_HINT)
            check_array(found, expected, name=label, check_dtype=False, hint=RNN_HINT,
                        inputs={"x.shape": x.shape, "units": units}, **tolerance("keras_layer"))


def numpy_gru_swapped(x_t, h, kernel, recurrent, bias, reset_after):
    """One GRU step with the textbook's gate convention, h' = z·h̃ + (1 − z)·h: the mistake
    `check_gru_step` names."""
    u = h.shape[1]
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    xs, hs = x_t @ kernel + b_in, h @ recurrent + b_rec

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    z, r = sigmoid(xs[:, :u] + hs[:, :u]), sigmoid(xs[:, u:2 * u] + hs[:, u:2 * u])
    candidate = np.tanh(xs[:, 2 * u:] + (r * hs[:, 2 * u:] if reset_after else (r * h) @ recurrent[:, 2 * u:]))
    return z * candidate + (1 - z) * h


@explains_errors
def check_gru_step(student_fn, cases=RNN_CASES, seed: int = 0) -> None:
    """``student_fn(x_t, h, kernel, recurrent_kernel, bias, reset_after=...)`` must equal one step
    of ``keras.layers.GRU`` (``reset_after`` True and False) from state ``h`` with the same
    weights, random biases included."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    for n, _, f, units in cases:
        for reset_after in (True, False):
            x, kernel, recurrent, bias, h = rnn_case(n, 1, f, units, gates=3, reset_after=reset_after, seed=seed)
            expected = keras_rnn(keras.layers.GRU, (kernel, recurrent, bias), x, h, reset_after=reset_after)
            label = call_label("gru_step", "x_t", "h", "kernel", "recurrent_kernel", "bias", reset_after=reset_after)
            args = (x[:, 0].copy(), h.copy(), kernel.copy(), recurrent.copy(), bias.copy())
            found = call_strict(student_fn, *args, reset_after=reset_after, name=label, hint=GRU_HINT)
            def swapped(x=x, h=h, kernel=kernel, recurrent=recurrent, bias=bias, reset_after=reset_after):
                return numpy_gru_swapped(x[:, 0], h, kernel, recurrent, bias, reset_after)

            if matches_mistake(found, expected, swapped, **tolerance("keras_layer")):
                fail("gru_step: the update gate works the other way round", SWAPPED_HINT, details=[f"checked: {label}"])
            check_array(found, expected, name=label, check_dtype=False, hint=GRU_HINT,
                        inputs={"x_t.shape": x[:, 0].shape, "units": units}, **tolerance("keras_layer"))


def keras_windows(series, window: int, horizon: int, stride: int):
    """``(x, y)`` of ``keras.utils.timeseries_dataset_from_array`` on ``series``: windows of
    ``window`` values every ``stride`` steps, each with the value ``horizon`` steps after its
    end as target."""
    import keras

    dataset = keras.utils.timeseries_dataset_from_array(
        series[: len(series) - horizon], targets=series[window + horizon - 1:], sequence_length=window,
        sequence_stride=stride, batch_size=len(series), shuffle=False)
    x, y = next(iter(dataset))
    return to_numpy(x), to_numpy(y)


# (length, window, horizon, stride)
WINDOW_CASES = ((20, 5, 1, 1), (30, 6, 3, 1), (31, 4, 2, 3), (13, 12, 1, 1))


@explains_errors
def check_windows(student_fn, cases=WINDOW_CASES, seed: int = 0, *, strided: bool = True) -> None:
    """``student_fn(series, window, horizon=, stride=)`` must return the windows and targets of
    ``keras.utils.timeseries_dataset_from_array`` (`keras_windows`) on a random float32 series
    (``strided=False``: only the cases with stride 1)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    rng = np.random.default_rng(seed)
    for length, window, horizon, stride in cases:
        if not strided and stride != 1:
            continue
        series = np.round(rng.normal(0, 10, length), 1).astype("float32")
        expected_x, expected_y = keras_windows(series, window, horizon, stride)
        label = call_label("make_windows", f"series[{length}]", str(window), horizon=horizon, stride=stride)
        found = call_strict(student_fn, series.copy(), window, horizon=horizon, stride=stride, name=label,
                            hint=WINDOW_HINT)
        check_returns(found, label, ("x", "y"))
        check_array(found[0], expected_x, name=f"x of {label}", check_dtype=False, hint=WINDOW_HINT,
                    **tolerance("exact"))
        check_array(found[1], expected_y, name=f"y of {label}", check_dtype=False, hint=WINDOW_HINT,
                    **tolerance("exact"))
