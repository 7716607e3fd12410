"""Accuracy thresholds: a trained model is graded on held-out data it never saw."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def classification_accuracy(model, x_test, y_test, batch_size: int = 1000) -> float:
    """Fraction of ``x_test`` that ``model`` classifies as ``y_test`` (argmax of its outputs)."""
    outputs = model.predict(x_test, batch_size=batch_size, verbose=0)
    outputs = np.asarray(outputs)
    if outputs.ndim != 2 or outputs.shape[0] != len(y_test):
        raise AssertionError(
            f"the model should output one row of class scores per image, shape ({len(y_test)}, classes); "
            f"found {outputs.shape}."
        )
    return float(np.mean(np.argmax(outputs, axis=1) == np.asarray(y_test)))


def check_fashion_mnist_accuracy(model, threshold: float, *, hint: str = "") -> None:
    """Assert that ``model`` reaches ``threshold`` accuracy on the 10,000 Fashion-MNIST test
    images (float32 in [0, 1], shape (N, 28, 28)), and print it.

    Returns None on purpose, like every check: a number as the last value of a test cell
    would be taken by nbgrader as a partial score.
    """
    accuracy = fashion_mnist_test_accuracy(model)
    if not accuracy >= threshold:
        raise AssertionError(
            f"test accuracy {accuracy:.4f} on the 10,000 held-out Fashion-MNIST test images is below "
            f"the required {threshold:.2f}." + (f"\nHint: {hint}" if hint else "")
        )
    print(f"test accuracy {accuracy:.4f} (required: {threshold:.2f})")


@lru_cache(maxsize=2)
def fashion_mnist_test_set(max_shift: int = 0):
    """The 10,000 Fashion-MNIST test images as float32 in [0, 1] (N, 28, 28) and their labels,
    as they are or each moved by up to ``max_shift`` pixels (`autograder.data.shift_images`,
    seed 0: the same shifted set for everyone). Loaded once per kernel."""
    from autograder.data import load_fashion_mnist, shift_images

    _, (x_test, y_test) = load_fashion_mnist()  # uint8: normalise only the 10,000 test images
    if max_shift:
        x_test = shift_images(x_test, max_shift, seed=0)
    x_test = x_test.astype("float32") / 255.0
    x_test.flags.writeable = False  # shared between calls
    return x_test, y_test


def fashion_mnist_test_accuracy(model, *, max_shift: int = 0) -> float:
    """Accuracy of ``model`` on `fashion_mnist_test_set` (a channel axis added for a model
    with 4-D inputs)."""
    x_test, y_test = fashion_mnist_test_set(max_shift)
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else None
    if shape is not None and len(shape) == 4:
        x_test = x_test[..., None]
    return classification_accuracy(model, x_test, y_test)


def check_beats_baseline(
    model, baseline, *, threshold: float, margin: float, what: str, max_shift: int = 0, hint: str = ""
) -> None:
    """Assert that ``model`` reaches ``threshold`` test accuracy on Fashion-MNIST *and* beats
    ``baseline`` (the same architecture trained without ``what``) by at least ``margin``.

    Both are measured on the 10,000 held-out test images (shifted by up to ``max_shift``
    pixels when given); prints both. Returns None (a number as a test cell's last value would
    be read by nbgrader as a partial score).
    """
    accuracy = fashion_mnist_test_accuracy(model, max_shift=max_shift)
    baseline_accuracy = fashion_mnist_test_accuracy(baseline, max_shift=max_shift)
    where = f" (test images shifted by up to {max_shift} px)" if max_shift else ""
    report = (
        f"test accuracy{where} {accuracy:.4f} with {what}, {baseline_accuracy:.4f} without "
        f"(gain {accuracy - baseline_accuracy:+.4f}; required: ≥ {threshold:.2f} and a gain ≥ {margin:.3f})"
    )
    problem = (
        f"The accuracy is below {threshold:.2f}." if not accuracy >= threshold
        else f"The gain over the model without {what} is below {margin:.3f}."
        if not accuracy - baseline_accuracy >= margin else None
    )
    if problem:
        raise AssertionError(f"{report}\n{problem}" + (f"\nHint: {hint}" if hint else ""))
    print(report)
