"""Checks for chapter 03 (optimizers): NumPy optimizers step by step against
``keras.optimizers``, learning-rate schedules against ``keras.optimizers.schedules``.

A student optimizer is a class built with keyword hyperparameters (Keras's names and
defaults) whose ``apply(params, grads)`` updates a list of float32 arrays in place. The check
feeds the student's optimizer and the Keras one the *same fixed gradient sequences* from the
same starting point and compares every parameter after every step, with the profile
``optimizer_steps`` (accepts every correct float32 or float64 implementation measured; see
docs/tolerances.md). The sequences:

* ``quadratic`` — gradients of an ill-conditioned bowl ``0.5 (w1^2 + 100 w2^2)`` along a
  gradient-descent path: one component shrinks fast, so gradients span 1e2 .. 1e-20;
* ``network`` — the gradients of a small MLP (64-16-10) trained on scikit-learn's digits,
  four arrays of different shapes;
* ``tiny`` — gradients of size ~1e-7, where ε dominates: built to expose ε placement and
  bias-correction mistakes that ordinary gradients hide. Its parameters start at ~1e-6 so that
  float32 resolves such small steps (plain SGD moves them by ~4e-8 in 100 steps; from ~0.5 the
  steps would be below float32's resolution), and its absolute tolerance is 1/1000 of how far
  Keras moves the parameters in the case (`MOVEMENT_ATOL`), so that doing nothing, stepping the
  wrong way or with ten times the learning rate fails (docs/mutations.md).
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.checks.failure import call_label, explains_errors, fail, number
from autograder.checks.tolerances import tolerance

STEPS = 100
RTOL, ATOL = tolerance("optimizer_steps")["rtol"], tolerance("optimizer_steps")["atol"]
MOVEMENT_ATOL = {"tiny": 1e-3}  # atol = this × Keras's largest movement in the case; else ATOL

HINTS = {
    "SGD": "velocity starts at zero; m = momentum·m − lr·g, then w += m (nesterov: w += momentum·m − lr·g, "
    "with the new m). Without momentum: w −= lr·g.",
    "Adagrad": "the accumulator starts at initial_accumulator_value (0.1), not 0: acc += g², w −= lr·g/√(acc + ε) "
    "(ε inside the square root).",
    "RMSprop": "v = ρ·v + (1 − ρ)·g²; step = lr·g/√(v + ε) (ε inside the sqrt); centered: a = ρ·a + (1 − ρ)·g and "
    "use √(v − a² + ε); momentum: mom = momentum·mom + step, w −= mom.",
    "Adadelta": "Eg = ρ·Eg + (1 − ρ)·g²; dx = −√(Edx + ε)/√(Eg + ε)·g; Edx = ρ·Edx + (1 − ρ)·dx²; w += lr·dx "
    "(Keras multiplies by learning_rate, default 0.001).",
    "Adam": "m += (g − m)(1 − β1); v += (g² − v)(1 − β2); α = lr·√(1 − β2ᵗ)/(1 − β1ᵗ); w −= α·m/(√v + ε), with "
    "t = 1 at the first step. Did you apply bias correction? amsgrad: use v̂ = max(v̂, v) in place of v.",
    "AdamW": "decoupled weight decay first, w −= lr·weight_decay·w, then the Adam step with the unmodified "
    "gradient (not weight_decay·w added to the gradient).",
    "Nadam": "u_t = β1(1 − 0.5·0.96ᵗ); U_t = u_1·…·u_t; m̂ = u_{t+1}·m/(1 − U_t·u_{t+1}) + (1 − u_t)·g/(1 − U_t); "
    "v̂ = v/(1 − β2ᵗ); w −= lr·m̂/(√v̂ + ε).",
}


def _initial_params(shapes, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=shape).astype("float32") for shape in shapes]


@functools.cache
def _quadratic():
    curvature = np.array([1.0, 100.0])
    w = np.array([1.5, 1.0])
    grads = []
    for t in range(STEPS):
        g = curvature * w + 0.05 * np.sin(0.3 * t)
        grads.append([g.astype("float32"), (0.1 * np.cos(0.2 * t) * np.ones((2, 3))).astype("float32")])
        w = w - 0.0099 * curvature * w
    return _initial_params([(2,), (2, 3)], 1), grads


@functools.cache
def _network():
    """Gradients of a 64-16-10 MLP on digits, recorded along plain SGD (NumPy, float32)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = np.eye(10, dtype="float32")[digits.target]
    rng = np.random.default_rng(3)
    w1, b1, w2, b2 = _initial_params([(64, 16), (16,), (16, 10), (10,)], 2)
    grads = []
    for _ in range(STEPS):
        idx = rng.choice(len(x), size=32, replace=False)
        xb, yb = x[idx], y[idx]
        h_pre = xb @ w1 + b1
        h = np.maximum(h_pre, 0)
        z = h @ w2 + b2
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        dz = (p - yb) / len(xb)
        dh = (dz @ w2.T) * (h_pre > 0)
        g = [xb.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
        grads.append([gi.astype("float32") for gi in g])
        w1, b1, w2, b2 = (p_ - 0.5 * g_ for p_, g_ in zip((w1, b1, w2, b2), g, strict=True))
    return _initial_params([(64, 16), (16,), (16, 10), (10,)], 2), grads


@functools.cache
def _tiny():
    rng = np.random.default_rng(5)
    grads = [[(rng.normal(size=(3,)) * 1e-7).astype("float32"), (rng.normal(size=(2, 2)) * 1e-7).astype("float32")]
             for _ in range(STEPS)]
    return [1e-6 * p for p in _initial_params([(3,), (2, 2)], 4)], grads


CASES = {"quadratic": _quadratic, "network": _network, "tiny": _tiny}


def gradient_case(name: str):
    """(initial params, list of per-step gradient lists) of a named case; copies."""
    params, grads = CASES[name]()
    return [p.copy() for p in params], grads


def keras_trajectory(keras_name: str, case: str, hyper: dict) -> list[list[np.ndarray]]:
    """Parameters after every step when ``keras.optimizers.<keras_name>(**hyper)`` applies the
    case's gradients."""
    import keras
    import tensorflow as tf

    params, grads = gradient_case(case)
    variables = [tf.Variable(p) for p in params]
    optimizer = getattr(keras.optimizers, keras_name)(**hyper)
    optimizer.build(variables)

    @tf.function  # one trace, then ~0.3 ms a step instead of ~5 ms eagerly
    def step(step_grads):
        optimizer.apply(step_grads, variables)
        return [tf.identity(v) for v in variables]

    return [[v.numpy() for v in step([tf.constant(g) for g in step_grads])] for step_grads in grads]


def _default_mismatches(optimizer_cls, keras_name: str, hyper: dict) -> list[str]:
    """Hyper-parameters left at their default in this call whose default differs from Keras's."""
    import inspect

    import keras

    mine = inspect.signature(optimizer_cls).parameters
    theirs = inspect.signature(getattr(keras.optimizers, keras_name)).parameters
    out = []
    for name, param in mine.items():
        if name in hyper or name not in theirs or param.default is inspect.Parameter.empty:
            continue
        if param.default != theirs[name].default:
            out.append(f"{name}={param.default!r} (Keras: {theirs[name].default!r})")
    return out


def _textbook_adam(case: str, hyper: dict, steps: int) -> list[np.ndarray]:
    """Parameters after ``steps`` steps of Adam as CS231n, d2l and nnfs write it: ε added to
    √v̂ after separate bias corrections of m and v (float64)."""
    lr = hyper.get("learning_rate", 0.001)
    b1, b2 = hyper.get("beta_1", 0.9), hyper.get("beta_2", 0.999)
    eps = hyper.get("epsilon", 1e-7)
    params, grads = gradient_case(case)
    params = [p.astype(np.float64) for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, step_grads in enumerate(grads[:steps], start=1):
        for i, g in enumerate(step_grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] = params[i] - lr * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + eps)
    return params


def _cause(optimizer_cls, keras_name, case, hyper, step, index, before, expected, found) -> str | None:
    """The likely mistake, read off what the student's step looks like; None if unclear."""
    defaults = _default_mismatches(optimizer_cls, keras_name, hyper)
    if defaults:
        return f"your default {', '.join(defaults)} differs from Keras's: use Keras's defaults."
    mine, theirs = found - before, expected - before
    moved = theirs != 0
    if np.all(mine == 0) and moved.any():
        return ("apply() left the parameters unchanged: update the arrays in place "
                "(param -= ..., or param[...] = ...), do not rebind the name.")
    if moved.any() and np.all(np.sign(mine[moved]) == -np.sign(theirs[moved])):
        return "your update moves the parameters the opposite way: check the sign of the step."
    if moved.all():
        ratio = mine / theirs
        if np.ptp(ratio) <= 1e-3 * abs(np.mean(ratio)) and abs(np.mean(ratio) - 1) > 1e-3:
            return (f"your step is {np.mean(ratio):.3g}× Keras's in every element: check the "
                    "learning rate and the scale of the update.")
    if keras_name in ("Adam", "AdamW") and not hyper.get("amsgrad") and not hyper.get("weight_decay"):
        textbook = _textbook_adam(case, hyper, step)[index]
        if np.allclose(found, textbook, rtol=RTOL, atol=MOVEMENT_ATOL["tiny"] * np.max(np.abs(theirs)) + 1e-12):
            return ("you add ε to √v̂ after bias-correcting v (the textbook form); Keras adds ε "
                    "to √v and folds both corrections into α = lr·√(1 − β2ᵗ)/(1 − β1ᵗ).")
    if step == 1:
        return ("the very first step differs: check the initial state (zeros, or Adagrad's "
                "initial_accumulator_value) and that t = 1 at the first step.")
    if case == "tiny":
        return "with gradients ~1e-7, ε dominates: check where ε enters the denominator."
    return None


@explains_errors
def check_optimizer(optimizer_cls, keras_name: str, cases=("quadratic", "network"), **hyper) -> None:
    """Run ``optimizer_cls(**hyper)`` and ``keras.optimizers.<keras_name>(**hyper)`` on the
    same gradient sequences and compare every parameter after every step.

    Raises:
        AssertionError: naming the case, the first step and parameter that diverged, expected
            vs found at the worst element, and the likely mistake.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    label = call_label(optimizer_cls.__name__, **hyper)
    for case in cases:
        expected_steps = keras_trajectory(keras_name, case, hyper)
        params, grads = gradient_case(case)
        atol = ATOL
        if case in MOVEMENT_ATOL:
            movement = max(float(np.max(np.abs(w - w0))) for step in expected_steps
                           for w, w0 in zip(step, params, strict=True))
            atol = MOVEMENT_ATOL[case] * movement
        optimizer = optimizer_cls(**hyper)
        for step, (step_grads, expected) in enumerate(zip(grads, expected_steps, strict=True), start=1):
            before = [p.copy() for p in params]
            optimizer.apply(params, [g.copy() for g in step_grads])
            for index, (found, want) in enumerate(zip(params, expected, strict=True)):
                found = np.asarray(found)
                if found.shape != want.shape:
                    fail(f"{optimizer_cls.__name__}: parameter {index} changed shape",
                         details=[f"called: {label}", f"expected shape {want.shape}, found {found.shape}"],
                         hint="update the parameters in place, keeping their shapes.")
                bad = ~np.isclose(found, want, rtol=RTOL, atol=atol) | ~np.isfinite(found)
                if bad.any():
                    where = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(found - want) * bad), want.shape))
                    cause = _cause(optimizer_cls, keras_name, case, hyper, step, index,
                                   before[index].astype(np.float64), want.astype(np.float64),
                                   found.astype(np.float64))
                    fail(
                        f"{optimizer_cls.__name__}: step {step}/{len(grads)} differs from Keras",
                        "\n".join(h for h in (cause, HINTS.get(keras_name)) if h),
                        details=[
                            f"called: {label}, on the {case!r} gradients, against "
                            f"keras.optimizers.{keras_name}",
                            f"parameter {index} (shape {want.shape}), index {where}",
                            f"before the step: {number(before[index][where])}, "
                            f"gradient: {number(step_grads[index][where])}",
                            f"expected: {number(want[where])}",
                            f"found:    {number(found[where])}",
                            f"{int(bad.sum())} of {want.size} values off; "
                            f"tolerance rtol={RTOL:g}, atol={atol:.3g}",
                        ],
                    )


# --- learning-rate schedules -------------------------------------------------------------

SCHEDULE_HINTS = {
    "ExponentialDecay": "lr = initial_learning_rate · decay_rate^(step / decay_steps); with staircase=True the "
    "exponent is floor(step / decay_steps).",
    "PiecewiseConstantDecay": "values[0] while step ≤ boundaries[0], values[i] while boundaries[i-1] < step ≤ "
    "boundaries[i], values[-1] after the last boundary (the boundary itself belongs to the earlier piece).",
    "CosineDecay": "step is capped at decay_steps; lr = initial_learning_rate · ((1 − alpha)·c + alpha) with "
    "c = 0.5·(1 + cos(π·step/decay_steps)).",
}


@explains_errors
def check_schedule(student_fn, keras_name: str, steps=None, **kwargs) -> None:
    """``student_fn(step, **kwargs)`` must equal ``keras.optimizers.schedules.<keras_name>(**kwargs)(step)``
    for every step in ``steps`` (default 0..120), as a Python or NumPy float (rtol 1e-5, atol 1e-5 of the value at step 0: Keras computes
    schedules in float32)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    schedule = getattr(keras.optimizers.schedules, keras_name)(**kwargs)
    steps = range(0, 121) if steps is None else steps
    label = call_label(student_fn.__name__, **kwargs)
    # Keras computes in float32: near the end of a cosine decay 1 + cos(.) cancels, so the
    # absolute tolerance is relative to the schedule's starting value.
    tol = tolerance("schedule")
    atol = tol["atol"] * abs(float(keras.ops.convert_to_numpy(schedule(0))))
    for step in steps:
        expected = float(keras.ops.convert_to_numpy(schedule(step)))
        found = student_fn(step, **kwargs)
        if found is None or not np.isfinite(float(np.asarray(found))) or not np.isclose(
            float(np.asarray(found)), expected, rtol=tol["rtol"], atol=atol
        ):
            fail(
                f"{label} at step {step}: expected {expected!r} (keras.optimizers.schedules.{keras_name}), "
                f"found {found!r}.\nHint: {SCHEDULE_HINTS[keras_name]}"
            )
