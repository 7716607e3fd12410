"""autograder.data: offline-first Fashion-MNIST, subsets, scikit-learn digits.

Loader tests run in a subprocess with their own KERAS_HOME (Keras reads it at import) and
tiny IDX files written here, so they never touch the real cache or the network.
"""

import gzip
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from autograder import data


def write_idx(directory, n_train=30, n_test=20):
    """Write the four Fashion-MNIST files with n images each, label i % 10, pixel value i."""
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        images = np.repeat(np.arange(n, dtype=np.uint8), 28 * 28)
        with gzip.open(directory / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\x00\x00\x08\x01" + n.to_bytes(4, "big") + labels.tobytes())
        with gzip.open(directory / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\x00\x00\x08\x03" + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + images.tobytes())
    return directory


def load_in_subprocess(tmp_path, env_extra, call="data.load_fashion_mnist(download=False)"):
    code = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        from autograder import data
        data.SYSTEM_DIR = Path({str(tmp_path / 'no-system-dir')!r})
        try:
            (x, y), (xt, yt) = {call}
            print(json.dumps({{"ok": True, "shape": list(x.shape), "test": list(xt.shape),
                              "dtype": str(x.dtype), "label5": int(y[5]), "pixel": float(x[3, 0, 0])}}))
        except data.DatasetNotFoundError as err:
            print(json.dumps({{"ok": False, "error": str(err)}}))
    """)
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras_home"), "TF_CPP_MIN_LOG_LEVEL": "3", **env_extra}
    env.pop(data.ENV_VAR, None) if data.ENV_VAR not in env_extra else None
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_loads_from_the_env_var_directory_through_keras_and_fills_the_cache(tmp_path):
    write_idx(tmp_path / "mydata" / "fashion-mnist")
    result = load_in_subprocess(tmp_path, {data.ENV_VAR: str(tmp_path / "mydata")})
    assert result == {"ok": True, "shape": [30, 28, 28], "test": [20, 28, 28], "dtype": "uint8", "label5": 5, "pixel": 3.0}
    cached = tmp_path / "keras_home" / "datasets" / "fashion-mnist"
    assert sorted(p.name for p in cached.iterdir()) == sorted(data.FASHION_MNIST_FILES)


def test_the_keras_cache_comes_first_and_normalize_scales_to_unit_range(tmp_path):
    write_idx(tmp_path / "keras_home" / "datasets" / "fashion-mnist", n_train=12)
    write_idx(tmp_path / "other", n_train=40)
    result = load_in_subprocess(tmp_path, {data.ENV_VAR: str(tmp_path / "other")},
                                call="data.load_fashion_mnist(download=False, normalize=True)")
    assert result["shape"] == [12, 28, 28] and result["dtype"] == "float32"
    assert result["pixel"] == pytest.approx(3 / 255)


def test_nothing_found_lists_every_place_and_the_fix(tmp_path):
    result = load_in_subprocess(tmp_path, {data.ENV_VAR: str(tmp_path / "empty")})
    assert not result["ok"]
    error = result["error"]
    assert "Fashion-MNIST was not found" in error
    assert str(tmp_path / "keras_home" / "datasets" / "fashion-mnist") in error
    assert str(tmp_path / "empty") in error and str(tmp_path / "no-system-dir") in error
    assert "apt-get install dataset-fashion-mnist" in error and f"export {data.ENV_VAR}=" in error
    assert "download: not attempted" in error


def test_a_truncated_file_gives_a_clear_error(tmp_path):
    source = write_idx(tmp_path / "broken")
    raw = (source / "train-images-idx3-ubyte.gz").read_bytes()
    (source / "train-images-idx3-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    result = load_in_subprocess(tmp_path, {data.ENV_VAR: str(source)})
    assert not result["ok"] and "corrupt or truncated" in result["error"]


def test_candidate_dirs_order(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    kinds = [kind for kind, _ in data.candidate_dirs()]
    assert kinds == ["keras cache", f"${data.ENV_VAR}", f"${data.ENV_VAR}", "system package"]
    assert data.candidate_dirs([tmp_path]) == [("given directory", tmp_path)]


def test_stratified_subset_is_balanced_seeded_and_validated():
    y = np.repeat(np.arange(3), [50, 60, 70])
    x = np.arange(y.size)
    xs, ys = data.stratified_subset(x, y, 10, seed=1)
    assert np.bincount(ys).tolist() == [10, 10, 10]
    assert np.array_equal(y[xs], ys)  # rows stay paired
    again, _ = data.stratified_subset(x, y, 10, seed=1)
    other, _ = data.stratified_subset(x, y, 10, seed=2)
    assert np.array_equal(xs, again) and not np.array_equal(xs, other)
    with pytest.raises(ValueError, match="class 0 has only 50"):
        data.stratified_subset(x, y, 51)
    with pytest.raises(ValueError, match="rows"):
        data.stratified_subset(x[:5], y, 1)


def test_digits_split_is_offline_scaled_and_stratified():
    (x_train, y_train), (x_test, y_test) = data.load_digits_split()
    assert x_train.shape[1:] == (8, 8) and x_train.dtype == np.float32
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert len(x_train) + len(x_test) == 1797 and set(y_test) == set(range(10))


@pytest.mark.skipif(data.locate_fashion_mnist() is None, reason="no offline Fashion-MNIST on this machine")
def test_real_fashion_mnist_subset():
    (x, y), (xt, yt) = data.load_fashion_mnist_subset(5, 3, seed=0)
    assert x.shape == (50, 28, 28) and xt.shape == (30, 28, 28) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [5] * 10 and np.bincount(yt).tolist() == [3] * 10


def test_penguins_are_bundled_split_and_encoded_from_training_rows_only():
    table = data.load_penguins()
    assert table.shape == (344, 8) and table["body_mass_g"].isna().sum() == 2
    train, test = data.penguins_split()
    assert (len(train), len(test)) == (266, 67) and not train.isna().any().any()
    again, _ = data.penguins_split()
    assert train.equals(again)  # seeded
    shares = [df["species"].value_counts(normalize=True).sort_index() for df in (train, test)]
    assert np.allclose(shares[0], shares[1], atol=0.02)  # stratified by species
    x_train, x_test = data.penguin_features(train, test)
    assert x_train.shape == (266, 14) and x_test.shape == (67, 14) and x_train.dtype == np.float32
    assert np.allclose(x_train[:, :3].mean(axis=0), 0.0, atol=1e-5)  # standardized on these rows
    assert not np.allclose(x_test[:, :3].mean(axis=0), 0.0, atol=1e-3)  # not on the test rows
    assert np.array_equal(x_test[:, 3:].sum(axis=1), np.full(67, 3.0))  # one 1 per category


def test_missing_penguins_package_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "palmerpenguins", None)  # import raises ImportError
    with pytest.raises(data.DatasetNotFoundError, match="pip install pandas==3.1.1 palmerpenguins==0.1.6"):
        data.load_penguins()


def test_co2_series_is_bundled_filled_and_split_in_time():
    weeks, ppm = data.load_co2()
    assert weeks.shape == ppm.shape == (2284,) and ppm.dtype == np.float32 and not np.isnan(ppm).any()
    assert str(weeks[0]) == "1958-03-29" and str(weeks[-1]) == "2001-12-29"
    train, test = data.co2_split()
    assert (len(train), len(test)) == (1658, 626) and np.array_equal(np.concatenate([train, test]), ppm)
    assert weeks[len(train)] >= np.datetime64(data.CO2_TEST_START) > weeks[len(train) - 1]


def test_surnames_are_bundled_unique_per_language_and_seeded():
    names, labels, languages = data.load_surnames()
    assert len(names) == len(labels) == 3132 and labels.dtype == np.int64
    assert languages == tuple(sorted(data.SURNAME_LOCALES.values()))
    assert np.bincount(labels).max() == 400 and len(set(names)) == len(names)  # no name in two languages
    again, labels_again, _ = data.load_surnames()
    assert again == names and np.array_equal(labels_again, labels)


@pytest.mark.parametrize(("module", "load", "fix"), [
    ("statsmodels.datasets", "load_co2", "pip install statsmodels==0.15.0"),
    ("faker", "load_surnames", "pip install faker==40.63.0"),
])
def test_missing_sequence_packages_say_how_to_install_them(monkeypatch, module, load, fix):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(data.DatasetNotFoundError, match=fix):
        getattr(data, load)()
