"""Chapter 11 checks: the notebook's answers pass; the mistakes students make fail with a hint."""

import keras
from conftest import failure, solution_functions

from autograder import pretrained
from autograder.checks.transfer import check_extract_features, check_fine_tune, check_transfer_model

S = solution_functions("11_transfer_learning", "import keras\nWARMUP_LR = 1e-2")
build, fine_tune, extract = S["build_transfer_model"], S["fine_tune"], S["extract_features"]


def test_solutions_pass():
    check_transfer_model(build)
    check_extract_features(extract)
    check_extract_features(extract, seed=1)
    check_fine_tune(fine_tune, 4)
    check_fine_tune(fine_tune, 8)
    check_fine_tune(fine_tune, 0)
    check_fine_tune(fine_tune, 4, previously=0)
    check_fine_tune(fine_tune, 8, previously=4)


def in_training_mode(base, images, batch_size=256):
    return keras.ops.convert_to_numpy(base(images, training=True))


def as_tensor(base, images, batch_size=256):
    return base(images, training=False)  # a tf.Tensor: accepted, the values are right


def first_batch_only(base, images, batch_size=256):
    return base.predict(images[:batch_size], verbose=0)


def trains_the_base(base, images, batch_size=256):
    for start in range(0, len(images), batch_size):
        base(images[start:start + batch_size], training=True)  # harmless on its own: Keras calls do not update
        for layer in base.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.moving_mean.assign(layer.moving_mean * 0.9)
    return base.predict(images, verbose=0)


def float64_features(base, images, batch_size=256):
    return base.predict(images, verbose=0).astype("float64")


def test_extract_features_failures():
    assert "inference mode" in failure(check_extract_features, in_training_mode)
    check_extract_features(as_tensor)
    assert "shape" in failure(check_extract_features, first_batch_only)
    assert "changed the weights or statistics" in failure(check_extract_features, trains_the_base)
    assert "dtype" in failure(check_extract_features, float64_features)


def trusts_base_trainable(model, n):
    """The chapter's first solution: right on a model fresh from warm-up, wrong when called again."""
    base = model.get_layer("base")
    base.trainable = True
    for layer in base.layers[:len(base.layers) - n]:
        layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    pretrained.compile_classifier(model, float(model.optimizer.learning_rate) / 10)


def slices_with_minus_n(model, n):
    base = model.get_layer("base")
    base.trainable = False
    base.trainable = True
    for layer in base.layers[:-n]:  # n = 0: an empty slice, every layer stays trainable
        layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    pretrained.compile_classifier(model, float(model.optimizer.learning_rate) / 10)


def test_fine_tune_called_again_or_with_zero_layers():
    check_fine_tune(trusts_base_trainable, 4)  # fresh from warm-up: right
    message = failure(check_fine_tune, trusts_base_trainable, 4, previously=0)
    assert "fine-tuned before" in message and "TensorFlow backend" in message
    check_fine_tune(slices_with_minus_n, 4)
    assert "n = 0" in failure(check_fine_tune, slices_with_minus_n, 0)


def test_setting_trainable_to_its_own_value_is_skipped_on_the_tensorflow_backend():
    # The fact chapter 11 teaches (docs/library-facts.md); if Keras changes it, the text must too.
    base = pretrained.make_base()
    base.trainable = False
    base.trainable = True
    assert all(layer.trainable for layer in base.layers)
    for layer in base.layers:
        layer.trainable = False
    base.trainable = True
    assert keras.backend.backend() == "tensorflow" and not any(layer.trainable for layer in base.layers)


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


def test_trainable_changes_take_effect_at_the_next_compile():
    # What chapter 11 teaches about freezing (docs/library-facts.md): Keras builds the training
    # step, with its variables, at the first fit after compile.
    import numpy as np

    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = np.ones((64, 1), dtype="float32")

    def fitted(freeze_before_fit, refreeze_after_fit=None, recompile=False):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        model.get_layer("a").trainable = not freeze_before_fit
        model.fit(x, y, epochs=1, verbose=0)
        before = model.get_layer("a").kernel.numpy().copy()
        if refreeze_after_fit is not None:
            model.get_layer("a").trainable = not refreeze_after_fit
            if recompile:
                model.compile("sgd", "mse")
            model.fit(x, y, epochs=1, verbose=0)
        return before, model.get_layer("a").kernel.numpy()

    keras.utils.set_random_seed(0)
    start = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"), keras.layers.Dense(1)])
    initial = start.get_layer("a").kernel.numpy()
    assert np.array_equal(fitted(freeze_before_fit=True)[1], initial)  # frozen after compile: no move
    assert not np.array_equal(*fitted(False, refreeze_after_fit=True))  # frozen after a fit: still trains
    assert np.array_equal(*fitted(True, refreeze_after_fit=False))  # unfrozen after a fit: stays put
    assert not np.array_equal(*fitted(True, refreeze_after_fit=False, recompile=True))  # until compiled


def test_the_source_model_lock_makes_another_process_wait(tmp_path):
    """Two kernels missing the source model train it once: the second waits on the lock
    (`filelock`, portable: chapter 11 runs on Windows too) until the first releases it."""
    import subprocess
    import sys
    import time

    target, marker = tmp_path / "model.keras", tmp_path / "acquired"
    waiter = ("import pathlib, sys\nfrom autograder import pretrained\n"
              f"with pretrained._locked(pathlib.Path({str(target)!r})):\n"
              f"    pathlib.Path({str(marker)!r}).write_text('yes')\n")
    with pretrained._locked(target):
        other = subprocess.Popen([sys.executable, "-c", waiter])
        time.sleep(3)
        assert not marker.exists(), "the other process got the lock while this one held it"
    assert other.wait(timeout=60) == 0
    assert marker.read_text() == "yes"
