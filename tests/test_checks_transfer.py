"""Chapter 08 checks: the notebook's answers pass; the mistakes students make fail with a hint."""

import keras
from conftest import failure, solution_functions

from autograder import pretrained
from autograder.checks.transfer import check_fine_tune, check_transfer_model

S = solution_functions("08_transfer_learning", "import keras\nWARMUP_LR = 1e-2")
build, fine_tune = S["build_transfer_model"], S["fine_tune"]


def test_solutions_pass():
    check_transfer_model(build)
    check_fine_tune(fine_tune, 4)
    check_fine_tune(fine_tune, 8)


def unfrozen(source):
    model = build(source)
    source.get_layer("base").trainable = True
    return model


def without_training_false(source):
    base = source.get_layer("base")
    base.trainable = False
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, keras.layers.Dense(5, name="target_head")(base(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    return model


def new_base(source):
    base = pretrained.make_base()
    base.trainable = False
    inputs = keras.Input((28, 28, 1))
    return keras.Model(inputs, keras.layers.Dense(5)(base(inputs, training=False)))


def test_transfer_model_failures():
    assert "freeze the base" in failure(check_transfer_model, unfrozen)
    assert "training=False" in failure(check_transfer_model, without_training_false)
    assert "not the pretrained source's base" in failure(check_transfer_model, new_base)


def bn_unfrozen(model, n):
    fine_tune(model, n)
    for layer in model.get_layer("base").layers[-n:]:
        layer.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")


def same_rate(model, n):
    fine_tune(model, n)
    model.optimizer.learning_rate = 1e-2


def not_recompiled(model, n):
    base = model.get_layer("base")
    base.trainable = True
    for layer in base.layers[:-n]:
        layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def test_fine_tune_failures():
    assert "keep BatchNormalization layers frozen" in failure(check_fine_tune, bn_unfrozen, 4)
    assert "expected 0.001" in failure(check_fine_tune, same_rate, 4)
    assert "recompile after unfreezing" in failure(check_fine_tune, not_recompiled, 4)
