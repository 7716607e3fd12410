"""Chapter 03 checks: the solution's optimizers, losses and schedules pass; plausible wrong
implementations (textbook or PyTorch forms, off-by-one steps, sign errors) each fail with a
message that names the step and points at the mistake."""

import math

import numpy as np
import pytest
from conftest import failure, solution_functions

from autograder.checks.losses import check_loss, check_loss_grad
from autograder.checks.optimizers import check_optimizer, check_schedule
from autograder.grader import samples


def _base_class_source() -> str:
    nb = samples.solution_notebook("03_optimizers")
    return next(c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith("class Optimizer"))


S = solution_functions(
    "03_optimizers",
    "import math\nimport numpy as np\nimport keras\nimport tensorflow as tf\n" + _base_class_source(),
)
SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Nadam = (S[n] for n in ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Nadam"))
ALL_CASES = ("quadratic", "network", "tiny")


@pytest.mark.parametrize(
    "cls, name, hyper",
    [(SGD, "SGD", {}), (SGD, "SGD", {"momentum": 0.9}), (SGD, "SGD", {"momentum": 0.8, "nesterov": True}),
     (Adagrad, "Adagrad", {}), (RMSprop, "RMSprop", {"centered": True, "momentum": 0.5}),
     (Adadelta, "Adadelta", {}), (Adam, "Adam", {}), (Adam, "Adam", {"amsgrad": True}),
     (Adam, "Adam", {"epsilon": 1.0, "learning_rate": 0.1}), (AdamW, "AdamW", {"weight_decay": 0.1}),
     (Nadam, "Nadam", {})],
)
def test_solution_optimizers_pass_every_case(cls, name, hyper):
    check_optimizer(cls, name, cases=ALL_CASES, **hyper)


# --- wrong optimizers: (class, keras name, hyperparameters, expected text in the message)


class SGDWrongSign(SGD):
    def update_step(self, i, param, grad, t):
        m = self.velocities[i]
        m[...] = self.momentum * m + self.learning_rate * grad
        param += m


class SGDNesterovIgnored(SGD):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.nesterov = False


class AdagradFromZero(Adagrad):
    def build(self, params):
        self.accumulators = [np.zeros_like(p) for p in params]


class AdagradEpsOutside(Adagrad):
    def update_step(self, i, param, grad, t):
        acc = self.accumulators[i]
        acc += grad * grad
        param -= self.learning_rate * grad / (np.sqrt(acc) + self.epsilon)


class RMSpropEpsOutside(RMSprop):
    def update_step(self, i, param, grad, t):
        v = self.velocities[i]
        v[...] = self.rho * v + (1 - self.rho) * grad * grad
        param -= self.learning_rate * grad / (np.sqrt(v) + self.epsilon)


class RMSpropCenteredIgnored(RMSprop):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.centered = False


class AdadeltaWithoutLR(Adadelta):
    def update_step(self, i, param, grad, t):
        lr, self.learning_rate = self.learning_rate, 1.0
        super().update_step(i, param, grad, t)
        self.learning_rate = lr


class AdamNoBiasCorrection(Adam):
    def update_step(self, i, param, grad, t):
        m, v = self.momentums[i], self.velocities[i]
        m += (grad - m) * (1 - self.beta_1)
        v += (grad * grad - v) * (1 - self.beta_2)
        param -= self.learning_rate * m / (np.sqrt(v) + self.epsilon)


class AdamTextbookEpsilon(Adam):
    def update_step(self, i, param, grad, t):
        m, v = self.momentums[i], self.velocities[i]
        m += (grad - m) * (1 - self.beta_1)
        v += (grad * grad - v) * (1 - self.beta_2)
        param -= self.learning_rate * (m / (1 - self.beta_1**t)) / (np.sqrt(v / (1 - self.beta_2**t)) + self.epsilon)


class AdamStepFromZero(Adam):
    def update_step(self, i, param, grad, t):
        super().update_step(i, param, grad, t + 1)


class AdamAmsgradIgnored(Adam):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.amsgrad = False


class AdamWAsL2(AdamW):
    def update_step(self, i, param, grad, t):
        Adam.update_step(self, i, param, grad + self.weight_decay * param, t)


class AdamWDecayAfter(AdamW):
    def update_step(self, i, param, grad, t):
        Adam.update_step(self, i, param, grad, t)
        param -= self.learning_rate * self.weight_decay * param


class NadamPlainBeta(Nadam):
    def update_step(self, i, param, grad, t):
        m, v = self.momentums[i], self.velocities[i]
        m += (grad - m) * (1 - self.beta_1)
        v += (grad * grad - v) * (1 - self.beta_2)
        m_hat = self.beta_1 * m / (1 - self.beta_1 ** (t + 1)) + (1 - self.beta_1) * grad / (1 - self.beta_1**t)
        param -= self.learning_rate * m_hat / (np.sqrt(v / (1 - self.beta_2**t)) + self.epsilon)


class NadamProductPerParameter(Nadam):
    def update_step(self, i, param, grad, t):
        self.u_product_step = -1  # forgets that this step already updated U_t
        super().update_step(i, param, grad, t)


WRONG_OPTIMIZERS = [
    (SGDWrongSign, "SGD", {"momentum": 0.9}, "opposite way"),
    (SGDNesterovIgnored, "SGD", {"momentum": 0.9, "nesterov": True}, "nesterov: w += momentum·m − lr·g"),
    (AdagradFromZero, "Adagrad", {}, "initial_accumulator_value"),
    (AdagradEpsOutside, "Adagrad", {"initial_accumulator_value": 0.0}, "ε inside the square root"),
    (RMSpropEpsOutside, "RMSprop", {}, "ε inside the sqrt"),
    (RMSpropCenteredIgnored, "RMSprop", {"centered": True}, "centered: a = ρ·a"),
    (AdadeltaWithoutLR, "Adadelta", {}, "Keras multiplies by learning_rate"),
    (AdamNoBiasCorrection, "Adam", {}, "Did you apply bias correction?"),
    (AdamTextbookEpsilon, "Adam", {}, "you add ε to √v̂ after bias-correcting v"),
    (AdamStepFromZero, "Adam", {}, "t = 1 at the first step"),
    (AdamAmsgradIgnored, "Adam", {"amsgrad": True}, "amsgrad: use v̂ = max(v̂, v)"),
    (AdamWAsL2, "AdamW", {"weight_decay": 0.1}, "not weight_decay·w added to the gradient"),
    (AdamWDecayAfter, "AdamW", {"learning_rate": 0.05, "weight_decay": 0.5}, "decoupled weight decay first"),
    (NadamPlainBeta, "Nadam", {}, "u_t = β1(1 − 0.5·0.96ᵗ)"),
    (NadamProductPerParameter, "Nadam", {}, "U_t = u_1·…·u_t"),
]


@pytest.mark.parametrize("cls, name, hyper, expected", WRONG_OPTIMIZERS, ids=[w[0].__name__ for w in WRONG_OPTIMIZERS])
def test_wrong_optimizer_fails_with_step_and_hint(cls, name, hyper, expected):
    msg = failure(check_optimizer, cls, name, cases=ALL_CASES, **hyper)
    assert "differs from Keras" in msg.splitlines()[0] and f"keras.optimizers.{name}" in msg
    assert expected in msg, msg


def test_message_names_case_step_parameter_and_values():
    msg = failure(check_optimizer, AdamTextbookEpsilon, "Adam", cases=["tiny"])
    assert msg.startswith("AdamTextbookEpsilon: step 1/100 differs from Keras\n")
    assert "on the 'tiny' gradients" in msg and "parameter 0" in msg
    assert "before the step" in msg and "expected" in msg and "found" in msg
    assert "ε to √v̂" in msg


def test_a_parameter_that_changes_shape_is_reported():
    class Reshaper(SGD):
        def apply(self, params, grads):
            super().apply(params, grads)
            params[1] = params[1].ravel()

    assert "changed shape" in failure(check_optimizer, Reshaper, "SGD")


# --- losses

L = S


@pytest.mark.parametrize("from_logits", [False, True])
def test_solution_losses_pass(from_logits):
    check_loss(L["binary_crossentropy"], "binary_crossentropy", from_logits=from_logits)
    check_loss_grad(L["binary_crossentropy_grad"], "binary_crossentropy", from_logits=from_logits)
    check_loss(L["categorical_crossentropy"], "categorical_crossentropy", from_logits=from_logits)
    check_loss(L["sparse_categorical_crossentropy"], "sparse_categorical_crossentropy", from_logits=from_logits)
    check_loss(L["binary_focal_crossentropy"], "binary_focal_crossentropy", from_logits=from_logits)
    check_loss_grad(L["categorical_crossentropy_grad"], "categorical_crossentropy", from_logits=True)


def test_bce_from_logits_through_sigmoid_overflows():
    def naive(y, z, from_logits=False):
        p = 1 / (1 + np.exp(-z))
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)

    assert "FloatingPointError" in failure(check_loss, naive, "binary_crossentropy", from_logits=True)


def test_bce_without_clipping_fails_on_certain_predictions():
    def unclipped(y, p, from_logits=False):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)

    msg = failure(check_loss, unclipped, "binary_crossentropy", y_true=np.array([[0.0, 1.0, 1.0]]), y_pred=np.array([[0.0, 1.0, 0.0]]))
    assert "clip to [1e-7, 1 − 1e-7]" in msg


def test_bce_gradient_without_the_mean_over_the_last_axis():
    msg = failure(check_loss_grad, lambda y, p, from_logits=False: (p - y) / (p * (1 - p)), "binary_crossentropy")
    assert "divide by the size of the last axis" in msg


def test_cce_without_renormalising_probabilities():
    def unnormalised(y, p, from_logits=False):
        return -np.sum(y * np.log(np.clip(p, 1e-7, 1 - 1e-7)), axis=-1)

    check_loss(unnormalised, "categorical_crossentropy")  # visible inputs are normalised
    msg = failure(check_loss, unnormalised, "categorical_crossentropy", y_true=np.array([[1.0, 0.0, 0.0]]), y_pred=np.array([[2.0, 1.0, 1.0]]))
    assert "divide by their sum" in msg


def test_cce_logits_gradient_with_the_wrong_sign():
    def wrong(y, z, from_logits=True):
        e = np.exp(z - z.max(-1, keepdims=True))
        return y - e / e.sum(-1, keepdims=True)

    assert "softmax(z)·Σy − y" in failure(check_loss_grad, wrong, "categorical_crossentropy", from_logits=True)


def test_focal_without_the_modulating_factor():
    def plain(y, p, gamma=2.0, from_logits=False):
        return L["binary_crossentropy"](y, p).astype(float)

    assert "(1 − p_t)^γ" in failure(check_loss, plain, "binary_focal_crossentropy")


# --- schedules


def test_solution_schedules_pass():
    check_schedule(L["exponential_decay"], "ExponentialDecay", initial_learning_rate=0.2, decay_steps=7, decay_rate=0.9, staircase=True)
    check_schedule(L["piecewise_constant_decay"], "PiecewiseConstantDecay", boundaries=[0, 10, 11], values=[3.0, 2.0, 1.0, 0.5])
    check_schedule(L["cosine_decay"], "CosineDecay", initial_learning_rate=0.05, decay_steps=30, alpha=0.1)


def test_schedule_mistakes():
    def piecewise_strict(step, boundaries, values):
        return next((v for b, v in zip(boundaries, values, strict=False) if step < b), values[-1])

    msg = failure(check_schedule, piecewise_strict, "PiecewiseConstantDecay", boundaries=[20, 50], values=[1.0, 0.5, 0.1])
    assert "at step 20" in msg and "belongs to the earlier piece" in msg

    def cosine_uncapped(step, initial_learning_rate, decay_steps, alpha=0.0):
        return initial_learning_rate * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / decay_steps)) + alpha)

    assert "at step 101" in failure(check_schedule, cosine_uncapped, "CosineDecay", initial_learning_rate=0.1, decay_steps=100)

    def exp_no_staircase(step, initial_learning_rate, decay_steps, decay_rate, staircase=False):
        return initial_learning_rate * decay_rate ** (step / decay_steps)

    msg = failure(check_schedule, exp_no_staircase, "ExponentialDecay", initial_learning_rate=0.2, decay_steps=7, decay_rate=0.9, staircase=True)
    assert "at step 1:" in msg and "floor(step / decay_steps)" in msg
    assert "found None" in failure(check_schedule, lambda step, **kw: None, "CosineDecay", initial_learning_rate=0.1, decay_steps=10)


# Real cases from 71 public implementations (issue 16): each message names the cause in its
# first lines, and no line is over 78 characters (asserted by `failure`).

def test_textbook_adam_on_the_network_gradients_names_epsilon_placement():
    msg = failure(check_optimizer, AdamTextbookEpsilon, "Adam", cases=["network"])
    first = msg.splitlines()[0]
    assert first == "AdamTextbookEpsilon: step 1/100 differs from Keras"
    assert "Hint: you add ε to √v̂ after bias-correcting v (the textbook form)" in msg
    assert "check the initial state" not in msg  # the step-1 prefix is no longer attached


def test_a_wrong_default_is_named():
    import inspect

    class AdamEps8(Adam):
        def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, amsgrad=False):
            super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                             amsgrad=amsgrad)

    assert "epsilon" in inspect.signature(AdamEps8).parameters
    msg = failure(check_optimizer, AdamEps8, "Adam", cases=["tiny"])
    assert "Hint: your default epsilon=1e-08 (Keras: 1e-07) differs from Keras's" in msg


@pytest.mark.parametrize("mutant, cause", [
    ("no_op", "left the parameters unchanged"),
    ("sign_flip", "opposite way"),
    ("lr_x10", "your step is 10× Keras's"),
])
def test_generic_wrong_optimizers_fail_on_the_tiny_gradients_with_their_cause(mutant, cause):
    from autograder.grader import mutants

    for name, hyper in [("SGD", {"momentum": 0.5}), ("Adadelta", {"learning_rate": 0.5, "epsilon": 1e-6}),
                        ("Adagrad", {"initial_accumulator_value": 0.0, "epsilon": 1e-7}), ("RMSprop", {})]:
        wrong, _ = mutants.mutants_for(S[name])[mutant]
        msg = failure(check_optimizer, wrong, name, cases=["tiny"], **hyper)
        assert cause in msg, msg


def test_adadelta_that_ignores_epsilon_fails_the_hidden_call():
    class AdadeltaFixedEps(Adadelta):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.epsilon = 1e-7

    # the hidden call of chapter 03 (on "tiny" alone ε cancels out of Adadelta's step)
    msg = failure(check_optimizer, AdadeltaFixedEps, "Adadelta", cases=["network", "tiny"], learning_rate=0.5,
                  epsilon=1e-6)
    assert "keras.optimizers.Adadelta" in msg


# chapter 03's threshold check says which part of train() fell short (issue 16's real cases)

def test_a_train_that_never_writes_back_is_told_to_assign():
    from autograder.checks.training import check_custom_training

    def train(model, optimizer, x, y, epochs=5, batch_size=64, rng=None):
        for variable in model.trainable_variables:
            updated = variable.numpy() - 0.1  # a copy: the model never sees it
            del updated

    msg = failure(check_custom_training, train, Adam, threshold=0.78)
    assert "left the model's weights unchanged" in msg and "variable.assign" in msg


def test_a_train_of_one_epoch_is_told_how_many_steps_are_missing():
    from autograder.checks.training import check_custom_training

    def one_epoch(model, optimizer, x, y, epochs=5, batch_size=64, rng=None):
        return S["train"](model, optimizer, x, y, epochs=1, batch_size=batch_size, rng=rng)

    msg = failure(check_custom_training, one_epoch, Adam, threshold=0.80)
    assert "train() made 94 optimizer steps" in msg and "are 470" in msg
