"""Chapter 04 checks: the notebook's answers pass; the preprocessing, losses, metric and
regressor mistakes students make fail with a message that points at the mistake; the Keras
facts the chapter states hold."""

import keras
import numpy as np
import pytest
from conftest import failure, solution_functions

from autograder.checks.losses import check_loss, check_loss_grad, regression_case
from autograder.checks.regression import (
    category_case,
    check_lookup,
    check_normalization,
    check_r2_metric,
    table_case,
)
from autograder.checks.training import check_regressor

S = solution_functions("04_regression", "import keras\nimport numpy as np\nfrom keras import ops")


def test_solution_passes_every_check(capsys):
    check_normalization(S["normalization_stats"], S["normalize"])
    check_normalization(S["normalization_stats"], S["normalize"], *table_case(seed=5))
    check_lookup(S["build_vocabulary"], S["one_hot_lookup"])
    check_lookup(S["build_vocabulary"], S["one_hot_lookup"], *category_case(seed=3))
    for name in ("huber", "log_cosh"):
        check_loss(S[name], name)
        check_loss_grad(S[f"{name}_grad"], name)
    check_loss(S["huber"], "huber", delta=2.5)
    check_loss_grad(S["huber_grad"], "huber", delta=0.1)
    check_r2_metric(S["R2"])
    check_r2_metric(S["R2"], weighted=False, seed=4)
    assert "R² metric: OK" in capsys.readouterr().out


def test_keras_facts_the_chapter_states():
    # StringLookup: most frequent first, ties in descending order of the strings; one-hot int64.
    layer = keras.layers.StringLookup(output_mode="one_hot")
    layer.adapt(np.array(["b", "a", "c", "a", "b", "d", "e", "e", "c"], dtype=object))
    assert [str(v) for v in layer.get_vocabulary()] == ["[UNK]", "e", "c", "b", "a", "d"]
    assert layer(np.array(["a"], dtype=object)).dtype == "int64"
    # Normalization: population variance, max(sqrt(variance), 1e-7): constant column -> 0, new value -> 1e7.
    norm = keras.layers.Normalization(axis=None)
    norm.adapt(np.array([3.0, 3.0, 3.0], dtype="float32"))
    assert float(np.asarray(norm(np.array([3.0])))[0]) == 0.0
    assert float(np.asarray(norm(np.array([4.0])))[0]) == pytest.approx(1e7)
    norm = keras.layers.Normalization(axis=None)
    norm.adapt(np.array([1.0, 2.0, 3.0, 4.0], dtype="float32"))
    assert float(np.asarray(norm.variance).ravel()[0]) == pytest.approx(1.25)
    # R2Score: no value before the first batch (it raises), NaN on constant targets predicted exactly.
    with pytest.raises(AttributeError):
        keras.metrics.R2Score().result()
    metric = keras.metrics.R2Score()
    metric.update_state(np.ones((3, 1)), np.ones((3, 1)))
    assert np.isnan(float(metric.result()))
    # log_cosh is computed without cosh: finite at a residual of 1000 (cosh overflows float64 there).
    with np.errstate(over="ignore"):
        assert np.isinf(np.cosh(np.float64(1000.0)))
    assert float(keras.losses.log_cosh(np.zeros((1, 1)), np.full((1, 1), 1000.0))[0]) == pytest.approx(1000 - np.log(2))


def test_normalization_mistakes_fail_with_a_hint():
    stats, normalize = S["normalization_stats"], S["normalize"]
    msg = failure(check_normalization, lambda x: (x.mean(axis=0), x.var(axis=0, ddof=1)), normalize)
    assert "variance" in msg.splitlines()[0] and "N − 1" in msg
    msg = failure(check_normalization, lambda x: (x.mean(axis=0), x.std(axis=0)), normalize)
    assert "variance" in msg.splitlines()[0]
    assert "mean" in failure(check_normalization, lambda x: (x.mean(), x.var(axis=0)), normalize).splitlines()[0]
    msg = failure(check_normalization, stats, lambda x, m, v: ((x - m) / np.sqrt(v)).astype("float32"))
    assert "not finite" in msg or "NaN" in msg or "nan" in msg, msg
    assert "1e-7" in msg
    msg = failure(check_normalization, stats, lambda x, m, v: ((x - m) / v).astype("float32"))
    assert "normalize(x, mean, variance)" in msg.splitlines()[0]
    assert "a pair" in failure(check_normalization, lambda x: x.mean(axis=0), normalize)


def test_lookup_mistakes_fail_with_a_hint():
    vocabulary, one_hot = S["build_vocabulary"], S["one_hot_lookup"]
    msg = failure(check_lookup, lambda v: sorted(set(v)), one_hot)
    assert "not Keras's vocabulary" in msg and "counts:" in msg and "descending" in msg
    ascending_ties = lambda v: [n for _, n in sorted((-np.sum(v == n), n) for n in set(v))]  # noqa: E731
    assert "not Keras's vocabulary" in failure(check_lookup, ascending_ties, one_hot)

    def oov_last(values, vocab):
        rows = np.zeros((len(values), len(vocab) + 1), dtype="float32")
        for i, v in enumerate(values):
            rows[i, vocab.index(v) if v in vocab else len(vocab)] = 1.0
        return rows

    assert "column 0" in failure(check_lookup, vocabulary, oov_last)
    int_rows = lambda values, vocab: S["one_hot_lookup"](values, vocab).astype("int64")  # noqa: E731
    assert "dtype" in failure(check_lookup, vocabulary, int_rows).splitlines()[0]


def test_regression_loss_mistakes_fail_with_a_hint():
    huber_no_half = lambda y, p, delta=1.0: np.mean(np.where(np.abs(p - y) <= delta, (p - y) ** 2,  # noqa: E731
                                                             delta * np.abs(p - y) - 0.5 * delta**2), axis=-1)
    assert "0.5·r²" in failure(check_loss, huber_no_half, "huber")
    with np.errstate(over="ignore"):
        naive = lambda y, p: np.mean(np.log(np.cosh(p - y)), axis=-1)  # noqa: E731
        msg = failure(check_loss, naive, "log_cosh")
    assert "overflows" in msg
    summed = lambda y, p, delta=1.0: np.clip(p - y, -delta, delta)  # noqa: E731
    assert "size of the last axis" in failure(check_loss_grad, summed, "huber")
    flipped = lambda y, p: np.tanh(y - p) / p.shape[-1]  # noqa: E731
    assert "gradient" in failure(check_loss_grad, flipped, "log_cosh").splitlines()[0]
    y, pred = regression_case()
    assert np.any(np.abs(pred - y) >= 1000.0) and np.any(np.abs(pred - y) == 1.0)


def _r2(update=None, result=None, reset=None, name="r2"):
    """The solution's R2 with one method replaced."""
    methods = {k: v for k, v in (("update_state", update), ("result", result), ("reset_state", reset)) if v}
    cls = type("WrongR2", (S["R2"],), methods)

    def init(self, name=name, **kwargs):
        S["R2"].__init__(self, name=name, **kwargs)

    cls.__init__ = init
    return cls


def test_r2_metric_mistakes_fail_with_a_hint():
    def unweighted(self, y_true, y_pred, sample_weight=None):
        S["R2"].update_state(self, y_true, y_pred)

    def per_batch(self, y_true, y_pred, sample_weight=None):  # R² of the last batch only
        self.reset_state()
        S["R2"].update_state(self, y_true, y_pred, sample_weight)

    def numpy_update(self, y_true, y_pred, sample_weight=None):
        S["R2"].update_state(self, np.asarray(y_true), np.asarray(y_pred), sample_weight)
        float(np.asarray(y_true).sum())  # fails inside a graph

    def keeps_count(self):
        for variable in (self.target_sum, self.square_sum, self.residual_sum):
            variable.assign(0.0)

    assert "after batch 1" in failure(check_r2_metric, _r2(update=unweighted))
    msg = failure(check_r2_metric, _r2(update=per_batch))
    assert "after batch 2" in msg and "not the R² of the data" in msg
    assert "result() after batch 1" in failure(check_r2_metric, _r2(reset=keeps_count))
    assert "default name should be 'r2'" in failure(check_r2_metric, _r2(name="r_squared"))
    assert "compiled graph" in failure(check_r2_metric, _r2(update=numpy_update), weighted=False)
    one_minus = lambda self: 1.0 - self.residual_sum / self.square_sum  # noqa: E731 - forgets the mean
    assert "wrong value" in failure(check_r2_metric, _r2(result=one_minus))


def test_regressor_threshold_and_its_mistakes(capsys):
    check_regressor(S["fit_regressor"], threshold=320.0)
    assert "test MAE" in capsys.readouterr().out

    def raw_grams(x, y):  # no target scaling: a Dense(1) starts near 0 g and crawls
        model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mae")
        model.fit(x, y, epochs=5, verbose=0)
        return model

    msg = failure(check_regressor, raw_grams, threshold=320.0)
    assert "above the required 320 g" in msg and "scale the target" in msg
    assert "keras.Model" in failure(check_regressor, lambda x, y: None, threshold=320.0)

    def untrained(x, y):
        return keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(1),
                                 keras.layers.Rescaling(float(y.std()), offset=float(y.mean()))])

    msg = failure(check_regressor, untrained, threshold=320.0)
    assert "predicting the mean" in msg and "train the model inside fit_regressor" in msg

    def peeks(x, y):
        from autograder.data import penguins_split
        penguins_split()

    assert "your code loaded a dataset" in failure(check_regressor, peeks, threshold=320.0)

    def wide_output(x, y):
        model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(3)])
        return model

    assert "one number per penguin" in failure(check_regressor, wide_output, threshold=320.0)
