"""Sample submissions, for ``make demo`` and for the grading-soundness tests.

* **perfect** — the solution notebook, submitted as is: full marks.
* **untouched** — the student notebook from ``course/``: 0 on every graded cell.
* **planted bugs** — the solution with known mistakes typed into answer cells. Each
  `PlantedBug` names the answer cell it edits, the exact text it replaces, and the test cell
  that must lose its points because of it (and the later cells that build on that answer,
  which it names as ``cascades``). A bug whose ``old`` text no longer appears in the
  solution raises `StaleBugError`, so this table cannot silently drift from the notebooks.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.grader.grading import RELEASE, REPO_ROOT, SOLUTIONS, notebook_path


class StaleBugError(ValueError):
    """A planted bug's text is not (or not exactly once) in its answer cell."""


@dataclass(frozen=True)
class PlantedBug:
    """A known mistake: replace ``old`` by ``new`` in answer cell ``cell`` of ``chapter``."""

    name: str
    chapter: str
    cell: str
    old: str
    new: str
    fails: str  # grade_id of the test cell that must score 0
    why: str
    cascades: tuple[str, ...] = ()  # later cells that build on this answer and fail with it


# Chapter 06's regularized model and its callbacks, as the solution writes them ...
REG_MODEL_OLD = """\
    model = keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10),
    ])
    return compile_model(model, keras.optimizers.AdamW(1e-3, weight_decay=0.01))
    ### END SOLUTION


def regularization_callbacks():
    ### BEGIN SOLUTION
    return [keras.callbacks.EarlyStopping("val_accuracy", patience=10, restore_best_weights=True)]"""
# ... and the planted mistake: the unregularized baseline again.
REG_MODEL_NEW = """\
    return compile_model(make_mlp(), keras.optimizers.Adam(1e-3))
    ### END SOLUTION


def regularization_callbacks():
    ### BEGIN SOLUTION
    return []"""

PLANTED_BUGS: tuple[PlantedBug, ...] = (
    PlantedBug(
        "keras_version_from_tf", "00_setup", "environment_facts",
        '"keras": keras.__version__', '"keras": tf.__version__',
        "test_environment_facts", "reports TensorFlow's version as Keras's",
    ),
    PlantedBug(
        "no_seed", "00_setup", "seeded_kernel",
        "    keras.utils.set_random_seed(seed)\n", "",
        "test_seeded_kernel", "builds the layer without seeding: not reproducible",
    ),
    PlantedBug(
        "reshape_without_transpose", "01_tensors", "extract_patches",
        "    x = tf.transpose(x, (0, 1, 3, 2, 4, 5))\n", "",
        "test_extract_patches", "reshape alone groups pixels of different patches",
    ),
    PlantedBug(
        "sqrt_without_clip", "01_tensors", "pairwise_distances",
        "tf.sqrt(tf.maximum(sq, 0.0))", "tf.sqrt(sq)",
        "test_pairwise_distances", "round-off makes squared distances negative: NaN (hidden test)",
    ),
    PlantedBug(
        "one_hot_bool", "01_tensors", "one_hot",
        "return tf.cast(hits, tf.float32)", "return hits",
        "test_one_hot", "returns booleans instead of float32",
    ),
    PlantedBug(
        "softmax_no_max_shift", "01_tensors", "stable_softmax",
        "shifted = logits - tf.reduce_max(logits, axis=axis, keepdims=True)", "shifted = logits",
        "test_stable_softmax", "exp overflows for large logits: NaN",
    ),
    PlantedBug(
        "masked_mean_plain_division", "01_tensors", "masked_mean",
        "return tf.math.divide_no_nan(total, count)", "return total / count",
        "test_masked_mean", "0/0 for an empty mask gives NaN (hidden test)",
    ),
    PlantedBug(
        "eps_outside_sqrt", "01_tensors", "normalize_channels",
        "return (x - mean) / tf.sqrt(var + eps)", "return (x - mean) / (tf.sqrt(var) + eps)",
        "test_normalize_channels", "epsilon outside the square root: wrong for small variances (hidden test)",
    ),
    PlantedBug(
        "sigmoid_grad_plus", "02_activations", "sigmoid_tanh",
        "return s * (1 - s)", "return s * (1 + s)",
        "test_sigmoid_tanh", "sigmoid' written as s(1 + s)",
    ),
    PlantedBug(
        "relu_grad_one_at_zero", "02_activations", "relu_family",
        "return (x > 0).astype(x.dtype)", "return (x >= 0).astype(x.dtype)",
        "test_relu_family", "relu'(0) = 1, but TensorFlow's value at the kink is 0",
    ),
    PlantedBug(
        "elu_grad_without_alpha", "02_activations", "elu_selu",
        "np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))", "np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))",
        "test_elu_selu", "forgets alpha in elu' (right only for alpha = 1: hidden test)",
    ),
    PlantedBug(
        "softplus_overflow", "02_activations", "softplus_silu",
        "return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)",
        "return np.log(1 + np.exp(x)).astype(x.dtype)",
        "test_softplus_silu", "log(1 + exp(x)) overflows for large x",
    ),
    PlantedBug(
        "gelu_tanh_without_cubic", "02_activations", "gelu",
        "u = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)", "u = np.sqrt(2 / np.pi) * x",
        "test_gelu", "drops the 0.044715 x^3 term of the tanh approximation",
    ),
    PlantedBug(
        "softmax_overflow", "02_activations", "softmax",
        "e = np.exp(x - np.max(x, axis=axis, keepdims=True))", "e = np.exp(x)",
        "test_softmax", "no max subtraction: exp overflows",
    ),
    PlantedBug(
        "forward_difference", "02_activations", "gradient_check",
        "return (f(x + h) - f(x - h)) / (2 * h)", "return (f(x + h) - f(x)) / h",
        "test_gradient_check", "forward instead of central difference",
    ),
    PlantedBug(
        "glorot_limit_is_the_std", "02_activations", "initializer_scales",
        "np.sqrt(6.0 / (fan_in + fan_out))", "np.sqrt(2.0 / (fan_in + fan_out))",
        "test_initializer_scales", "returns Glorot's standard deviation where the uniform's limit is asked (2 for 6)",
    ),
    PlantedBug(
        "he_stddev_untruncated", "02_activations", "initializer_scales",
        "np.sqrt(2.0 / fan_in) / truncnorm(-2, 2).std()", "np.sqrt(2.0 / fan_in)",
        "test_initializer_scales", "the paper's normal stddev: Keras's truncated normal needs it divided by 0.8796",
    ),
    PlantedBug(
        "momentum_wrong_sign", "03_optimizers", "sgd",
        "m[...] = self.momentum * m - lr * grad", "m[...] = self.momentum * m + lr * grad",
        "test_sgd", "velocity accumulates +lr·g: the parameters climb the gradient",
    ),
    PlantedBug(
        "adagrad_from_zero", "03_optimizers", "adagrad",
        "np.full_like(p, self.initial_accumulator_value)", "np.zeros_like(p)",
        "test_adagrad", "accumulator starts at 0 instead of initial_accumulator_value",
    ),
    PlantedBug(
        "rmsprop_eps_outside_sqrt", "03_optimizers", "rmsprop",
        "np.sqrt(denominator + self.epsilon)", "(np.sqrt(denominator) + self.epsilon)",
        "test_rmsprop", "textbook/PyTorch ε placement, outside the square root",
    ),
    PlantedBug(
        "adadelta_without_lr", "03_optimizers", "adadelta",
        "param += self.learning_rate * delta", "param += delta",
        "test_adadelta", "Zeiler's form without Keras's learning_rate",
    ),
    PlantedBug(
        "adam_epsilon_on_v_hat", "03_optimizers", "adam",
        "param -= alpha * m / (np.sqrt(v) + self.epsilon)",
        "param -= self.learning_rate * (m / (1 - self.beta_1**t)) / (np.sqrt(v / (1 - self.beta_2**t)) + self.epsilon)",
        "test_adam", "textbook ε on √v̂ instead of Keras's epsilon-hat form (hidden test with tiny gradients)",
        cascades=("test_adamw",),  # AdamW subclasses the student's Adam
    ),
    PlantedBug(
        "adamw_as_l2", "03_optimizers", "adamw",
        "param -= self.learning_rate * self.weight_decay * param\n        super().update_step(i, param, grad, t)",
        "super().update_step(i, param, grad + self.weight_decay * param, t)",
        "test_adamw", "weight decay added to the gradient (L2) instead of decoupled",
    ),
    PlantedBug(
        "nadam_plain_beta1", "03_optimizers", "nadam",
        "u_t = self.beta_1 * (1 - 0.5 * 0.96**t)", "u_t = self.beta_1",
        "test_nadam", "no momentum schedule for u_t",
    ),
    PlantedBug(
        "bce_logits_naive", "03_optimizers", "binary_crossentropy",
        "elementwise = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))",
        "elementwise = -(y_true * np.log(1 / (1 + np.exp(-z))) + (1 - y_true) * np.log(1 - 1 / (1 + np.exp(-z))))",
        "test_binary_crossentropy", "sigmoid then log: overflow and log(0) for large logits",
    ),
    PlantedBug(
        "cce_probabilities_not_renormalised", "03_optimizers", "categorical_crossentropy",
        "p = y_pred / np.sum(y_pred, axis=-1, keepdims=True)\n", "p = y_pred\n",
        "test_categorical_crossentropy", "Keras renormalises probabilities before the log (hidden test)",
    ),
    PlantedBug(
        "focal_without_modulation", "03_optimizers", "focal",
        "return ((1 - p_t) ** gamma * bce).mean(axis=-1)", "return bce.mean(axis=-1)",
        "test_focal", "plain cross-entropy: the (1 − p_t)^γ factor is missing",
    ),
    PlantedBug(
        "piecewise_boundary_off_by_one", "03_optimizers", "schedules",
        "if step <= boundary:", "if step < boundary:",
        "test_schedules", "a boundary step belongs to the earlier piece in Keras",
    ),
    PlantedBug(
        "train_without_assign", "03_optimizers", "train",
        "                variable.assign(value)\n", "                pass\n",
        "test_train", "the updated parameters are never written back: the model does not learn",
    ),
    PlantedBug(
        "sum_instead_of_mean", "01_tensors", "linear_mse_gradients",
        "loss = tf.reduce_mean(tf.square(x @ w + b - y))",
        "loss = tf.reduce_sum(tf.square(x @ w + b - y))",
        "test_linear_mse_gradients", "sums the squared errors: loss and gradients n times too big",
    ),
    # 04_regression
    PlantedBug(
        "stats_unbiased_variance", "04_regression", "normalization",
        "return x.mean(axis=0), x.var(axis=0)", "return x.mean(axis=0), x.var(axis=0, ddof=1)",
        "test_normalization", "the sample variance (N - 1): Keras's Normalization divides by N",
    ),
    PlantedBug(
        "normalize_no_epsilon", "04_regression", "normalization",
        "std = np.maximum(np.sqrt(variance), np.float32(keras.config.epsilon()))", "std = np.sqrt(variance)",
        "test_normalization", "divides by a zero standard deviation: NaN where Keras gives 0 (constant column)",
    ),
    PlantedBug(
        "vocabulary_alphabetical", "04_regression", "lookup",
        "return [str(name) for _, name in order]", "return sorted(str(name) for name in names)",
        "test_lookup", "alphabetical vocabulary: StringLookup orders by frequency",
    ),
    PlantedBug(
        "oov_not_column_zero", "04_regression", "lookup",
        "index = {name: i + 1 for i, name in enumerate(vocabulary)}",
        "index = {name: i for i, name in enumerate(vocabulary)}",
        "test_lookup", "no column for unknown values: the first category shares column 0 with [UNK]",
    ),
    PlantedBug(
        "huber_no_half", "04_regression", "losses",
        "np.where(small, 0.5 * r**2,", "np.where(small, r**2,",
        "test_losses", "the quadratic part without its 1/2: not continuous with the linear part",
    ),
    PlantedBug(
        "log_cosh_overflows", "04_regression", "losses",
        "return np.mean(a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0), axis=-1)",
        "return np.mean(np.log(np.cosh(a)), axis=-1)",
        "test_losses", "log(cosh(r)) overflows to inf for residuals beyond 710",
    ),
    PlantedBug(
        "huber_delta_fixed", "04_regression", "losses",
        "small = r <= delta", "small = r <= 1.0",
        "test_losses", "switches at |r| = 1 whatever delta is (only the hidden tests use another delta)",
    ),
    PlantedBug(
        "huber_grad_not_mean", "04_regression", "loss_grads",
        "return np.clip(r, -delta, delta) / y_pred.shape[-1]", "return np.clip(r, -delta, delta)",
        "test_loss_grads", "forgets the 1/n of the mean over the last axis",
    ),
    PlantedBug(
        "log_cosh_grad_sign", "04_regression", "loss_grads",
        "return np.tanh(y_pred - y_true) / y_pred.shape[-1]", "return np.tanh(y_true - y_pred) / y_pred.shape[-1]",
        "test_loss_grads", "the gradient with respect to y_true: the sign is flipped",
    ),
    PlantedBug(
        "r2_ignores_weights", "04_regression", "r2_metric",
        "w = ops.ones_like(y_true) if sample_weight is None else", "w = ops.ones_like(y_true) if True else",
        "test_r2_metric", "sample weights ignored: every target counts once",
    ),
    PlantedBug(
        "r2_reset_keeps_weight_sum", "04_regression", "r2_metric",
        "for variable in (self.weight_sum, self.target_sum, self.square_sum, self.residual_sum):",
        "for variable in (self.target_sum, self.square_sum, self.residual_sum):",
        "test_r2_metric", "reset_state leaves the sum of weights: the next epoch's R² is wrong",
    ),
    PlantedBug(
        "regressor_not_trained", "04_regression", "regressor",
        "    model.fit(x_train, y_train, epochs=100, batch_size=32, verbose=0)\n", "",
        "test_regressor", "returns the model untrained: the check measures, it does not train",
    ),
    # 05_classification: one bug in decision_grid and in classifier, so that bug group 1 hosts the stderr proofs
    PlantedBug(
        "cm_transposed", "05_classification", "confusion_matrix",
        'flat = np.asarray(y_true, dtype="int64") * num_classes + np.asarray(y_pred, dtype="int64")',
        'flat = np.asarray(y_pred, dtype="int64") * num_classes + np.asarray(y_true, dtype="int64")',
        "test_confusion_matrix", "rows are the predictions: the transpose of scikit-learn's matrix",
    ),
    PlantedBug(
        "cm_no_minlength", "05_classification", "confusion_matrix",
        "np.bincount(flat, minlength=num_classes * num_classes)", "np.bincount(flat)",
        "test_confusion_matrix", "no row or column for classes after the last one seen: the reshape fails",
    ),
    PlantedBug(
        "precision_from_rows", "05_classification", "precision_recall_f1",
        "tp, predicted, actual = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)",
        "tp, predicted, actual = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)",
        "test_precision_recall_f1", "precision and recall swapped: divides by the row sums for precision",
    ),
    PlantedBug(
        "weighted_by_predictions", "05_classification", "precision_recall_f1",
        'weights = np.ones_like(actual) if average == "macro" else actual',
        'weights = np.ones_like(actual) if average == "macro" else predicted',
        "test_precision_recall_f1", "weighted average by how often a class is predicted, not by its support",
    ),
    PlantedBug(
        "sweep_greater_or_equal", "05_classification", "threshold_sweep",
        "predicted = np.asarray(scores)[None, :] > np.asarray(thresholds)[:, None]",
        "predicted = np.asarray(scores)[None, :] >= np.asarray(thresholds)[:, None]",
        "test_threshold_sweep", "scikit-learn's >= where Keras counts a score as positive only above the threshold",
    ),
    PlantedBug(
        "fpr_over_predicted", "05_classification", "threshold_sweep",
        "ratio(fp, fp + tn)", "ratio(fp, fp + tp)",
        "test_threshold_sweep", "the false-discovery rate FP / (FP + TP) instead of FP / (FP + TN)",
    ),
    PlantedBug(
        "grid_transposed", "05_classification", "decision_grid",
        "probabilities = np.asarray(predict(points)).reshape(steps, steps)",
        "probabilities = np.asarray(predict(points)).reshape(steps, steps).T",
        "test_decision_grid", "probabilities transposed: rows follow x instead of y (meshgrid's xy indexing)",
    ),
    PlantedBug(
        "classifier_highest_threshold", "05_classification", "classifier",
        "return model, float(candidates[ok[0]] if ok.size else candidates[-1])",
        "return model, float(candidates[ok[-1]] if ok.size else candidates[-1])",
        "test_classifier", "the highest threshold reaching the precision: almost no shirt found (recall near 0)",
    ),
    # 06_regularization: grouped so that no two bugs of a shard (even / odd positions) share a cell.
    PlantedBug(
        "l2_with_half", "06_regularization", "penalties",
        "return l2 * np.sum(np.square(w))", "return 0.5 * l2 * np.sum(np.square(w))",
        "test_penalties", "the textbook ½λ‖w‖²: Keras's L2 has no ½",
    ),
    PlantedBug(
        "dropout_mask_inverted", "06_regularization", "dropout",
        "keep = rng.random(x.shape) >= rate", "keep = rng.random(x.shape) < rate",
        "test_dropout", "keeps units with probability rate instead of 1 - rate",
    ),
    PlantedBug(
        "l1_grad_sign_at_zero", "06_regularization", "penalty_grads",
        "return (l1 * np.sign(w)).astype(w.dtype)", "return (l1 * np.where(w >= 0, 1.0, -1.0)).astype(w.dtype)",
        "test_penalty_grads", "gradient +l1 at w = 0 where TensorFlow's subgradient is sign(0) = 0",
    ),
    PlantedBug(
        "bn_momentum_swapped", "06_regularization", "batchnorm_train",
        "new_mean = momentum * moving_mean + (1 - momentum) * mean",
        "new_mean = (1 - momentum) * moving_mean + momentum * mean",
        "test_batchnorm_train", "PyTorch's convention for momentum with Keras's value: the moving mean jumps to the batch",
    ),
    PlantedBug(
        "dropout_no_rescale", "06_regularization", "dropout",
        "np.where(keep, x / (1 - rate), 0)", "np.where(keep, x, 0)",
        "test_dropout", "not inverted: kept units are not divided by 1 - rate, so E[output] != x",
    ),
    PlantedBug(
        "no_regularization", "06_regularization", "regularized_model",
        REG_MODEL_OLD, REG_MODEL_NEW,
        "test_regularized_model", "the baseline again (no dropout, no decay, no early stopping): no gain",
    ),
    PlantedBug(
        "bn_unbiased_variance", "06_regularization", "batchnorm_train",
        "var = x.var(axis=axes)", "var = x.var(axis=axes, ddof=1)",
        "test_batchnorm_train", "the unbiased variance: Keras divides by N, not N - 1",
    ),
    PlantedBug(
        "bn_inference_batch_stats", "06_regularization", "batchnorm_inference",
        "gamma * (x - moving_mean)", "gamma * (x - x.mean(axis=0))",
        "test_batchnorm_inference", "inference centred with the batch's mean instead of the moving mean",
    ),
    PlantedBug(
        "bn_inference_no_epsilon", "06_regularization", "batchnorm_inference",
        "np.sqrt(moving_variance + epsilon)", "np.sqrt(moving_variance)",
        "test_batchnorm_inference", "forgets epsilon under the square root",
    ),
    PlantedBug(
        "l1_wrong_default", "06_regularization", "penalties",
        "def l1_penalty(w, l1=0.01):", "def l1_penalty(w, l1=0.1):",
        "test_penalties", "default strength 0.1 instead of Keras's 0.01 (only the hidden tests call it without l1)",
    ),
    # 07_convolutions: two bugs in each NumPy layer, one in conv_output_size and in cnn (bug group 1 hosts the
    # stderr proofs)
    PlantedBug(
        "conv_flipped_kernel", "07_convolutions", "conv2d",
        "out += window @ w[p, q]", "out += window @ w[kh - 1 - p, kw - 1 - q]",
        "test_conv2d", "the textbook convolution (kernel flipped) where Keras cross-correlates",
    ),
    PlantedBug(
        "conv_no_dilation", "07_convolutions", "conv2d",
        "window = x[:, taps(p * dilation, ho, stride), taps(q * dilation, wo, stride), :]",
        "window = x[:, taps(p, ho, stride), taps(q, wo, stride), :]",
        "test_conv2d", "the taps read neighbouring pixels even when the kernel is dilated",
    ),
    PlantedBug(
        "conv_backward_db_mean", "07_convolutions", "conv2d_backward",
        "return dx, dw, dout.sum(axis=(0, 1, 2))", "return dx, dw, dout.mean(axis=(0, 1, 2))",
        "test_conv2d_backward", "db averages dout over batch and positions instead of summing",
    ),
    PlantedBug(
        "conv_backward_dx_overwrites", "07_convolutions", "conv2d_backward",
        "dxp[:, rows, cols, :] += dout @ w[p, q].T", "dxp[:, rows, cols, :] = dout @ w[p, q].T",
        "test_conv2d_backward", "dx keeps only the last tap's contribution where windows overlap",
    ),
    PlantedBug(
        "pool_stride_ignored", "07_convolutions", "max_pool",
        "stride = stride or pool", "stride = pool",
        "test_max_pool", "the windows never overlap: the stride is always the pool size",
    ),
    PlantedBug(
        "pool_zero_start", "07_convolutions", "max_pool",
        'out = np.full((x.shape[0], ho, wo, x.shape[3]), -np.inf, dtype=x.dtype)',
        'out = np.zeros((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)',
        "test_max_pool", "the maximum starts at 0: a window of negative values pools to 0",
    ),
    PlantedBug(
        "pool_grad_overwrites", "07_convolutions", "max_pool_backward",
        "dx[:, rows, cols, :] += np.where(x[:, rows, cols, :] == out, dout, 0)",
        "dx[:, rows, cols, :] = np.where(x[:, rows, cols, :] == out, dout, 0)",
        "test_max_pool_backward", "overlapping windows overwrite each other's gradient instead of adding it",
    ),
    PlantedBug(
        "pool_grad_to_every_pixel", "07_convolutions", "max_pool_backward",
        "np.where(x[:, rows, cols, :] == out, dout, 0)", "dout / pool**2",
        "test_max_pool_backward", "average pooling's gradient: every pixel of a window gets a share",
    ),
    PlantedBug(
        "size_same_floor", "07_convolutions", "conv_output_size",
        "return -(-n // stride)", "return n // stride",
        "test_conv_output_size", "'same' rounds n / stride down instead of up",
    ),
    PlantedBug(
        "cnn_one_hot_loss", "07_convolutions", "cnn",
        "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
        "keras.losses.CategoricalCrossentropy(from_logits=True)",
        "test_cnn", "a loss for one-hot labels on integer labels: training fails on the shapes",
    ),
    # 08_data_augmentation: the even and the odd positions form the two shards.
    PlantedBug(
        "zoom_without_seed", "08_data_augmentation", "augmenter",
        'keras.layers.RandomZoom(0.05, fill_mode="constant", seed=seed)',
        'keras.layers.RandomZoom(0.05, fill_mode="constant")',
        "test_augmenter", "one layer without the seed: the augmentation is not reproducible",
    ),
    PlantedBug(
        "eval_pipeline_augmented", "08_data_augmentation", "make_dataset",
        "    if training and augmenter is not None:\n", "    if augmenter is not None:\n",
        "test_make_dataset", "augments the evaluation pipeline too (only the hidden test passes an augmenter)",
    ),
    PlantedBug(
        "deletion_deletes_negations", "08_data_augmentation", "swap_delete",
        "if word in NEGATIONS or rng.random() >= p", "if rng.random() >= p",
        "test_swap_delete", "may delete 'not': the augmented sentence can have the opposite label",
    ),
    PlantedBug(
        "insertion_inserts_the_word", "08_data_augmentation", "replace_insert",
        "words.insert(int(rng.integers(len(words) + 1)), synonym)",
        "words.insert(int(rng.integers(len(words) + 1)), word)",
        "test_replace_insert", "inserts a copy of the word instead of a synonym",
    ),
    PlantedBug(
        "no_augmentation", "08_data_augmentation", "augmented_model",
        "([augmenter] if augmenter is not None else [])", "[]",
        "test_augmented_model", "ignores the augmenter: the 'augmented' model is the plain one, no gain",
    ),
    PlantedBug(
        "swap_overwrites", "08_data_augmentation", "swap_delete",
        "words[i], words[j] = words[j], words[i]", "words[i] = words[j]",
        "test_swap_delete", "copies instead of swapping: a word is lost, another duplicated",
    ),
    PlantedBug(
        "no_cache", "08_data_augmentation", "make_dataset",
        "ds = ds.cache().shuffle(len(x), seed=seed)", "ds = ds.shuffle(len(x), seed=seed)",
        "test_make_dataset", "no cache(): decoding is repeated every epoch",
    ),
    PlantedBug(
        "replacement_per_occurrence", "08_data_augmentation", "replace_insert",
        "return [new.get(word, word) for word in words]",
        "return [synonyms[w][rng.integers(len(synonyms[w]))] if w in new else w for w in words]",
        "test_replace_insert", "draws a different synonym for each occurrence of a chosen word",
    ),
    # 09_model_apis
    PlantedBug(
        "sequential_32_units", "09_model_apis", "sequential",
        'keras.layers.Dense(64, activation="relu", name="hidden"),', 'keras.layers.Dense(32, activation="relu", name="hidden"),',
        "test_sequential", "32 hidden units instead of 64: shapes and parameter counts differ from the spec",
    ),
    PlantedBug(
        "functional_no_relu", "09_model_apis", "functional",
        'x = keras.layers.Dense(64, activation="relu", name="hidden")(x)', 'x = keras.layers.Dense(64, name="hidden")(x)',
        "test_functional", "forgets the ReLU: the right shapes, a different function",
    ),
    PlantedBug(
        "subclass_always_drops", "09_model_apis", "subclassed",
        "self.dropout(x, training=training)", "self.dropout(x, training=True)",
        "test_subclassed", "forces training=True on the dropout: units are dropped at inference too",
    ),
    PlantedBug(
        "ticket_department_mse", "09_model_apis", "ticket_model",
        '"department": "categorical_crossentropy"}', '"department": "mean_squared_error"}',
        "test_ticket_model", "MSE for the department classifier instead of categorical cross-entropy",
    ),
    PlantedBug(
        "extractor_layer_before_last", "09_model_apis", "feature_extractor",
        "model.get_layer(layer_name).output", "model.layers[-2].output",
        "test_feature_extractor", "always the layer before the last, whatever name is asked for",
    ),
    PlantedBug(
        "dense_no_bias", "09_model_apis", "dense_layer",
        "ops.matmul(inputs, self.kernel) + self.bias", "ops.matmul(inputs, self.kernel)",
        "test_dense_layer", "forgets the bias in call: outputs and gradients differ, ∂/∂bias is None",
    ),
    PlantedBug(
        "rmse_ignores_sample_weight", "09_model_apis", "rmse",
        'weight = ops.ones_like(error) if sample_weight is None else ops.cast(sample_weight, "float32")',
        "weight = ops.ones_like(error)",
        "test_rmse", "ignores sample_weight",
    ),
    PlantedBug(
        "dense_config_without_activation", "09_model_apis", "dense_layer",
        "config.update(units=self.units, activation=keras.activations.serialize(self.activation))",
        "config.update(units=self.units)",
        "test_dense_layer", "get_config forgets the activation: a reloaded layer is linear",
    ),
    PlantedBug(
        "rmse_reset_keeps_count", "09_model_apis", "rmse",
        "        self.total.assign(0.0)\n        self.count.assign(0.0)", "        self.total.assign(0.0)",
        "test_rmse", "reset_state leaves the count: every later result is too small",
    ),
    PlantedBug(
        "two_heads_group_untrained", "09_model_apis", "two_head_model",
        'metrics={"item": ["accuracy"], "group": ["accuracy"]},',
        'metrics={"item": ["accuracy"], "group": ["accuracy"]},\n        loss_weights={"item": 1.0, "group": 0.0},',
        "test_two_head_model", "the group head's loss has weight 0: that head never learns",
    ),
    # 10_callbacks
    PlantedBug(
        "es_patience_from_first_epoch", "10_callbacks", "early_stopper",
        "            self.best = current\n            self.wait = 0\n", "            self.best = current\n",
        "test_early_stopping", "never resets the count on an improvement: patience counts every epoch without "
        "improvement since the first, not the ones since the last improvement",
        cascades=("test_early_stopping_restore",),
    ),
    PlantedBug(
        "lr_ignores_cooldown", "10_callbacks", "plateau_reducer",
        "        elif self.cooldown_counter == 0:\n", "        else:\n",
        "test_reduce_lr", "counts epochs without improvement during the cooldown",
    ),
    PlantedBug(
        "checkpoint_every_epoch", "10_callbacks", "checkpoint",
        "save_best_only=True", "save_best_only=False",
        "test_checkpoint", "saves every epoch: the file holds the last epoch, not the best",
    ),
    PlantedBug(
        "es_no_restore", "10_callbacks", "early_stopper",
        "            self.model.set_weights(self.best_weights)", "            pass",
        "test_early_stopping_restore", "keeps the best weights but never puts them back",
        cascades=("test_callbacks_in_fit",),
    ),
    PlantedBug(
        "lr_auto_mode_by_name", "10_callbacks", "plateau_reducer",
        "self.mode = auto_mode(self.model, self.monitor)",
        'self.mode = "min" if self.monitor.endswith("loss") else "max"',
        "test_reduce_lr", "mode='auto' guessed from the name: val_mae is maximised, where Keras minimises it",
    ),
    PlantedBug(
        "lr_below_min_lr", "10_callbacks", "plateau_reducer",
        "max(lr * self.factor, self.min_lr)", "lr * self.factor",
        "test_reduce_lr", "reduces below min_lr",
    ),
    PlantedBug(
        "es_min_delta_ignored", "10_callbacks", "early_stopper",
        "return current < self.best - self.min_delta", "return current < self.best",
        "test_early_stopping", "ignores min_delta in min mode: any decrease counts as an improvement",
        cascades=("test_early_stopping_restore",),
    ),
    PlantedBug(
        "es_state_never_reset", "10_callbacks", "early_stopper",
        "    def on_train_begin(self, logs=None):\n        self.wait = 0\n        self.best = None\n"
        "        self.best_weights = None\n",
        "    wait, best, best_weights = 0, None, None  # set once per instance, never reset\n",
        "test_callbacks_in_fit", "state set once, not in on_train_begin: a second fit starts from the first's best",
    ),
    PlantedBug(
        "checkpoint_no_restore", "10_callbacks", "checkpoint",
        "patience=3, restore_best_weights=True", "patience=3",
        "test_checkpoint", "early stopping without restore: the model in memory is not the checkpoint",
    ),
    PlantedBug(
        "base_not_frozen", "11_transfer_learning", "transfer_model",
        "    base.trainable = False\n    inputs = keras.Input((28, 28, 1))\n",
        "    inputs = keras.Input((28, 28, 1))\n",
        "test_transfer_model", "the head is warmed up with the whole base trainable",
    ),
    PlantedBug(
        "no_training_false", "11_transfer_learning", "transfer_model",
        "features = base(inputs, training=False)", "features = base(inputs)",
        "test_transfer_model", "the base is not called with training=False",
    ),
    PlantedBug(
        "fine_tune_same_lr", "11_transfer_learning", "fine_tune",
        "keras.optimizers.Adam(learning_rate / 10)", "keras.optimizers.Adam(learning_rate)",
        "test_transfer_accuracy", "fine-tunes with the warm-up learning rate: the pretrained features are wrecked",
        cascades=("test_fine_tune",),
    ),
    PlantedBug(
        "fine_tune_unfreezes_all", "11_transfer_learning", "fine_tune",
        "layer.trainable = i >= first_unfrozen and not is_batch_norm", "layer.trainable = not is_batch_norm",
        "test_fine_tune", "unfreezes every layer of the base, not the top n",
    ),
    PlantedBug(
        "fine_tune_trusts_base_trainable", "11_transfer_learning", "fine_tune",
        "        is_batch_norm = isinstance(layer, keras.layers.BatchNormalization)\n",
        "        is_batch_norm = isinstance(layer, keras.layers.BatchNormalization)\n"
        "        if i >= first_unfrozen and not is_batch_norm:\n"
        "            continue  # left as base.trainable = True made it\n",
        "test_fine_tune", "relies on base.trainable = True to unfreeze the top: a no-op on a model fine-tuned before",
    ),
    PlantedBug(
        "features_in_training_mode", "11_transfer_learning", "extract_features",
        "return base.predict(images, batch_size=batch_size, verbose=0)",
        "return keras.ops.convert_to_numpy(base(images, training=True))",
        "test_extract_features", "computes the features in training mode: BatchNormalization uses batch statistics",
    ),
    PlantedBug(
        "float16_output", "12_mixed_precision", "mixed_model",
        'keras.layers.Activation("softmax", dtype="float32")', 'keras.layers.Activation("softmax")',
        "test_mixed_model", "the output layer computes in float16",
    ),
    PlantedBug(
        "no_unscale", "12_mixed_precision", "scaled_gradients",
        "return [g / scale for g in grads]", "return grads",
        "test_scaled_gradients", "loss scaling without unscaling the gradients",
    ),
    PlantedBug(
        "no_loss_scaling", "12_mixed_precision", "scaled_gradients",
        "scaled_loss = loss * scale", "scaled_loss = loss",
        "test_scaled_gradients", "divides by the scale without having scaled the loss: gradients underflow",
    ),
    PlantedBug(
        "overflow_keeps_counter", "12_mixed_precision", "loss_scale_update",
        "return scale / 2.0, 0, False", "return scale / 2.0, counter, False",
        "test_loss_scale_update", "does not reset the good-step counter on an overflow",
    ),
    PlantedBug(
        "grow_off_by_one", "12_mixed_precision", "loss_scale_update",
        "if counter == growth_steps - 1:", "if counter == growth_steps:",
        "test_loss_scale_update", "doubles the scale one step late",
    ),
    PlantedBug(
        "timing_returns_list", "12_mixed_precision", "train_step_seconds",
        "return float(np.median(times))", "return times",
        "test_speedup", "returns every step's time, not the median seconds per step",
    ),
    # 13_sequences: two bugs in each recurrent layer, one in windows and in forecaster (bug group 1 hosts the
    # stderr proofs)
    PlantedBug(
        "rnn_ignores_h0", "13_sequences", "simple_rnn",
        "h = np.zeros((x.shape[0], recurrent_kernel.shape[0]), dtype=x.dtype) if h0 is None else h0",
        "h = np.zeros((x.shape[0], recurrent_kernel.shape[0]), dtype=x.dtype)",
        "test_simple_rnn", "always starts from zeros: the initial state h0 is ignored",
    ),
    PlantedBug(
        "rnn_states_one_step_late", "13_sequences", "simple_rnn",
        "        h = np.tanh(x[:, t] @ kernel + h @ recurrent_kernel + bias)\n        states.append(h)",
        "        states.append(h)\n        h = np.tanh(x[:, t] @ kernel + h @ recurrent_kernel + bias)",
        "test_simple_rnn", "returns h_0 … h_{T−1}: each state is stored before it is updated",
    ),
    PlantedBug(
        "gru_textbook_update", "13_sequences", "gru_step",
        "return z * h + (1.0 - z) * candidate", "return z * candidate + (1.0 - z) * h",
        "test_gru_step", "the textbook's update, z·h̃ + (1 − z)·h, where Keras keeps the state where z is 1",
    ),
    PlantedBug(
        "gru_bias_rows_swapped", "13_sequences", "gru_step",
        "b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, 0.0)",
        "b_in, b_rec = (bias[1], bias[0]) if reset_after else (bias, 0.0)",
        "test_gru_step", "input and recurrent bias rows swapped: the candidate's recurrent bias escapes the reset gate",
    ),
    PlantedBug(
        "windows_stride_ignored", "13_sequences", "windows",
        "starts = np.arange(0, len(series) - window - horizon + 1, stride)",
        "starts = np.arange(0, len(series) - window - horizon + 1)",
        "test_windows", "a window at every step whatever the stride (caught by the hidden tests only)",
    ),
    PlantedBug(
        "forecaster_predicts_level", "13_sequences", "forecaster",
        "model = keras.Model(inputs, last + keras.layers.Dense(1)(hidden))",
        "model = keras.Model(inputs, keras.layers.Dense(1)(hidden))",
        "test_forecaster", "predicts the level (~350 ppm) from the changes alone: far worse than the naive forecast",
    ),
)

# The bugs in the "buggy" demo student: one caught by a visible test, one only by a hidden test.
DEMO_BUGS = {
    "00_setup": ("no_seed",),
    "01_tensors": ("softmax_no_max_shift", "eps_outside_sqrt"),
    "02_activations": ("sigmoid_grad_plus", "elu_grad_without_alpha"),
    "03_optimizers": ("adam_epsilon_on_v_hat", "rmsprop_eps_outside_sqrt"),
    "04_regression": ("normalize_no_epsilon", "huber_delta_fixed"),
    "05_classification": ("cm_transposed", "sweep_greater_or_equal"),
    "06_regularization": ("dropout_no_rescale", "l1_wrong_default"),
    "07_convolutions": ("size_same_floor", "pool_grad_overwrites"),
    "08_data_augmentation": ("no_cache", "eval_pipeline_augmented"),
    "09_model_apis": ("subclass_always_drops", "rmse_reset_keeps_count"),
    "10_callbacks": ("lr_ignores_cooldown", "checkpoint_every_epoch"),
    "11_transfer_learning": ("no_training_false", "fine_tune_unfreezes_all"),
    "12_mixed_precision": ("float16_output", "grow_off_by_one"),
    "13_sequences": ("gru_textbook_update", "windows_stride_ignored"),
}


def bugs_for(chapter: str) -> list[PlantedBug]:
    return [bug for bug in PLANTED_BUGS if bug.chapter == chapter]


def bug(name: str) -> PlantedBug:
    for candidate in PLANTED_BUGS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no planted bug named {name!r}")


def read_notebook(path: Path):
    return nbformat.read(path, as_version=4)


def solution_notebook(chapter: str, root: Path = REPO_ROOT):
    return read_notebook(notebook_path(root, SOLUTIONS, chapter))


def untouched_notebook(chapter: str, root: Path = REPO_ROOT):
    return read_notebook(notebook_path(root, RELEASE, chapter))


def find_cell(nb, grade_id: str):
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def plant(nb, bugs: list[PlantedBug]):
    """A copy of ``nb`` with each bug's text replaced in its answer cell."""
    nb = copy.deepcopy(nb)
    for planted in bugs:
        cell = find_cell(nb, planted.cell)
        count = cell.source.count(planted.old)
        if count != 1:
            raise StaleBugError(
                f"planted bug {planted.name!r}: expected its text once in cell "
                f"{planted.cell!r} of {planted.chapter}, found it {count} times"
            )
        cell.source = cell.source.replace(planted.old, planted.new)
    return nb


def tamper_tests(nb):
    """A copy of ``nb`` whose every test cell is replaced by a passing one-liner, whose written
    answers claim 100 points and whose read-only questions are rewritten (what a student trying
    to game the grader would do; nbgrader restores all of it from the gradebook)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            cell.source = "print('all tests passed')  # edited by the student"
        elif meta.get("grade"):
            meta["points"] = 100
        elif meta.get("locked") and cell.cell_type == "markdown":
            cell.source = "Full marks for any answer (edited by the student)."
    return nb


def graded_cells(nb) -> dict[str, float]:
    """Points of every autograded (test) cell, by grade_id."""
    return {
        meta["grade_id"]: float(meta.get("points", 0))
        for meta in (cell.metadata.get("nbgrader", {}) for cell in nb.cells)
        if meta.get("grade") and not meta.get("solution")
    }


def manual_cells(nb) -> dict[str, float]:
    """Points of every cell a grader scores by hand (a written answer: nbgrader's "manually
    graded answer"), by grade_id."""
    return {
        meta["grade_id"]: float(meta.get("points", 0))
        for meta in (cell.metadata.get("nbgrader", {}) for cell in nb.cells)
        if meta.get("grade") and meta.get("solution") or meta.get("task")
    }


def expected_scores(nb, bugs: list[PlantedBug]) -> dict[str, float | None]:
    """Score of every graded cell of a solution with ``bugs`` planted: None for the written
    answers, which wait for a grader (the autograder neither passes nor fails them)."""
    failing = {cell for planted in bugs for cell in (planted.fails, *planted.cascades)}
    return {**{cell: (0.0 if cell in failing else points) for cell, points in graded_cells(nb).items()},
            **dict.fromkeys(manual_cells(nb))}


def perfect_student(chapter: str, root: Path = REPO_ROOT):
    """The solution as a submission, and its expected score per graded cell (full marks)."""
    solution = solution_notebook(chapter, root)
    return solution, expected_scores(solution, [])


def untouched_student(chapter: str, root: Path = REPO_ROOT):
    """The released student notebook as a submission, and its expected scores (0 everywhere)."""
    solution = solution_notebook(chapter, root)
    cells = {**graded_cells(solution), **manual_cells(solution)}  # an unchanged answer scores 0 ("No response")
    return untouched_notebook(chapter, root), dict.fromkeys(cells, 0.0)


def buggy_student(chapter: str, bugs: list[PlantedBug], root: Path = REPO_ROOT):
    """The solution with ``bugs`` planted, and the scores they leave."""
    solution = solution_notebook(chapter, root)
    return plant(solution, bugs), expected_scores(solution, bugs)


def demo_students(chapter: str, root: Path = REPO_ROOT) -> dict[str, tuple[object, dict[str, float]]]:
    """The demo's three students for ``chapter``: notebook and expected score per graded cell."""
    return {
        "perfect": perfect_student(chapter, root),
        "untouched": untouched_student(chapter, root),
        "buggy": buggy_student(chapter, [bug(name) for name in DEMO_BUGS.get(chapter, ())], root),
    }
