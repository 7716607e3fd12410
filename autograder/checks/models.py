"""Checks for chapter 09 (three ways to build a model, custom layers and metrics).

* Architectures are checked against a **spec**: layer types, names, output shapes and parameter
  counts, then against a reference network built here with Keras: the student's weights are
  copied into it and both must give the same outputs (inference mode, profile ``same_model``:
  the same float32 ops in the same order). Dropout must act in training mode and vanish in
  inference mode, which tests that a subclassed model passes ``training`` on.
* The custom ``Dense`` layer must match ``keras.layers.Dense`` holding the same weights —
  outputs and gradients (``tf.GradientTape``) with respect to inputs, kernel and bias — survive
  ``get_config``/``from_config`` and a ``.keras`` save/load round trip (registered).
* The custom RMSE metric must match ``keras.metrics.RootMeanSquaredError`` batch after batch
  (with sample weights), after ``reset_state``, and inside ``compile``/``evaluate`` (graph mode).
* Accuracy: a two-head Fashion-MNIST model, each head graded on its own target, and saved and
  reloaded in the ``.keras`` format with identical predictions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from autograder.checks.arrays import check_array, to_numpy
from autograder.checks.failure import explains_errors, fail
from autograder.checks.metrics import check_batch_by_batch, check_default_name, check_in_evaluate
from autograder.checks.tolerances import tolerance

# The network every API builds in chapter 09: (class, name, output shape, parameters).
MLP_SPEC = (
    ("Flatten", "flatten", (None, 784), 0),
    ("Dense", "hidden", (None, 64), 784 * 64 + 64),
    ("Dropout", "dropout", (None, 64), 0),
    ("Dense", "logits", (None, 10), 64 * 10 + 10),
)
MLP_WEIGHT_SHAPES = ((784, 64), (64,), (64, 10), (10,))



def sample_images(n: int = 8, *, seed: int = 0) -> np.ndarray:
    """``n`` random float32 images (n, 28, 28) in [0, 1]."""
    return np.random.default_rng(seed).random((n, 28, 28), dtype=np.float32)


def reference_mlp():
    """The chapter's MLP (`MLP_SPEC`) built with Keras's Sequential API."""
    import keras
    return keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(64, activation="relu", name="hidden"),
        keras.layers.Dropout(0.2, name="dropout"),
        keras.layers.Dense(10, name="logits"),
    ])


def model_layers(model) -> list:
    """The layers of a Sequential or Functional model, without its `InputLayer`s."""
    import keras
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


@explains_errors
def check_architecture(model, spec, *, what: str = "model") -> None:
    """Assert that ``model``'s layers (InputLayers excluded) are, in order, ``spec``'s
    ``(class name, layer name, output shape, parameter count)`` rows; a name ``None`` is not
    checked."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    layers = model_layers(model)
    found = [
        (type(layer).__name__, layer.name, tuple(layer.output.shape), layer.count_params()) for layer in layers
    ]
    table = "\n".join(f"    {row}" for row in found)
    if len(found) != len(spec):
        fail(
            f"{what}: expected {len(spec)} layers after the input, found {len(found)}:\n{table}",
            "compare with the table in the exercise: " + ", ".join(row[0] for row in spec) + ".",
        )
    for index, (row, expected) in enumerate(zip(found, spec, strict=True)):
        kind, name, shape, params = row
        if kind != expected[0] or (expected[1] is not None and name != expected[1]):
            fail(
                f"{what}: layer {index} should be a {expected[0]} named {expected[1]!r}, found a {kind} "
                f"named {name!r}.\n  layers found:\n{table}",
                "pass name=... to each layer; the names are part of the spec (feature extraction uses them).",
            )
        if shape != tuple(expected[2]) or params != expected[3]:
            fail(
                f"{what}: layer {index} ({name!r}) should output {tuple(expected[2])} with {expected[3]} "
                f"parameters, found {shape} with {params}.\n  layers found:\n{table}",
                "a Dense layer with n inputs and u units has n·u + u parameters; check units and the input shape.",
            )


def _weights_by_shape(model, shapes) -> list[np.ndarray]:
    """``model``'s trainable weights ordered like ``shapes`` (the chapter's weights have distinct
    shapes, so the order in which a subclass created its layers does not matter)."""
    weights = {tuple(w.shape): to_numpy(w) for w in model.trainable_weights}
    found = sorted(tuple(w.shape) for w in model.trainable_weights)
    if sorted(shapes) != found or len(weights) != len(shapes):
        fail(
            f"the model's trainable weights have shapes {found}; expected {sorted(shapes)}.",
            "784 → 64 (ReLU) → dropout → 10: two Dense layers, each with a kernel and a bias.",
        )
    return [weights[tuple(shape)] for shape in shapes]


def _check_model_type(model, kind: str) -> None:
    import keras
    from keras.src.models.functional import Functional

    if not isinstance(model, keras.Model):
        fail(f"expected a keras.Model, got {type(model).__name__}.")
    if kind == "sequential" and not isinstance(model, keras.Sequential):
        fail(f"expected a keras.Sequential model, got {type(model).__name__}.")
    if kind == "functional" and (not isinstance(model, Functional) or isinstance(model, keras.Sequential)):
        fail(
            f"expected a functional model, got {type(model).__name__}.",
            "start from inputs = keras.Input((28, 28)), call each layer on the previous tensor, and "
            "finish with keras.Model(inputs, outputs).",
        )
    if kind == "subclassed" and (isinstance(model, Functional) or type(model) is keras.Model):
        fail(
            f"expected an instance of your own keras.Model subclass, got {type(model).__name__}.",
            "class MLP(keras.Model): create the layers in __init__ (after super().__init__()), use them in call.",
        )


@explains_errors
def check_mlp(model, kind: str, *, n: int = 16, seed: int = 0) -> None:
    """Assert that ``model`` is the chapter's MLP (`MLP_SPEC`) built with the ``kind`` API
    ("sequential", "functional" or "subclassed"): its type, its layers (not for a subclass,
    which has no graph of layers), the same outputs as `reference_mlp` holding the same
    weights in inference mode, and dropout active only in training mode (on ``n`` random
    images drawn with ``seed``)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    if kind not in ("sequential", "functional", "subclassed"):
        raise ValueError(f"kind must be 'sequential', 'functional' or 'subclassed', got {kind!r}")
    _check_model_type(model, kind)
    x = sample_images(n, seed=seed)
    try:
        inference = to_numpy(model(x, training=False), name="model(x, training=False)")
    except Exception as error:  # noqa: BLE001 — any error is the student's to fix
        fail(f"calling the model on images of shape {x.shape} failed: {type(error).__name__}: {error}")
    if kind != "subclassed":
        check_architecture(model, MLP_SPEC, what=f"{kind} model")
    reference = reference_mlp()
    reference.set_weights(_weights_by_shape(model, MLP_WEIGHT_SHAPES))
    expected = to_numpy(reference(x, training=False))
    check_array(
        inference, expected, name=f"{kind} model(x, training=False)", **tolerance("same_model"),
        hint="with the same weights the outputs should equal the Sequential model's: ReLU on the hidden "
        "layer, no activation on the logits, dropout off in inference.",
    )
    keras.utils.set_random_seed(1)
    training = to_numpy(model(x, training=True))
    if np.allclose(training, inference, **tolerance("same_model")):
        fail(
            f"{kind} model: model(x, training=True) equals model(x, training=False) — dropout is not active "
            "in training mode.",
            "pass the training argument on: def call(self, inputs, training=None): ... "
            "self.dropout(h, training=training).",
        )
    default = to_numpy(model(x))
    check_array(
        default, expected, name=f"{kind} model(x) without a training argument", **tolerance("same_model"),
        hint="called without training=..., a model runs in inference mode: dropout must be off. "
        "Do not pass training=True to the Dropout layer.",
    )
    print(f"{kind} model: OK — same outputs as the Sequential reference, dropout only in training")


# --------------------------------------------------------------------------- multi-input, multi-output

TICKET_INPUTS = ("title", "body", "tags")
TICKET_OUTPUTS = ("priority", "department")


def ticket_batch(vocab_size: int, num_tags: int, num_departments: int, n: int = 32, *, seed: int = 0):
    """Random bag-of-words inputs (dict of float32 0/1 arrays) and targets for the ticket model."""
    rng = np.random.default_rng(seed)
    inputs = {
        "title": rng.integers(0, 2, (n, vocab_size)).astype("float32"),
        "body": rng.integers(0, 2, (n, vocab_size)).astype("float32"),
        "tags": rng.integers(0, 2, (n, num_tags)).astype("float32"),
    }
    targets = {
        "priority": rng.random((n, 1)).astype("float32"),
        "department": np.eye(num_departments, dtype="float32")[rng.integers(0, num_departments, n)],
    }
    return inputs, targets


@explains_errors
def check_ticket_model(model, *, vocab_size: int, num_tags: int, num_departments: int, units: int = 64) -> None:
    """Assert that ``model`` is the chapter's ticket model (Chollet's, *Deep Learning with
    Python* 7.2): functional, inputs ``title``, ``body`` (``vocab_size``) and ``tags``
    (``num_tags``) concatenated into a ``units`` ReLU layer, outputs ``priority`` (1, sigmoid) and ``department`` (``num_departments``, softmax); compiled
    with per-output losses (MSE, categorical cross-entropy) and metrics (MAE, accuracy)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    _check_model_type(model, "functional")
    names = [t.name for t in model.inputs]
    shapes = [tuple(t.shape) for t in model.inputs]
    expected_shapes = [(None, vocab_size), (None, vocab_size), (None, num_tags)]
    if names != list(TICKET_INPUTS) or shapes != expected_shapes:
        fail(
            f"inputs should be {list(TICKET_INPUTS)} with shapes {expected_shapes}; found {names} {shapes}.",
            'keras.Input(shape=(vocab_size,), name="title"), and pass them to keras.Model in that order.',
        )
    if list(model.output_names) != list(TICKET_OUTPUTS):
        fail(
            f"outputs should be named {list(TICKET_OUTPUTS)} (in that order); found {list(model.output_names)}.",
            'name the output layers: Dense(1, activation="sigmoid", name="priority").',
        )
    expected_params = (2 * vocab_size + num_tags) * units + units + (units + 1) + (units * num_departments + num_departments)
    if model.count_params() != expected_params:
        fail(
            f"the model should have {expected_params} parameters, found {model.count_params()}.",
            f"Concatenate the three inputs, one Dense({units}, relu), then the two heads — nothing else.",
        )
    inputs, targets = ticket_batch(vocab_size, num_tags, num_departments)
    priority, department = (to_numpy(o) for o in model(inputs))
    if priority.shape != (32, 1) or not np.all((priority > 0) & (priority < 1)):
        fail(f"priority should be one score in (0, 1) per ticket, shape (32, 1); found shape {priority.shape}.",
              "a sigmoid output.")
    if department.shape != (32, num_departments) or not np.allclose(department.sum(axis=1), 1, **tolerance("keras_layer")):
        fail(f"department should be a probability row per ticket, shape (32, {num_departments}) summing to 1; "
              f"found shape {department.shape}.", "a softmax output.")
    if getattr(model, "optimizer", None) is None:
        fail("the model is not compiled.", "call model.compile(...) inside build_ticket_model.")
    try:
        results = model.evaluate(inputs, targets, verbose=0, return_dict=True)
    except Exception as error:  # noqa: BLE001
        fail(f"model.evaluate with dict inputs and targets failed: {type(error).__name__}: {error}",
              "give loss and metrics as dicts keyed by the output names.")
    mse = float(np.mean((priority - targets["priority"]) ** 2))
    cce = float(keras.losses.CategoricalCrossentropy()(targets["department"], department))
    mae = float(np.mean(np.abs(priority - targets["priority"])))
    accuracy = float(np.mean(department.argmax(1) == targets["department"].argmax(1)))
    expected = {"priority_loss": mse, "department_loss": cce, "priority_mean_absolute_error": mae,
                "department_accuracy": accuracy}
    for key, value in expected.items():
        if key not in results:
            fail(f"model.evaluate reports {sorted(results)}; {key!r} is missing.",
                  'metrics={"priority": ["mean_absolute_error"], "department": ["accuracy"]}.')
        if not np.isclose(results[key], value, **tolerance("evaluate")):
            fail(f"{key} is {results[key]:.6f}; with MSE for priority and categorical cross-entropy for "
                  f"department it would be {value:.6f}.",
                  'loss={"priority": "mean_squared_error", "department": "categorical_crossentropy"}.')
    print(f"ticket model: OK — {model.count_params()} parameters, per-output losses and metrics")


# --------------------------------------------------------------------------- custom layer


DENSE_CASES = ((5, "relu", (7, 3), 0), (4, None, (7, 6), 1), (3, "tanh", (7, 2), 2))


def _dense_pair(layer_class, units: int, activation, n_in: int, seed: int):
    """The student's layer and ``keras.layers.Dense``, built for ``n_in`` inputs, same weights."""
    import keras
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(n_in, units)).astype("float32")
    bias = rng.normal(size=(units,)).astype("float32")
    mine = layer_class(units, activation=activation)
    mine.build((None, n_in))
    shapes = sorted(tuple(w.shape) for w in mine.trainable_weights)
    if shapes != sorted([(n_in, units), (units,)]):
        fail(
            f"{type(mine).__name__}({units}) built for {n_in} inputs should have two trainable weights, kernel "
            f"({n_in}, {units}) and bias ({units},); found shapes {shapes}.",
            "create them in build(input_shape) with self.add_weight(shape=..., initializer=..., name=...).",
        )
    for w in mine.trainable_weights:
        w.assign(kernel if tuple(w.shape) == (n_in, units) else bias)
    reference = keras.layers.Dense(units, activation=activation)
    reference.build((None, n_in))
    reference.set_weights([kernel, bias])
    return mine, reference


@explains_errors
def check_dense_layer(layer_class, *, cases=DENSE_CASES) -> None:
    """Assert that ``layer_class(units, activation=None)`` behaves like ``keras.layers.Dense``:
    weights made in ``build``, outputs and gradients equal for the same weights (for each
    ``(units, activation, input shape, seed)`` of ``cases``; inputs may have more than two
    axes), a config that rebuilds it (the last case), and a registered class that survives
    ``.keras`` save and load."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    import tensorflow as tf
    for units, activation, shape, seed in cases:
        n_in = shape[-1]
        mine, reference = _dense_pair(layer_class, units, activation, n_in, seed)
        x = tf.constant(np.random.default_rng(seed + 10).normal(size=shape).astype("float32"))
        upstream = tf.constant(np.random.default_rng(seed + 20).normal(size=shape[:-1] + (units,)).astype("float32"))
        results = []
        for layer in (mine, reference):
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = layer(x)
                loss = tf.reduce_sum(out * upstream)
            kernel = next(w for w in layer.trainable_weights if len(w.shape) == 2)
            bias = next(w for w in layer.trainable_weights if len(w.shape) == 1)
            grads = tape.gradient(loss, [x, kernel, bias])
            results.append([out] + grads)
        what = f"{layer_class.__name__}({units}, activation={activation!r}) on inputs of shape {shape}"
        for label, found, expected in zip(("output", "∂/∂inputs", "∂/∂kernel", "∂/∂bias"), *results, strict=True):
            if found is None:
                fail(f"{what}: {label} is None — the output does not depend on it.",
                      "compute inputs @ kernel + bias with keras.ops (or tf) on the layer's own weights.")
            check_array(found, to_numpy(expected), name=f"{what}: {label}", **tolerance("keras_layer"),
                        hint="output = activation(inputs @ kernel + bias); activation None means linear; "
                        "use keras.activations.get(activation).")
    config = mine.get_config()
    if config.get("units") != units or (activation is not None and config.get("activation") in (None, "linear")):
        fail(f"get_config() should hold units={units} and activation={activation!r}; found {config}.",
              "config = super().get_config(); config.update(units=self.units, "
              "activation=keras.activations.serialize(self.activation)).")
    clone = layer_class.from_config(config)
    clone.build((None, n_in))
    clone.set_weights(mine.get_weights())
    x = np.random.default_rng(3).normal(size=(4, n_in)).astype("float32")
    check_array(clone(x), to_numpy(mine(x)), name="layer rebuilt from get_config()", **tolerance("same_model"))
    model = keras.Sequential([keras.Input((3,)), layer_class(4, activation="relu")])
    x = np.random.default_rng(4).normal(size=(5, 3)).astype("float32")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dense.keras"
        model.save(path)
        try:
            reloaded = keras.models.load_model(path)
        except Exception as error:  # noqa: BLE001
            fail(f"a model holding your layer was saved to .keras but did not load: {type(error).__name__}: "
                  f"{str(error)[:300]}",
                  "register the class: decorate it with @keras.saving.register_keras_serializable(package=\"course\").")
    check_array(reloaded.predict(x, verbose=0), model.predict(x, verbose=0),
                name="predictions after .keras save and load", **tolerance("same_model"))
    print(f"{layer_class.__name__}: OK — outputs and gradients match keras.layers.Dense; config and .keras round trip")


# --------------------------------------------------------------------------- custom metric


def _metric_batches(seed: int, width: int | None = 3):
    """Four (y_true, y_pred, sample_weight) batches of 4, 7, 1 and 5 rows (1-D when ``width``
    is None)."""
    rng = np.random.default_rng(seed)
    batches = []
    for n in (4, 7, 1, 5):
        shape = (n,) if width is None else (n, width)
        batches.append((rng.normal(size=shape).astype("float32"), rng.normal(size=shape).astype("float32"),
                        rng.random(n).astype("float32")))
    return batches


@explains_errors
def check_rmse_metric(metric_class, *, weighted: bool = True, width: int | None = 3, seed: int = 0) -> None:
    """Assert that ``metric_class()`` (name "rmse") tracks ``keras.metrics.RootMeanSquaredError``
    over several batches of different sizes (targets of ``width`` columns, 1-D when None; with
    sample weights when ``weighted``), resets to 0, and works inside ``compile``/``evaluate``
    (`autograder.checks.metrics`)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    mine = metric_class()
    check_default_name(mine, "rmse")
    rounds = [[(t, p, w if weighted else None) for t, p, w in _metric_batches(seed + r, width)] for r in range(2)]
    check_batch_by_batch(
        mine, keras.metrics.RootMeanSquaredError(), rounds, empty=0.0,
        hint="accumulate Σ wᵢ·mean_j (y−ŷ)²ᵢⱼ and Σ wᵢ over all batches seen; result = sqrt(total / count). "
        "Averaging the per-batch RMSEs is not the same." if weighted else
        "accumulate the squared errors and their count over all batches; result = sqrt(total / count).",
    )
    y_true, y_pred, _ = _metric_batches(seed, 3)[1]
    check_in_evaluate(metric_class, keras.metrics.RootMeanSquaredError(name="keras_rmse"), "rmse", y_pred, y_true)
    print("RMSE metric: OK — matches keras.metrics.RootMeanSquaredError batch after batch, after reset, in evaluate")


# --------------------------------------------------------------------------- feature extraction


def reference_ticket_model(vocab_size: int = 40, num_tags: int = 5, num_departments: int = 3):
    """The ticket model of `check_ticket_model` built here (uncompiled), hidden layer "features"."""
    import keras
    inputs = [keras.Input((size,), name=name) for name, size in zip(TICKET_INPUTS, (vocab_size, vocab_size, num_tags), strict=True)]
    features = keras.layers.Dense(64, activation="relu", name="features")(keras.layers.Concatenate()(inputs))
    priority = keras.layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = keras.layers.Dense(num_departments, activation="softmax", name="department")(features)
    return keras.Model(inputs, [priority, department])


def _expected_features(model, name: str, x):
    """The output of layer ``name`` computed in NumPy from the model's weights."""
    if isinstance(x, dict):
        flat = np.concatenate([x[key] for key in TICKET_INPUTS], axis=1)
    else:
        flat = x.reshape(len(x), -1)
    if name == "flatten":
        return flat
    kernel, bias = model.get_layer(name).get_weights()
    return np.maximum(flat @ kernel + bias, 0).astype("float32")


@explains_errors
def check_feature_extractor(feature_extractor, *, on: str = "mlp") -> None:
    """Assert that ``feature_extractor(model, layer_name)`` returns a model from ``model``'s
    inputs (all of them: ``on="ticket"`` uses the three-input ticket model) to that layer's
    output that shares (not copies) the model's weights."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    keras.utils.set_random_seed(0)
    if on == "mlp":
        model, names, x = reference_mlp(), ("hidden", "flatten"), sample_images(6)
    elif on == "ticket":
        model, names = reference_ticket_model(), ("features",)
        x = ticket_batch(40, 5, 3, n=6)[0]
    else:
        raise ValueError(f"on must be 'mlp' or 'ticket', got {on!r}")
    for name in names:
        extractor = feature_extractor(model, name)
        if not isinstance(extractor, keras.Model):
            fail(f"feature_extractor should return a keras.Model, got {type(extractor).__name__}.")
        check_array(extractor.predict(x, verbose=0), _expected_features(model, name, x), name=f"features of {name!r}",
                    **tolerance("keras_layer"),
                    hint="keras.Model(model.inputs, model.get_layer(layer_name).output) — all the model's inputs, "
                    "and the output of the layer with that name (not of the layer before the last).")
    extractor = feature_extractor(model, names[0])
    before = extractor.predict(x, verbose=0)
    layer = model.get_layer(names[0])
    layer.set_weights([w + 1.0 for w in layer.get_weights()])
    if np.allclose(extractor.predict(x, verbose=0), before):
        fail("changing the model's weights did not change the extractor's features: it holds a copy.",
              "build the extractor from the model's own layers (no clone_model), so both share weights.")
    print("feature_extractor: OK — the named layer's output, weights shared with the model")


# --------------------------------------------------------------------------- two-head accuracy


def two_head_accuracies(model) -> dict[str, float]:
    """Test accuracy of the ``item`` and ``group`` heads on the 10,000 Fashion-MNIST test images."""
    from autograder.checks.training import fashion_mnist_test_set
    from autograder.data import FASHION_MNIST_GROUPS

    if list(model.output_names) != ["item", "group"]:
        fail(f"outputs should be named ['item', 'group'] (in that order); found {list(model.output_names)}.",
              'name the output layers: Dense(10, name="item"), Dense(4, name="group").')
    x_test, y_test = fashion_mnist_test_set()
    targets = {"item": y_test, "group": np.asarray(FASHION_MNIST_GROUPS)[y_test]}
    accuracies = {}
    for name, output in zip(("item", "group"), model.predict(x_test, batch_size=1000, verbose=0), strict=True):
        output = np.asarray(output)
        classes = 10 if name == "item" else 4
        if output.shape != (len(y_test), classes):
            fail(f"the {name!r} head should output ({len(y_test)}, {classes}) scores; found {output.shape}.")
        accuracies[name] = float(np.mean(output.argmax(1) == targets[name]))
    return accuracies


@explains_errors
def check_two_head_model(build_two_head_model, *, thresholds: dict) -> None:
    """The check trains ``build_two_head_model()`` (seed 0) by the chapter's recipe -- 10 epochs
    on 5,000 training images, item labels and their groups
    (`autograder.data.FASHION_MNIST_GROUPS`), batch 64, 10 % validation -- then asserts that
    each head reaches its threshold on the 10,000 Fashion-MNIST test images and that a
    ``.keras`` save and load predicts identically."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    from autograder.checks.training import (
        UNTRAINED_MAX,
        fashion_mnist_test_set,
        training_seed,
        without_datasets,
    )
    from autograder.data import FASHION_MNIST_GROUPS, load_fashion_mnist_subset

    (x_train, y_train), _ = load_fashion_mnist_subset(500, 1)
    keras.utils.set_random_seed(training_seed())
    with without_datasets():
        model = build_two_head_model()
    before = two_head_accuracies(model)
    if before["item"] > UNTRAINED_MAX:
        fail(f"build_two_head_model() returned a model that is already trained (item accuracy {before['item']:.4f} "
              "before any training).", "return a new, untrained, compiled model; the check trains it itself.")
    with without_datasets():
        history = model.fit(x_train, {"item": y_train, "group": np.asarray(FASHION_MNIST_GROUPS)[y_train]},
                            epochs=10, batch_size=64, validation_split=0.1, verbose=0)
    accuracies = two_head_accuracies(model)
    report = [f"{name} {accuracy:.4f} (required {thresholds[name]:.2f})" for name, accuracy in accuracies.items()]
    for name, accuracy in accuracies.items():
        if not accuracy >= thresholds[name]:
            fail(f"the {name!r} head's test accuracy {accuracy:.4f} < {thresholds[name]:.2f}",
                 _head_hint(name, history.history))
    x_test, _ = fashion_mnist_test_set()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "two_heads.keras"
        model.save(path)
        reloaded = keras.models.load_model(path)
    for name, before, after in zip(("item", "group"), model.predict(x_test[:200], verbose=0),
                                   reloaded.predict(x_test[:200], verbose=0), strict=True):
        check_array(after, np.asarray(before), name=f"{name!r} predictions after .keras save and load", **tolerance("same_model"))
    print("test accuracy: " + ", ".join(report) + "; .keras round trip identical")


def _head_hint(name: str, history: dict) -> str:
    """Why a head fell short, read off the training history: no loss of its own, a loss that
    did not move, or one that moved too slowly."""
    losses = history.get(f"{name}_loss")
    if not losses:
        return (f"fit() reported no loss for the {name!r} head: give each head its own loss, a dict "
                "keyed by output name, and name the output layers 'item' and 'group'.")
    first, last = float(losses[0]), float(losses[-1])
    if last > 0.95 * first:
        return (f"the {name!r} head did not learn: its loss went from {first:.3f} to {last:.3f} in "
                f"{len(losses)} epochs. Check that its activation and loss fit integer labels "
                "(logits with SparseCategoricalCrossentropy(from_logits=True)).")
    return (f"the {name!r} head learned, too slowly: its loss went from {first:.3f} to {last:.3f} in "
            f"{len(losses)} epochs. Check the learning rate (Adam's default, 1e-3, is enough) and the "
            "loss weights.")

