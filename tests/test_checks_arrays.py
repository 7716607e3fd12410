"""check_array / check_scalar / relative_error: pass on correct input, precise feedback otherwise."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import failure

from autograder.checks import check_array, check_scalar, relative_error, to_numpy

EXPECTED = np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]], dtype=np.float32)


def test_equal_arrays_pass_including_tensors_and_tolerance():
    check_array(EXPECTED.copy(), EXPECTED)
    check_array(tf.constant(EXPECTED), EXPECTED)
    check_array(tf.Variable(EXPECTED), EXPECTED)
    check_array(EXPECTED + 5e-7, EXPECTED)  # inside rtol=1e-5, atol=1e-6


def test_value_mismatch_names_index_expected_found_errors_and_hint():
    found = EXPECTED.copy()
    found[1, 2] = 0.5
    msg = failure(check_array, found, EXPECTED, name="f(x)", hint="look at row sums")
    assert msg.startswith("f(x): 1 of 6 values differ; first at index (1, 2)")
    assert "expected: 0.4\n" in msg and "found:    0.5\n" in msg and "np.float32" not in msg
    assert "largest error 0.09999999403953552 at index (1, 2)" in msg
    assert "tolerance: rtol=1e-05, atol=1e-06" in msg
    assert msg.endswith("Hint: look at row sums")


def test_input_shaped_like_result_is_shown_at_the_failing_index():
    x = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    msg = failure(check_array, np.array([0.0, 1.0, 2.0], np.float32), np.maximum(x, 0), inputs={"x": x})
    assert "first at index (1,)" in msg and "input: x[1] = 0.0" in msg


def test_shape_mismatch_with_same_size_suggests_reshape_or_transpose():
    msg = failure(check_array, EXPECTED.T, EXPECTED, name="g")
    assert "g: wrong shape: expected (2, 3), found (3, 2)" in msg
    assert "reshape/transpose/keepdims" in msg


def test_shape_mismatch_by_one_axis_suggests_keepdims():
    msg = failure(check_array, EXPECTED[:, :, None], EXPECTED)
    assert "wrong shape" in msg and "keepdims=True" in msg


def test_dtype_mismatch_and_how_to_cast():
    msg = failure(check_array, EXPECTED.astype(np.float64), EXPECTED)  # a NumPy result: NumPy's words
    assert "wrong dtype: expected float32, found float64" in msg and ".astype(x.dtype)" in msg
    assert "np.sqrt(2 / np.pi) is a float64 scalar" in msg and "tf.cast" not in msg
    import tensorflow as tf

    msg = failure(check_array, tf.constant(EXPECTED, tf.float64), EXPECTED)  # a tensor: TensorFlow's
    assert "tf.cast(..., 'float32')" in msg
    msg = failure(check_array, (EXPECTED > 0.3).astype(np.int64), EXPECTED)
    assert "np.where(x > 0, 1, 0)" in msg and ".astype(x.dtype)" in msg
    check_array(EXPECTED.astype(np.float64), EXPECTED, check_dtype=False)


def test_nan_is_reported_with_a_stability_hint():
    found = EXPECTED.copy()
    found[0, 1] = np.nan
    msg = failure(check_array, found, EXPECTED)
    assert "found NaN at index (0, 1), expected 0.2" in msg
    assert "numerically stable" in msg


def test_inf_is_reported():
    found = EXPECTED.copy()
    found[0, 0] = np.inf
    assert "found inf at index (0, 0)" in failure(check_array, found, EXPECTED)


def test_matching_nan_and_inf_in_the_reference_pass():
    ref = np.array([np.inf, np.nan, 1.0])
    check_array(ref.copy(), ref)


def test_integer_and_bool_arrays_compare_exactly():
    check_array(np.array([1, 2, 3]), np.array([1, 2, 3]))
    msg = failure(check_array, np.array([True, False]), np.array([True, True]))
    assert "1 of 2 values differ; first at index (1,)" in msg


def test_none_and_non_numeric_results_have_clear_messages():
    assert "is None\nHint: did you forget the `return` statement?" in failure(check_array, None, EXPECTED)
    msg = failure(check_array, [tf.constant([1.0]), tf.constant([1.0, 2.0])], EXPECTED)
    assert "could not be converted" in msg or "not a numeric array" in msg


def test_bad_calls_of_the_check_itself_raise_value_error():
    with pytest.raises(ValueError, match="tolerances must be >= 0"):
        check_array(EXPECTED, EXPECTED, rtol=-1)
    with pytest.raises(ValueError, match="reference must be numeric"):
        check_array(np.array(["a"]), np.array(["a"]))


def test_float64_default_tolerance_is_tight():
    ref = np.array([1.0, 2.0])
    check_array(ref + 1e-13, ref)
    assert "values differ" in failure(check_array, ref + 1e-7, ref)


def test_check_scalar_accepts_numbers_and_0d_tensors_and_rejects_arrays():
    check_scalar(tf.constant(2.5), 2.5)
    check_scalar(np.float32(2.5), np.float32(2.5))
    msg = failure(check_scalar, np.array([2.5, 2.5]), 2.5, name="loss")
    assert "loss: expected a single number\n  found: an array of shape (2,)" in msg


def test_relative_error_and_to_numpy():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([1.0], [1.1]) == pytest.approx(0.1 / 2.1)
    assert relative_error([0.0], [0.0]) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        relative_error([1.0], [1.0, 2.0])
    assert to_numpy(tf.constant([1, 2])).tolist() == [1, 2]


def test_no_relative_error_next_to_a_zero_reference():
    msg = failure(check_array, np.array([0.0, 0.5], dtype="float32"), np.array([0.0, 0.0], dtype="float32"))
    assert "largest error 0.5 at index (1,)" in msg and "relative" not in msg


def test_a_disconnected_model_is_explained():
    import keras

    from autograder.checks.models import check_feature_extractor

    def feature_extractor(model, layer_name):  # a new Input: not the model's graph
        return keras.Model(keras.Input((28, 28)), model.get_layer(layer_name).output)

    msg = failure(check_feature_extractor, feature_extractor)
    assert msg.startswith("check_feature_extractor: your code raised")
    assert "keras.Model(model.inputs, model.get_layer(name).output)" in msg
