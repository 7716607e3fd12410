"""The functions test cells call.

A test cell is short: ``from autograder.checks import check_stable_softmax`` and one call.
A check raises ``AssertionError`` with what was expected, what was found, where, and a hint.

Layout: `arrays` (comparing arrays, shared by every check), `gradients` (tape references and
numerical gradients), `training` (accuracy thresholds: the checks train the student's model
themselves, with no dataset loader reachable), `source` (rules on the syntax tree of the
student's code), then one module per chapter family: `environment` (00), `tensors` (01),
`activations` (02), `optimizers` and `losses` (03), `regression` and `metrics` (04; `losses`
also has its Huber and log-cosh), `classification` (05), `regularization` (06), `convolution`
(07), `augmentation` (08), `models` (09), `callbacks` (10), `transfer` (11), `precision` (12),
`sequences` (13).
Test cells of chapters 04 onwards import from those modules directly.
"""

from autograder.checks.activations import (
    check_activation,
    check_central_difference,
    check_relative_error,
    check_softmax,
)
from autograder.checks.arrays import check_array, check_scalar, relative_error, to_numpy
from autograder.checks.environment import check_environment_facts, check_seeded_kernel
from autograder.checks.gradients import check_gradient, numeric_gradient, reference_gradient
from autograder.checks.tensors import (
    check_extract_patches,
    check_linear_mse_gradients,
    check_masked_mean,
    check_normalize_channels,
    check_one_hot,
    check_pairwise_distances,
    check_stable_softmax,
)

__all__ = [
    "check_activation",
    "check_central_difference",
    "check_relative_error",
    "check_softmax",
    "check_array",
    "check_environment_facts",
    "check_extract_patches",
    "check_gradient",
    "check_linear_mse_gradients",
    "check_masked_mean",
    "check_normalize_channels",
    "check_one_hot",
    "check_pairwise_distances",
    "check_scalar",
    "check_seeded_kernel",
    "check_stable_softmax",
    "numeric_gradient",
    "reference_gradient",
    "relative_error",
    "to_numpy",
]
