"""Chapter 02 checks: the solution passes in float32 and float64; plausible wrong
implementations each fail with a message that points at the mistake."""

import numpy as np
import pytest
from conftest import failure, solution_functions

from autograder.checks.activations import (
    check_activation,
    check_central_difference,
    check_initializer_scales,
    check_relative_error,
    check_softmax,
)

S = solution_functions("02_activations", "import numpy as np\nfrom scipy.special import erf")
sig = S["sigmoid"]


@pytest.mark.parametrize(
    "name, params",
    [("sigmoid", {}), ("tanh", {}), ("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.01}),
     ("elu", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("softplus", {}), ("silu", {}),
     ("gelu", {}), ("gelu", {"approximate": True})],
)
def test_solution_passes(name, params):
    check_activation(S[name], S[f"{name}_grad"], name, **params)


def test_solution_softmax_and_gradient_check_pass():
    check_softmax(S["softmax"], S["softmax_jacobian"])
    check_central_difference(S["central_difference"])
    check_relative_error(S["relative_error"])


# (activation, params, wrong value fn or None, wrong derivative fn or None, expected text)
WRONG = [
    ("sigmoid", {}, lambda x: 1 / (1 + np.exp(-x)), None, "FloatingPointError (overflow"),
    ("sigmoid", {}, None, lambda x: sig(x) * (1 + sig(x)), "sigmoid'(x) in float32"),
    ("sigmoid", {}, None, lambda x: sig(x) * (1 - sig(x)) * 2, "σ'(x) = σ(x) (1 − σ(x))"),
    ("tanh", {}, None, lambda x: 1 - np.tanh(x), "tanh'(x) = 1 − tanh(x)²"),
    ("relu", {}, None, lambda x: (x >= 0).astype(x.dtype), "first at index (28,)"),
    ("relu", {}, lambda x: np.maximum(x, 0.0).astype("float64"), None, "wrong dtype: expected float32, found float64"),
    ("leaky_relu", {}, lambda x, negative_slope=0.2: np.where(x > 0, x, 0.3 * x).astype(x.dtype), None, "leaky_relu(x) in float32"),
    ("leaky_relu", {"negative_slope": 0.01}, None,
     lambda x, negative_slope=0.2: np.where(x > 0, 1.0, 0.2).astype(x.dtype), "leaky_relu(negative_slope=0.01)'(x)"),
    ("leaky_relu", {}, None, lambda x, negative_slope=0.2: np.where(x >= 0, 1.0, negative_slope).astype(x.dtype),
     "negative_slope for x ≤ 0 (also at 0)"),
    ("elu", {}, lambda x, alpha=1.0: np.where(x > 0, x, alpha * (np.exp(x) - 1)).astype(x.dtype), None,
     "FloatingPointError (overflow"),
    ("elu", {"alpha": 0.5}, None, lambda x, alpha=1.0: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))).astype(x.dtype),
     "elu(alpha=0.5)'(x)"),
    ("selu", {}, lambda x: S["elu"](x, 1.6732632423543772), None, "selu(x) in float32"),
    ("selu", {}, None, lambda x: np.where(x > 0, 1.0507009873554805, 1.0507009873554805 * 1.6732632423543772
                                          * np.exp(np.minimum(x, 0))).astype(x.dtype), "first at index (28,)"),
    ("softplus", {}, lambda x: np.log(1 + np.exp(x)).astype(x.dtype), None, "FloatingPointError (overflow"),
    ("softplus", {}, None, lambda x: np.exp(x) / (1 + np.exp(x)), "FloatingPointError"),
    ("silu", {}, None, lambda x: sig(x), "silu'(x) = σ(x) + x·σ(x)(1 − σ(x))"),
    ("gelu", {"approximate": True}, lambda x, approximate=False: S["gelu"](x, approximate=False), None,
     "gelu(approximate=True)(x)"),
    ("gelu", {}, lambda x, approximate=False: S["gelu"](x, approximate=True), None, "gelu(x) in float32"),
    ("gelu", {}, None, lambda x, approximate=False: (0.5 * (1 + S["erf"](x / np.sqrt(2)))).astype(x.dtype), "Φ(x) + x·φ(x)"),
]


@pytest.mark.parametrize("name, params, wrong_fn, wrong_grad, expected", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_wrong_implementation_fails_with_a_pointed_message(name, params, wrong_fn, wrong_grad, expected):
    fn = wrong_fn or S[name]
    grad = wrong_grad or S[f"{name}_grad"]
    msg = failure(check_activation, fn, grad, name, **params)
    assert expected in msg, msg


def test_softmax_without_max_shift_overflows():
    msg = failure(check_softmax, lambda x, axis=-1: np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True),
                  S["softmax_jacobian"])
    assert "FloatingPointError" in msg and "subtract the max" in msg


def test_softmax_over_the_wrong_axis():
    msg = failure(check_softmax, lambda x, axis=-1: S["softmax"](x, axis=-1), S["softmax_jacobian"])
    assert "softmax(x, axis=0)" in msg


def test_softmax_jacobian_without_the_outer_product():
    msg = failure(check_softmax, S["softmax"], lambda x: np.diag(S["softmax"](x)))
    assert "softmax_jacobian(x) in float32" in msg and "np.outer(s, s)" in msg


def test_forward_difference_is_caught():
    msg = failure(check_central_difference, lambda f, x, h=1e-5: (f(x + h) - f(x)) / h)
    assert "not the forward one" in msg


def test_ignoring_h_is_caught():
    msg = failure(check_central_difference, lambda f, x, h=1e-5: (f(x + 1e-5) - f(x - 1e-5)) / 2e-5)
    assert "use the `h` argument" in msg


def test_relative_error_mistakes():
    no_abs = lambda a, b: float(np.max((a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))  # noqa: E731
    assert "take absolute values" in failure(check_relative_error, no_abs)
    unguarded = lambda a, b: float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))  # noqa: E731
    with np.errstate(invalid="ignore"):
        assert "guard the denominator" in failure(check_relative_error, unguarded)
    assert "one number" in failure(check_relative_error, lambda a, b: np.abs(a - b))


def test_keras_initializers_have_the_variances_the_chapter_derives():
    import keras

    for fan_in, fan_out in ((784, 256), (100, 1000)):
        he = np.asarray(keras.initializers.HeNormal(seed=1)((fan_in, fan_out)))
        glorot = np.asarray(keras.initializers.GlorotUniform(seed=1)((fan_in, fan_out)))
        assert abs(he.var() * fan_in / 2 - 1) < 0.01  # truncated, yet variance 2 / fan_in
        assert abs(glorot.var() * (fan_in + fan_out) / 2 - 1) < 0.01
        assert np.abs(he).max() <= 2 * np.sqrt(2 / fan_in) / 0.87962566103423978  # cut at 2 stddev


def test_solution_initializer_scales_pass():
    check_initializer_scales(S["glorot_uniform_limit"], S["he_normal_stddev"])
    check_initializer_scales(S["glorot_uniform_limit"], S["he_normal_stddev"], shapes=[(3000, 40), (17, 9000)])


def test_glorot_std_for_the_limit_fails_and_names_the_uniform_variance():
    message = failure(check_initializer_scales, lambda fan_in, fan_out: float(np.sqrt(2 / (fan_in + fan_out))),
                      S["he_normal_stddev"])
    assert "glorot_uniform_limit(784, 256) does not match Keras" in message and "a²/3" in message


def test_untruncated_he_stddev_fails_and_names_the_truncation():
    message = failure(check_initializer_scales, S["glorot_uniform_limit"], lambda fan_in: float(np.sqrt(2 / fan_in)))
    assert "he_normal_stddev(784)" in message and "0.8796" in message


@pytest.mark.parametrize("factor", [0.99, 1.01])
def test_initializer_scales_one_percent_off_fail(factor):
    failure(check_initializer_scales, lambda a, b: factor * S["glorot_uniform_limit"](a, b), S["he_normal_stddev"])
    failure(check_initializer_scales, S["glorot_uniform_limit"], lambda a: factor * S["he_normal_stddev"](a))
