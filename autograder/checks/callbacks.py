"""Checks for chapter 10 (callbacks): the student's early stopper and plateau LR reducer
against ``keras.callbacks.EarlyStopping`` / ``ReduceLROnPlateau``, and a checkpoint.

* **Scripted logs** — no training: both callbacks are attached to small compiled models and
  driven with the same sequence of ``logs`` (``on_train_begin``, ``on_epoch_end(epoch, logs)``
  ..., ``on_train_end``). Before each epoch the model's weights are set to the epoch number,
  so the weights left at the end say which epoch's weights were restored. Compared epoch by
  epoch: when ``model.stop_training`` becomes true, the learning rate after the epoch
  (profile ``keras_float64_stored``: Keras computes in float64 and stores float32), and the final weights.
  Fixed scenarios name the edge cases (patience 0, ``min_delta``, ``mode="max"``, cooldown,
  ``min_lr``, ``mode="auto"`` on a metric that goes down, ``val_mae``); ``random_scenarios`` adds
  seeded random sequences and settings. The scripted model's compiled metrics (``mae``,
  ``accuracy``) are built, as in ``fit`` after the first step, so Keras resolves ``mode="auto"``
  by its own rule: ``min`` for a loss, otherwise the metric's direction.
* **In fit** — one short real ``model.fit`` each, twice from the same seed: with Keras's
  callback and with the student's, reusing one instance for two fits (state must be reset in
  ``on_train_begin``); the epochs run, the learning rates and the final weights must be equal.
* **Checkpoint** — the saved ``.keras`` file is reloaded: it must hold the best epoch (its
  validation loss is the history's minimum) and predict exactly like the model in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.checks.arrays import check_array
from autograder.checks.failure import explains_errors, fail
from autograder.checks.tolerances import tolerance


@dataclass(frozen=True)
class Scenario:
    """A scripted run: the monitored values of successive epochs and the callback's settings."""

    values: tuple[float, ...]
    settings: dict = field(default_factory=dict)
    monitor: str = "val_loss"

    def describe(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        values = ", ".join(f"{v:g}" for v in self.values)
        return f"monitor={self.monitor!r}, {settings}\n  {self.monitor} per epoch: [{values}]"


EARLY_STOPPING_SCENARIOS = (
    Scenario((0.9, 0.7, 0.6, 0.61, 0.62, 0.63, 0.5), {"patience": 2}),
    Scenario((0.9, 0.8, 0.85, 0.7, 0.75, 0.76, 0.77, 0.6), {"patience": 3}),
    Scenario((1.0, 0.9, 0.95, 0.8), {"patience": 0}),
    Scenario((1.0, 0.97, 0.95, 0.93, 0.9, 0.89, 0.88, 0.87), {"patience": 1, "min_delta": 0.025}),
    Scenario((0.5, 0.6, 0.55, 0.58, 0.7, 0.69, 0.68, 0.71), {"patience": 2, "mode": "max"}, "val_accuracy"),
    Scenario((1.0, 0.8, 0.6, 0.5, 0.45), {"patience": 1}),
    Scenario((0.9, 0.7, 0.72, 0.71, 0.69, 0.7, 0.74), {"patience": 2}, "val_mae"),  # auto: MAE goes down
    Scenario((0.5, 0.6, 0.55, 0.58, 0.7), {"patience": 2}, "val_accuracy"),  # auto: accuracy goes up
)
RESTORE_SCENARIOS = (
    Scenario((0.9, 0.7, 0.6, 0.61, 0.62, 0.63, 0.5), {"patience": 2, "restore_best_weights": True}),
    Scenario((0.9, 0.7, 0.75, 0.6, 0.65), {"patience": 3, "restore_best_weights": True}),
    Scenario((0.5, 0.6, 0.55, 0.58, 0.54), {"patience": 2, "mode": "max", "restore_best_weights": True},
             "val_accuracy"),
    Scenario((0.9, 0.7, 0.6, 0.61, 0.62, 0.63, 0.5), {"patience": 2}),
)
REDUCE_LR_SCENARIOS = (
    Scenario((1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9), {"patience": 2, "factor": 0.5}),
    Scenario((1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9), {"patience": 1, "factor": 0.5, "cooldown": 2}),
    Scenario((1.0, 1.0, 1.0, 1.0, 1.0, 1.0), {"patience": 1, "factor": 0.1, "min_lr": 0.0005}),
    Scenario((1.0, 0.99995, 0.9999, 0.8, 0.8, 0.79), {"patience": 1, "factor": 0.5}),
    Scenario((0.5, 0.6, 0.6, 0.7, 0.7, 0.7, 0.69), {"patience": 2, "factor": 0.2, "mode": "max"}, "val_accuracy"),
    Scenario((0.9, 0.8, 0.85, 0.84, 0.79, 0.83, 0.82), {"patience": 2, "factor": 0.5}, "val_mae"),
)

ES_HINT = (
    "count the epochs since the last improvement (reset to 0 on an improvement); stop when the count "
    "reaches patience. An improvement beats the best value so far by more than min_delta "
    "(min mode: current < best − min_delta; max mode: current > best + min_delta)."
)
RESTORE_HINT = (
    "with restore_best_weights, keep model.get_weights() of the best epoch (and of the first epoch before "
    "any improvement) and call model.set_weights(...) in on_train_end — whether or not training stopped early."
)
AUTO_HINT = (
    "mode='auto' follows Keras 3: 'min' for loss and val_loss, otherwise the direction of the compiled "
    "metric of that name (MAE goes down: 'min'; accuracy goes up: 'max'), looked up at the first "
    "on_epoch_end, when fit has built the metrics. The notebook's auto_mode(self.model, self.monitor) "
    "does exactly this."
)
LR_HINT = (
    "after `patience` epochs without improvement multiply the LR by factor (never below min_lr), then wait "
    "`cooldown` epochs during which the no-improvement count stays 0; an improvement (by more than min_delta) "
    "always updates the best value."
)


def random_scenarios(kind: str, n: int = 30, *, seed: int = 0) -> list[Scenario]:
    """``n`` seeded random scenarios for ``kind`` ("early_stopping" or "reduce_lr"): noisy
    decreasing (or increasing, in max mode) sequences with plateaus and repeated values."""
    rng = np.random.default_rng(seed)
    scenarios = []
    for _ in range(n):
        length = int(rng.integers(3, 16))
        steps = rng.choice([0.0, 0.0, 0.005, 0.02, 0.05, -0.01, -0.03], size=length)
        values = np.round(1.0 - np.cumsum(steps), 3)
        mode = str(rng.choice(["min", "max", "auto"]))
        monitor = str(rng.choice(["val_loss", "val_mae", "val_accuracy"])) if mode == "auto" else "val_loss"
        if mode == "max" or monitor == "val_accuracy":
            values, monitor = np.round(1.0 - values, 3), "val_accuracy"
        settings = {"patience": int(rng.integers(0, 4)), "min_delta": float(rng.choice([0.0, 0.01, 0.03]))}
        if mode != "auto":
            settings["mode"] = mode
        if kind == "early_stopping":
            settings["restore_best_weights"] = bool(rng.integers(0, 2))
        else:
            settings.update(factor=float(rng.choice([0.1, 0.5])), cooldown=int(rng.integers(0, 3)),
                            min_lr=float(rng.choice([0.0, 0.002])))
        scenarios.append(Scenario(tuple(float(v) for v in values), settings, monitor))
    return scenarios


def scripted_model(learning_rate: float = 0.01):
    """A small compiled model whose weights mark the epoch and whose optimizer holds an LR; its
    compiled metrics ``mae`` and ``accuracy`` are built (as after fit's first step), so that
    ``mode="auto"`` can be resolved from their directions."""
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse", metrics=["mae", "accuracy"])
    x, y = np.zeros((1, 2), dtype="float32"), np.zeros((1, 1), dtype="float32")
    model.compute_metrics(x, y, model(x))  # builds the compiled metrics
    return model


def run_scripted(callback, scenario: Scenario, *, learning_rate: float = 0.01) -> dict:
    """Drive ``callback`` through ``scenario`` without training.

    Returns ``stopped`` (the 0-based epoch after which ``model.stop_training`` was set, or
    None), ``lrs`` (the LR after each epoch that ran) and ``weights`` (the epoch whose weights
    the model holds at the end; they are set to the epoch number before each epoch).
    """
    model = scripted_model(learning_rate)
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin({})
    stopped, lrs = None, []
    for epoch, value in enumerate(scenario.values):
        model.set_weights([np.full(w.shape, epoch, dtype="float32") for w in model.get_weights()])
        callback.on_epoch_begin(epoch, {})
        callback.on_epoch_end(epoch, {"loss": 1.0, scenario.monitor: value})
        lrs.append(float(np.asarray(model.optimizer.learning_rate)))
        if model.stop_training:
            stopped = epoch
            break
    callback.on_train_end({})
    return {"stopped": stopped, "lrs": lrs, "weights": float(model.get_weights()[0].flat[0])}


def _make(callback_class, scenario: Scenario):
    try:
        return callback_class(monitor=scenario.monitor, **scenario.settings)
    except TypeError as error:
        fail(
            f"{callback_class.__name__}(monitor=..., {', '.join(scenario.settings)}) could not be created: {error}\n"
            "Hint: the constructor takes the same keyword arguments as Keras's callback (see the exercise)."
        )


def _compare(callback_class, keras_class, scenario: Scenario, keys, hint: str) -> None:
    found = run_scripted(_make(callback_class, scenario), scenario)
    expected = run_scripted(keras_class(monitor=scenario.monitor, **scenario.settings), scenario)
    where = f"{callback_class.__name__} with {scenario.describe()}"
    if "mode" not in scenario.settings and scenario.monitor.removeprefix("val_") != "loss":
        hint = AUTO_HINT

    def epoch(e):
        return "never stopped" if e is None else f"stopped after epoch {e}"

    if "stopped" in keys and found["stopped"] != expected["stopped"]:
        fail(
            f"{where}\n  Keras {epoch(expected['stopped'])} (epochs count from 0); yours {epoch(found['stopped'])}."
            f"\nHint: {hint}"
        )
    if "lrs" in keys:
        lrs_found, lrs_expected = np.array(found["lrs"]), np.array(expected["lrs"])
        if lrs_found.shape != lrs_expected.shape or not np.allclose(lrs_found, lrs_expected, **tolerance("keras_float64_stored")):
            fail(
                f"{where}\n  learning rate after each epoch, Keras: {np.round(lrs_expected, 8).tolist()}"
                f"\n                                  yours: {np.round(lrs_found, 8).tolist()}\nHint: {hint}"
            )
    if "weights" in keys and found["weights"] != expected["weights"]:
        fail(
            f"{where}\n  after training the model should hold the weights of epoch {expected['weights']:g}; "
            f"it holds those of epoch {found['weights']:g}.\nHint: {RESTORE_HINT}"
        )


@explains_errors
def check_early_stopping(callback_class, *, scenarios=EARLY_STOPPING_SCENARIOS, restore: bool = False) -> None:
    """Assert that ``callback_class`` stops after the same epoch as
    ``keras.callbacks.EarlyStopping`` on each scripted scenario (and, when ``restore``, leaves
    the same epoch's weights in the model)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    keys = ("stopped", "weights") if restore else ("stopped",)
    for scenario in scenarios:
        _compare(callback_class, keras.callbacks.EarlyStopping, scenario, keys, ES_HINT)
    print(f"{callback_class.__name__}: OK — same epochs as keras.callbacks.EarlyStopping on {len(scenarios)} "
          f"scripted runs" + (" (and the same weights restored)" if restore else ""))


@explains_errors
def check_reduce_lr(callback_class, *, scenarios=REDUCE_LR_SCENARIOS) -> None:
    """Assert that ``callback_class`` sets the same learning rate after every epoch as
    ``keras.callbacks.ReduceLROnPlateau`` on each scripted scenario."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    for scenario in scenarios:
        _compare(callback_class, keras.callbacks.ReduceLROnPlateau, scenario, ("lrs",), LR_HINT)
    print(f"{callback_class.__name__}: OK — same learning rates as keras.callbacks.ReduceLROnPlateau on "
          f"{len(scenarios)} scripted runs")


# --------------------------------------------------------------------------- inside model.fit


def learning_rate_log():
    """A callback that records the learning rate after each epoch in ``.lrs`` (place it after
    the callback under test)."""
    import keras

    class LearningRateLog(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.lrs = []

        def on_epoch_end(self, epoch, logs=None):
            self.lrs.append(float(np.asarray(self.model.optimizer.learning_rate)))

    return LearningRateLog()


def _fit_with(callback, data, *, seed: int = 0, epochs: int = 40):
    """A small MLP on the digits, trained with ``callback``; returns (epochs run, LRs, weights)."""
    import keras

    (x_train, y_train), (x_val, y_val) = data
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(10)
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    log = learning_rate_log()
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=64,
                        callbacks=[callback, log], verbose=0)
    return len(history.epoch), log.lrs, model.get_weights()


@explains_errors
def check_callbacks_in_fit(early_stopping_class, reduce_lr_class) -> None:
    """Assert that the student's callbacks, used in a real ``model.fit`` (twice, with one
    instance), give the same epochs, learning rates and final weights as Keras's."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    from autograder.data import load_digits_split

    (x_train, y_train), (x_val, y_val) = load_digits_split()
    data = ((x_train[:200], y_train[:200]), (x_val, y_val))  # overfits: val_loss turns at epoch 7
    cases = (
        (early_stopping_class, keras.callbacks.EarlyStopping,
         {"monitor": "val_loss", "patience": 2, "restore_best_weights": True}),
        (reduce_lr_class, keras.callbacks.ReduceLROnPlateau,
         {"monitor": "val_loss", "patience": 1, "factor": 0.5, "min_delta": 0.001}),
    )
    for (mine_class, keras_class, settings), epochs in zip(cases, (20, 12), strict=True):
        expected = _fit_with(keras_class(**settings), data, epochs=epochs)
        mine = mine_class(**settings)
        for attempt in ("first", "second"):
            found = _fit_with(mine, data, epochs=epochs)
            what = f"model.fit with {mine_class.__name__}({settings}), {attempt} fit of the same instance"
            hint = ("set the callback's state (wait, best, ...) in on_train_begin, not only in __init__: Keras "
                    "calls on_train_begin at the start of every fit, so one instance can serve several fits."
                    if attempt == "second" else ES_HINT if keras_class is keras.callbacks.EarlyStopping else LR_HINT)
            if found[0] != expected[0]:
                fail(f"{what}: ran {found[0]} epochs; with Keras's callback {expected[0]}.\nHint: {hint}")
            if not np.allclose(found[1], expected[1], **tolerance("keras_float64_stored")):
                fail(f"{what}: learning rates {found[1]}; with Keras's {expected[1]}.\nHint: {hint}")
            for w_found, w_expected in zip(found[2], expected[2], strict=True):
                check_array(w_found, w_expected, name=f"{what}: final weights", **tolerance("same_model"),
                            hint=RESTORE_HINT if attempt == "first" else hint)
        lrs = sorted(set(expected[1]), reverse=True)
        print(f"{mine_class.__name__} in model.fit: {expected[0]} epochs, learning rates {lrs}, "
              f"as with {keras_class.__name__} (twice)")


# --------------------------------------------------------------------------- checkpoint


@explains_errors
def check_checkpoint(model, history, path, x_val, y_val) -> None:
    """Assert that the ``.keras`` file at ``path`` holds the best epoch of ``history`` (lowest
    ``val_loss``), loads with its optimizer, and predicts exactly like ``model`` (which must
    hold the best weights too)."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    path = Path(path)
    if path.suffix != ".keras":
        fail(f"the checkpoint should be a .keras file, got {path.name!r}.\n"
                             "Hint: ModelCheckpoint('best.keras', ...) saves the whole model.")
    if not path.is_file():
        fail(f"no checkpoint at {path}.\nHint: pass filepath=path to keras.callbacks.ModelCheckpoint.")
    losses = list(history.history.get("val_loss", []))
    if not losses:
        fail("the history has no val_loss.\nHint: fit with validation_data=(x_val, y_val).")
    best = int(np.argmin(losses))
    try:
        reloaded = keras.models.load_model(path)
    except Exception as error:  # noqa: BLE001
        fail(f"the checkpoint did not load: {type(error).__name__}: {str(error)[:300]}\n"
                             "Hint: save the whole model (save_weights_only=False).")
    if reloaded.optimizer is None or not reloaded.optimizer.variables:
        fail("the checkpoint holds no optimizer state: training could not resume from it.\n"
                             "Hint: save_weights_only=False.")
    found = reloaded.evaluate(x_val, y_val, verbose=0, return_dict=True)["loss"]
    if not np.isclose(found, losses[best], **tolerance("evaluate")):
        fail(
            f"the checkpoint's validation loss is {found:.6f}; the best epoch (epoch {best}, counting from 0) had "
            f"{losses[best]:.6f}, the last {losses[-1]:.6f}.\n"
            "Hint: ModelCheckpoint(path, monitor='val_loss', save_best_only=True) keeps only the best epoch.")
    check_array(
        reloaded.predict(x_val, verbose=0), np.asarray(model.predict(x_val, verbose=0)),
        name="predictions of the reloaded checkpoint vs the model after fit", **tolerance("same_model"),
        hint="the model in memory should end with the best weights as well: "
        "EarlyStopping(monitor='val_loss', restore_best_weights=True).",
    )
    print(f"checkpoint: OK — epoch {best} of {len(losses)} (val_loss {losses[best]:.4f}), "
          "reloaded predictions identical")
