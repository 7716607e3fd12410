"""Checks for chapter 04 (regression end to end): preprocessing and R² against Keras.

* ``normalization_stats(x)`` must give the mean and variance ``keras.layers.Normalization``
  stores after ``adapt(x)`` (per column, the population variance), and ``normalize(x, mean,
  variance)`` the layer's output, ``(x − mean) / max(sqrt(variance), 1e-7)`` — a column constant
  in the data has variance 0 and must give 0, not NaN. Profiles ``reduction_float32`` (Keras
  reduces in float32) and ``keras_layer``.
* ``build_vocabulary(values)`` must give ``keras.layers.StringLookup``'s vocabulary after
  ``adapt(values)`` (without the out-of-vocabulary token): most frequent first, ties in
  *descending* order of the strings (Keras sorts with ``np.lexsort`` and reverses), and
  ``one_hot_lookup(values, vocabulary)`` the layer's ``output_mode="one_hot"`` rows, column 0 for
  a value not in the vocabulary, as float32 (the layer returns int64 on the TensorFlow backend).
* The ``R2`` metric must track ``keras.metrics.R2Score`` batch after batch, with sample
  weights, after ``reset_state`` and inside ``evaluate`` (`autograder.checks.metrics`).

The losses of the chapter (Huber, log-cosh) are checked by `autograder.checks.losses`, the
regressor's test MAE by `autograder.checks.training.check_regressor`.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.activations import call_strict
from autograder.checks.arrays import check_array, to_numpy
from autograder.checks.failure import check_returns, explains_errors, fail
from autograder.checks.metrics import check_batch_by_batch, check_default_name, check_in_evaluate
from autograder.checks.tolerances import tolerance

STATS_HINT = ("per column (axis=0): the mean, and the population variance np.var(x, axis=0) — Keras divides "
              "by N, not N − 1.")
NORMALIZE_HINT = ("(x − mean) / max(sqrt(variance), 1e-7): Keras divides by the standard deviation, and by "
                  "1e-7 (keras.config.epsilon()) where it is smaller, so a constant column gives 0, not NaN.")
VOCABULARY_HINT = ("count each value in the data; most frequent first; values with equal counts in "
                   "descending order of the strings (Keras sorts ascending with np.lexsort, then reverses).")
ONE_HOT_HINT = ("one row per value, len(vocabulary) + 1 columns: column 0 for a value not in the vocabulary "
                "([UNK]), column i + 1 for vocabulary[i]; float32.")
R2_HINT = ("accumulate Σw, Σw·y, Σw·y² and Σw·(y − ŷ)² over every batch seen; R² = 1 − SS_res / SS_tot with "
           "SS_tot = Σw·y² − (Σw·y)² / Σw. The mean of per-batch R² is not the R² of the data.")


def table_case(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training columns on the scales of chapter 04's table (grams, millimetres, a year, a
    column constant in the data) and new rows to normalize, float32 (40, 5) and (7, 5)."""
    rng = np.random.default_rng(seed)
    scales = np.array([[4200.0, 800.0], [44.0, 5.5], [200.0, 14.0], [2008.0, 0.8], [3.0, 0.0]])
    x = rng.normal(scales[:, 0], scales[:, 1], size=(40, 5)).astype("float32")
    new = rng.normal(scales[:, 0], scales[:, 1], size=(7, 5)).astype("float32")
    new[:, 4] = 3.0  # the constant column stays constant: Keras gives 0 there
    return x, new


@explains_errors
def check_normalization(stats_fn, normalize_fn, x=None, new=None) -> None:
    """``stats_fn(x)`` must return ``(mean, variance)`` as ``keras.layers.Normalization(axis=-1)``
    computes them in ``adapt(x)``, shape ``(features,)``; ``normalize_fn(new, mean, variance)``
    (given Keras's statistics) must return the layer's output on ``new``, float32."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    if x is None:
        x, new = table_case()
    layer = keras.layers.Normalization(axis=-1)
    layer.adapt(x)
    mean, variance = (to_numpy(v).reshape(-1) for v in (layer.mean, layer.variance))
    found = call_strict(stats_fn, x.copy(), name="normalization_stats(x)", hint=STATS_HINT)
    check_returns(found, "normalization_stats(x)", ("mean", "variance"))
    for what, value, expected in (("mean", found[0], mean), ("variance", found[1], variance)):
        value = to_numpy(value, name=f"{what} of normalization_stats(x)")
        check_array(value.reshape(expected.shape) if value.size == expected.size else value, expected,
                    name=f"{what} of normalization_stats(x)", check_dtype=False, hint=STATS_HINT,
                    **tolerance("reduction_float32"))
    found = call_strict(normalize_fn, new.copy(), mean.copy(), variance.copy(), name="normalize(x, mean, variance)",
                        hint=NORMALIZE_HINT)
    check_array(found, to_numpy(layer(new)), name="normalize(x, mean, variance)", hint=NORMALIZE_HINT,
                inputs={"x": new}, **tolerance("keras_layer"))


def category_case(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A column of category names with ties in the counts, and new values (one never seen)."""
    rng = np.random.default_rng(seed)
    names = np.array(["Biscoe", "Dream", "Torgersen", "Anvers", "Cormorant"], dtype=object)
    values = np.repeat(names, [9, 6, 6, 2, 6])
    values = values[rng.permutation(len(values))]
    new = np.array(["Dream", "Palmer", "Anvers", "Biscoe", "Cormorant"], dtype=object)
    return values, new


@explains_errors
def check_lookup(vocabulary_fn, one_hot_fn, values=None, new=None) -> None:
    """``vocabulary_fn(values)`` must equal ``StringLookup().adapt(values)``'s vocabulary without
    ``[UNK]``; ``one_hot_fn(new, vocabulary)`` the layer's one-hot rows, as float32."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    if values is None:
        values, new = category_case()
    layer = keras.layers.StringLookup(output_mode="one_hot")
    layer.adapt(values)
    expected = [str(v) for v in layer.get_vocabulary()[1:]]
    found = call_strict(vocabulary_fn, values.copy(), name="build_vocabulary(values)", hint=VOCABULARY_HINT)
    try:
        found = [str(v) for v in found]
    except TypeError:
        fail("build_vocabulary(values) should return a list of strings",
             details=[f"found: {type(found).__name__}"], hint=VOCABULARY_HINT)
    if found != expected:
        counts = {v: int(np.sum(values == v)) for v in expected}
        fail("build_vocabulary(values): not Keras's vocabulary", hint=VOCABULARY_HINT,
             details=[f"expected: {expected}", f"found:    {found}",
                      "counts: " + ", ".join(f"{v}={c}" for v, c in counts.items())])
    rows = call_strict(one_hot_fn, new.copy(), list(expected), name="one_hot_lookup(values, vocabulary)",
                       hint=ONE_HOT_HINT)
    check_array(rows, to_numpy(layer(new)).astype("float32"), name="one_hot_lookup(values, vocabulary)",
                hint=ONE_HOT_HINT, **tolerance("exact"))


def target_batches(seed: int, sizes=(4, 7, 1, 5)) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(y_true, y_pred, sample_weight)`` batches of standardized targets, shape (n, 1).

    Standardized, not grams: Keras's ``R2Score`` computes SS_tot as Σw·y² − Σw·y·ȳ in float32,
    which loses about 1e-5 of R² to cancellation on targets near 4000 ± 800 (measured: 2.2e-5 on
    a batch of 4) — an error of Keras's formula that a student's float32 sums in another order
    do not share."""
    rng = np.random.default_rng(seed)
    batches = []
    for n in sizes:
        y_true = rng.normal(0.2, 1.0, size=(n, 1)).astype("float32")
        y_pred = (y_true + rng.normal(0.0, 0.4, size=(n, 1))).astype("float32")
        batches.append((y_true, y_pred, rng.uniform(0.2, 1.0, size=n).astype("float32")))
    return batches


@explains_errors
def check_r2_metric(metric_class, *, weighted: bool = True, seed: int = 0) -> None:
    """Assert that ``metric_class()`` (name "r2") tracks ``keras.metrics.R2Score`` over batches
    of 4, 7, 1 and 5 targets of shape (n, 1) (with sample weights when ``weighted``), again
    after ``reset_state``, and inside ``compile``/``evaluate``. (Keras's R2Score has no value
    before its first batch — it raises — and gives NaN for targets that are all equal, so
    neither is compared.)"""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    mine = metric_class()
    check_default_name(mine, "r2")
    rounds = [[(t, p, w if weighted else None) for t, p, w in target_batches(seed + r)] for r in range(2)]
    check_batch_by_batch(mine, keras.metrics.R2Score(), rounds, hint=R2_HINT)
    x = np.random.default_rng(seed).normal(size=(11, 2)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0]]) + 0.3).astype("float32")
    check_in_evaluate(metric_class, keras.metrics.R2Score(name="keras_r2"), "r2", x, y)
    print("R² metric: OK — matches keras.metrics.R2Score batch after batch, after reset, in evaluate")
