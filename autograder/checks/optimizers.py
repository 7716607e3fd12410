"""Checks for chapter 03 (optimizers): NumPy optimizers step by step against
``keras.optimizers``, learning-rate schedules against ``keras.optimizers.schedules``.

A student optimizer is a class built with keyword hyperparameters (Keras's names and
defaults) whose ``apply(params, grads)`` updates a list of float32 arrays in place. The check
feeds the student's optimizer and the Keras one the *same fixed gradient sequences* from the
same starting point and compares every parameter after every step, with ``rtol=1e-4,
atol=1e-5`` (accepts every correct float32 or float64 implementation measured; see
docs/tolerances.md). The sequences:

* ``quadratic`` — gradients of an ill-conditioned bowl ``0.5 (w1^2 + 100 w2^2)`` along a
  gradient-descent path: one component shrinks fast, so gradients span 1e2 .. 1e-20;
* ``network`` — the gradients of a small MLP (64-16-10) trained on scikit-learn's digits,
  four arrays of different shapes;
* ``tiny`` — gradients of size ~1e-7, where ε dominates: built to expose ε placement and
  bias-correction mistakes that ordinary gradients hide.
"""

from __future__ import annotations

import functools

import numpy as np

STEPS = 100
RTOL, ATOL = 1e-4, 1e-5

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
    return _initial_params([(3,), (2, 2)], 4), grads


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


def _hint(keras_name: str, case: str, step: int, before, expected, found) -> str:
    hints = []
    if np.all(np.sign(found - before) == -np.sign(expected - before)) and np.any(expected != before):
        hints.append("your update moves the parameters the opposite way: check the sign of the step.")
    if step == 1:
        hints.append("the very first step differs: check the initial state (zeros, or Adagrad's "
                     "initial_accumulator_value) and that t = 1 at the first step.")
    if case == "tiny":
        hints.append("with gradients ~1e-7, ε dominates: check where ε enters the denominator.")
    hints.append(HINTS.get(keras_name, ""))
    return " ".join(h for h in hints if h)


def check_optimizer(optimizer_cls, keras_name: str, cases=("quadratic", "network"), **hyper) -> None:
    """Run ``optimizer_cls(**hyper)`` and ``keras.optimizers.<keras_name>(**hyper)`` on the
    same gradient sequences and compare every parameter after every step.

    Raises:
        AssertionError: naming the case, the first step and parameter that diverged, expected
            vs found at the worst element, and the likely mistake.
    """
    label = f"{optimizer_cls.__name__}({', '.join(f'{k}={v}' for k, v in hyper.items())})"
    for case in cases:
        expected_steps = keras_trajectory(keras_name, case, hyper)
        params, grads = gradient_case(case)
        optimizer = optimizer_cls(**hyper)
        for step, (step_grads, expected) in enumerate(zip(grads, expected_steps, strict=True), start=1):
            before = [p.copy() for p in params]
            optimizer.apply(params, [g.copy() for g in step_grads])
            for index, (found, want) in enumerate(zip(params, expected, strict=True)):
                found = np.asarray(found)
                if found.shape != want.shape:
                    raise AssertionError(f"{label}: parameter {index} changed shape from {want.shape} to {found.shape}.")
                bad = ~np.isclose(found, want, rtol=RTOL, atol=ATOL) | ~np.isfinite(found)
                if bad.any():
                    where = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(found - want) * bad), want.shape))
                    raise AssertionError(
                        f"{label} on the {case!r} gradients: step {step} of {len(grads)}, parameter {index} "
                        f"(shape {want.shape}) differs from keras.optimizers.{keras_name}.\n"
                        f"  at index {where}: before the step {before[index][where]!r}, gradient "
                        f"{step_grads[index][where]!r}\n"
                        f"  expected {want[where]!r}, found {found[where]!r} "
                        f"({int(bad.sum())} of {want.size} values off; tolerance rtol={RTOL:g}, atol={ATOL:g})\n"
                        f"Hint: {_hint(keras_name, case, step, before[index], want, found)}"
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


def check_schedule(student_fn, keras_name: str, steps=None, **kwargs) -> None:
    """``student_fn(step, **kwargs)`` must equal ``keras.optimizers.schedules.<keras_name>(**kwargs)(step)``
    for every step in ``steps`` (default 0..120), as a Python or NumPy float (rtol 1e-5, atol 1e-5 of the value at step 0: Keras computes
    schedules in float32)."""
    import keras

    schedule = getattr(keras.optimizers.schedules, keras_name)(**kwargs)
    steps = range(0, 121) if steps is None else steps
    label = f"{student_fn.__name__}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
    # Keras computes in float32: near the end of a cosine decay 1 + cos(.) cancels, so the
    # absolute tolerance is relative to the schedule's starting value.
    atol = 1e-5 * abs(float(keras.ops.convert_to_numpy(schedule(0))))
    for step in steps:
        expected = float(keras.ops.convert_to_numpy(schedule(step)))
        found = student_fn(step, **kwargs)
        if found is None or not np.isfinite(float(np.asarray(found))) or not np.isclose(
            float(np.asarray(found)), expected, rtol=1e-5, atol=atol
        ):
            raise AssertionError(
                f"{label} at step {step}: expected {expected!r} (keras.optimizers.schedules.{keras_name}), "
                f"found {found!r}.\nHint: {SCHEDULE_HINTS[keras_name]}"
            )
