"""Chapter 13 checks: the notebook's answers pass; the recurrent-layer and windowing mistakes
students make fail with a message that points at the mistake; the Keras facts the chapter
states hold; the forecaster's threshold separates a forecast from the naive one."""

import keras
import numpy as np
import pytest
from conftest import failure, solution_functions

from autograder.checks.sequences import (
    check_gru_step,
    check_simple_rnn,
    check_windows,
    keras_windows,
    numpy_gru_swapped,
    rnn_case,
)
from autograder.checks.training import check_forecaster, co2_windows

S = solution_functions("13_sequences", "import keras\nimport numpy as np")


def test_solution_passes_every_check():
    check_simple_rnn(S["simple_rnn"])
    check_simple_rnn(S["simple_rnn"], cases=[(4, 30, 2, 6)], seed=8)
    check_gru_step(S["gru_step"])
    check_gru_step(S["gru_step"], seed=4)
    check_windows(S["make_windows"])
    check_windows(S["make_windows"], cases=[(50, 10, 7, 4), (9, 3, 6, 1)], seed=6)


def test_keras_facts_the_chapter_states():
    # the GRU keeps the old state where z is 1: h' = z*h + (1 - z)*candidate
    x, kernel, recurrent, bias, h = rnn_case(2, 1, 3, 4, gates=3, seed=1)
    bias[:, :4] = 50.0  # z = 1
    layer = keras.layers.GRU(4)
    layer.build(x.shape)
    layer.set_weights([kernel, recurrent, bias])
    assert np.allclose(layer(x, initial_state=[h]).numpy(), h, atol=1e-6)
    assert layer.cell.reset_after and tuple(layer.cell.bias.shape) == (2, 12)
    assert keras.layers.GRU(4, reset_after=False).get_config()["reset_after"] is False
    # timeseries_dataset_from_array pairs the window starting at j with targets[j]
    x_w, y_w = keras_windows(np.arange(10, dtype="float32"), 3, 2, 1)
    assert x_w[0].tolist() == [0, 1, 2] and y_w[0] == 4 and len(y_w) == 6


def test_windows_of_the_forecasting_data():
    (x_train, y_train), (x_test, y_test) = co2_windows()
    assert x_train.shape == (1603, 52) and x_test.shape == (626, 52)
    assert np.allclose(x_test[4:, -1], y_test[:-4])  # the target 4 weeks after the window's end


# --- simple_rnn ----------------------------------------------------------------------------

def rnn_ignores_h0(x, kernel, recurrent_kernel, bias, h0=None):
    return S["simple_rnn"](x, kernel, recurrent_kernel, bias)


def rnn_one_step_late(x, kernel, recurrent_kernel, bias, h0=None):
    states = S["simple_rnn"](x, kernel, recurrent_kernel, bias, h0)
    start = np.zeros_like(states[:, :1]) if h0 is None else h0[:, None]
    return np.concatenate([start, states[:, :-1]], axis=1)


def rnn_recurrent_transposed(x, kernel, recurrent_kernel, bias, h0=None):
    return S["simple_rnn"](x, kernel, recurrent_kernel.T, bias, h0)


def rnn_last_state_only(x, kernel, recurrent_kernel, bias, h0=None):
    return S["simple_rnn"](x, kernel, recurrent_kernel, bias, h0)[:, -1]


@pytest.mark.parametrize(("wrong", "says"), [
    (rnn_ignores_h0, "simple_rnn(x, kernel, recurrent_kernel, bias, h0)"),
    (rnn_one_step_late, "values differ"),
    (rnn_recurrent_transposed, "values differ"),
    (rnn_last_state_only, "wrong shape"),
])
def test_wrong_rnns_fail(wrong, says):
    message = failure(check_simple_rnn, wrong)
    assert says in message and "Hint:" in message


# --- gru_step --------------------------------------------------------------------------------

def gru_textbook(x_t, h, kernel, recurrent_kernel, bias, reset_after=True):
    return numpy_gru_swapped(x_t, h, kernel, recurrent_kernel, bias, reset_after)


def gru_bias_rows_swapped(x_t, h, kernel, recurrent_kernel, bias, reset_after=True):
    return S["gru_step"](x_t, h, kernel, recurrent_kernel, bias[::-1] if reset_after else bias, reset_after)


def gru_gates_in_r_z_order(x_t, h, kernel, recurrent_kernel, bias, reset_after=True):
    def swap(w):
        u = w.shape[-1] // 3
        return np.concatenate([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], axis=-1)

    return S["gru_step"](x_t, h, swap(kernel), swap(recurrent_kernel), swap(bias), reset_after)


def gru_always_reset_after(x_t, h, kernel, recurrent_kernel, bias, reset_after=True):
    if not reset_after:
        bias = np.stack([bias, np.zeros_like(bias)])
    return S["gru_step"](x_t, h, kernel, recurrent_kernel, bias, True)


@pytest.mark.parametrize(("wrong", "says"), [
    (gru_textbook, "gru_step: the update gate works the other way round"),
    (gru_bias_rows_swapped, "reset_after=True"),
    (gru_gates_in_r_z_order, "values differ"),
    (gru_always_reset_after, "reset_after=False"),
])
def test_wrong_gru_steps_fail(wrong, says):
    message = failure(check_gru_step, wrong)
    assert says in message and "Hint:" in message


# --- make_windows --------------------------------------------------------------------------

def windows_target_at_end(series, window, horizon=1, stride=1):
    x, _ = S["make_windows"](series, window, horizon, stride)
    starts = np.arange(len(x)) * stride
    return x, np.asarray(series)[starts + window - 1]  # the window's own last value


def windows_stride_ignored(series, window, horizon=1, stride=1):
    return S["make_windows"](series, window, horizon, 1)


def windows_drop_last(series, window, horizon=1, stride=1):
    x, y = S["make_windows"](series, window, horizon, stride)
    return x[:-1], y[:-1]


@pytest.mark.parametrize(("wrong", "says"), [
    (windows_target_at_end, "y of make_windows"),
    (windows_drop_last, "wrong shape"),
])
def test_wrong_windows_fail(wrong, says):
    message = failure(check_windows, wrong)
    assert says in message and "Hint:" in message


def test_stride_mistakes_are_left_to_the_hidden_tests():
    check_windows(windows_stride_ignored, strided=False)  # the visible call
    assert "stride=3" in failure(check_windows, windows_stride_ignored)


def test_windows_must_be_a_pair():
    assert "should return a pair (x, y)" in failure(check_windows, lambda s, w, horizon=1, stride=1: s)


# --- the forecaster ----------------------------------------------------------------------------

def test_the_solution_forecaster_passes_and_the_naive_one_fails(capsys):
    check_forecaster(S["fit_forecaster"], max_ratio=0.6)
    assert "× the naive forecast's 1.113 ppm" in capsys.readouterr().out

    def naive(x_train, y_train):
        inputs = keras.Input((x_train.shape[1],))
        return keras.Model(inputs, inputs[:, -1:])

    message = failure(check_forecaster, naive, max_ratio=0.6)
    assert "above 0.60 × the naive" in message and "1.00 ×" in message


def test_a_forecaster_of_the_level_gets_the_scaling_hint():
    def untrained_level(x_train, y_train):
        inputs = keras.Input((x_train.shape[1],))
        return keras.Model(inputs, keras.layers.Dense(1)(inputs))

    keras.utils.set_random_seed(0)
    assert "predict the change" in failure(check_forecaster, untrained_level, max_ratio=0.6)


def test_the_forecaster_must_return_a_model():
    assert "should return the trained keras.Model" in failure(check_forecaster, lambda x, y: None, max_ratio=0.6)
