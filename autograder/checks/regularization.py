"""Checks for chapter 06 (regularization): weight penalties, inverted dropout and batch
normalization in NumPy, against ``keras.regularizers`` and ``keras.layers``.

* Penalties: the value against the ``keras.regularizers`` object with the same strengths *and*
  against the loss a ``Dense`` layer adds (``layer.losses``); gradients against
  ``tf.GradientTape`` of the Keras regularizer. At ``w = 0`` the L1 penalty has a kink; the
  checks expect TensorFlow's subgradient there, ``sign(0) = 0``.
* Dropout: the exact output for the mask ``rng.random(x.shape) >= rate`` (the notebook states
  it), identity at inference, dtype kept, the same scale on kept units as
  ``keras.layers.Dropout``, the mean preserved over many masks; rate 1 drops everything (Keras accepts it),
  ``ValueError`` for a rate outside [0, 1].
* Batch normalization: output and the updated moving statistics against
  ``keras.layers.BatchNormalization`` holding the same weights, in training and inference mode.

Tolerances: the profiles ``keras_layer`` (float32) and ``keras_penalty_float64`` of
`autograder.checks.tolerances`: Keras rounds the strengths ``l1``/``l2`` to float32.
"""

from __future__ import annotations

import warnings

import numpy as np

from autograder.checks.arrays import check_array, check_scalar, to_numpy
from autograder.checks.failure import explains_errors, fail
from autograder.checks.tolerances import tolerance

PENALTY_HINTS = {
    "L1": "L1 penalty = l1 · Σ|w| (Keras's default l1 = 0.01); its gradient is l1 · sign(w), 0 at w = 0.",
    "L2": "L2 penalty = l2 · Σ w² — Keras has no ½ in front (default l2 = 0.01); its gradient is 2 · l2 · w.",
    "L1L2": "L1L2 penalty = l1 · Σ|w| + l2 · Σ w² (Keras's defaults: l1 = l2 = 0.0).",
}


def sample_weights(shape=(5, 4), *, dtype: str = "float32", seed: int = 0, zeros: bool = True) -> np.ndarray:
    """A weight matrix with entries of both signs, some exactly 0 when ``zeros``."""
    w = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    if zeros:
        w.flat[:: max(1, w.size // 4)] = 0.0
    return w


def keras_regularizer(kind: str, strengths: dict):
    """``keras.regularizers.L1 / L2 / L1L2`` with ``strengths`` (Keras's defaults when empty)."""
    import keras

    if kind not in PENALTY_HINTS:
        raise ValueError(f"kind must be one of {sorted(PENALTY_HINTS)}, got {kind!r}")
    return getattr(keras.regularizers, kind)(**strengths)


def penalty_in_dense_layer(kind: str, strengths: dict, w: np.ndarray) -> float:
    """The regularization loss a ``Dense`` layer adds to the training loss when its kernel holds
    the entries of ``w`` (reshaped to 2-D: a penalty is a sum over entries)."""
    import keras

    w = w.reshape(-1, w.shape[-1] if w.ndim > 1 else 1).astype("float32")
    layer = keras.layers.Dense(w.shape[1], kernel_regularizer=keras_regularizer(kind, strengths))
    layer.build((None, w.shape[0]))
    layer.kernel.assign(w)
    layer(np.zeros((1, w.shape[0]), dtype="float32"))
    return float(sum(float(loss) for loss in layer.losses))


@explains_errors
def check_penalty(penalty, kind: str, *, shape=(5, 4), dtype: str = "float32", seed: int = 0, **strengths) -> None:
    """Check ``penalty(w, **strengths)`` (a NumPy weight penalty) against Keras.

    Args:
        penalty: the student's function, ``(w: ndarray, **strengths) -> float``.
        kind: ``"L1"``, ``"L2"`` or ``"L1L2"``.
        shape, dtype, seed: the weight matrix the check draws (some entries exactly 0).
        strengths: ``l1=`` / ``l2=``; none means the student's defaults must be Keras's.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    w = sample_weights(shape, dtype=dtype, seed=seed)
    reg = keras_regularizer(kind, strengths)
    expected = float(reg(tf.constant(w)))
    call = f"{penalty.__name__}(w{''.join(f', {k}={v}' for k, v in strengths.items())})"
    found = penalty(w.copy(), **strengths)
    tol = tolerance("keras_layer" if dtype == "float32" else "keras_penalty_float64")
    hint = PENALTY_HINTS[kind] + ("" if strengths else " Called without strengths: are your defaults Keras's?")
    check_scalar(found, expected, name=call, hint=hint, check_dtype=False, **tol)
    in_layer = penalty_in_dense_layer(kind, strengths, w)
    check_scalar(found, in_layer, name=f"{call} vs the loss a Dense layer adds", hint=hint, check_dtype=False, **tolerance("keras_layer"))


@explains_errors
def check_penalty_grad(
    penalty_grad, kind: str, *, shape=(5, 4), dtype: str = "float32", seed: int = 0, **strengths
) -> None:
    """Check ``penalty_grad(w, **strengths)`` (the gradient of the penalty with respect to w)
    against ``tf.GradientTape`` of the Keras regularizer, including entries where w = 0."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    w = sample_weights(shape, dtype=dtype, seed=seed)
    variable = tf.Variable(w)
    with tf.GradientTape() as tape:
        value = keras_regularizer(kind, strengths)(variable)
    expected = tape.gradient(value, variable, unconnected_gradients="zero").numpy()  # L1L2(0, 0) is a constant
    call = f"{penalty_grad.__name__}(w{''.join(f', {k}={v}' for k, v in strengths.items())})"
    found = penalty_grad(w.copy(), **strengths)
    tol = tolerance("keras_layer" if dtype == "float32" else "keras_penalty_float64")
    check_array(found, expected, name=call, hint=PENALTY_HINTS[kind], inputs={"w": w}, **tol)


# --------------------------------------------------------------------------- dropout


def reference_dropout(x: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """The chapter's inverted dropout with mask ``rng.random(x.shape) >= rate``."""
    keep = np.random.default_rng(seed).random(x.shape) >= rate
    return np.where(keep, x / x.dtype.type(1 - rate), x.dtype.type(0)).astype(x.dtype)


def _keras_kept_scale(x: np.ndarray, rate: float) -> float:
    """The factor ``keras.layers.Dropout`` multiplies kept units by (measured, not assumed)."""
    import keras

    out = np.asarray(keras.layers.Dropout(rate, seed=0)(x, training=True))
    kept = out != 0
    return float(np.median(out[kept] / x[kept]))


@explains_errors
def check_dropout(dropout, *, rate: float = 0.25, shape=(200, 50), dtype: str = "float32", seed: int = 0) -> None:
    """Check inverted dropout ``dropout(x, rate, training, rng)`` on a random ``x``.

    Training mode: the exact output for the mask ``rng.random(x.shape) >= rate``, scaled kept
    units like ``keras.layers.Dropout``, the same dtype, reproducible under a seed, the
    mean preserved. Inference mode (``training=False``): ``x`` unchanged.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    x = (np.random.default_rng(seed + 1).random(shape) + 0.5).astype(dtype)  # no zeros in x
    name = f"dropout(x, rate={rate}, training=False)"
    check_array(
        dropout(x.copy(), rate, training=False, rng=np.random.default_rng(seed)), x, name=name,
        **tolerance("exact"),
        hint="at inference inverted dropout is the identity: the scaling already happened in training.",
    )
    name = f"dropout(x, rate={rate}, training=True, rng=np.random.default_rng({seed}))"
    found = to_numpy(dropout(x.copy(), rate, training=True, rng=np.random.default_rng(seed)), name=name)
    if found.shape != x.shape:
        fail(f"{name}: expected shape {x.shape}, found {found.shape}.")
    if found.dtype != x.dtype:
        fail(
            f"{name}: expected dtype {x.dtype} (the input's), found {found.dtype}. "
            "Hint: build the mask as bool and keep x's dtype (x / (1 - rate) keeps float32)."
        )
    if rate > 0:
        kept = found != 0
        if not kept.any():
            fail(f"{name}: every unit was dropped. Hint: keep a unit where rng.random(...) >= rate.")
        fraction = 1 - kept.mean()
        if abs(fraction - rate) > 0.05:
            fail(
                f"{name}: {fraction:.3f} of the units were dropped, expected about rate = {rate}. "
                "Hint: drop where rng.random(x.shape) < rate, keep where it is >= rate."
            )
        scale = float(np.median(found[kept] / x[kept]))
        keras_scale = _keras_kept_scale(x, rate)
        if abs(scale - keras_scale) > 1e-4 * keras_scale:
            fail(
                f"{name}: kept units are multiplied by {scale:.6g}; keras.layers.Dropout multiplies them by "
                f"{keras_scale:.6g} = 1 / (1 - rate). Hint: inverted dropout rescales in training so that "
                "the expected output equals x."
            )
    check_array(
        found, reference_dropout(x, rate, seed), name=name, **tolerance("keras_layer"),
        hint="draw the mask once as keep = rng.random(x.shape) >= rate (one call, x's shape), "
        "then return where(keep, x / (1 - rate), 0).",
    )
    again = to_numpy(dropout(x.copy(), rate, training=True, rng=np.random.default_rng(seed)), name=name)
    check_array(again, found, name=name + " called twice with the same seed", **tolerance("exact"),
                hint="use only the rng you are given (not np.random.* globals).")


@explains_errors
def check_dropout_mean(dropout, *, rate: float = 0.5, draws: int = 400, seed: int = 0) -> None:
    """Inverted dropout preserves the expectation: the mean over ``draws`` masks is close to x
    (within 6 standard errors)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    x = np.linspace(0.5, 2.0, 30, dtype="float32")
    rng = np.random.default_rng(seed)
    outputs = np.stack([to_numpy(dropout(x.copy(), rate, training=True, rng=rng)) for _ in range(draws)])
    standard_error = x * np.sqrt(rate / (1 - rate) / draws)
    worst = int(np.argmax(np.abs(outputs.mean(0) - x) / standard_error))
    if abs(outputs.mean(0)[worst] - x[worst]) > 6 * standard_error[worst]:
        fail(
            f"dropout(x, rate={rate}) averaged over {draws} masks gives {outputs.mean(0)[worst]:.4f} where "
            f"x = {x[worst]:.4f}. Hint: E[output] = x only when kept units are divided by (1 - rate)."
        )


@explains_errors
def check_dropout_rate_validation(dropout) -> None:
    """The rates ``keras.layers.Dropout`` accepts, [0, 1], and the ones it rejects.

    A rate below 0 or above 1 raises ``ValueError``. Rate 1 is accepted: in training every unit
    is dropped (the output is Keras's, all zeros, computed without dividing by ``1 - rate``: a
    NumPy divide-by-zero warning would reach stderr), at inference ``x`` is returned. Rate 0 is
    the identity even in training.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    x = np.ones((3, 3), dtype="float32")
    for bad in (-0.1, 1.5):
        try:
            dropout(x, bad, training=True, rng=np.random.default_rng(0))
        except ValueError:
            continue
        except Exception as err:
            fail(f"dropout(x, rate={bad}) raised {type(err).__name__}, not ValueError",
                 "keras.layers.Dropout rejects a rate outside [0, 1] with ValueError.")
        fail(f"dropout(x, rate={bad}) returned a value, not ValueError",
             "a rate outside [0, 1] is meaningless: check 0 <= rate <= 1 first, as Keras does.")
    name = "dropout(x, 1.0, training=True)"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            found = dropout(x.copy(), 1.0, training=True, rng=np.random.default_rng(0))
        except ValueError:
            fail(f"{name} raised ValueError",
                 "keras.layers.Dropout(1.0) is valid: it drops every unit in training. "
                 "Accept 0 <= rate <= 1.")
    check_array(found, np.asarray(keras.layers.Dropout(1.0)(x, training=True)), name=name,
                **tolerance("exact"), hint="at rate 1 every unit is dropped: the output is all zeros.")
    for warning in caught:
        fail(f"{name} warned: {warning.message}",
             "at rate 1 return zeros before dividing by 1 - rate = 0: the warning goes to stderr, "
             "and nbgrader scores a test cell with stderr output 0.")
    check_array(dropout(x.copy(), 1.0, training=False), x, name="dropout(x, 1.0, training=False)",
                **tolerance("exact"), hint="at inference dropout is the identity, whatever the rate.")
    check_array(dropout(x, 0.0, training=True, rng=np.random.default_rng(0)), x, name="dropout(x, 0.0, training=True)",
                **tolerance("exact"), hint="with rate 0 nothing is dropped and nothing rescaled.")


# --------------------------------------------------------------------------- batch normalization


def bn_inputs(shape, *, seed: int = 0, dtype: str = "float32"):
    """Input, gamma, beta, moving mean and moving variance for a batch of ``shape`` (channels last)."""
    rng = np.random.default_rng(seed)
    channels = shape[-1]
    x = (rng.normal(size=shape) * rng.uniform(0.5, 3.0, channels) + rng.normal(size=channels) * 2).astype(dtype)
    gamma = rng.uniform(0.5, 1.5, channels).astype(dtype)
    beta = rng.normal(size=channels).astype(dtype)
    moving_mean = rng.normal(size=channels).astype(dtype)
    moving_variance = rng.uniform(0.5, 2.0, channels).astype(dtype)
    return x, gamma, beta, moving_mean, moving_variance


def keras_batchnorm(shape, gamma, beta, moving_mean, moving_variance, *, momentum: float, epsilon: float):
    """``keras.layers.BatchNormalization`` (channels last) holding the given weights."""
    import keras

    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    layer.build((None, *shape[1:]))
    layer.set_weights([gamma, beta, moving_mean, moving_variance])
    return layer


BN_TRAIN_HINT = (
    "training mode: mean and *biased* variance (divide by N, np.var's default) over every axis but the last; "
    "y = gamma · (x − mean) / sqrt(var + epsilon) + beta; then "
    "moving = momentum · moving + (1 − momentum) · batch statistic (Keras's momentum is the weight of the old value)."
)
BN_INFERENCE_HINT = (
    "inference mode uses the moving mean and moving variance, never the batch's statistics: "
    "y = gamma · (x − moving_mean) / sqrt(moving_variance + epsilon) + beta."
)


@explains_errors
def check_batchnorm_train(
    batchnorm_train, *, shape=(8, 5), steps: int = 1, momentum: float = 0.99, epsilon: float = 1e-3, seed: int = 0
) -> None:
    """Check ``batchnorm_train(x, gamma, beta, moving_mean, moving_variance, momentum, epsilon)
    -> (y, new_moving_mean, new_moving_variance)`` over ``steps`` batches against Keras."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    x, gamma, beta, moving_mean, moving_variance = bn_inputs(shape, seed=seed)
    layer = keras_batchnorm(shape, gamma, beta, moving_mean, moving_variance, momentum=momentum, epsilon=epsilon)
    for step in range(steps):
        batch = x if step == 0 else bn_inputs(shape, seed=seed + 100 + step)[0]
        expected_y = np.asarray(layer(batch, training=True))
        name = f"batchnorm_train(x of shape {shape}, momentum={momentum}, epsilon={epsilon})"
        if steps > 1:
            name += f", batch {step + 1} of {steps}"
        result = batchnorm_train(batch.copy(), gamma, beta, moving_mean, moving_variance, momentum, epsilon)
        if not isinstance(result, tuple) or len(result) != 3:
            fail(
                f"{name}: expected a tuple (y, new_moving_mean, new_moving_variance), found {type(result).__name__}"
                + (f" of length {len(result)}" if isinstance(result, tuple) else "") + "."
            )
        y, moving_mean, moving_variance = (to_numpy(r, name=name) for r in result)
        check_array(y, expected_y, name=f"{name}: y", hint=BN_TRAIN_HINT, **tolerance("keras_layer"))
        check_array(moving_mean, layer.moving_mean.numpy(), name=f"{name}: new moving_mean", hint=BN_TRAIN_HINT, **tolerance("keras_layer"))
        check_array(
            moving_variance, layer.moving_variance.numpy(), name=f"{name}: new moving_variance", **tolerance("keras_layer"),
            hint=BN_TRAIN_HINT + " Keras updates the moving variance with the biased batch variance too.",
        )


@explains_errors
def check_batchnorm_inference(batchnorm_inference, *, shape=(8, 5), epsilon: float = 1e-3, seed: int = 0) -> None:
    """Check ``batchnorm_inference(x, gamma, beta, moving_mean, moving_variance, epsilon) -> y``
    against ``keras.layers.BatchNormalization(...)(x, training=False)``."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    x, gamma, beta, moving_mean, moving_variance = bn_inputs(shape, seed=seed)
    layer = keras_batchnorm(shape, gamma, beta, moving_mean, moving_variance, momentum=0.99, epsilon=epsilon)
    expected = np.asarray(layer(x, training=False))
    found = batchnorm_inference(x.copy(), gamma, beta, moving_mean, moving_variance, epsilon)
    check_array(found, expected, name=f"batchnorm_inference(x of shape {shape}, epsilon={epsilon})",
                hint=BN_INFERENCE_HINT, **tolerance("keras_layer"))
