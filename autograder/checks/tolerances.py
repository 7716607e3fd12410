"""Every tolerance the checks compare with, named once.

A comparison passes when ``|found - expected| <= atol + rtol * |expected|`` (NumPy's
``allclose`` rule). Each profile is used by name (``**tolerance("keras_layer")``);
docs/tolerances.md gives, for each, the measurement that set it (tests/test_docs.py checks that
every profile is listed there). Tolerances that depend on the data (the pairwise-distance
bound, the optimizers' ``tiny`` case, a schedule's scale) are computed by their check from the
profile named here.
"""

from __future__ import annotations

TOLERANCES: dict[str, dict[str, float]] = {
    # results a student computes in float32 / float64, against Keras or NumPy
    "float32": {"rtol": 1e-5, "atol": 1e-6},
    "float64": {"rtol": 1e-10, "atol": 1e-12},
    # NumPy activations and their analytic derivatives against keras.activations and the tape
    "activation_float32": {"rtol": 1e-5, "atol": 1e-5},
    "activation_float64": {"rtol": 1e-7, "atol": 1e-8},
    # Keras computes in float32 (losses, metrics, layers), whatever the dtype compared in
    "keras_float32": {"rtol": 1e-5, "atol": 1e-6},
    "keras_layer": {"rtol": 1e-5, "atol": 1e-5},
    # Keras keeps the regularization strengths l1/l2 as float32 numbers (0.3 is off by 4e-8)
    "keras_penalty_float64": {"rtol": 1e-6, "atol": 1e-9},
    # the same model or weights through another path (inference vs call, save/load, clone)
    "same_model": {"rtol": 1e-6, "atol": 1e-6},
    # what Keras computes in float64 and stores as float32 (learning rates of callbacks)
    "keras_float64_stored": {"rtol": 1e-6, "atol": 0.0},
    # a model evaluated twice: evaluate() batches and sums in another order than NumPy
    "evaluate": {"rtol": 1e-4, "atol": 1e-5},
    # a tf.data pipeline against the same arrays (casts and the augmenter in inference mode)
    "pipeline": {"rtol": 0.0, "atol": 1e-7},
    "augmenter_rebuilt": {"rtol": 0.0, "atol": 1e-6},
    "exact": {"rtol": 0.0, "atol": 0.0},
    # NumPy optimizers over 100 steps against keras.optimizers (quadratic and network cases)
    "optimizer_steps": {"rtol": 1e-4, "atol": 1e-5},
    # learning-rate schedules: Keras computes them in float32; atol is this times the value at step 0
    "schedule": {"rtol": 1e-5, "atol": 1e-5},
    # float32 reductions over images (batch statistics), distances (rtol; atol from the data)
    "reduction_float32": {"rtol": 1e-4, "atol": 1e-5},
    # gradients of a float16 model with loss scaling, against LossScaleOptimizer's
    "scaled_float16": {"rtol": 1e-3, "atol": 1e-12},
    "float16_probabilities": {"rtol": 0.0, "atol": 1e-3},
    # central differences of sin at h = 1e-5 (truncation error h²/6 ≈ 1.7e-11, round-off ~1e-11)
    "central_difference": {"rtol": 0.0, "atol": 1e-9},
    "float64_exact_formula": {"rtol": 1e-12, "atol": 1e-12},
    # the bound of an initializer's distribution against the largest of >= 100,000 Keras draws
    # (uniform: the largest falls short of the bound by about bound/N; truncated normal, cut at
    # 2 stddev: by far less than 0.1 % with N >= 100,000)
    "initializer_bound": {"rtol": 1e-3, "atol": 0.0},
}


def tolerance(name: str) -> dict[str, float]:
    """``{"rtol": ..., "atol": ...}`` of the named profile (a copy).

    Raises:
        KeyError: no such profile (the names are those of `TOLERANCES`).
    """
    return dict(TOLERANCES[name])


def distance_tolerance(eps: float, scale: float) -> dict[str, float]:
    """Pairwise distances ``sqrt(|a|² − 2 a·b + |b|²)``: the profile ``reduction_float32``'s
    rtol, and ``atol = 4·sqrt(eps·scale)`` with ``scale = max|a_i|² + max|b_j|²`` and ``eps``
    the machine epsilon of the dtype: the round-off of the squared norms, through the square
    root, for two points that (nearly) coincide."""
    return {"rtol": TOLERANCES["reduction_float32"]["rtol"], "atol": 4.0 * (eps * scale) ** 0.5}
