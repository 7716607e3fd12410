"""Checks for chapter 12 (mixed precision).

* The mixed model: every layer but the output computes in float16 with float32 variables
  (policy ``mixed_float16``), the output layer computes in float32, so the model's output is
  float32; the global policy is back to ``float32`` afterwards.
* Static loss scaling in a custom step: the gradients must equal those of Keras's
  ``LossScaleOptimizer`` (scale the loss, differentiate, divide by the scale) on a float16
  model whose unscaled gradient underflows to zero — and must not be zero.
* The dynamic loss scale: the student's update rule is driven with a script of finite and
  non-finite steps next to a real ``LossScaleOptimizer`` and must agree step by step on the
  scale, the counter and whether the step was applied.
* Timing: the student's ``train_step_seconds`` is run with a scripted clock (every
  ``train_on_batch`` call advances ``time.perf_counter`` by a known duration, the warm-up by
  far the longest), so it must return exactly the median of the timed steps after one warm-up:
  a constant, a mean, a timed warm-up or a missing one all fail, on any device.
* Speed: on a GPU the mixed model must train at least `MIN_SPEEDUP` times faster than in
  float32. On a CPU there is nothing to measure (float16 is emulated there, ~100× slower): the
  check says so on stdout and is skipped.
"""

from __future__ import annotations

import contextlib

import numpy as np

from autograder.checks.arrays import check_array, to_numpy
from autograder.checks.failure import call_label, explains_errors, fail
from autograder.checks.tolerances import tolerance

MIN_SPEEDUP = 1.5
TINY = 1e-6  # the loss factor that makes float16 gradients underflow
SKIP_MESSAGE = (
    "SKIPPED (no GPU): the mixed-precision speed-up needs a GPU with float16 tensor cores; "
    "on this CPU kernel float16 is emulated and ~100x slower, so nothing is measured and this "
    "check is not held against you. It runs when the notebook is graded on a GPU kernel."
)



@explains_errors
def check_mixed_model(build) -> None:
    """``build()`` must return a model computing in float16 with a float32 output."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras
    keras.config.set_dtype_policy("float32")
    model = build()
    policy = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("float32")
    if policy != "float32":
        fail(f"the global dtype policy is left at {policy!r}",
              "restore it with keras.config.set_dtype_policy('float32') before returning")
    if not isinstance(model, keras.Model):
        fail(f"expected a keras.Model, got {type(model).__name__}")
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    *body, output = layers
    for layer in body:
        if layer.compute_dtype != "float16":
            fail(f"layer {layer.name!r} computes in {layer.compute_dtype}, expected float16",
                  "set the policy 'mixed_float16' before creating the layers")
    for variable in model.weights:
        if variable.dtype != "float32":
            fail(f"variable {variable.path} is {variable.dtype}; variables must stay float32 "
                  "(the policy 'float16' would make them float16)", "use 'mixed_float16', not 'float16'")
    if output.compute_dtype != "float32":
        fail(f"the output layer {output.name!r} computes in {output.compute_dtype}",
              "end with keras.layers.Activation('softmax', dtype='float32'): a float16 softmax and loss "
              "lose precision and can overflow")
    x = np.random.default_rng(0).random((4, *model.input_shape[1:]), dtype=np.float32)
    y = model(x)
    if y.dtype != "float32":
        fail(f"the model outputs {y.dtype}, expected float32")
    if not np.allclose(to_numpy(y).sum(axis=-1), 1.0, **tolerance("float16_probabilities")):
        fail("the outputs are not probabilities (rows do not sum to 1)", "end with a softmax")


def underflow_case(seed: int = 0):
    """A float16 model, a batch and a loss whose gradients underflow without loss scaling.

    Returns ``(model, loss_fn, x, y)``: a one-layer ``mixed_float16`` Dense model with a float32
    linear output, float32 inputs (8, 4) and targets (8, 3), and MSE times `TINY`.
    """
    import keras
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(3, dtype="mixed_float16", name="dense"),
        keras.layers.Activation("linear", dtype="float32", name="output"),
    ])
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = (to_numpy(model(x)) + rng.normal(scale=0.1, size=(8, 3))).astype("float32")

    def loss_fn(y_true, y_pred):
        return TINY * keras.ops.mean(keras.ops.square(y_pred - y_true))

    return model, loss_fn, x, y


def reference_scaled_gradients(model, loss_fn, x, y, scale: float):
    """Gradients through Keras's ``LossScaleOptimizer``: ``scale_loss``, then divide by the scale."""
    import keras
    import tensorflow as tf
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=scale)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
        scaled = optimizer.scale_loss(loss)
    grads = tape.gradient(scaled, model.trainable_variables)
    return [to_numpy(g) / scale for g in grads]


@explains_errors
def check_scaled_gradients(scaled_gradients, *, scale: float = 2.0**15, seed: int = 0) -> None:
    """``scaled_gradients(model, loss_fn, x, y, scale)`` must equal LossScaleOptimizer's."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    model, loss_fn, x, y = underflow_case(seed)
    grads = scaled_gradients(model, loss_fn, x, y, scale)
    variables = model.trainable_variables
    if not isinstance(grads, (list, tuple)) or len(grads) != len(variables):
        fail(f"expected a list of {len(variables)} gradients (one per trainable variable), got {type(grads).__name__}")
    expected = reference_scaled_gradients(model, loss_fn, x, y, scale)
    for variable, found, want in zip(variables, grads, expected, strict=True):
        found = to_numpy(found, name=f"gradient of {variable.path}")
        if found.dtype != np.float32:
            fail(f"the gradient of {variable.path} is {found.dtype}, expected float32 like the variable")
        if not np.any(found):
            fail(f"the gradient of {variable.path} is all zeros: it underflowed in float16",
                  "multiply the loss by the scale *inside* the tape, before tape.gradient")
        ratio = float(np.median(np.abs(found[want != 0] / want[want != 0])))
        if abs(ratio - scale) < 0.01 * scale:
            fail(f"the gradient of {variable.path} is {scale:g} times too large",
                  "did you divide the gradients by the scale after tape.gradient?")
        check_array(found, want, name=f"gradient of {variable.path}", **tolerance("scaled_float16"),
                    hint="scale the loss, take the gradient of the scaled loss, divide each gradient by the scale")


def run_loss_scale_script(update, finite_steps, *, initial_scale: float = 2.0**15, growth_steps: int = 3):
    """Drive ``update`` and a real ``LossScaleOptimizer`` with the same finite/non-finite steps.

    ``update(scale, counter, finite, growth_steps)`` returns ``(scale, counter, applied)``.
    Returns two lists of ``(scale, counter, applied)`` per step: the student's and Keras's.
    """
    import keras
    variable = keras.Variable(np.zeros(2, "float32"))
    optimizer = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.SGD(1.0), initial_scale=initial_scale, dynamic_growth_steps=growth_steps
    )
    optimizer.build([variable])
    keras_log, student_log = [], []
    scale, counter = initial_scale, 0
    for finite in finite_steps:
        before = to_numpy(variable).copy()
        grad = np.ones(2, "float32") if finite else np.array([np.inf, 1.0], "float32")
        optimizer.apply([keras.ops.convert_to_tensor(grad)], [variable])
        applied = not np.array_equal(before, to_numpy(variable))
        keras_log.append((float(to_numpy(optimizer.dynamic_scale)), int(to_numpy(optimizer.step_counter)), applied))
        scale, counter, step = update(scale, counter, bool(finite), growth_steps)
        student_log.append((float(scale), int(counter), bool(step)))
    return student_log, keras_log


LOSS_SCALE_SCRIPTS = (
    (True, True, True, True, True, True, True),  # grows after every 3 finite steps
    (False, False, True, True, False, True, True, True),  # halves, resets the counter
    (True, True, False, True, True, True, True),  # an overflow just before growing
)


@explains_errors
def check_loss_scale_update(update, scripts=LOSS_SCALE_SCRIPTS, *, growth_steps: int = 3) -> None:
    """The student's dynamic loss-scale rule must agree with ``LossScaleOptimizer`` step by step."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    for script in scripts:
        student, keras_log = run_loss_scale_script(update, script, growth_steps=growth_steps)
        for step, (finite, mine, theirs) in enumerate(zip(script, student, keras_log, strict=True)):
            if mine != theirs:
                what = "finite" if finite else "non-finite (inf/NaN)"
                hint = ("on a non-finite gradient: skip the step, halve the scale, reset the counter to 0"
                        if not finite else
                        f"on a finite gradient: apply the step; when the counter reaches growth_steps - 1 "
                        f"({growth_steps - 1}) double the scale and reset the counter, else add 1")
                fail(
                    f"with growth_steps={growth_steps}, after step {step} ({what} gradients) of {list(script)}: "
                    f"(scale, counter, applied) = {mine}, LossScaleOptimizer gives {theirs}",
                    hint,
                )


WARMUP_SECONDS = 5.0
STEP_SECONDS = (0.012, 0.031, 0.020, 0.150, 0.025, 0.018, 0.090, 0.040)


@contextlib.contextmanager
def scripted_clock(durations):
    """Within the block, ``time.perf_counter``/``time.time``/``time.monotonic`` (and
    ``timeit.default_timer``) only move when ``keras.Model.train_on_batch`` returns: by
    ``durations[k]`` seconds after its k-th call. Yields the list of calls made (their count)."""
    import time
    import timeit

    import keras

    now = [1000.0]
    calls = []
    real_train_on_batch = keras.Model.train_on_batch

    def train_on_batch(self, *args, **kwargs):
        result = real_train_on_batch(self, *args, **kwargs)
        now[0] += durations[len(calls)] if len(calls) < len(durations) else durations[-1]
        calls.append(1)
        return result

    def clock():
        return now[0]

    saved = {name: getattr(time, name) for name in ("perf_counter", "time", "monotonic")}
    saved_timer = timeit.default_timer
    try:
        for name in saved:
            setattr(time, name, clock)
        timeit.default_timer = clock
        keras.Model.train_on_batch = train_on_batch
        yield calls
    finally:
        for name, value in saved.items():
            setattr(time, name, value)
        timeit.default_timer = saved_timer
        keras.Model.train_on_batch = real_train_on_batch


@explains_errors
def check_step_timer(train_step_seconds, policy: str = "float32", steps: int = 5) -> None:
    """``train_step_seconds(policy, steps=steps)`` must return the median seconds of the
    ``steps`` timed ``train_on_batch`` calls that follow one untimed warm-up call.

    Runs the student's function for real (it builds and trains the speed model) under
    `scripted_clock`, whose durations make a constant, a mean, a timed warm-up and a missing
    warm-up all give a different number than the median.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    if not 1 <= steps < len(STEP_SECONDS):
        raise ValueError(f"check_step_timer: steps must be in 1..{len(STEP_SECONDS) - 1}, got {steps}")
    durations = (WARMUP_SECONDS, *STEP_SECONDS)
    with scripted_clock(durations) as calls:
        found = train_step_seconds(policy, steps=steps)
    expected = float(np.median(STEP_SECONDS[:steps]))
    label = call_label("train_step_seconds", repr(policy), steps=steps)
    detail = (f"the check's clock: warm-up {WARMUP_SECONDS:g} s, then steps of "
              f"{', '.join(f'{d:g}' for d in STEP_SECONDS[:steps])} s")
    if not isinstance(found, (float, np.floating)) or isinstance(found, bool):
        fail(f"{label} returned {found!r}, expected a float (seconds)",
              "return the median of the timed steps as a Python float (float(...))")
    if len(calls) != steps + 1:
        fail(f"{label} called train_on_batch {len(calls)} times, expected {steps + 1}",
              "one warm-up call (not timed), then exactly `steps` timed calls")
    if abs(float(found) - expected) > 1e-9:
        causes = {
            float(np.mean(STEP_SECONDS[:steps])): "that is the mean: return the median (np.median)",
            float(np.median(durations[:steps + 1])): "the warm-up step was timed: time only the calls after it",
            float(np.sum(STEP_SECONDS[:steps])): "that is the total: return seconds per step (the median)",
        }
        why = next((text for value, text in causes.items() if abs(float(found) - value) < 1e-9),
                   "time each call with time.perf_counter() around train_on_batch, return the median")
        fail(f"{label} returned {float(found):.6g} s, expected the median {expected:.6g} s\n  {detail}", why)


@explains_errors
def check_speedup(float32_seconds, mixed_seconds, *, gpu: bool) -> float | None:
    """On a GPU: ``float32_seconds / mixed_seconds`` ≥ `MIN_SPEEDUP`. On a CPU: skipped.

    Returns the speed-up, or None when skipped (after printing `SKIP_MESSAGE` to stdout).
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    if not gpu:
        print(SKIP_MESSAGE)
        return None
    for name, value in (("float32_seconds", float32_seconds), ("mixed_seconds", mixed_seconds)):
        if not isinstance(value, (int, float, np.floating)) or not np.isfinite(value) or value <= 0:
            fail(f"{name} must be a positive number of seconds, got {value!r}")
    speedup = float(float32_seconds) / float(mixed_seconds)
    print(f"speed-up of mixed_float16 over float32: {speedup:.2f}x")
    if speedup < MIN_SPEEDUP:
        fail(f"mixed precision is only {speedup:.2f}x faster, expected at least {MIN_SPEEDUP}x",
              "was the policy set before the model was built? is the output layer the only float32 one? "
              "did you time after a warm-up step (the first step compiles the graph)?")
    return speedup
