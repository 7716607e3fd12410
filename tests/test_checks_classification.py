"""Chapter 05 checks: the notebook's answers pass; the evaluation mistakes students make fail with
a message that points at the mistake; the library facts the chapter states hold."""

import keras
import numpy as np
import pytest
from conftest import failure, solution_functions

from autograder.checks.classification import (
    check_confusion_matrix,
    check_decision_grid,
    check_precision_recall_f1,
    check_threshold_sweep,
    label_case,
    score_case,
)
from autograder.checks.training import check_classifier

S = solution_functions("05_classification", "import keras\nimport numpy as np")


def test_solution_passes_every_check():
    check_confusion_matrix(S["confusion_matrix"])
    check_confusion_matrix(S["confusion_matrix"], *label_case(seed=3, num_classes=6), num_classes=6)
    check_precision_recall_f1(S["precision_recall_f1"])
    check_precision_recall_f1(S["precision_recall_f1"], *label_case(seed=5, num_classes=7), num_classes=7)
    check_threshold_sweep(S["threshold_sweep"])
    check_threshold_sweep(S["threshold_sweep"], *score_case(seed=4, n=200))
    check_decision_grid(S["decision_grid"])
    check_decision_grid(S["decision_grid"], x_range=(-2.0, -1.0), y_range=(5.0, 6.0), steps=2)


def test_library_facts_the_chapter_states():
    y = np.array([0, 1, 1, 0], "float32")
    scores = np.array([0.5, 0.5, 0.7, 0.2], "float32")
    precision = keras.metrics.Precision(thresholds=0.5)
    precision.update_state(y, scores)
    assert float(precision.result()) == 1.0  # only 0.7 > 0.5 counts: Keras's rule is "greater than"
    from sklearn.metrics import precision_recall_curve

    p, _, t = precision_recall_curve(y, scores)
    assert p[list(t).index(0.5)] == pytest.approx(2 / 3)  # scikit-learn counts scores >= 0.5
    nothing = keras.metrics.Precision(thresholds=0.9)
    nothing.update_state(y, scores)
    assert float(nothing.result()) == 0.0  # no positive prediction: 0, not NaN


def test_confusion_matrix_mistakes_fail_with_a_hint():
    def transposed(t, p, k):
        return S["confusion_matrix"](p, t, k)

    msg = failure(check_confusion_matrix, transposed)
    assert "confusion_matrix" in msg.splitlines()[0] and "rows are the true classes" in msg

    def seen_only(t, p, k):
        k = int(max(t.max(), p.max())) + 1
        return S["confusion_matrix"](t, p, k)

    assert "shape" in failure(check_confusion_matrix, seen_only)
    as_float = lambda t, p, k: S["confusion_matrix"](t, p, k).astype("float64")  # noqa: E731
    assert "dtype" in failure(check_confusion_matrix, as_float).splitlines()[0]


def test_precision_recall_f1_mistakes_fail_with_a_hint():
    prf = S["precision_recall_f1"]

    def swapped(cm, average=None):
        return prf(np.asarray(cm).T, average)

    assert "column sum" in failure(check_precision_recall_f1, swapped)

    def macro_for_all(cm, average=None):
        return prf(cm, None if average is None else "macro")

    msg = failure(check_precision_recall_f1, macro_for_all)
    assert "average='micro'" in msg or "average='weighted'" in msg

    def nan_when_undefined(cm, average=None):
        cm = np.asarray(cm, dtype="float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.diag(cm) / cm.sum(axis=0)
            recall = np.diag(cm) / cm.sum(axis=1)
            return precision, recall, 2 * precision * recall / (precision + recall)

    msg = failure(check_precision_recall_f1, nan_when_undefined)
    assert "never predicted" in msg or "not finite" in msg or "nan" in msg.lower()
    assert "(precision, recall, f1)" in failure(check_precision_recall_f1, lambda cm, average=None: 0.5)


def test_threshold_sweep_mistakes_fail_with_a_hint():
    sweep = S["threshold_sweep"]

    def greater_or_equal(y, scores, thresholds):
        return sweep(y, scores, np.nextafter(thresholds, -np.inf))  # as if >= t

    msg = failure(check_threshold_sweep, greater_or_equal)
    assert "strictly" in msg and "of threshold_sweep" in msg

    def fdr(y, scores, thresholds):
        p, r, _ = sweep(y, scores, thresholds)
        return p, r, 1 - p

    assert "false-positive rate" in failure(check_threshold_sweep, fdr).splitlines()[0]


def test_decision_grid_mistakes_fail_with_a_hint():
    def per_point(predict, x_range, y_range, steps=100):
        xx, yy = np.meshgrid(np.linspace(*x_range, steps), np.linspace(*y_range, steps))
        values = [np.asarray(predict(np.array([[a, b]], "float32"))).item() for a, b in zip(xx.ravel(), yy.ravel(),
                                                                                          strict=True)]
        return xx, yy, np.array(values).reshape(steps, steps)

    assert "called predict 49 times" in failure(check_decision_grid, per_point)

    def ij_indexing(predict, x_range, y_range, steps=100):
        xx, yy = np.meshgrid(np.linspace(*x_range, steps), np.linspace(*y_range, steps), indexing="ij")
        return xx, yy, np.asarray(predict(np.c_[xx.ravel(), yy.ravel()].astype("float32"))).reshape(steps, steps)

    assert "xx of decision_grid" in failure(check_decision_grid, ij_indexing)


def test_classifier_threshold_and_its_mistakes(capsys):
    fitted = []

    def solution(x, y):  # trains once; the wrong answers below reuse its model
        fitted.append(S["fit_classifier"](x, y))
        return fitted[0]

    check_classifier(solution, min_precision=0.60, min_recall=0.40)
    assert "precision" in capsys.readouterr().out
    model, threshold = fitted[0]

    msg = failure(check_classifier, lambda x, y: (model, threshold + 6.0), min_precision=0.60, min_recall=0.40)
    assert "recall 0" in msg.splitlines()[0] and "lower the threshold" in msg  # nothing called a shirt
    msg = failure(check_classifier, lambda x, y: (model, threshold + 2.5), min_precision=0.60, min_recall=0.40)
    assert "recall" in msg.splitlines()[0] and "lower the threshold" in msg  # few called shirts

    def eager(x, y):
        return model, -6.0  # almost everything called a shirt

    assert "raise the threshold" in failure(check_classifier, eager, min_precision=0.60, min_recall=0.40)
    assert "(model, threshold)" in failure(check_classifier, lambda x, y: None, min_precision=0.6, min_recall=0.40)
