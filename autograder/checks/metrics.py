"""Streaming metrics: a student's ``keras.metrics.Metric`` against Keras's own, batch by batch.

A metric accumulates state over the batches of an epoch (``update_state``), reports the value
over everything seen so far (``result``) and starts again (``reset_state``). The check feeds
the same batches — of different sizes, with sample weights where asked — to the student's
metric and to the Keras reference, compares ``result()`` after every batch (profile
``keras_float32``: Keras accumulates in float32), resets both and does it again, then
compiles the student's metric into a model and compares it with Keras's inside ``evaluate``,
where ``update_state`` runs in a graph. Used by chapter 04 (R²) and chapter 09 (RMSE).
"""

from __future__ import annotations

import numpy as np

from autograder.checks.arrays import check_array, to_numpy
from autograder.checks.failure import fail
from autograder.checks.tolerances import tolerance

GRAPH_HINT = ("update_state runs inside a compiled graph: use keras.ops / tf ops and variable.assign_add, "
              "not NumPy or .numpy().")


def check_default_name(metric, name: str) -> None:
    """The metric's default name is ``name`` (the key of its value in ``fit``'s history)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    if metric.name != name:
        fail(f"the metric's default name should be {name!r}, found {metric.name!r}.",
             f'def __init__(self, name="{name}", **kwargs): super().__init__(name=name, **kwargs).')


def check_batch_by_batch(mine, reference, rounds, *, hint: str, empty=None) -> None:
    """Feed each round's ``(y_true, y_pred, sample_weight)`` batches to ``mine`` and
    ``reference``; ``result()`` must agree after every batch. Both are reset after each round;
    ``empty`` is the result expected right after a reset (None: not compared)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    for batches in rounds:
        for step, (y_true, y_pred, weight) in enumerate(batches):
            mine.update_state(y_true, y_pred, sample_weight=weight)
            reference.update_state(y_true, y_pred, sample_weight=weight)
            check_array(mine.result(), to_numpy(reference.result()), name=f"result() after batch {step + 1}",
                        **tolerance("keras_float32"), check_dtype=False, hint=hint)
        mine.reset_state()
        reference.reset_state()
        if empty is not None:
            check_array(mine.result(), np.float32(empty), name="result() after reset_state()",
                        **tolerance("pipeline"), check_dtype=False,
                        hint="reset_state must set every state variable back to 0 (Keras returns 0 for no data).")


def check_in_evaluate(metric_class, reference, name: str, x, y) -> None:
    """``metric_class()`` compiled into a linear model gives Keras's value in ``evaluate``
    (batches of 3, so that the state crosses batches inside the graph)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(y.shape[1])])
    model.compile(loss="mse", metrics=[metric_class(), reference])
    try:
        results = model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True)
    except Exception as error:  # noqa: BLE001
        fail(f"model.evaluate with your metric failed: {type(error).__name__}: {str(error)[:300]}", GRAPH_HINT)
    if not np.isclose(results.get(name, np.nan), results[reference.name], **tolerance("keras_float32")):
        fail(f"inside evaluate() your metric gives {results.get(name)}, Keras's {results[reference.name]:.6f}.")
