"""Checks for chapters 03 and 04 (losses): NumPy losses and their gradients against ``keras.losses``.

A loss function takes ``(y_true, y_pred)`` batches and returns one loss per sample, shape
``(N,)``, exactly like ``keras.losses.binary_crossentropy`` & co. (mean over the last axis for
the binary losses). A gradient function returns ``∂(Σ_n loss_n)/∂y_pred``, shaped like
``y_pred``; the reference is ``tf.GradientTape`` of the Keras function. Inputs include soft
labels, probabilities near 0 and 1 (Keras clips them to [1e-7, 1 − 1e-7]) and logits up to
±1000 (a ``from_logits`` loss must be computed stably from the logits); the regression losses
of chapter 04 (``huber``, ``log_cosh``, mean over the last axis) get residuals of 0, exactly
±δ and ±1000 (log(cosh(1000)) overflows: log-cosh must be computed in a stable form). Tolerance: the
profile ``keras_float32`` (Keras computes the losses in float32).
"""

from __future__ import annotations

import numpy as np

from autograder.checks.activations import call_strict
from autograder.checks.arrays import check_array
from autograder.checks.failure import call_label, explains_errors
from autograder.checks.tolerances import tolerance

HINTS = {
    "binary_crossentropy": (
        "probabilities: clip to [1e-7, 1 − 1e-7], −(y·log p + (1 − y)·log(1 − p)), mean over the last axis. "
        "logits: max(z, 0) − z·y + log1p(exp(−|z|)), never sigmoid then log."
    ),
    "categorical_crossentropy": (
        "probabilities: divide by their sum, clip to [1e-7, 1 − 1e-7], −Σ y·log p. "
        "logits: logsumexp(z) − Σ y·z with the max subtracted inside logsumexp."
    ),
    "sparse_categorical_crossentropy": "like categorical_crossentropy with one_hot(y_true) as the target.",
    "binary_focal_crossentropy": (
        "bce as in binary_crossentropy (elementwise), p_t = y·p + (1 − y)(1 − p), loss = (1 − p_t)^γ · bce, mean "
        "over the last axis; from_logits: p = sigmoid(z) for p_t, stable bce from the logits."
    ),
    "huber": (
        "r = y_pred − y_true: 0.5·r² where |r| <= delta, delta·|r| − 0.5·delta² beyond; mean over the last axis."
    ),
    "log_cosh": (
        "log(cosh(r)) with r = y_pred − y_true, mean over the last axis; cosh overflows for |r| > 710: use "
        "|r| + log1p(exp(−2|r|)) − log(2), which is the same number."
    ),
}
GRAD_HINTS = {
    "binary_crossentropy": (
        "per element, probabilities: (p − y) / (p(1 − p)); logits: sigmoid(z) − y; then divide by the size of "
        "the last axis (the loss is a mean over it)."
    ),
    "categorical_crossentropy": (
        "logits: softmax(z)·Σy − y (= softmax(z) − y for one-hot or normalised labels); probabilities: "
        "−y/p + Σy / Σp (the normalisation by Σp contributes the second term)."
    ),
    "huber": "r where |r| <= delta, delta·sign(r) beyond, divided by the size of the last axis (the loss is a mean).",
    "log_cosh": "tanh(r) with r = y_pred − y_true, divided by the size of the last axis (the loss is a mean).",
}


def binary_case(from_logits: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=(6, 4)).astype("float64")
    y[0] = [0.1, 0.9, 0.5, 0.0]  # soft labels
    if from_logits:
        pred = rng.normal(scale=3.0, size=(6, 4))
        pred[1] = [-1000.0, 1000.0, -40.0, 40.0]
    else:
        pred = rng.uniform(0.02, 0.98, size=(6, 4))
    return y, pred


def categorical_case(from_logits: bool, seed: int = 1):
    rng = np.random.default_rng(seed)
    y = np.eye(5)[rng.integers(0, 5, size=6)]
    y[0] = [0.1, 0.2, 0.3, 0.2, 0.2]
    if from_logits:
        pred = rng.normal(scale=3.0, size=(6, 5))
        pred[1] += 1000.0
        pred[2] = [-1000.0, 0.0, 1000.0, 3.0, -3.0]
    else:
        pred = rng.uniform(0.05, 1.0, size=(6, 5))
        pred /= pred.sum(axis=1, keepdims=True)
    return y, pred


def regression_case(seed: int = 2):
    """Targets and predictions (6, 4) whose residuals include 0, exactly ±1 (Huber's default
    delta), ±2.5 and ±1000."""
    rng = np.random.default_rng(seed)
    y = rng.normal(scale=3.0, size=(6, 4))
    pred = y + rng.normal(scale=2.0, size=(6, 4))
    y[1:3] = [[0.5, 1.25, -2.0, 3.0], [-1.5, 2.75, 0.25, -4.0]]  # dyadic: the residuals below are exact
    pred[1] = y[1] + [0.0, 1.0, -1.0, 2.5]
    pred[2] = y[2] + [1000.0, -1000.0, -2.5, 0.25]
    return y, pred


def _keras_loss(name: str, **kwargs):
    import keras

    fn = getattr(keras.losses, name)
    return lambda y, p: fn(y, p, **kwargs)


def _default_case(name: str, from_logits: bool):
    if name in ("huber", "log_cosh"):
        return regression_case()
    if name.startswith("binary"):
        return binary_case(from_logits)
    y, pred = categorical_case(from_logits)
    if name.startswith("sparse"):
        y = np.argmax(y, axis=1)
        y[0] = 2
    return y, pred


@explains_errors
def check_loss(student_fn, name: str, y_true=None, y_pred=None, **kwargs) -> None:
    """``student_fn(y_true, y_pred, **kwargs)`` must equal ``keras.losses.<name>`` per sample."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    from_logits = kwargs.get("from_logits", False)
    if y_true is None:
        y_true, y_pred = _default_case(name, from_logits)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred, dtype="float64")
    expected = _keras_loss(name, **kwargs)(tf.constant(y_true), tf.constant(y_pred)).numpy()
    label = call_label(name, "y_true", "y_pred", **kwargs)
    found = call_strict(student_fn, y_true.copy(), y_pred.copy(), name=label, hint=HINTS[name], **kwargs)
    check_array(found, expected, name=label, hint=HINTS[name], **tolerance("keras_float32"))


@explains_errors
def check_loss_grad(student_grad, name: str, y_true=None, y_pred=None, **kwargs) -> None:
    """``student_grad(y_true, y_pred, **kwargs)`` must equal the tape gradient of
    ``sum(keras.losses.<name>(y_true, y_pred))`` with respect to ``y_pred``."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    from_logits = kwargs.get("from_logits", False)
    if y_true is None:
        y_true, y_pred = _default_case(name, from_logits)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred, dtype="float64")
    pred = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(pred)
        total = tf.reduce_sum(_keras_loss(name, **kwargs)(tf.constant(y_true), pred))
    expected = tape.gradient(total, pred).numpy()
    label = f"{name} gradient w.r.t. y_pred{' (logits)' if from_logits else ''}"
    found = call_strict(student_grad, y_true.copy(), y_pred.copy(), name=label, hint=GRAD_HINTS[name], **kwargs)
    check_array(found, expected, name=label, hint=GRAD_HINTS[name], inputs={"y_pred": y_pred},
                **tolerance("keras_float32"))
