"""Accuracy thresholds on held-out Fashion-MNIST."""

import keras
import numpy as np
import pytest
from conftest import failure

from autograder import data
from autograder.checks.training import check_fashion_mnist_accuracy, classification_accuracy

pytestmark = pytest.mark.skipif(data.locate_fashion_mnist() is None, reason="no offline Fashion-MNIST")


class Constant(keras.Model):
    """Always predicts class `label`."""

    def __init__(self, label):
        super().__init__()
        self.label = label

    def call(self, x):
        return keras.ops.one_hot(keras.ops.full((keras.ops.shape(x)[0],), self.label, dtype="int32"), 10)


def test_a_constant_model_scores_one_tenth_and_fails_with_the_figure():
    _, (x_test, y_test) = data.load_fashion_mnist(normalize=True)
    assert classification_accuracy(Constant(3), x_test[:1000], y_test[:1000]) == pytest.approx(np.mean(y_test[:1000] == 3))
    msg = failure(check_fashion_mnist_accuracy, Constant(3), 0.5, hint="train longer")
    assert "test accuracy 0.1000 on the 10,000 held-out Fashion-MNIST test images is below the required 0.50" in msg
    assert msg.endswith("Hint: train longer")


def test_passing_returns_none_so_nbgrader_cannot_read_a_partial_score(capsys):
    # A number as the last value of a test cell is a partial score for nbgrader.
    assert check_fashion_mnist_accuracy(Constant(3), 0.05) is None
    assert "test accuracy 0.1000 (required: 0.05)" in capsys.readouterr().out


def test_wrong_output_shape_is_reported():
    class Flat(keras.Model):
        def call(self, x):
            return keras.ops.zeros((keras.ops.shape(x)[0],))

    assert "one row of class scores per image" in failure(check_fashion_mnist_accuracy, Flat(), 0.5)
