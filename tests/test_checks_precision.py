"""Chapter 12 checks: the notebook's answers pass; the mistakes students make fail with a hint."""

import keras
import tensorflow as tf
from conftest import failure, solution_functions

from autograder.checks.precision import (
    SKIP_MESSAGE,
    check_loss_scale_update,
    check_mixed_model,
    check_scaled_gradients,
    check_speedup,
)

S = solution_functions("12_mixed_precision", "import keras\nimport numpy as np\nimport tensorflow as tf")


def test_solutions_pass():
    check_mixed_model(S["build_mixed_model"])
    check_scaled_gradients(S["scaled_gradients"])
    check_scaled_gradients(S["scaled_gradients"], scale=2.0 ** 12, seed=3)
    check_loss_scale_update(S["update_loss_scale"])


def float16_output():
    keras.config.set_dtype_policy("mixed_float16")
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10), keras.layers.Activation("softmax")])
    keras.config.set_dtype_policy("float32")
    return model


def leaves_policy_set():
    keras.config.set_dtype_policy("mixed_float16")
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(10),
                             keras.layers.Activation("softmax", dtype="float32")])


def test_mixed_model_failures():
    assert "Activation('softmax', dtype='float32')" in failure(check_mixed_model, float16_output)
    assert "global dtype policy is left at 'mixed_float16'" in failure(check_mixed_model, leaves_policy_set)
    assert keras.config.dtype_policy().name == "float32"


def test_scaled_gradient_failures():
    solution = S["scaled_gradients"]
    assert "underflowed in float16" in failure(check_scaled_gradients, lambda m, f, x, y, s: solution(m, f, x, y, 1.0))
    message = failure(check_scaled_gradients, lambda m, f, x, y, s: [g * s for g in solution(m, f, x, y, s)])
    assert "32768 times too large" in message and "divide the gradients by the scale" in message
    halved = failure(check_scaled_gradients, lambda m, f, x, y, s: [g / 2 for g in solution(m, f, x, y, s)])
    assert "gradient of" in halved
    as_float16 = failure(check_scaled_gradients, lambda m, f, x, y, s: [tf.cast(g, "float16") for g in solution(m, f, x, y, s)])
    assert "float16, expected float32" in as_float16


def keeps_counter(scale, counter, finite, growth_steps):
    if not finite:
        return scale / 2, counter, False
    return (scale * 2, 0, True) if counter == growth_steps - 1 else (scale, counter + 1, True)


def applies_on_overflow(scale, counter, finite, growth_steps):
    new_scale, new_counter, _ = S["update_loss_scale"](scale, counter, finite, growth_steps)
    return new_scale, new_counter, True


def test_loss_scale_update_failures():
    assert "reset the counter to 0" in failure(check_loss_scale_update, keeps_counter)
    assert "skip the step" in failure(check_loss_scale_update, applies_on_overflow)


def test_speedup_is_skipped_on_cpu_and_enforced_on_gpu(capsys):
    assert check_speedup(None, None, gpu=False) is None
    assert SKIP_MESSAGE in capsys.readouterr().out
    assert check_speedup(3.0, 1.0, gpu=True) == 3.0
    assert "only 1.20x faster" in failure(check_speedup, 1.2, 1.0, gpu=True)
    assert "positive number of seconds" in failure(check_speedup, 1.0, -1.0, gpu=True)


# chapter 12's timer, graded on any device with a scripted clock (issue 16: `return 0.05` passed on a CPU)

def _timer(mode):
    import time

    import numpy as np

    def train_step_seconds(policy, steps=10):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        x, y = np.zeros((8, 4), "float32"), np.zeros((8, 2), "float32")
        if mode == "constant":
            return 0.05
        if mode not in ("no_warmup", "timed_warmup"):
            model.train_on_batch(x, y)
        times = []
        for _ in range(steps + (mode == "timed_warmup")):
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - start)
        return float(np.mean(times) if mode == "mean" else np.median(times))

    return train_step_seconds


def test_the_step_timer_passes_the_median_after_a_warm_up():
    from autograder.checks.precision import check_step_timer

    check_step_timer(_timer("right"))
    check_step_timer(_timer("right"), steps=4)


def test_the_step_timer_names_each_wrong_answer():
    from autograder.checks.precision import check_step_timer

    assert "called train_on_batch 0 times, expected 6" in failure(check_step_timer, _timer("constant"))
    assert "that is the mean" in failure(check_step_timer, _timer("mean"))
    assert "called train_on_batch 5 times, expected 6" in failure(check_step_timer, _timer("no_warmup"))
    assert "the warm-up step was timed" in failure(check_step_timer, _timer("timed_warmup"))
