"""Accuracy thresholds: a model is graded on held-out data it never saw.

The threshold checks of the chapters do the training themselves: the student hands over the
functions (the builder, the training loop, the augmenter, the callbacks), the check loads the
training data, seeds, builds and trains by the chapter's recipe, then measures test accuracy
on data it loaded itself. No model, array or history from the notebook's namespace is graded,
so a model trained on the test set in a cell of the notebook earns nothing; a builder that
returns an already trained model is caught (:func:`check_untrained`), and one that reaches
the test set by itself needs code that the grader's static read flags.
"""

from __future__ import annotations

import contextlib
import os
from functools import lru_cache

import numpy as np

from autograder.checks.failure import explains_errors, fail


def classification_accuracy(model, x_test, y_test, batch_size: int = 1000) -> float:
    """Fraction of ``x_test`` that ``model`` classifies as ``y_test`` (argmax of its outputs)."""
    outputs = model.predict(x_test, batch_size=batch_size, verbose=0)
    outputs = np.asarray(outputs)
    if outputs.ndim != 2 or outputs.shape[0] != len(y_test):
        fail(
            f"the model should output one row of class scores per image, shape ({len(y_test)}, classes); "
            f"found {outputs.shape}."
        )
    return float(np.mean(np.argmax(outputs, axis=1) == np.asarray(y_test)))


@explains_errors
def check_fashion_mnist_accuracy(model, threshold: float, *, hint: str = "") -> None:
    """Assert that ``model`` reaches ``threshold`` accuracy on the 10,000 Fashion-MNIST test
    images (float32 in [0, 1], shape (N, 28, 28)), and print it.

    Returns None on purpose, like every check: a number as the last value of a test cell
    would be taken by nbgrader as a partial score.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    accuracy = fashion_mnist_test_accuracy(model)
    required = f"{threshold:.2f}" if round(threshold, 2) == threshold else f"{threshold:.3f}"
    if not accuracy >= threshold:
        fail(f"test accuracy {accuracy:.4f}, below the required {required}", hint or None,
             details=["on the 10,000 held-out Fashion-MNIST test images"])
    print(f"test accuracy {accuracy:.4f} (required: {required})")


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


def train_subset(n_per_class: int, *, seed: int = 0, normalize: bool = True):
    """A stratified, seeded subset of the Fashion-MNIST *training* images (uint8, or float32 in
    [0, 1] scaled after subsetting) and their labels, as the chapters' notebooks make it."""
    from autograder.data import load_fashion_mnist, stratified_subset

    (x_all, y_all), _ = load_fashion_mnist()
    x, y = stratified_subset(x_all, y_all, n_per_class, seed=seed)
    return (x.astype("float32") / 255.0 if normalize else x), y


SEED_VARIABLE = "AUTOGRADER_TRAINING_SEED"  # benchmarks/thresholds.py varies it to measure margins


def training_seed() -> int:
    """The seed the checks train with: 0, or ``$AUTOGRADER_TRAINING_SEED`` (margins over seeds)."""
    return int(os.environ.get(SEED_VARIABLE, "0"))


UNTRAINED_MAX = 0.3  # a freshly initialised 10-class model scores about 0.1

# The loaders through which code in a kernel reaches a graded model's test data (Fashion-MNIST's
# test images, the penguins, the CO2 series).
LOADERS = (("autograder.data", "load_penguins"), ("autograder.data", "penguins_split"),
           ("palmerpenguins", "load_penguins"), ("palmerpenguins.penguins", "load_penguins"),
           ("autograder.data", "load_fashion_mnist"), ("autograder.data", "load_fashion_mnist_subset"),
           ("autograder.data", "noisy_label_split"), ("autograder.pretrained", "load_task"),
           ("autograder.checks.training", "fashion_mnist_test_set"), ("keras.datasets.fashion_mnist", "load_data"),
           ("autograder.data", "load_co2"), ("autograder.data", "co2_split"), ("autograder.checks.training", "co2_windows"),
           ("statsmodels.datasets.co2", "load_pandas"), ("statsmodels.datasets.co2", "load"))


@contextlib.contextmanager
def without_datasets():
    """While the student's functions build and train the graded model, every dataset loader
    raises: graded training uses the data the check hands it, never the test set."""
    import importlib

    def refuse(*args, **kwargs):
        fail("your code loaded a dataset while the check trained your model\n"
                             "Hint: build and train only from the arguments you are given; "
                             "the check loads the data itself.")

    saved = []
    for module_name, name in LOADERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # a loader that cannot be imported cannot be called either
            continue
        saved.append((module, name, getattr(module, name)))
        setattr(module, name, refuse)
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


@explains_errors
def check_untrained(model, name: str) -> None:
    """Fail when the model ``name`` returned already classifies the test images: the check
    trains it by the chapter's recipe, so the builder must return it untrained."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    accuracy = fashion_mnist_test_accuracy(model)
    if accuracy > UNTRAINED_MAX:
        fail(
            f"{name}() returned an already trained model\n"
            f"  test accuracy before any training: {accuracy:.4f} (untrained: about 0.10)\n"
            "Hint: return a new, untrained, compiled model; the check trains it itself."
        )


def _seeded_build(build, name: str):
    """``build()`` right after ``keras.utils.set_random_seed(training_seed())``, checked to be a
    Keras model."""
    import keras

    keras.utils.set_random_seed(training_seed())
    model = build()
    if not isinstance(model, keras.Model):
        fail(f"{name}() should return a keras.Model\n  found: {type(model).__name__}")
    return model


@explains_errors
def check_custom_training(train, optimizer_class, *, threshold: float, hint: str = "") -> None:
    """Chapter 03: the check builds the chapter's 784-128-10 MLP (seed 0), calls
    ``train(model, optimizer_class(learning_rate=0.001), x, y, epochs=5, batch_size=64)`` on
    600 training images per class, and requires ``threshold`` test accuracy."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    x, y = train_subset(600)
    keras.utils.set_random_seed(training_seed())
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10)])
    before = [np.array(w.numpy(), copy=True) for w in model.weights]
    steps: list[int] = []
    optimizer = _counting(optimizer_class, steps)(learning_rate=0.001)
    with without_datasets():
        train(model, optimizer, x, y, epochs=5, batch_size=64)
    expected = 5 * -(-len(x) // 64)
    if all(np.array_equal(b, w.numpy()) for b, w in zip(before, model.weights, strict=True)):
        hint = ("train() left the model's weights unchanged: write each update back with "
                "variable.assign(new_value); a NumPy array you change is a copy.")
    elif 0 < len(steps) < expected:
        hint = (f"train() made {len(steps)} optimizer steps; 5 epochs of batches of 64 over "
                f"{len(x)} images are {expected}: loop over every batch of every epoch.")
    check_fashion_mnist_accuracy(model, threshold, hint=hint)


def _counting(optimizer_class, steps: list):
    """``optimizer_class`` whose ``apply`` also appends to ``steps`` (the student's class as is
    when it cannot be subclassed)."""
    def apply(self, *args, **kwargs):
        steps.append(1)
        return super(counted, self).apply(*args, **kwargs)

    try:
        counted = type(optimizer_class.__name__, (optimizer_class,), {"apply": apply})
    except TypeError:
        return optimizer_class
    return counted


@explains_errors
def check_regularized_training(build_model, build_callbacks, *, threshold: float, hint: str = "") -> None:
    """Chapter 06: ``build_model()`` (seed 0) trained by the check for up to 40 epochs on the
    chapter's 1,000 noisy-label images, validated on the other 1,000, with
    ``build_callbacks()``; ``threshold`` test accuracy required (the unregularized baseline
    reaches 0.60–0.68 over five seeds, docs/benchmarks.md)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    from autograder.data import noisy_label_split

    (x_train, y_train), (x_val, y_val) = noisy_label_split()
    with without_datasets():
        model = _seeded_build(build_model, "build_regularized_model")
        callbacks = build_callbacks()
    check_untrained(model, "build_regularized_model")
    with without_datasets():
        model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=40, batch_size=64,
                  callbacks=callbacks, verbose=0)
    check_fashion_mnist_accuracy(model, threshold, hint=hint)


@explains_errors
def check_augmented_training(build_model, build_augmenter, make_dataset, *, threshold: float, max_shift: int,
                             hint: str = "") -> None:
    """Chapter 08: ``build_model(build_augmenter(0))`` (seed 0) trained by the check for 40
    epochs on ``make_dataset`` of 30 training images per class; ``threshold`` accuracy
    required on the test images shifted by up to ``max_shift`` pixels (the same CNN without
    augmentation reaches 0.55–0.57 over five seeds, docs/benchmarks.md)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    x, y = train_subset(30, normalize=False)
    keras.utils.set_random_seed(training_seed())
    with without_datasets():
        train_ds = make_dataset(x, y, 32, training=True, seed=0)
        model = _seeded_build(lambda: build_model(build_augmenter(0)), "build_model")
    check_untrained(model, "build_model")
    with without_datasets():
        model.fit(train_ds, epochs=40, verbose=0)
    accuracy = fashion_mnist_test_accuracy(model, max_shift=max_shift)
    report = f"test accuracy {accuracy:.4f} on test images shifted by up to {max_shift} px (required {threshold:.2f})"
    if not accuracy >= threshold:
        fail(f"accuracy on shifted test images below {threshold:.2f}\n  {report}"
                             + (f"\nHint: {hint}" if hint else ""))
    print(report)


def single_output(model, x, what: str) -> np.ndarray:
    """``model.predict(x)`` as one number per row, shape (N,); fails unless the model gives
    shape (N,) or (N, 1) (``what`` says what it should: "predict one number per penguin")."""
    outputs = np.asarray(model.predict(x, batch_size=1000, verbose=0))
    if outputs.shape not in ((len(x),), (len(x), 1)):
        fail(f"the model should {what}, shape ({len(x)}, 1); found {outputs.shape}.")
    return outputs.reshape(-1)


def fitted_predictions(fit, name: str, x_train, y_train, x_test, what: str) -> np.ndarray:
    """``fit(x_train, y_train)``, called with `training_seed` set and the dataset loaders
    refused, must return a trained ``keras.Model``; its single output on ``x_test``, shape (N,)
    (`single_output`; ``what`` says what one output is)."""
    import keras

    keras.utils.set_random_seed(training_seed())
    with without_datasets():
        model = fit(x_train.copy(), y_train.copy())
    if not isinstance(model, keras.Model):
        fail(f"{name}() should return the trained keras.Model\n  found: {type(model).__name__}")
    return single_output(model, x_test, what)


@explains_errors
def check_regressor(fit_regressor, *, threshold: float) -> None:
    """Chapter 04: ``fit_regressor(x_train, y_train)`` (seed `training_seed`) gets the 266
    training penguins' features (`autograder.data.penguin_features`, float32 (266, 14)) and body
    masses in grams (float32 (266,)), trains and returns a ``keras.Model``; its mean absolute
    error on the 67 test penguins must be at most ``threshold`` grams (predicting the training
    mean: 684 g; a least-squares line: 242 g; docs/benchmarks.md)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    from autograder.data import PENGUIN_TARGET, penguin_features, penguins_split

    train, test = penguins_split()
    x_train, x_test = penguin_features(train, test)
    y_train, y_test = (table[PENGUIN_TARGET].to_numpy("float32") for table in (train, test))
    predictions = fitted_predictions(fit_regressor, "fit_regressor", x_train, y_train, x_test,
                                     "predict one number per penguin")
    mae = float(np.mean(np.abs(predictions - y_test)))
    baseline = float(np.mean(np.abs(y_test - y_train.mean())))
    report = f"test MAE {mae:.1f} g (required: at most {threshold:.0f} g; predicting the training mean: {baseline:.1f} g)"
    if not mae <= threshold:
        hint = ("hardly better than predicting the mean: train the model inside fit_regressor (the check "
                "does not), scale the target (end with keras.layers.Rescaling(std, offset=mean): a new "
                "Dense layer outputs about ±1, the targets are thousands of grams) and train until the "
                "training MAE stops falling.") if mae > 0.5 * baseline else None
        fail(f"test MAE {mae:.1f} g, above the required {threshold:.0f} g", hint, details=[report])
    print(report)


SHIRT = 6  # Fashion-MNIST's "Shirt": the class most often confused with others


@explains_errors
def check_classifier(fit_classifier, *, min_precision: float, min_recall: float) -> None:
    """Chapter 05: ``fit_classifier(x_train, y_train)`` (seed `training_seed`) gets 6,000
    training images (float32 (6000, 28, 28) in [0, 1]) with binary labels, 1 for a shirt
    (float32 (6000,), 10 % positive), trains, and returns ``(model, threshold)``; on the
    10,000 test images (1,000 shirts), the images whose score (the model's single output) is
    greater than ``threshold`` must have precision ≥ ``min_precision`` and recall ≥
    ``min_recall`` (docs/benchmarks.md gives the solution's figures over seeds)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    x, y = train_subset(600)
    keras.utils.set_random_seed(training_seed())
    with without_datasets():
        found = fit_classifier(x.copy(), (y == SHIRT).astype("float32"))
    if not isinstance(found, (tuple, list)) or len(found) != 2 or not isinstance(found[0], keras.Model):
        fail("fit_classifier() should return (model, threshold): the trained keras.Model and a number",
             details=[f"found: {type(found).__name__}"])
    model, threshold = found
    x_test, y_test = fashion_mnist_test_set()
    scores = single_output(model, x_test, "output one score per image")
    predicted, positive = scores > float(threshold), y_test == SHIRT
    true_positives = int(np.sum(predicted & positive))
    precision = true_positives / max(int(predicted.sum()), 1)
    recall = true_positives / int(positive.sum())
    report = (f"at threshold {float(threshold):.3f}: precision {precision:.3f} (required ≥ {min_precision:.2f}), "
              f"recall {recall:.3f} (required ≥ {min_recall:.2f}) on the 10,000 test images")
    if not predicted.any():
        fail(f"no test image scores above the threshold {float(threshold):.3f}: recall 0",
             "lower the threshold: choose it on a validation split as the lowest at which precision there "
             "reaches a little more than required.", details=[report])
    if precision < min_precision:
        fail(f"precision {precision:.3f} below the required {min_precision:.2f}",
             "raise the threshold: choose it on a validation split as the lowest at which precision there "
             "reaches a little more than required.", details=[report, f"{int(predicted.sum())} images called shirts"])
    if recall < min_recall:
        fail(f"recall {recall:.3f} below the required {min_recall:.2f}",
             "lower the threshold as far as precision allows, or train longer / a wider model: at a "
             "fixed precision only a better model raises recall.", details=[report])
    print(report)


CNN_EPOCHS, CNN_BATCH, CNN_PER_CLASS = 8, 128, 1200


def conv_layers(model) -> list:
    """The `keras.layers.Conv2D` layers of ``model``, nested models included."""
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            found.append(layer)
        elif hasattr(layer, "layers"):
            found += conv_layers(layer)
    return found


@explains_errors
def check_cnn(build_cnn, *, threshold: float) -> None:
    """Chapter 07: ``build_cnn(total_steps)`` (seed `training_seed`) returns a compiled,
    untrained model with a ``Conv2D`` layer taking (28, 28, 1) images; the check trains it on
    1,200 training images per class (float32 (12000, 28, 28, 1) in [0, 1], integer labels) for
    `CNN_EPOCHS` epochs at batch size `CNN_BATCH` (``total_steps`` = 752) and requires
    ``threshold`` test accuracy (the solution: 0.874–0.876 over five seeds; a 784-512-256-10
    dense network 0.859–0.864, docs/benchmarks.md)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    x, y = train_subset(CNN_PER_CLASS)
    x = x[..., None]
    steps = CNN_EPOCHS * -(-len(x) // CNN_BATCH)
    with without_datasets():
        model = _seeded_build(lambda: build_cnn(steps), "build_cnn")
    shape = tuple(model.inputs[0].shape) if getattr(model, "inputs", None) else None
    if shape != (None, 28, 28, 1):
        fail(f"build_cnn() should take images of shape (28, 28, 1); found input shape {shape}",
             "start the model with keras.Input((28, 28, 1)): the check trains on images with one channel.")
    if not conv_layers(model):
        fail("build_cnn() returned a model without a Conv2D layer",
             "the exercise is a convolutional network: at least one keras.layers.Conv2D before the classifier.",
             details=[f"layers: {', '.join(type(layer).__name__ for layer in model.layers)}"])
    if not getattr(model, "compiled", False):
        fail("build_cnn() should return a compiled model",
             "call model.compile(optimizer, loss, metrics=['accuracy']) before returning it; the labels are "
             "integers 0-9, so a Sparse... loss (from_logits=True if the last layer has no softmax).")
    check_untrained(model, "build_cnn")
    with without_datasets():
        model.fit(x, y, epochs=CNN_EPOCHS, batch_size=CNN_BATCH, verbose=0)
    check_fashion_mnist_accuracy(model, threshold, hint=(
        "two Conv2D + MaxPooling2D blocks (32 and 64 filters of 3x3, ReLU), then Flatten, Dropout and "
        "a Dense layer of a few hundred units; Adam with a learning rate around 1e-3 to 2e-3."))


FORECAST_WINDOW, FORECAST_HORIZON = 52, 4  # a year of weeks in, the CO2 of 4 weeks after its end out


def co2_windows():
    """Chapter 13's forecasting data: ``(x_train, y_train), (x_test, y_test)``, windows of
    `FORECAST_WINDOW` weekly CO2 values (float32 (N, 52)) and the value `FORECAST_HORIZON`
    weeks after each window's end (float32 (N,)); the test targets are the 626 weeks from 1990,
    their windows reaching back into 1989."""
    from autograder.data import co2_split

    train, test = co2_split()
    span = FORECAST_WINDOW + FORECAST_HORIZON - 1

    def windows(series):
        starts = np.arange(len(series) - span)
        return (np.stack([series[s:s + FORECAST_WINDOW] for s in starts]),
                series[starts + span])

    return windows(train), windows(np.concatenate([train[-span:], test]))


@explains_errors
def check_forecaster(fit_forecaster, *, max_ratio: float) -> None:
    """Chapter 13: ``fit_forecaster(x_train, y_train)`` (seed `training_seed`) gets the 1,603
    training windows of `co2_windows` (ppm, float32 (1603, 52)) and their targets (float32
    (1603,)), trains and returns a ``keras.Model`` with one output; its mean absolute error on the
    626 test weeks must be at most ``max_ratio`` times that of the naive forecast "the last value
    of the window" (1.113 ppm; the solution: 0.37 of it, docs/benchmarks.md)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    (x_train, y_train), (x_test, y_test) = co2_windows()
    predictions = fitted_predictions(fit_forecaster, "fit_forecaster", x_train, y_train, x_test,
                                     "predict one number per window")
    mae = float(np.mean(np.abs(predictions - y_test)))
    naive = float(np.mean(np.abs(x_test[:, -1] - y_test)))
    report = (f"test MAE {mae:.3f} ppm = {mae / naive:.2f} × the naive forecast's {naive:.3f} ppm "
              f"(required: at most {max_ratio:.2f} ×)")
    if not mae <= max_ratio * naive:
        hint = ("predict the change from the window's last value, not the level: subtract the last value "
                "from the window (and add it back to the output), or the network must learn to output "
                "~350 ppm from a few hundred weeks.") if mae > naive else (
                "the naive forecast misses the seasonal cycle: give the model the whole year (it has it) "
                "and train until the validation MAE stops falling.")
        fail(f"test MAE {mae:.3f} ppm, above {max_ratio:.2f} × the naive forecast's", hint, details=[report])
    print(report)
