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
    assert msg.startswith("test accuracy 0.1000, below the required 0.50\n")
    assert "on the 10,000 held-out Fashion-MNIST test images" in msg
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


# --- the checks train the student's model themselves ----------------------------------------

from autograder.checks import training  # noqa: E402


def _mlp():
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def test_a_builder_that_returns_a_model_trained_on_the_test_set_fails():
    x_test, y_test = training.fashion_mnist_test_set()
    cheat = _mlp()
    cheat.fit(x_test, y_test, epochs=1, batch_size=256, verbose=0)  # trained where it is graded
    msg = failure(training.check_regularized_training, lambda: cheat, lambda: [], threshold=0.74)
    assert msg.splitlines()[0] == "build_regularized_model() returned an already trained model"
    assert "the check trains it itself" in msg


def test_student_code_cannot_load_a_dataset_while_the_check_trains():
    def build():
        (_, _), (x_test, y_test) = data.load_fashion_mnist(normalize=True)  # reaches for the test set
        model = _mlp()
        model.fit(x_test, y_test, epochs=1, verbose=0)
        return model

    def train(model, optimizer, x, y, **kwargs):
        keras.datasets.fashion_mnist.load_data()

    assert "your code loaded a dataset" in failure(training.check_regularized_training, build, lambda: [], threshold=0.74)
    assert "your code loaded a dataset" in failure(training.check_custom_training, train, keras.optimizers.Adam,
                                                   threshold=0.78)
    # every loader is back once the check is over
    assert data.load_fashion_mnist(normalize=False)[0][0].dtype == np.uint8
    assert training.fashion_mnist_test_set()[0].shape == (10000, 28, 28)
