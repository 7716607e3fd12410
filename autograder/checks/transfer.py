"""Checks for chapter 11 (transfer learning from the course's pretrained source model).

* The transfer model must reuse the pretrained ``base`` (same weights, not a copy trained
  again), frozen — trainable parameters are exactly the new head's — called with
  ``training=False`` in the graph, and compiled with the warm-up learning rate.
* Feature extraction must return the frozen base's inference-mode features (BatchNormalization
  on its moving statistics) as float32 arrays, for any number of images and batch size.
* Fine-tuning must make exactly the top ``n`` layers of the base trainable **except**
  BatchNormalization, which stays frozen (in Keras 3 a frozen BN layer runs in inference mode,
  while ``fit`` overrides the graph's ``training=False``), and recompile with a learning rate
  ten times lower, also on a model fine-tuned before (on the TensorFlow backend
  ``base.trainable = True`` is skipped when it is already True, see ``docs/library-facts.md``).
  One real training step then proves it: the top layers move, the layers below and every BN
  statistic do not.
* Accuracy: the transfer model must reach a target accuracy on the target classes' 5,000 test
  images and beat the same architecture trained here from scratch on the same small data.
"""

from __future__ import annotations

import numpy as np

from autograder import pretrained
from autograder.checks.arrays import check_array
from autograder.checks.failure import explains_errors, fail
from autograder.checks.tolerances import tolerance
from autograder.checks.training import classification_accuracy

WARMUP_LR = 1e-2
FINE_TUNE_FACTOR = 10.0
N_CLASSES = len(pretrained.TARGET_CLASSES)
SCRATCH_RECIPE = {"learning_rate": 1e-3, "epochs": 40, "batch_size": 32}



def _count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def _learning_rate(model) -> float:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        fail("the model is not compiled", "call model.compile(optimizer=..., loss=..., metrics=...) before returning it")
    return float(np.asarray(optimizer.learning_rate))


def find_base(model):
    """The nested model named ``base`` inside ``model`` (AssertionError if absent)."""
    import keras
    if not isinstance(model, keras.Model):
        fail(f"expected a keras.Model, got {type(model).__name__}")
    for layer in model.layers:
        if layer.name == "base" and isinstance(layer, keras.Model):
            return layer
    fail(
        "no nested model named 'base' among the model's layers "
        f"({[layer.name for layer in model.layers]})",
        "call the pretrained base as a layer: base = source.get_layer('base'); x = base(inputs, training=False)",
    )


def base_call_kwargs(model, base) -> list[dict]:
    """The keyword arguments of every call of ``base`` in ``model``'s graph (not the source's)."""
    nodes = [node for depth in getattr(model, "_nodes_by_depth", {}).values() for node in depth]
    return [dict(node.arguments.kwargs) for node in nodes if node.operation is base and node.arguments is not None]


def reference_transfer_model(source):
    """The solution of exercise 1, for checks of later exercises that must not depend on it."""
    import keras
    base = source.get_layer("base")
    base.trainable = False
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(N_CLASSES, name="target_head")(base(inputs, training=False))
    return pretrained.compile_classifier(keras.Model(inputs, outputs), WARMUP_LR)


@explains_errors
def check_transfer_model(build) -> None:
    """``build(source)`` must return the frozen-base transfer model of exercise 1."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    source = pretrained.load_source_model(verbose=False)
    pretrained_weights = [w.copy() for w in source.get_layer("base").get_weights()]
    model = build(source)
    base = find_base(model)
    if base is not source.get_layer("base"):
        fail("the model's base is not the pretrained source's base",
              "reuse source.get_layer('base') itself; a new make_base() starts from random weights")
    if model.output_shape != (None, N_CLASSES):
        fail(f"output shape is {model.output_shape}, expected (None, {N_CLASSES}): one logit per target class")
    for found, expected in zip(base.get_weights(), pretrained_weights, strict=True):
        if not np.array_equal(found, expected):
            fail("the base's weights differ from the pretrained ones", "build the model; do not train or reset the base")
    head = _count(model.trainable_weights)
    expected_head = base.output_shape[-1] * N_CLASSES + N_CLASSES
    if base.trainable or head != expected_head:
        fail(
            f"{head:,} trainable parameters, expected {expected_head:,} (the new head's only); "
            f"base.trainable is {base.trainable}",
            "freeze the base (base.trainable = False) before compiling; only the head learns during warm-up",
        )
    if _count(model.non_trainable_weights) != base.count_params():
        fail(f"{_count(model.non_trainable_weights):,} non-trainable parameters, expected the base's {base.count_params():,}")
    calls = base_call_kwargs(model, base)
    if not calls or any(call.get("training") is not False for call in calls):
        fail(f"the base is called with {calls or 'no recorded arguments'} in the graph",
              "call it as base(inputs, training=False) so that its BatchNormalization layers run in inference mode")
    rate = _learning_rate(model)
    if not np.isclose(rate, WARMUP_LR, **tolerance("keras_float64_stored")):
        fail(f"learning rate {rate:g}, expected the warm-up rate {WARMUP_LR:g}")


def _snapshot(layers) -> dict[str, list[np.ndarray]]:
    return {layer.name: [np.array(w) for w in layer.get_weights()] for layer in layers}


def _shifted_base(seed: int):
    """A base with random weights whose BatchNormalization moving statistics are far from any
    batch's, so that features computed in training mode differ plainly from inference mode."""
    import keras
    keras.utils.set_random_seed(seed)
    base = pretrained.make_base()
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.5, "float32"))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 4.0, "float32"))
    return base


@explains_errors
def check_extract_features(extract_features, *, seed: int = 0) -> None:
    """``extract_features(base, images, batch_size)`` must return ``base``'s features in inference
    mode, float32 (n, d), for the pretrained base and a random one, for 25 images in batches of
    8 and for a single image, leaving the base's weights and statistics as they were."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    (x, _), _ = pretrained.load_task(pretrained.TARGET_CLASSES, 5, seed=seed)
    bases = {"the pretrained base": pretrained.load_source_model(verbose=False).get_layer("base"),
             "a random base": _shifted_base(seed)}
    for what, base in bases.items():
        for images, batch_size in ((x, 8), (x[:1], 256)):
            before = _snapshot(base.layers)
            found = extract_features(base, images, batch_size)
            expected = keras.ops.convert_to_numpy(base(images, training=False))
            check_array(found, expected, name=f"extract_features({what}, {images.shape[0]} images, batch_size={batch_size})",
                        hint="compute the features in inference mode (base.predict, or base(x, training=False)): "
                             "in training mode BatchNormalization normalises with each batch's own statistics",
                        **tolerance("keras_layer"))
            after = _snapshot(base.layers)
            if any(not np.array_equal(b, a) for name in before for b, a in zip(before[name], after[name], strict=True)):
                fail(f"extract_features changed the weights or statistics of {what}",
                     "only read the base: no fit, no training=True call")


def _as_fine_tuned(model, n_layers: int) -> None:
    """Leave ``model`` as a correct ``fine_tune(model, n_layers)`` would, at the warm-up rate."""
    import keras
    base = find_base(model)
    base.trainable = False
    base.trainable = True
    for i, layer in enumerate(base.layers):
        layer.trainable = i >= len(base.layers) - n_layers and not isinstance(layer, keras.layers.BatchNormalization)
    pretrained.compile_classifier(model, WARMUP_LR)


@explains_errors
def check_fine_tune(fine_tune, n_layers: int, *, previously: int | None = None, seed: int = 0) -> None:
    """``fine_tune(model, n_layers)`` must unfreeze the top ``n_layers`` of the base but BN.

    It is applied to the reference transfer model (so that a mistake in exercise 1 does not
    cost these points too) -- fine-tuned ``previously`` layers deep first when given, as when
    ``fine_tune`` is called again -- then one training step must move the top layers only.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    source = pretrained.load_source_model(verbose=False)
    model = reference_transfer_model(source)
    base = find_base(model)
    if previously is not None:
        _as_fine_tuned(model, previously)
    warmup_lr = _learning_rate(model)
    old_optimizer = model.optimizer
    returned = fine_tune(model, n_layers)
    if returned is not None and returned is not model:
        fail("fine_tune must change the model it is given (and may return it), not build a new one")
    top = base.layers[len(base.layers) - n_layers:]
    expected = {layer.name for layer in top if layer.weights and not isinstance(layer, keras.layers.BatchNormalization)}
    trainable = {layer.name for layer in base.layers if layer.trainable and layer.trainable_weights} if base.trainable else set()
    if trainable != expected:
        missing, extra = sorted(expected - trainable), sorted(trainable - expected)
        hint = "set base.trainable = True, then freeze every layer but the top n (n = 0: none unfrozen)"
        if previously is not None and missing:
            hint = (f"the model was fine-tuned before (top {previously} layers), so base.trainable is already True, "
                    "and on the TensorFlow backend base.trainable = True is then skipped: it does not unfreeze "
                    "layers frozen one by one. Set each layer's trainable explicitly")
        if any(isinstance(base.get_layer(name), keras.layers.BatchNormalization) for name in extra):
            hint = ("keep BatchNormalization layers frozen (layer.trainable = False): "
                    "a frozen BN layer runs in inference mode, and fit overrides training=False")
        what = f"with n = {n_layers}" + (f", on a model fine-tuned before with n = {previously}" if previously is not None else "")
        fail(f"{what}, layers with trainable weights should be {sorted(expected)}; "
              f"not trainable but should be: {missing}; trainable but should not be: {extra}", hint)
    if model.optimizer is old_optimizer:
        fail("the model was not compiled again", "changing trainable takes effect at compile(): recompile after unfreezing")
    rate = _learning_rate(model)
    if not np.isclose(rate, warmup_lr / FINE_TUNE_FACTOR, **tolerance("keras_float64_stored")):
        fail(f"fine-tuning learning rate {rate:g}, expected {warmup_lr / FINE_TUNE_FACTOR:g} "
              f"(the warm-up rate {warmup_lr:g} divided by {FINE_TUNE_FACTOR:g})",
              "a large step would wreck the pretrained features")

    (x, y), _ = pretrained.load_task(pretrained.TARGET_CLASSES, 8, seed=seed)
    before = _snapshot(base.layers)
    model.fit(x, y, batch_size=x.shape[0], epochs=1, verbose=0)
    after = _snapshot(base.layers)
    for layer in base.layers:
        moved = any(not np.array_equal(b, a) for b, a in zip(before[layer.name], after[layer.name], strict=True))
        if layer.name in expected and not moved:
            fail(f"layer {layer.name!r} should learn during fine-tuning but did not change")
        if layer.name not in expected and moved:
            what = "moving statistics" if isinstance(layer, keras.layers.BatchNormalization) else "weights"
            fail(f"the {what} of layer {layer.name!r} changed during a fine-tuning step; they must stay frozen")


def train_scratch(x, y, *, seed: int = 0):
    """The transfer model's architecture with random weights, trained on ``(x, y)``."""
    model = pretrained.compile_classifier(pretrained.make_classifier(N_CLASSES, seed=seed), SCRATCH_RECIPE["learning_rate"])
    model.fit(x, y, epochs=SCRATCH_RECIPE["epochs"], batch_size=SCRATCH_RECIPE["batch_size"], verbose=0)
    return model


RECIPE = {"warmup_epochs": 30, "fine_tune_epochs": 10, "top_layers": 4, "batch_size": 32}


def train_transfer(build_transfer_model, fine_tune, x, y):
    """The chapter's recipe with the student's two functions: warm up the head on the frozen
    base, then ``fine_tune(model, top_layers)`` and train again, no dataset loader reachable
    (`training.without_datasets`). Returns the model."""
    from autograder.checks.training import without_datasets

    source = pretrained.load_source_model(verbose=False)
    with without_datasets():
        model = build_transfer_model(source)
        model.fit(x, y, epochs=RECIPE["warmup_epochs"], batch_size=RECIPE["batch_size"], verbose=0)
        fine_tune(model, RECIPE["top_layers"])
        model.fit(x, y, epochs=RECIPE["fine_tune_epochs"], batch_size=RECIPE["batch_size"], verbose=0)
    return model


@explains_errors
def check_transfer_beats_scratch(build_transfer_model, fine_tune, *, target: float, margin: float) -> None:
    """The check trains the transfer model itself (:func:`train_transfer`, seed 0) and the same
    CNN from scratch (:func:`train_scratch`) on the target task's 5 labels per class, both on
    data it loads, then requires test accuracy ≥ ``target`` and ≥ scratch + ``margin`` on the
    5,000 target test images."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    from autograder.checks.training import training_seed

    (x, y), (x_test, y_test) = pretrained.load_task(pretrained.TARGET_CLASSES, 5, seed=0)
    keras.utils.set_random_seed(training_seed())
    transfer = classification_accuracy(train_transfer(build_transfer_model, fine_tune, x, y), x_test, y_test)
    scratch = classification_accuracy(train_scratch(x, y), x_test, y_test)
    print(f"transfer {transfer:.4f}, from scratch {scratch:.4f} on {len(y_test):,} test images")
    if transfer < target:
        fail(f"transfer accuracy {transfer:.4f} is below the target {target:.2f}",
              "warm up the head on the frozen base first, then fine-tune with a 10x lower learning rate")
    if transfer < scratch + margin:
        fail(f"transfer accuracy {transfer:.4f} does not beat training from scratch ({scratch:.4f}) "
              f"by {margin:.2f}", "did the base stay frozen during warm-up? a large step on it erases what it learned")
