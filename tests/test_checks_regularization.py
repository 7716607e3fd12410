"""Chapter 06 checks: the notebook's solutions pass; plausible wrong implementations each fail
with a message that points at the mistake."""

import numpy as np
import pytest
from conftest import failure, solution_functions

from autograder.checks.regularization import (
    check_batchnorm_inference,
    check_batchnorm_train,
    check_dropout,
    check_dropout_mean,
    check_dropout_rate_validation,
    check_penalty,
    check_penalty_grad,
    reference_dropout,
)

S = solution_functions("06_regularization", "import numpy as np\nimport keras")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_solution_penalties_and_gradients_pass(dtype):
    for kind, fn, strengths in [("L1", "l1_penalty", {"l1": 0.05}), ("L2", "l2_penalty", {"l2": 0.3}),
                                ("L1L2", "l1_l2_penalty", {"l1": 0.01, "l2": 0.02}), ("L1", "l1_penalty", {}),
                                ("L2", "l2_penalty", {}), ("L1L2", "l1_l2_penalty", {})]:
        check_penalty(S[fn], kind, dtype=dtype, shape=(3, 2, 4), **strengths)
        check_penalty_grad(S[f"{fn}_grad"], kind, dtype=dtype, **strengths)


def test_penalty_with_textbook_half_fails_and_names_keras_form():
    message = failure(check_penalty, lambda w, l2=0.01: 0.5 * l2 * np.sum(w**2), "L2", l2=0.05)
    assert "no ½" in message and "expected" in message


def test_penalty_with_wrong_default_fails_only_without_strengths():
    wrong = lambda w, l1=0.1: l1 * np.sum(np.abs(w))  # noqa: E731
    check_penalty(wrong, "L1", l1=0.05)
    assert "are your defaults Keras's" in failure(check_penalty, wrong, "L1")


def test_l1_gradient_at_zero_must_be_zero():
    wrong = lambda w, l1=0.01: (l1 * np.where(w >= 0, 1.0, -1.0)).astype(w.dtype)  # noqa: E731
    message = failure(check_penalty_grad, wrong, "L1", l1=0.05)
    assert "0 at w = 0" in message and "w[" in message


def test_penalty_grad_with_wrong_dtype_fails():
    message = failure(check_penalty_grad, lambda w, l2=0.01: (2 * l2 * w).astype("float64"), "L2")
    assert "dtype" in message


def test_solution_dropout_passes():
    check_dropout(S["dropout"], rate=0.25)
    check_dropout(S["dropout"], rate=0.5, shape=(7, 3, 5), dtype="float64", seed=3)
    check_dropout(S["dropout"], rate=0.9, shape=(400,), seed=4)
    check_dropout_mean(S["dropout"], rate=0.8)
    check_dropout_rate_validation(S["dropout"])


def _dropout(keep_rule=lambda u, rate: u >= rate, scale=True, infer=lambda x, rate: x):
    def dropout(x, rate, training=False, rng=None):
        if not 0 <= rate < 1:
            raise ValueError(rate)
        if not training:
            return infer(x, rate)
        keep = keep_rule(rng.random(x.shape), rate)
        return np.where(keep, x / (1 - rate) if scale else x, 0).astype(x.dtype)

    return dropout


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (_dropout(scale=False), "kept units are multiplied by 1"),
        (_dropout(keep_rule=lambda u, rate: u < rate), "were dropped, expected about rate"),
        (_dropout(infer=lambda x, rate: x * (1 - rate)), "at inference inverted dropout is the identity"),
        (_dropout(keep_rule=lambda u, rate: u > rate + 0.001), "draw the mask once"),
    ],
)
def test_wrong_dropouts_fail(wrong, expected):
    assert expected in failure(check_dropout, wrong, rate=0.25)


def test_dropout_using_global_random_state_is_not_reproducible():
    def global_rng(x, rate, training=False, rng=None):
        return np.where(np.random.random(x.shape) >= rate, x / (1 - rate), 0).astype(x.dtype) if training else x

    assert "draw the mask once" in failure(check_dropout, global_rng)


def test_dropout_without_rescaling_fails_the_mean_check():
    assert "E[output] = x" in failure(check_dropout_mean, _dropout(scale=False), rate=0.5)


def test_dropout_without_rate_validation_fails():
    def unchecked(x, rate, training=False, rng=None):
        return np.where(rng.random(x.shape) >= rate, x, 0) * 0 + x if training else x

    assert "not ValueError" in failure(check_dropout_rate_validation, unchecked)


def test_keras_accepts_rate_one_and_drops_everything():
    import keras

    x = np.ones((2, 3), dtype="float32")
    assert not np.asarray(keras.layers.Dropout(1.0)(x, training=True)).any()
    with pytest.raises(ValueError):
        keras.layers.Dropout(1.5)


def test_dropout_rejecting_rate_one_fails_and_says_keras_accepts_it():
    def strict(x, rate, training=False, rng=None):
        if not 0 <= rate < 1:
            raise ValueError(rate)
        return S["dropout"](x, rate, training, rng)

    assert "Dropout(1.0) is valid" in failure(check_dropout_rate_validation, strict)


def test_dropout_dividing_by_zero_at_rate_one_fails_with_the_warning():
    def divides(x, rate, training=False, rng=None):
        if not 0 <= rate <= 1:
            raise ValueError(rate)
        if not training:
            return x
        return np.where(rng.random(x.shape) >= rate, x / (1 - rate), 0).astype(x.dtype)

    message = failure(check_dropout_rate_validation, divides)
    assert "warned" in message and "stderr" in message


def test_reference_dropout_matches_keras_statistics():
    x = np.ones((100, 100), dtype="float32")
    out = reference_dropout(x, 0.3, seed=0)
    assert out.dtype == np.float32 and abs((out == 0).mean() - 0.3) < 0.02
    assert np.allclose(out[out != 0], 1 / 0.7)


def test_solution_batchnorm_passes():
    check_batchnorm_train(S["batchnorm_train"], shape=(8, 5))
    check_batchnorm_train(S["batchnorm_train"], shape=(4, 6, 6, 2), steps=3, momentum=0.5, epsilon=1e-5, seed=1)
    check_batchnorm_inference(S["batchnorm_inference"], shape=(2, 5, 5, 3), epsilon=1e-5)


def _bn_train(ddof=0, swap=False, axis0_only=False):
    def batchnorm_train(x, gamma, beta, mm, mv, momentum=0.99, epsilon=1e-3):
        axes = 0 if axis0_only else tuple(range(x.ndim - 1))
        mean, var = x.mean(axis=axes), x.var(axis=axes, ddof=ddof)
        y = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
        m = 1 - momentum if swap else momentum
        return y, m * mm + (1 - m) * mean, m * mv + (1 - m) * var

    return batchnorm_train


@pytest.mark.parametrize(
    "wrong, shape, expected",
    [
        (_bn_train(ddof=1), (8, 5), "*biased* variance"),
        (_bn_train(swap=True), (8, 5), "new moving_mean"),
        (_bn_train(axis0_only=True), (4, 3, 3, 2), "shape"),
    ],
)
def test_wrong_batchnorm_train_fails(wrong, shape, expected):
    assert expected in failure(check_batchnorm_train, wrong, shape=shape)


def test_batchnorm_train_must_return_three_values():
    message = failure(check_batchnorm_train, lambda x, *args: x)
    assert "expected a tuple (y, new_moving_mean, new_moving_variance)" in message


def test_batchnorm_inference_with_batch_statistics_fails():
    def batch_stats(x, gamma, beta, mm, mv, epsilon=1e-3):
        return gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + epsilon) + beta

    assert "never the batch's statistics" in failure(check_batchnorm_inference, batch_stats)
