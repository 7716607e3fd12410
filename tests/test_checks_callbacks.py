"""Chapter 10 checks: the notebook's callbacks pass; callbacks with the mistakes students make
fail, each with the scripted run that exposes it and a hint."""

import keras
import numpy as np
from conftest import failure, solution_functions

from autograder.checks.callbacks import (
    RESTORE_SCENARIOS,
    Scenario,
    check_callbacks_in_fit,
    check_checkpoint,
    check_early_stopping,
    check_reduce_lr,
    random_scenarios,
    run_scripted,
)
from autograder.grader import samples

# The notebook's auto_mode helper (an ordinary code cell) is what the solutions call for mode="auto".
AUTO_MODE = next(cell.source for cell in samples.solution_notebook("10_callbacks").cells
                 if cell.cell_type == "code" and cell.source.startswith("def auto_mode("))
AUTO_MODE = AUTO_MODE[: AUTO_MODE.index("\n\n\nprobe = ")]
S = solution_functions("10_callbacks", "import keras\nimport numpy as np\n" + AUTO_MODE)
EarlyStopper, PlateauReducer = S["EarlyStopper"], S["PlateauReducer"]


def test_auto_mode_is_keras_rule_on_metrics_that_go_up_and_down():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse",
                  metrics=["mae", "accuracy", keras.metrics.R2Score(), keras.metrics.RootMeanSquaredError()])
    x = np.zeros((1, 2), dtype="float32")
    model.compute_metrics(x, np.zeros((1, 1), dtype="float32"), model(x))
    for monitor in ("loss", "val_loss", "mae", "val_mae", "val_accuracy", "r2_score", "val_root_mean_squared_error"):
        keras_callback = keras.callbacks.EarlyStopping(monitor=monitor)
        keras_callback.set_model(model)
        keras_callback._set_monitor_op()  # where Keras resolves "auto" (at the first on_epoch_end)
        keras_mode = "min" if keras_callback.monitor_op is keras.ops.less else "max"
        assert S["auto_mode"](model, monitor) == keras_mode, monitor
    assert S["auto_mode"](model, "val_mae") == "min"  # the name does not end with "loss", yet min
    for unknown in ("val_my_loss", "val_f1"):
        try:
            keras_callback = keras.callbacks.EarlyStopping(monitor=unknown)
            keras_callback.set_model(model)
            keras_callback._set_monitor_op()
        except ValueError:
            pass
        else:
            raise AssertionError(f"Keras resolved {unknown}")
        try:
            S["auto_mode"](model, unknown)
        except ValueError:
            continue
        raise AssertionError(f"auto_mode resolved {unknown}; Keras raises ValueError")


class GuessesFromTheName(PlateauReducer):
    def on_epoch_end(self, epoch, logs=None):
        if self.mode == "auto":
            self.mode = "min" if self.monitor.endswith("loss") else "max"
        super().on_epoch_end(epoch, logs)


class GuessingStopper(EarlyStopper):
    def on_epoch_end(self, epoch, logs=None):
        if self.mode == "auto":
            self.mode = "min" if self.monitor.endswith("loss") else "max"
        super().on_epoch_end(epoch, logs)


def test_auto_mode_guessed_from_the_name_fails_on_val_mae_with_keras_rule():
    for check, guessing in ((check_reduce_lr, GuessesFromTheName), (check_early_stopping, GuessingStopper)):
        message = failure(check, guessing)
        assert "val_mae" in message and "direction of the compiled" in message


def test_solution_passes_every_scripted_check():
    check_early_stopping(EarlyStopper)
    check_early_stopping(EarlyStopper, scenarios=RESTORE_SCENARIOS, restore=True)
    check_early_stopping(EarlyStopper, scenarios=random_scenarios("early_stopping", 60, seed=5), restore=True)
    check_reduce_lr(PlateauReducer)
    check_reduce_lr(PlateauReducer, scenarios=random_scenarios("reduce_lr", 60, seed=6))


def test_scenarios_exercise_the_edge_cases():
    stops = [run_scripted(keras.callbacks.EarlyStopping(monitor=s.monitor, **s.settings), s)["stopped"]
             for s in random_scenarios("early_stopping", 40)]
    assert 5 < sum(stop is not None for stop in stops) < 40  # some stop, some run to the end
    reductions = [len(set(run_scripted(keras.callbacks.ReduceLROnPlateau(monitor=s.monitor, **s.settings), s)["lrs"]))
                  for s in random_scenarios("reduce_lr", 40)]
    assert max(reductions) > 3 and min(reductions) == 1


class KeepsCounting(EarlyStopper):
    """Never resets the count on an improvement: patience counts from the first epoch."""

    def on_epoch_end(self, epoch, logs=None):
        if self.is_improvement(logs[self.monitor]):
            self.best = logs[self.monitor]
        self.wait += 1
        if self.wait > self.patience:
            self.model.stop_training = True


class NoMinDelta(EarlyStopper):
    def is_improvement(self, current):
        return self.best is None or (current < self.best if self.mode == "min" else current > self.best)


class RestoresOnlyAfterStop(EarlyStopper):
    """Keras 2's rule: restore only when training stopped early."""

    def on_train_end(self, logs=None):
        if self.model.stop_training:
            super().on_train_end(logs)


def test_early_stopping_failures():
    message = failure(check_early_stopping, KeepsCounting)
    assert "Keras stopped after epoch" in message and "patience=" in message and "Hint: count the epochs" in message
    assert "min_delta=0.025" in failure(check_early_stopping, NoMinDelta)
    message = failure(check_early_stopping, RestoresOnlyAfterStop, scenarios=RESTORE_SCENARIOS, restore=True)
    assert "weights of epoch" in message and "whether or not training stopped early" in message


class IgnoresCooldown(PlateauReducer):
    def on_epoch_end(self, epoch, logs=None):
        self.cooldown_counter = 0
        super().on_epoch_end(epoch, logs)


class BelowMinLR(PlateauReducer):
    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.min_lr = 0.0


def test_reduce_lr_failures():
    assert "cooldown=2" in failure(check_reduce_lr, IgnoresCooldown)
    assert "min_lr=0.0005" in failure(check_reduce_lr, BelowMinLR)
    message = failure(check_reduce_lr, PlateauReducer, scenarios=[Scenario((1, 1, 1), {"patience": 1, "wrong": 1})])
    assert "could not be created" in message


class StateOnlyInInit(EarlyStopper):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        super().on_train_begin()

    def on_train_begin(self, logs=None):
        pass


def test_callbacks_in_fit_need_state_reset_per_fit():
    check_callbacks_in_fit(EarlyStopper, PlateauReducer)
    message = failure(check_callbacks_in_fit, StateOnlyInInit, PlateauReducer)
    assert "second fit" in message and "on_train_begin" in message


def _digits_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_checkpoint_check(tmp_path):
    from autograder.data import load_digits_split

    (x, y), (x_val, y_val) = load_digits_split()
    x, y = x[:200], y[:200]
    path = tmp_path / "best.keras"

    def train(save_best_only, restore):
        model = _digits_model()
        history = model.fit(x, y, validation_data=(x_val, y_val), epochs=15, verbose=0, callbacks=[
            keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=save_best_only),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=restore)])
        assert np.argmin(history.history["val_loss"]) < len(history.epoch) - 1  # the last epoch is not the best
        return model, history

    check_checkpoint(*train(True, True), path, x_val, y_val)
    assert "keeps only the best epoch" in failure(check_checkpoint, *train(False, True), path, x_val, y_val)
    assert "restore_best_weights=True" in failure(check_checkpoint, *train(True, False), path, x_val, y_val)
    assert "should be a .keras file" in failure(check_checkpoint, *train(True, True), tmp_path / "x.h5", x_val, y_val)
