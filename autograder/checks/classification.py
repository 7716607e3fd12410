"""Checks for chapter 05 (classification end to end): evaluating a classifier in NumPy.

* ``confusion_matrix(y_true, y_pred, num_classes)`` against ``sklearn.metrics.confusion_matrix``
  with ``labels=range(num_classes)``: int64 (k, k), row = true class, column = predicted class.
* ``precision_recall_f1(cm, average=None)`` — from a confusion matrix — against
  ``sklearn.metrics.precision_recall_fscore_support(..., zero_division=0)`` for precision and
  recall and ``keras.metrics.F1Score`` for F1 (the two agree, edge cases included: a class never
  predicted has precision 0, a class never present recall 0, and their F1 is 0), per class
  (``average=None``) or ``"macro"``, ``"micro"``, ``"weighted"``.
* ``threshold_sweep(y_true, scores, thresholds)`` against ``keras.metrics.Precision``,
  ``Recall``, ``FalsePositives`` and ``TrueNegatives`` built with the same ``thresholds``: a
  score counts as positive when it is *greater than* the threshold (Keras's rule; scikit-learn's
  curves use ``>=``), and a threshold with no positive prediction has precision 0.
* ``decision_grid(predict, x_range, y_range, steps)`` against ``np.meshgrid`` of
  ``np.linspace`` over each range, ``predict`` called once on all the grid's points.

Profiles: ``exact`` for counts, ``keras_float32`` for ratios (Keras divides in float32).
The classifier's precision and recall on the test set are checked by
`autograder.checks.training.check_classifier`.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.activations import call_strict
from autograder.checks.arrays import check_array, to_numpy
from autograder.checks.failure import check_returns, explains_errors, fail
from autograder.checks.tolerances import tolerance

AVERAGES = (None, "macro", "micro", "weighted")
CONFUSION_HINT = ("count each (true, predicted) pair: cm[true, predicted] += 1; rows are the true classes, "
                  "columns the predictions, every class 0 … num_classes − 1 present even when never seen.")
PRF_HINT = {
    None: ("per class i: precision = cm[i, i] / column sum (all predicted i), recall = cm[i, i] / row sum (all "
           "truly i), F1 = 2PR / (P + R); 0 where a denominator is 0."),
    "macro": "the unweighted mean of the per-class values (classes never seen count, with 0).",
    "micro": ("pool the counts first: total TP / total predictions for precision, total TP / total examples for "
              "recall (both equal the accuracy for single-label data)."),
    "weighted": "the mean of the per-class values weighted by each class's support (its row sum).",
}
SWEEP_HINT = ("for each threshold t: predicted positive where score > t (strictly: Keras's rule); precision = "
              "TP / (TP + FP), recall = TP / (TP + FN), false-positive rate = FP / (FP + TN), 0 where a "
              "denominator is 0.")
GRID_HINT = ("xs = np.linspace(*x_range, steps), ys = np.linspace(*y_range, steps), xx, yy = np.meshgrid(xs, ys); "
             "call predict once on np.c_[xx.ravel(), yy.ravel()] (float32) and reshape to (steps, steps).")


def label_case(seed: int = 0, num_classes: int = 4, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels and predictions (n,) that agree about 60 % of the time; class
    ``num_classes - 1`` is never predicted."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, num_classes, size=n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, num_classes, size=n))
    y_pred[y_pred == num_classes - 1] = 0
    return y_true, y_pred


EDGE_CASES = {
    "a class never predicted": (np.array([0, 1, 2, 2, 1]), np.array([0, 0, 2, 2, 0])),
    "a class never present": (np.array([0, 0, 1, 1]), np.array([0, 1, 1, 2])),
    "all one class": (np.array([1, 1, 1]), np.array([1, 1, 1])),
}


@explains_errors
def check_confusion_matrix(student_fn, y_true=None, y_pred=None, num_classes: int = 4) -> None:
    """``student_fn(y_true, y_pred, num_classes)`` must equal scikit-learn's confusion matrix,
    on ``label_case`` (default) and on the edge cases (3 classes)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    from sklearn.metrics import confusion_matrix

    if y_true is None:
        y_true, y_pred = label_case(num_classes=num_classes)
    cases = {"labels": (y_true, y_pred, num_classes)}
    cases.update({name: (t, p, 3) for name, (t, p) in EDGE_CASES.items()})
    for name, (t, p, k) in cases.items():
        expected = confusion_matrix(t, p, labels=np.arange(k)).astype("int64")
        label = f"confusion_matrix(y_true, y_pred, {k})" + ("" if name == "labels" else f" with {name}")
        found = call_strict(student_fn, t.copy(), p.copy(), k, name=label, hint=CONFUSION_HINT)
        check_array(found, expected, name=label, hint=CONFUSION_HINT, inputs={"y_true": t, "y_pred": p},
                    **tolerance("exact"))


def _keras_f1(cm: np.ndarray, average):
    """``keras.metrics.F1Score(average)`` on the one-hot rows the confusion matrix counts."""
    import keras

    k = cm.shape[0]
    true, pred = np.nonzero(cm)
    counts = cm[true, pred]
    eye = np.eye(k, dtype="float32")
    metric = keras.metrics.F1Score(average=average)
    metric.update_state(np.repeat(eye[true], counts, axis=0), np.repeat(eye[pred], counts, axis=0))
    return to_numpy(metric.result())


@explains_errors
def check_precision_recall_f1(student_fn, y_true=None, y_pred=None, num_classes: int = 4) -> None:
    """``student_fn(cm, average)`` for each average in `AVERAGES` must return ``(precision,
    recall, f1)`` — arrays of shape (k,) for ``None``, numbers otherwise — equal to
    scikit-learn's (precision, recall) and Keras's ``F1Score`` (F1), on ``label_case`` and the
    edge cases."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    if y_true is None:
        y_true, y_pred = label_case(num_classes=num_classes)
    cases = {"": (y_true, y_pred, num_classes)}
    cases.update({f" with {name}": (t, p, 3) for name, (t, p) in EDGE_CASES.items()})
    for name, (t, p, k) in cases.items():
        cm = confusion_matrix(t, p, labels=np.arange(k)).astype("int64")
        for average in AVERAGES:
            label = f"precision_recall_f1(cm, average={average!r}){name}"
            found = call_strict(student_fn, cm.copy(), average, name=label, hint=PRF_HINT[average])
            check_returns(found, label, ("precision", "recall", "f1"))
            precision, recall, _, _ = precision_recall_fscore_support(
                t, p, labels=np.arange(k), average=average, zero_division=0)
            expected = {"precision": precision, "recall": recall, "f1": _keras_f1(cm, average)}
            for (what, value), ref in zip(zip(("precision", "recall", "f1"), found, strict=True),
                                          expected.values(), strict=True):
                check_array(to_numpy(value, name=what), np.asarray(ref, dtype="float64"),
                            name=f"{what} of {label}", check_dtype=False, hint=PRF_HINT[average],
                            inputs={"cm": cm}, **tolerance("keras_float32"))


def score_case(seed: int = 0, n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary labels (float32, 30 % positive), scores in [0, 1] that favour the positives, and
    thresholds that include scores themselves (ties), 0 and 1."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype("float32")
    scores = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.0, 1.0).astype("float32")
    scores[:4] = [0.5, 0.5, 0.25, 0.75]
    thresholds = np.array([0.0, 0.25, 0.3, 0.5, 0.75, 0.9, 1.0], dtype="float32")
    return y, scores, thresholds


def _keras_sweep(y, scores, thresholds):
    import keras

    t = [float(v) for v in thresholds]
    metrics = {name: getattr(keras.metrics, name)(thresholds=t)
               for name in ("Precision", "Recall", "FalsePositives", "TrueNegatives")}
    for metric in metrics.values():
        metric.update_state(y, scores)
    fp, tn = (to_numpy(metrics[name].result()).astype("float64") for name in ("FalsePositives", "TrueNegatives"))
    fpr = np.divide(fp, fp + tn, out=np.zeros_like(fp), where=(fp + tn) > 0)
    return to_numpy(metrics["Precision"].result()), to_numpy(metrics["Recall"].result()), fpr


@explains_errors
def check_threshold_sweep(student_fn, y=None, scores=None, thresholds=None) -> None:
    """``student_fn(y, scores, thresholds)`` must return ``(precision, recall, fpr)``, arrays
    shaped like ``thresholds``, equal to Keras's metrics built with those thresholds."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    if y is None:
        y, scores, thresholds = score_case()
    label = "threshold_sweep(y_true, scores, thresholds)"
    found = call_strict(student_fn, y.copy(), scores.copy(), thresholds.copy(), name=label, hint=SWEEP_HINT)
    check_returns(found, label, ("precision", "recall", "fpr"))
    for what, value, expected in zip(("precision", "recall", "false-positive rate"), found,
                                     _keras_sweep(y, scores, thresholds), strict=True):
        check_array(to_numpy(value, name=what), np.asarray(expected, dtype="float64"), name=f"{what} of {label}",
                    check_dtype=False, hint=SWEEP_HINT, inputs={"thresholds": thresholds},
                    **tolerance("keras_float32"))


@explains_errors
def check_decision_grid(student_fn, x_range=(-1.5, 2.5), y_range=(-1.0, 1.5), steps: int = 7) -> None:
    """``student_fn(predict, x_range, y_range, steps)`` must return ``(xx, yy, probabilities)``,
    each (steps, steps): the meshgrid of the two ranges and ``predict`` of every point, from one
    call of ``predict`` on a (steps², 2) float32 array (a model's ``predict`` is slow per call)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    calls = []

    def predict(points):
        points = np.asarray(points)
        calls.append(points.shape)
        if points.ndim != 2 or points.shape[1] != 2:
            fail(f"decision_grid called predict with shape {points.shape}; expected (N, 2)", GRID_HINT)
        z = 2.0 * points[:, 0].astype("float64") - 3.0 * points[:, 1].astype("float64") ** 2 + 0.5
        return (0.5 * (1.0 + np.tanh(z / 2.0)))[:, None].astype("float32")  # sigmoid, no overflow

    xx, yy = np.meshgrid(np.linspace(*x_range, steps), np.linspace(*y_range, steps))
    expected = predict(np.c_[xx.ravel(), yy.ravel()].astype("float32")).reshape(steps, steps)
    calls.clear()
    label = f"decision_grid(predict, {x_range}, {y_range}, {steps})"
    found = student_fn(predict, x_range, y_range, steps)
    check_returns(found, label, ("xx", "yy", "probabilities"))
    if len(calls) != 1:
        fail(f"decision_grid called predict {len(calls)} times; call it once on all {steps * steps} points",
             GRID_HINT)
    for what, value, ref in zip(("xx", "yy", "probabilities"), found, (xx, yy, expected), strict=True):
        check_array(to_numpy(value, name=what), np.asarray(ref, dtype="float64"), name=f"{what} of {label}",
                    check_dtype=False, hint=GRID_HINT, **tolerance("float32"))
