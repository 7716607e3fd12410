"""Chapter 01 checks: each accepts a correct implementation and rejects known mistakes
with the feedback a student should see."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import failure, solution_functions

from autograder.checks import (
    check_extract_patches,
    check_linear_mse_gradients,
    check_masked_mean,
    check_normalize_channels,
    check_one_hot,
    check_pairwise_distances,
    check_stable_softmax,
)
from autograder.checks.tensors import linear_mse_case

# The notebook's own solutions are the correct implementations.
S = solution_functions("01_tensors", "import numpy as np\nimport tensorflow as tf")
softmax, pairwise, normalize = S["stable_softmax"], S["pairwise_distances"], S["normalize_channels"]
patches, mse_grads, masked_mean = S["extract_patches"], S["linear_mse_gradients"], S["masked_mean"]

# --- softmax


def test_softmax_correct_passes_visible_and_edge_cases():
    check_stable_softmax(softmax)
    check_stable_softmax(softmax, logits=np.array([[0.0, -np.inf, 1.0]], np.float32))
    check_stable_softmax(softmax, logits=np.random.default_rng(0).normal(size=(3, 4)), axis=0)


def test_softmax_without_max_shift_overflows_to_nan():
    def naive(logits, axis=-1):
        return tf.exp(logits) / tf.reduce_sum(tf.exp(logits), axis=axis, keepdims=True)

    msg = failure(check_stable_softmax, naive)
    assert "found NaN" in msg and "subtract the maximum" in msg


def test_softmax_over_the_wrong_axis_fails_on_a_non_default_axis():
    def last_axis_only(logits, axis=-1):
        return softmax(logits, axis=-1)

    check_stable_softmax(last_axis_only)  # visible cases use axis=-1
    msg = failure(check_stable_softmax, last_axis_only, logits=np.ones((2, 3), np.float32), axis=0)
    assert "stable_softmax(logits, axis=0)" in msg and "values differ" in msg


def test_softmax_that_casts_to_float32_fails_on_float64():
    msg = failure(check_stable_softmax, lambda x, axis=-1: softmax(tf.cast(x, tf.float32), axis))
    assert "wrong dtype: expected float64, found float32" in msg


# --- pairwise distances


def near_points():
    rng = np.random.default_rng(12)
    points = rng.normal(size=(40, 16)).astype("float32")
    return points, points + (rng.normal(size=points.shape) * 1e-4).astype("float32")


def test_pairwise_both_correct_methods_pass():
    check_pairwise_distances(pairwise)
    check_pairwise_distances(pairwise, *near_points())
    check_pairwise_distances(lambda a, b: tf.norm(a[:, None, :] - b[None, :, :], axis=-1), *near_points())


def test_pairwise_without_clipping_gives_nan_for_near_points():
    def unclipped(a, b):
        return tf.sqrt(tf.reduce_sum(a * a, 1)[:, None] - 2 * tf.matmul(a, b, transpose_b=True) + tf.reduce_sum(b * b, 1)[None])

    msg = failure(check_pairwise_distances, unclipped, *near_points())
    assert "found NaN" in msg and "clip squared distances at 0" in msg


def test_pairwise_squared_distances_are_wrong_values():
    msg = failure(check_pairwise_distances, lambda a, b: pairwise(a, b) ** 2)
    assert "values differ" in msg


# --- one-hot


def test_one_hot_correct_passes_including_out_of_range_labels():
    one_hot = S["one_hot"]
    check_one_hot(one_hot)
    check_one_hot(one_hot, labels=np.array([5, -1, 0], np.int32), depth=3)
    check_one_hot(one_hot, labels=np.array([[1, 0], [2, 2]], np.int64), depth=3)


def test_one_hot_returning_booleans_is_a_dtype_error():
    msg = failure(check_one_hot, lambda labels, depth: labels[..., None] == tf.range(depth, dtype=labels.dtype))
    assert "wrong dtype: expected float32, found bool" in msg


def test_one_hot_may_not_call_tf_one_hot():
    def lazy(labels, depth):
        return tf.one_hot(labels, depth)

    msg = failure(check_one_hot, lazy)
    assert msg.splitlines()[0] == "lazy: must not use one_hot or to_categorical"
    assert "lazy uses .one_hot (line 2)" in msg


def _via_getattr(labels, depth):
    return getattr(tf, "one_hot")(labels, depth)  # noqa: B009 - the cheat under test


def _via_computed_name(labels, depth):
    name = "one" + "_hot"
    return getattr(tf, name)(labels, depth)


def _helper(labels, depth):
    from tensorflow import one_hot as make

    return make(labels, depth)


def _via_helper(labels, depth):
    return _helper(labels, depth)


@pytest.mark.parametrize("cheat,where", [(_via_getattr, "getattr(..., 'one_hot')"),
                                         (_via_computed_name, "computed name"),
                                         (_via_helper, "_helper imports one_hot")])
def test_the_rule_is_read_on_the_syntax_tree_not_the_text(cheat, where):
    assert where in failure(check_one_hot, cheat)


# --- normalisation


SMALL_VARIANCE = np.random.default_rng(14).normal(loc=[0.01, 0.0], scale=[1e-3, 2.0], size=(4, 5, 5, 2)).astype("float32")


def test_normalize_correct_passes_uint8_constant_and_small_variance():
    check_normalize_channels(normalize)
    check_normalize_channels(normalize, images=SMALL_VARIANCE)
    check_normalize_channels(normalize, images=np.random.default_rng(1).integers(0, 256, (8, 6, 6, 3)).astype("uint8"))
    check_normalize_channels(normalize, images=np.full((2, 3, 3, 1), 7.0, np.float32), eps=1e-3)


def test_normalize_eps_outside_sqrt_passes_visible_but_fails_small_variance():
    def eps_outside(images, eps=1e-5):
        x = tf.cast(images, tf.float32)
        mean = tf.reduce_mean(x, axis=[0, 1, 2], keepdims=True)
        return (x - mean) / (tf.math.reduce_std(x, axis=[0, 1, 2], keepdims=True) + eps)

    check_normalize_channels(eps_outside)
    msg = failure(check_normalize_channels, eps_outside, images=SMALL_VARIANCE)
    assert "values differ" in msg and "eps inside the square root" in msg


def test_normalize_over_all_axes_instead_of_per_channel_fails():
    def global_norm(images, eps=1e-5):
        x = tf.cast(images, tf.float32)
        return (x - tf.reduce_mean(x)) / tf.sqrt(tf.math.reduce_variance(x) + eps)

    assert "values differ" in failure(check_normalize_channels, global_norm)


def test_normalize_without_cast_keeps_uint8():
    msg = failure(check_normalize_channels, lambda images, eps=1e-5: images,
                  images=np.zeros((1, 2, 2, 1), np.uint8))
    assert "wrong dtype: expected float32, found uint8" in msg


# --- patches


def test_patches_correct_passes():
    check_extract_patches(patches)
    check_extract_patches(patches, images=np.random.default_rng(0).normal(size=(3, 6, 9, 3)).astype("float32"), k=3)


def test_patches_reshape_only_has_the_right_shape_but_wrong_values():
    msg = failure(check_extract_patches, lambda images, k: tf.reshape(images, (images.shape[0], -1, k * k * images.shape[-1])))
    assert "values differ" in msg and "transpose" in msg


def test_patches_must_not_call_tf_image_extract_patches():
    def cheat(images, k):
        return tf.image.extract_patches(images, [1, k, k, 1], [1, k, k, 1], [1, 1, 1, 1], "VALID")

    assert "cheat uses .extract_patches" in failure(check_extract_patches, cheat)


# --- GradientTape


def test_linear_mse_correct_passes_in_both_dtypes():
    check_linear_mse_gradients(mse_grads)
    check_linear_mse_gradients(mse_grads, *linear_mse_case("float64", n=20, d=5))


def test_linear_mse_with_sum_instead_of_mean_fails_on_the_loss():
    def summed(w, b, x, y):
        with tf.GradientTape() as tape:
            tape.watch([w, b])
            loss = tf.reduce_sum(tf.square(x @ w + b - y))
        return (loss, *tape.gradient(loss, [w, b]))

    msg = failure(check_linear_mse_gradients, summed)
    assert msg.startswith("loss of linear_mse_gradients")


def test_linear_mse_without_watch_returns_none_gradients():
    def unwatched(w, b, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(x @ w + b - y))
        return (loss, *tape.gradient(loss, [w, b]))

    assert "dw is None" in failure(check_linear_mse_gradients, unwatched)


def test_linear_mse_wrong_return_structure():
    assert "should return a tuple (loss, dw, db)" in failure(check_linear_mse_gradients, lambda w, b, x, y: w)


# --- masked mean


EMPTY_ROW = (np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), np.array([[0, 0], [1, 1]], np.int32))


def test_masked_mean_correct_passes_with_empty_rows_and_bool_masks():
    check_masked_mean(masked_mean)
    check_masked_mean(masked_mean, *EMPTY_ROW)
    check_masked_mean(masked_mean, np.arange(6.0).reshape(2, 3), np.array([[True, False, True]] * 2), axis=0)


def test_masked_mean_plain_division_gives_nan_for_an_empty_mask():
    def plain(values, mask, axis=-1):
        mask = tf.cast(mask, values.dtype)
        return tf.reduce_sum(values * mask, axis) / tf.reduce_sum(mask, axis)

    check_masked_mean(plain)
    msg = failure(check_masked_mean, plain, *EMPTY_ROW)
    assert "found NaN at index (0,)" in msg and "divide_no_nan" in msg


def test_masked_mean_ignoring_the_mask_fails():
    msg = failure(check_masked_mean, lambda values, mask, axis=-1: tf.reduce_mean(values, axis))
    assert "values differ" in msg


def test_a_library_error_in_the_students_code_is_explained():
    import tensorflow as tf

    def one_hot_int_mix(labels, depth):  # int64 labels against an int32 range: TensorFlow refuses
        return tf.cast(tf.equal(tf.constant(labels)[..., None], tf.range(depth)), tf.float32)

    msg = failure(check_one_hot, one_hot_int_mix, labels=np.array([0, 2, 1], dtype="int64"), depth=3)
    assert msg.startswith("check_one_hot: your code raised InvalidArgumentError")
    assert "two dtypes met in one TensorFlow op" in msg and "tf.cast" in msg


def test_a_check_called_wrongly_is_not_blamed_on_the_student():
    with pytest.raises(TypeError):
        check_one_hot(lambda labels, depth: labels, no_such_argument=1)
