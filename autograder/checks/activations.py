"""Checks for chapter 02 (activations): NumPy activations and their derivatives against
``keras.activations`` and ``tf.GradientTape``.

Inputs: a grid on [-6, 6] with step 0.25 (so it contains the kink at 0), points just around 0,
and large |x| up to 1000, in float32 and in float64. The student's functions run under
``np.errstate(over="raise", invalid="raise", divide="raise")``: an implementation that
overflows (``exp(1000)``) fails even when the final value happens to be right.

At a kink the derivative is a convention; the checks expect TensorFlow's registered gradient
(the notebook prints them): relu'(0) = 0, leaky_relu'(0) = negative_slope, elu'(0) = alpha,
selu'(0) = scale = 1.0507...

Initializer scales (``check_initializer_scales``): the Glorot-uniform limit and the He-normal
``stddev`` against what ``keras.initializers.GlorotUniform`` / ``HeNormal`` really draw: every
draw of a large weight matrix lies inside the student's bound (``limit``; ``2 · stddev``, where
Keras's truncated normal cuts) and the largest reaches it (profile ``initializer_bound``).

Tolerances: the profiles ``activation_float32`` and ``activation_float64`` of
`autograder.checks.tolerances` (docs/tolerances.md says why).
"""

from __future__ import annotations

import numpy as np

from autograder.checks.arrays import check_array, relative_error, to_numpy
from autograder.checks.failure import call_label, explains_errors, fail
from autograder.checks.gradients import reference_gradient
from autograder.checks.tolerances import tolerance

GRID = np.unique(
    np.concatenate([np.linspace(-6.0, 6.0, 49), [-1000.0, -100.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 100.0, 1000.0]])
)

HINTS = {
    "sigmoid": (
        "σ(x) = 1 / (1 + e^(-x)); for stability use z = exp(-|x|): σ = 1/(1+z) for x ≥ 0, z/(1+z) for x < 0.",
        "σ'(x) = σ(x) (1 − σ(x)).",
    ),
    "tanh": ("use np.tanh (it is stable).", "tanh'(x) = 1 − tanh(x)²."),
    "relu": ("relu(x) = max(x, 0).", "relu'(x) = 1 for x > 0 and 0 for x ≤ 0 (TensorFlow's value at 0 is 0)."),
    "leaky_relu": (
        "leaky_relu(x) = x for x > 0, negative_slope·x otherwise.",
        "the derivative is 1 for x > 0 and negative_slope for x ≤ 0 (also at 0).",
    ),
    "elu": (
        "elu(x) = x for x > 0, alpha·(e^x − 1) otherwise; use np.expm1(np.minimum(x, 0)) so e^x never overflows.",
        "elu'(x) = 1 for x > 0, alpha·e^x for x ≤ 0 (alpha at 0).",
    ),
    "selu": (
        "selu(x) = scale·elu(x, alpha) with alpha = 1.6732632423543772, scale = 1.0507009873554805.",
        "selu'(x) = scale for x ≥ 0 (TensorFlow's value at 0), scale·alpha·e^x for x < 0.",
    ),
    "softplus": (
        "softplus(x) = log(1 + e^x); stable: max(x, 0) + log1p(exp(−|x|)).",
        "softplus'(x) = σ(x), computed stably.",
    ),
    "silu": ("silu(x) = x·σ(x) with a stable σ.", "silu'(x) = σ(x) + x·σ(x)(1 − σ(x)) = σ(x)(1 + x(1 − σ(x)))."),
    "gelu": (
        "exact: x·Φ(x) = 0.5·x·(1 + erf(x/√2)); approximate: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).",
        "exact: Φ(x) + x·φ(x) with φ(x) = e^(−x²/2)/√(2π); approximate: differentiate the tanh form "
        "(chain rule through x + 0.044715x³).",
    ),
}


def grid(dtype: str) -> np.ndarray:
    return GRID.astype(dtype)


def keras_activation(name: str):
    import keras

    return getattr(keras.activations, name)


def call_strict(fn, *args, name: str, hint: str, **kwargs):
    """Call a student NumPy function with floating-point overflow and invalid ops raising."""
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            return fn(*args, **kwargs)
    except FloatingPointError as err:
        dtype = getattr(args[0], "dtype", "")
        fail(
            f"{name} raised FloatingPointError ({err}) on {dtype} inputs with |x| up to "
            f"{float(np.max(np.abs(args[0]))):g}.\nHint: {hint} Note that np.where evaluates both "
            "branches, so the branch you do not keep must not overflow either."
        )


@explains_errors
def check_activation(fn, grad_fn, name: str, x=None, **params) -> None:
    """``fn(x, **params)`` must equal ``keras.activations.<name>`` and ``grad_fn(x, **params)``
    its tape derivative, on float32 and float64 inputs (`GRID` unless ``x`` is given), keeping
    the input dtype and never overflowing.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    reference = keras_activation(name)
    value_hint, grad_hint = HINTS.get(name, ("", ""))
    label = call_label(name, **params) if params else name
    cases = [grid("float32"), grid("float64")] if x is None else [np.asarray(x)]
    for xs in cases:
        dtype = xs.dtype.name
        expected = reference(tf.constant(xs), **params).numpy()
        found = call_strict(fn, xs.copy(), name=f"{label} value", hint=value_hint, **params)
        check_array(found, expected, name=f"{label}(x) in {dtype}", hint=value_hint, inputs={"x": xs}, **tolerance(f"activation_{dtype}"))
        expected_grad = reference_gradient(lambda t: reference(t, **params), xs)
        found_grad = call_strict(grad_fn, xs.copy(), name=f"{label} derivative", hint=grad_hint, **params)
        check_array(
            found_grad, expected_grad, name=f"{label}'(x) in {dtype}", hint=grad_hint, inputs={"x": xs}, **tolerance(f"activation_{dtype}")
        )


def softmax_inputs():
    rng = np.random.default_rng(21)
    return [
        (rng.normal(size=(4, 5)), -1),
        (np.array([[1000.0, 999.0, -1000.0], [0.0, 0.0, 0.0]]), -1),
        (rng.normal(scale=50.0, size=(3, 4)), 0),
    ]


@explains_errors
def check_softmax(softmax, softmax_jacobian, cases=None) -> None:
    """``softmax(x, axis)`` equals ``keras.activations.softmax``; ``softmax_jacobian(x)`` for a
    1-D ``x`` of length n equals the (n, n) tape Jacobian ``J[i, j] = ∂s_i/∂x_j = s_i(δ_ij − s_j)``.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    import tensorflow as tf

    hint = "subtract the max along `axis` (keepdims=True) before np.exp, then divide by the sum along `axis`."
    for x, axis in cases or softmax_inputs():
        for dtype in ("float32", "float64"):
            xs = np.asarray(x, dtype=dtype)
            expected = keras.activations.softmax(tf.constant(xs), axis=axis).numpy()
            found = call_strict(softmax, xs.copy(), axis=axis, name=f"softmax(axis={axis})", hint=hint)
            check_array(found, expected, name=f"softmax(x, axis={axis}) in {dtype}", hint=hint,
                        inputs={"x": xs}, **tolerance(f"activation_{dtype}"))
    jac_hint = "J = diag(s) − s sᵀ with s = softmax(x): np.diag(s) - np.outer(s, s)."
    for dtype in ("float32", "float64"):
        x = np.array([0.5, -1.0, 2.0, 0.0, 1000.0 if dtype == "float64" else 3.0], dtype=dtype)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            s = keras.activations.softmax(xt[None, :], axis=-1)[0]
        expected = tape.jacobian(s, xt).numpy()
        found = call_strict(softmax_jacobian, x.copy(), name="softmax_jacobian", hint=jac_hint)
        check_array(found, expected, name=f"softmax_jacobian(x) in {dtype}", hint=jac_hint,
                    inputs={"x": x}, **tolerance(f"activation_{dtype}"))


@explains_errors
def check_central_difference(central_difference, h: float = 1e-2) -> None:
    """``central_difference(f, x, h)`` = ``(f(x + h) − f(x − h)) / (2h)`` elementwise, in float64.

    Checked on sin (exact derivative cos) with h = 1e-5, where the central difference errs by
    ~1e-11 and a forward difference by ~5e-6, and against the formula itself with step ``h``.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    x = np.linspace(-3.0, 3.0, 13)
    hint = "use the central difference (f(x + h) − f(x − h)) / (2h), not the forward one (f(x + h) − f(x)) / h."
    found = to_numpy(central_difference(np.sin, x.copy(), 1e-5), name="central_difference(np.sin, x, 1e-5)")
    check_array(found, np.cos(x), name="central_difference(np.sin, x, h=1e-5)", **tolerance("central_difference"), hint=hint,
                inputs={"x": x})
    found = to_numpy(central_difference(np.exp, x.copy(), h), name=f"central_difference(np.exp, x, {h:g})")
    check_array(found, (np.exp(x + h) - np.exp(x - h)) / (2 * h), name=f"central_difference(np.exp, x, h={h:g})",
                **tolerance("float64_exact_formula"), hint="use the `h` argument you are given. " + hint, inputs={"x": x})


@explains_errors
def check_relative_error(student_relative_error) -> None:
    """``relative_error(a, b)`` = max over elements of ``|a − b| / max(|a| + |b|, 1e-12)``."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    cases = [
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])),
        (np.array([1.0, -2.0]), np.array([1.1, -2.0])),
        (np.array([0.0, 1e-3]), np.array([0.0, -1e-3])),
        (np.array([[1e-8, 5.0]]), np.array([[2e-8, 5.0]])),
    ]
    for a, b in cases:
        found = to_numpy(student_relative_error(a.copy(), b.copy()), name="relative_error(a, b)")
        if found.size != 1:
            fail(
                f"relative_error(a, b) should return one number (the largest elementwise error), "
                f"found an array of shape {found.shape}. Hint: take np.max at the end."
            )
        found = float(found.reshape(()))
        expected = relative_error(a, b)
        if not np.isfinite(found) or abs(found - expected) > 1e-12 + 1e-9 * expected:
            fail(
                f"relative_error(a, b) for a = {a.tolist()}, b = {b.tolist()}: expected {expected!r}, "
                f"found {found!r}.\nHint: max(|a − b| / max(|a| + |b|, 1e-12)) — take absolute values, and "
                "guard the denominator so that a = b = 0 gives 0, not NaN."
            )


# --------------------------------------------------------------------------- initializer scales

INIT_SHAPES = ((784, 256), (256, 400), (100, 1000))  # (fan_in, fan_out), >= 100,000 draws each
TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) cut at ±2, the factor Keras divides by


def _initializer_bound(student_fn, args: tuple, name: str) -> float:
    value = to_numpy(student_fn(*args), name=name)
    if value.size != 1 or not np.isfinite(value).all() or float(value.reshape(())) <= 0:
        fail(f"{name} should return one positive number, found {value.tolist()!r}")
    return float(value.reshape(()))


def _check_bound(draws: np.ndarray, bound: float, *, name: str, what: str, hint: str) -> None:
    largest = float(np.abs(draws).max())
    if largest > bound or largest < bound * (1 - tolerance("initializer_bound")["rtol"]):
        fail(f"{name} does not match Keras", hint, details=[
            f"{what}: {bound:.6g}",
            f"the largest |draw| of Keras's {draws.shape[0]}×{draws.shape[1]} kernel: {largest:.6g} "
            "(every draw lies inside the bound, and the largest touches it)",
        ])


@explains_errors
def check_initializer_scales(glorot_uniform_limit, he_normal_stddev, *, shapes=INIT_SHAPES) -> None:
    """``glorot_uniform_limit(fan_in, fan_out)`` is the bound of ``GlorotUniform``'s uniform, and
    ``he_normal_stddev(fan_in)`` the ``stddev`` of ``HeNormal``'s truncated normal (its draws
    stop at 2 · stddev), read off Keras's own draws of a ``(fan_in, fan_out)`` kernel."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    for fan_in, fan_out in shapes:
        name = f"glorot_uniform_limit({fan_in}, {fan_out})"
        limit = _initializer_bound(glorot_uniform_limit, (fan_in, fan_out), name)
        draws = np.asarray(keras.initializers.GlorotUniform(seed=0)((fan_in, fan_out)))
        variance = 2 / (fan_in + fan_out)
        if np.isclose(limit, np.sqrt(variance), **tolerance("float32")):
            hint = ("that is the standard deviation √(2/(fan_in + fan_out)); U(−a, a) has variance a²/3, "
                    "so the limit is a = √(6/(fan_in + fan_out)).")
        else:
            hint = "U(−a, a) has variance a²/3; Glorot's variance is 2/(fan_in + fan_out)."
        _check_bound(draws, limit, name=name, what="your limit", hint=hint)

        name = f"he_normal_stddev({fan_in})"
        stddev = _initializer_bound(he_normal_stddev, (fan_in,), name)
        draws = np.asarray(keras.initializers.HeNormal(seed=0)((fan_in, fan_out)))
        if np.isclose(stddev, np.sqrt(2 / fan_in), **tolerance("float32")):
            hint = ("√(2/fan_in) is the std He et al. want for the *samples*; Keras draws from a normal cut "
                    f"at ±2·stddev, whose std is only {TRUNCATED_STD:.4f}·stddev. Divide by that factor "
                    "(scipy.stats.truncnorm(-2, 2).std()).")
        else:
            hint = ("He's variance is 2/fan_in (ReLU zeroes half the signal); Keras's truncated normal has "
                    f"std {TRUNCATED_STD:.4f}·stddev, so stddev = √(2/fan_in) / {TRUNCATED_STD:.4f}.")
        _check_bound(draws, 2 * stddev, name=name, what="2 × your stddev (where Keras cuts the normal)", hint=hint)
    print(f"glorot_uniform_limit, he_normal_stddev: OK — the bounds of Keras's draws for {len(shapes)} kernel shapes")
