"""Chapter 09 checks: the notebook's solutions pass; plausible wrong models, layers, metrics and
extractors each fail with a message that points at the mistake."""

import keras
import numpy as np
import pytest
from conftest import failure, solution_functions
from keras import ops

from autograder.checks.models import (
    check_dense_layer,
    check_feature_extractor,
    check_mlp,
    check_rmse_metric,
    check_ticket_model,
)

S = solution_functions("09_model_apis", "import keras\nimport numpy as np\nfrom keras import ops")


def test_solution_passes_every_check():
    for kind, build in (("sequential", S["build_sequential"]), ("functional", S["build_functional"]),
                        ("subclassed", S["SubclassedMLP"])):
        check_mlp(build(), kind)
    check_ticket_model(S["build_ticket_model"](37, 3, 7), vocab_size=37, num_tags=3, num_departments=7)
    check_feature_extractor(S["feature_extractor"])
    check_feature_extractor(S["feature_extractor"], on="ticket")
    check_dense_layer(S["MyDense"])
    check_rmse_metric(S["RMSE"])
    check_rmse_metric(S["RMSE"], weighted=False, width=None, seed=3)


def test_mlp_checks_type_spec_and_function():
    assert "expected a functional model" in failure(check_mlp, S["build_sequential"](), "functional")
    assert "own keras.Model subclass" in failure(check_mlp, S["build_functional"](), "subclassed")
    unnamed = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
                                keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    assert "named 'flatten'" in failure(check_mlp, unnamed, "sequential")
    no_dropout = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(name="flatten"),
                                   keras.layers.Dense(64, activation="relu", name="hidden"),
                                   keras.layers.Dense(10, name="logits")])
    assert "expected 4 layers" in failure(check_mlp, no_dropout, "sequential")
    softmax = S["build_sequential"]()
    softmax.get_layer("logits").activation = keras.activations.softmax
    assert "no activation on the logits" in failure(check_mlp, softmax, "sequential")


def test_mlp_catches_dropout_misuse():
    class NoTraining(S["SubclassedMLP"]):
        def call(self, inputs, training=None):
            return self.logits(self.dropout(self.hidden(self.flatten(inputs)), training=False))

    class AlwaysTraining(S["SubclassedMLP"]):
        def call(self, inputs, training=None):
            return self.logits(self.dropout(self.hidden(self.flatten(inputs)), training=True))

    assert "dropout is not active" in failure(check_mlp, NoTraining(), "subclassed")
    assert "dropout off in inference" in failure(check_mlp, AlwaysTraining(), "subclassed")


def test_ticket_model_checks_names_sizes_and_losses():
    build = S["build_ticket_model"]
    model = build(37, 3, 7)
    assert "inputs should be" in failure(check_ticket_model, model, vocab_size=38, num_tags=3, num_departments=7)
    uncompiled = keras.Model(model.inputs, model.outputs)
    assert "not compiled" in failure(check_ticket_model, uncompiled, vocab_size=37, num_tags=3, num_departments=7)
    uncompiled.compile(optimizer="rmsprop", loss=["mean_squared_error", "mean_squared_error"],
                       metrics=[["mean_absolute_error"], ["accuracy"]])
    assert "department_loss" in failure(check_ticket_model, uncompiled, vocab_size=37, num_tags=3, num_departments=7)


def test_extractor_must_follow_the_name_and_share_weights():
    def before_last(model, name):
        return keras.Model(model.inputs, model.layers[-2].output)

    def copied(model, name):
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        return keras.Model(clone.inputs, clone.get_layer(name).output)

    def first_input(model, name):
        return keras.Model(model.inputs[0], model.get_layer(name).output)

    assert "features of 'flatten'" in failure(check_feature_extractor, before_last)
    assert "holds a copy" in failure(check_feature_extractor, copied)
    with pytest.raises(Exception):  # noqa: B017 — keras refuses a graph with a missing input
        check_feature_extractor(first_input, on="ticket")


def _dense(call=None, config=True, register=True):
    base = S["MyDense"]

    class Broken(base):
        pass

    if call:
        Broken.call = call
    if not config:
        Broken.get_config = lambda self: {"name": self.name, "trainable": self.trainable}
    if register:
        Broken = keras.saving.register_keras_serializable(package="tests")(Broken)
    return Broken


def test_dense_layer_failures_name_the_mistake():
    no_bias = _dense(lambda self, x: self.activation(ops.matmul(x, self.kernel)))
    message = failure(check_dense_layer, no_bias)
    assert "27 of 35 values differ" in message and "output" in message and "inputs @ kernel + bias" in message
    no_activation = _dense(lambda self, x: ops.matmul(x, self.kernel) + self.bias)
    assert "output" in failure(check_dense_layer, no_activation)
    assert "get_config() should hold units" in failure(check_dense_layer, _dense(config=False))

    class Unregistered(S["MyDense"]):
        """Not decorated: a saved model refers to a class Keras cannot find."""

    assert "register the class" in failure(check_dense_layer, Unregistered)


def _rmse(update=None, reset=None, name="rmse"):
    class Broken(S["RMSE"]):
        def __init__(self, name=name, **kwargs):
            super().__init__(name=name, **kwargs)

    if update:
        Broken.update_state = update
    if reset:
        Broken.reset_state = reset
    return Broken


def test_rmse_failures_name_the_mistake():
    def unweighted(self, y_true, y_pred, sample_weight=None):
        S["RMSE"].update_state(self, y_true, y_pred)

    def per_batch(self, y_true, y_pred, sample_weight=None):  # averages the batches' RMSEs
        error = ops.mean(ops.square(ops.cast(y_pred, "float32") - y_true))
        self.total.assign_add(ops.sqrt(error) ** 2)
        self.count.assign_add(1.0)

    def numpy_update(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(float(np.sum((np.asarray(y_pred) - np.asarray(y_true)) ** 2)))
        self.count.assign_add(float(np.size(y_true)))

    assert "after batch 1" in failure(check_rmse_metric, _rmse(update=unweighted))
    assert "not the same" in failure(check_rmse_metric, _rmse(update=per_batch))
    assert "after reset_state" in failure(check_rmse_metric, _rmse(reset=lambda self: None), weighted=False)
    assert "default name should be 'rmse'" in failure(check_rmse_metric, _rmse(name="root_mse"))
    assert "compiled graph" in failure(check_rmse_metric, _rmse(update=numpy_update), weighted=False)


def test_a_two_head_shortfall_names_its_cause_from_the_history():
    from autograder.checks.models import _head_hint

    assert "no loss for the 'group' head" in _head_hint("group", {"item_loss": [2.0, 1.0]})
    assert "did not learn" in _head_hint("item", {"item_loss": [2.3, 2.29, 2.28]})
    slow = _head_hint("item", {"item_loss": [2.3, 1.9, 1.6]})  # the real case: lr 1e-4
    assert "too slowly" in slow and "learning rate" in slow and "own loss" not in slow


def test_history_loss_is_the_weighted_sum_of_unweighted_head_losses():
    """Chapter 09, section 7: `loss` = Σ w_k · `<head>_loss`, the per-head entries unweighted;
    exact with equal batches, a small gap when the last batch is smaller (Keras weights each
    batch's total loss by its size, not each head's loss)."""
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(10, activation="softmax", name="item")(hidden),
                                 keras.layers.Dense(4, activation="softmax", name="group")(hidden)])
    model.compile("adam", loss={"item": "sparse_categorical_crossentropy", "group": "sparse_categorical_crossentropy"},
                  loss_weights={"item": 1.0, "group": 3.0})
    rng = np.random.default_rng(0)
    x = rng.random((256, 8)).astype("float32")
    y = {"item": rng.integers(0, 10, 256), "group": rng.integers(0, 4, 256)}

    def gap(n):
        keras.utils.set_random_seed(0)
        logs = model.fit(x[:n], {k: v[:n] for k, v in y.items()}, epochs=2, batch_size=64, verbose=0).history
        return np.abs(np.array(logs["loss"]) - np.array(logs["item_loss"]) - 3 * np.array(logs["group_loss"])).max()

    assert gap(256) < 1e-5  # four batches of 64
    assert 1e-6 < gap(250) < 0.05  # the last batch holds 58
