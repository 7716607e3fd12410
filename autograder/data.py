"""Offline-first datasets for the course (the penguins table of chapter 04, the small text resources of chapter 08,
the CO2 series and the surnames of chapter 13).

The notebooks use Keras's real loader, ``keras.datasets.fashion_mnist.load_data()``. That
loader reads ``$KERAS_HOME/datasets/fashion-mnist/*-ubyte.gz`` (``~/.keras`` by default) and
downloads the files only when they are missing. Course machines are often offline, so
`load_fashion_mnist` first makes sure the four IDX files are in that cache, looking in order:

1. the Keras cache itself;
2. the directory named by the environment variable ``AUTOGRADER_DATA_DIR``
   (either holding the files or a ``fashion-mnist/`` folder with them);
3. ``/usr/share/datasets/fashion-mnist``, from the Debian/Ubuntu package
   ``dataset-fashion-mnist`` (the same files Keras downloads);

and only then lets Keras download. Files found in 2 or 3 are copied into the cache through
``keras.utils.get_file`` with a ``file://`` origin, so Keras's own cache logic is used. When
nothing works, `DatasetNotFoundError` lists every place looked at and the commands that fix it.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder import runtime as _runtime  # noqa: F401  (sets TF logging env first)

ENV_VAR = "AUTOGRADER_DATA_DIR"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# A coarser target for chapter 09's two-head model: the group of each class.
FASHION_MNIST_GROUP_NAMES = ("top", "trousers or dress", "footwear", "bag")
FASHION_MNIST_GROUPS = (0, 1, 0, 1, 0, 2, 0, 2, 3, 2)  # group of class 0 … 9
_CACHE_SUBDIR = os.path.join("datasets", "fashion-mnist")


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a dataset is neither on disk nor downloadable."""


@dataclass(frozen=True)
class Source:
    """Where the Fashion-MNIST files were found."""

    kind: str  # "keras cache", "$AUTOGRADER_DATA_DIR", "system package", "download"
    path: Path


def keras_cache_dir() -> Path:
    """The directory ``keras.datasets.fashion_mnist`` reads, as Keras computes it."""
    try:  # Keras's own answer ($KERAS_HOME, else ~/.keras, else /tmp/.keras), read at import
        from keras.src.backend.config import keras_home
    except ImportError:  # pragma: no cover - the documented rule, should the private API move
        def keras_home():
            return os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))

    home = Path(os.path.expanduser(keras_home()))
    if not os.access(home if home.exists() else home.parent, os.W_OK):
        home = Path("/tmp/.keras")  # keras.utils.get_file's own fallback
    return home / _CACHE_SUBDIR


def candidate_dirs(search_dirs: list[Path] | None = None) -> list[tuple[str, Path]]:
    """The places searched for the IDX files, in order, as (kind, directory) pairs."""
    if search_dirs is not None:
        return [("given directory", Path(d)) for d in search_dirs]
    places = [("keras cache", keras_cache_dir())]
    env_dir = os.environ.get(ENV_VAR)
    if env_dir:
        base = Path(env_dir).expanduser()
        places += [(f"${ENV_VAR}", base / "fashion-mnist"), (f"${ENV_VAR}", base)]
    places.append(("system package", SYSTEM_DIR))
    return places


def _has_all_files(directory: Path) -> bool:
    return all((directory / name).is_file() for name in FASHION_MNIST_FILES)


def locate_fashion_mnist(search_dirs: list[Path] | None = None) -> Source | None:
    """Return the first place holding all four IDX files, or None."""
    for kind, directory in candidate_dirs(search_dirs):
        if _has_all_files(directory):
            return Source(kind, directory)
    return None


def _not_found_message(places: list[tuple[str, Path]], download_error: str | None) -> str:
    lines = ["Fashion-MNIST was not found. Looked for " + ", ".join(FASHION_MNIST_FILES) + " in:"]
    lines += [f"  - {directory}  ({kind})" for kind, directory in places]
    if download_error is not None:
        lines.append(f"  - download through keras.datasets: {download_error}")
    else:
        lines.append("  - download: not attempted (download=False)")
    lines += [
        "Fix it with one of:",
        "  sudo apt-get install dataset-fashion-mnist      # Debian/Ubuntu, offline copy",
        f"  export {ENV_VAR}=/path/to/dir-with-the-4-gz-files",
        "  python -c 'import keras; keras.datasets.fashion_mnist.load_data()'  # needs internet",
    ]
    return "\n".join(lines)


def _copy_into_keras_cache(source_dir: Path) -> None:
    """Copy the IDX files into the Keras cache with Keras's own `get_file`."""
    import keras

    cache = keras_cache_dir()
    for name in FASHION_MNIST_FILES:
        if not (cache / name).is_file():
            with contextlib.redirect_stdout(io.StringIO()):  # no progress bar for a local copy
                keras.utils.get_file(
                    name,
                    origin=(source_dir / name).resolve().as_uri(),
                    cache_subdir=_CACHE_SUBDIR,
                )
    print(f"Fashion-MNIST: copied from {source_dir} into the Keras cache {cache}")


def _check_idx_arrays(arrays) -> None:
    (x_train, y_train), (x_test, y_test) = arrays
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or x.shape[0] != y.shape[0]:
            raise DatasetNotFoundError(
                f"Fashion-MNIST {name} files look corrupt: images {x.shape}, labels {y.shape}. "
                f"Delete {keras_cache_dir()} and load again."
            )


def load_fashion_mnist(
    *,
    normalize: bool = False,
    download: bool = True,
    search_dirs: list[Path] | None = None,
):
    """Fashion-MNIST through ``keras.datasets.fashion_mnist.load_data()``, offline first.

    Args:
        normalize: return float32 images scaled to [0, 1] instead of uint8 in [0, 255].
        download: let Keras download when no local copy is found.
        search_dirs: search only these directories (for tests and unusual set-ups).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images (60000, 28, 28) and (10000, 28, 28),
        labels uint8 (60000,) and (10000,) with classes `FASHION_MNIST_CLASSES`.

    Raises:
        DatasetNotFoundError: no local copy and no download; the message lists every place
            searched and how to fix it.
    """
    import keras

    places = candidate_dirs(search_dirs)
    source = locate_fashion_mnist(search_dirs)
    download_error = None
    if source is not None and source.path != keras_cache_dir():
        _copy_into_keras_cache(source.path)
    if source is None and not download:
        raise DatasetNotFoundError(_not_found_message(places, None))
    try:
        arrays = keras.datasets.fashion_mnist.load_data()
    except (gzip.BadGzipFile, EOFError, OSError, ValueError) as err:
        if source is not None:
            raise DatasetNotFoundError(
                f"Fashion-MNIST files in {source.path} could not be read ({err}). "
                "They are corrupt or truncated: reinstall them."
            ) from err
        download_error = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetNotFoundError(_not_found_message(places, download_error)) from err
    except Exception as err:  # Keras raises a bare Exception("URL fetch failure ...")
        download_error = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetNotFoundError(_not_found_message(places, download_error)) from err
    _check_idx_arrays(arrays)
    if normalize:
        (x_train, y_train), (x_test, y_test) = arrays
        arrays = (x_train.astype("float32") / 255.0, y_train), (x_test.astype("float32") / 255.0, y_test)
    return arrays


def stratified_subset(x, y, n_per_class: int, *, seed: int = 0):
    """A seeded subset with exactly ``n_per_class`` examples of every class in ``y``.

    Args:
        x: array (N, ...) of inputs.
        y: int array (N,) of labels.
        n_per_class: how many examples of each class to keep.
        seed: the same seed always gives the same subset.

    Returns:
        ``(x_subset, y_subset)``, shuffled, with ``n_per_class * n_classes`` rows.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    if n_per_class <= 0:
        raise ValueError(f"n_per_class must be positive, got {n_per_class}")
    rng = np.random.default_rng(seed)
    picks = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if rows.size < n_per_class:
            raise ValueError(f"class {label} has only {rows.size} examples, asked for {n_per_class}")
        picks.append(rng.choice(rows, size=n_per_class, replace=False))
    order = rng.permutation(np.concatenate(picks))
    return x[order], y[order]


def load_fashion_mnist_subset(
    n_train_per_class: int = 100,
    n_test_per_class: int = 100,
    *,
    seed: int = 0,
    normalize: bool = True,
):
    """A small, stratified, seeded Fashion-MNIST for fast exercises.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` with float32 images in [0, 1] by default.
    """
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(normalize=normalize)
    train = stratified_subset(x_train, y_train, n_train_per_class, seed=seed)
    test = stratified_subset(x_test, y_test, n_test_per_class, seed=seed + 1)
    return train, test


def noisy_label_split(n_per_class: int = 200, noise: float = 0.3, *, seed: int = 0, noise_seed: int = 123):
    """Chapter 06's overfitting set: ``n_per_class`` training images per class (float32 in
    [0, 1]), the even rows for training and the odd rows for validation, and in both a fraction
    ``noise`` of the labels replaced by random classes (seeded).

    Returns:
        ``(x_train, y_train), (x_val, y_val)``.
    """
    (x_all, y_all), _ = load_fashion_mnist()
    x_sub, y_sub = stratified_subset(x_all, y_all, n_per_class, seed=seed)
    x_sub = x_sub.astype("float32") / 255.0
    x_train, y_train = x_sub[::2], y_sub[::2].copy()
    x_val, y_val = x_sub[1::2], y_sub[1::2].copy()
    noise_rng = np.random.default_rng(noise_seed)
    for labels in (y_train, y_val):
        noisy = noise_rng.random(len(labels)) < noise
        labels[noisy] = noise_rng.integers(0, 10, noisy.sum())
    return (x_train, y_train), (x_val, y_val)


def load_digits_split(test_fraction: float = 0.25, *, seed: int = 0):
    """scikit-learn's bundled 8x8 digits (1797 images, no download), split and scaled.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 images (N, 8, 8) in [0, 1],
        int64 labels; the split is stratified and seeded.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=test_fraction, random_state=seed, stratify=digits.target
    )
    return (x_train, y_train), (x_test, y_test)


# --------------------------------------------------------------------------- tables (chapter 04)

PENGUIN_NUMERIC = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm")
PENGUIN_CATEGORICAL = ("species", "island", "sex")
PENGUIN_TARGET = "body_mass_g"


def load_penguins():
    """The Palmer penguins table (344 rows, 8 columns: species, island, bill and flipper
    measurements, body mass, sex, year) as a pandas DataFrame, read from the CSV file the
    pinned ``palmerpenguins`` package bundles: no download. Missing values are NaN.

    Raises:
        DatasetNotFoundError: ``palmerpenguins`` (or pandas) is not installed, with the fix.
    """
    try:
        from palmerpenguins import load_penguins as bundled
    except ImportError as error:
        raise DatasetNotFoundError(
            f"chapter 04's penguins table comes with the package palmerpenguins, which cannot be "
            f"imported ({error}).\nFix: pip install pandas==3.1.1 palmerpenguins==0.1.6 (both in "
            "requirements.txt; `make lab` installs them)"
        ) from error
    return bundled()


def penguins_split(test_fraction: float = 0.2, *, seed: int = 0):
    """Chapter 04's split: the 333 complete rows of `load_penguins`, stratified by species and
    seeded, as ``(train, test)`` DataFrames with a fresh index (266 and 67 rows by default)."""
    from sklearn.model_selection import train_test_split

    table = load_penguins().dropna().reset_index(drop=True)
    train, test = train_test_split(table, test_size=test_fraction, random_state=seed, stratify=table["species"])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def penguin_features(train, *others):
    """Chapter 04's features: each numeric column standardized by a ``keras.layers.Normalization``
    and each categorical column one-hot encoded by a ``keras.layers.StringLookup``, every layer
    adapted on ``train`` only, then applied to ``train`` and to each of ``others`` (DataFrames
    with the columns of `load_penguins`). Returns one float32 matrix per table, columns in the
    order numeric, then each category's ``[UNK]`` and vocabulary (14 columns on the split)."""
    import keras

    layers = []
    for column in PENGUIN_NUMERIC:
        layer = keras.layers.Normalization(axis=None)
        layer.adapt(train[column].to_numpy("float32"))
        layers.append((column, "float32", layer))
    for column in PENGUIN_CATEGORICAL:
        layer = keras.layers.StringLookup(output_mode="one_hot")
        layer.adapt(train[column].to_numpy(object))
        layers.append((column, object, layer))

    def encode(table):
        parts = [np.asarray(layer(table[column].to_numpy(dtype)), dtype="float32").reshape(len(table), -1)
                 for column, dtype, layer in layers]
        return np.concatenate(parts, axis=1)

    return tuple(encode(table) for table in (train, *others))


# --------------------------------------------------------------------------- sequences (chapter 13)

CO2_TEST_START = "1990-01-01"  # chapter 13 forecasts the weeks from here on, trained on those before


def load_co2():
    """Weekly mean CO2 at Mauna Loa in ppm, 29 March 1958 – 29 December 2001 (2,284 weeks), from
    the CSV file the pinned ``statsmodels`` bundles (`statsmodels.datasets.co2`): no download.
    Its 59 missing weeks are filled by linear interpolation between their neighbours.

    Returns:
        ``(weeks, ppm)``: ``datetime64[D]`` (2284,) (each week's Saturday) and float32 (2284,).

    Raises:
        DatasetNotFoundError: ``statsmodels`` is not installed, with the fix.
    """
    try:
        from statsmodels.datasets import co2
    except ImportError as error:
        raise DatasetNotFoundError(
            f"chapter 13's CO2 series comes with the package statsmodels, which cannot be imported "
            f"({error}).\nFix: pip install statsmodels==0.15.0 (in requirements.txt; `make lab` installs it)"
        ) from error
    series = co2.load_pandas().data["co2"].interpolate()
    return series.index.to_numpy().astype("datetime64[D]"), series.to_numpy("float32")


def co2_split():
    """Chapter 13's split in time: ``(train, test)`` float32 series of `load_co2`, the weeks
    before `CO2_TEST_START` (1,658) and those from it (626). A forecast of the test weeks may
    read the training weeks before them (its window)."""
    weeks, ppm = load_co2()
    split = int(np.searchsorted(weeks, np.datetime64(CO2_TEST_START)))
    return ppm[:split], ppm[split:]


# Faker's locales whose last names chapter 13 classifies, with the language they stand for.
SURNAME_LOCALES = {"de_DE": "German", "en_GB": "English", "es_ES": "Spanish", "fi_FI": "Finnish",
                   "fr_FR": "French", "hr_HR": "Croatian", "it_IT": "Italian", "nl_NL": "Dutch"}


def load_surnames(per_language: int = 400, *, seed: int = 0):
    """Surnames and their language: ``per_language`` names drawn (seeded) from the lists of
    last names the pinned ``faker`` package bundles for each locale of `SURNAME_LOCALES`, after
    removing every name listed under more than one language. No download.

    Returns:
        ``(names, labels, languages)``: a list of str, int64 labels (N,) indexing the tuple
        ``languages`` (sorted), shuffled together (seeded).

    Raises:
        DatasetNotFoundError: ``faker`` is not installed, with the fix.
    """
    import importlib

    try:
        lists = {language: importlib.import_module(f"faker.providers.person.{locale}").Provider.last_names
                 for locale, language in SURNAME_LOCALES.items()}
    except ImportError as error:
        raise DatasetNotFoundError(
            f"chapter 13's surnames come with the package faker, which cannot be imported ({error}).\n"
            "Fix: pip install faker==40.63.0 (in requirements.txt; `make lab` installs it)"
        ) from error
    lists = {language: sorted(set(names)) for language, names in lists.items()}
    counts = Counter(name for names in lists.values() for name in names)
    rng = np.random.default_rng(seed)
    languages = tuple(sorted(lists))
    names, labels = [], []
    for label, language in enumerate(languages):
        unique = [name for name in lists[language] if counts[name] == 1]
        chosen = rng.choice(len(unique), size=min(per_language, len(unique)), replace=False)
        names += [unique[i] for i in sorted(chosen)]
        labels += [label] * len(chosen)
    order = rng.permutation(len(names))
    return [names[i] for i in order], np.asarray(labels, dtype="int64")[order], languages


def describe_sources() -> list[str]:
    """Human-readable lines saying where Fashion-MNIST is (for ``autograder doctor``)."""
    source = locate_fashion_mnist()
    lines = [f"{'found' if _has_all_files(d) else 'absent'}: {d} ({k})" for k, d in candidate_dirs()]
    lines.append(f"will load from: {source.path} ({source.kind})" if source else "will load from: nowhere offline")
    return lines


# --------------------------------------------------------------------------- text (chapter 08)

RESOURCES = Path(__file__).resolve().parent / "resources"

# Words text augmentation must never change: replacing or inserting synonyms of them adds
# nothing, and deleting a negation flips a review's label ("not good" -> "good").
STOP_WORDS = frozenset(
    "a an the and or but of to in on at for with by from as is are was were be been it this that "
    "these those i you he she we they my your its our their me him her us them so than too very".split()
)
NEGATIONS = frozenset("not no never nor n't nothing nobody none without".split())


def load_synonyms() -> dict[str, list[str]]:
    """The course's small synonym table (``autograder/resources/synonyms.json``), bundled so
    that text augmentation works offline (WordNet would be a download).

    Returns:
        ``{word: [synonym, ...]}``; no word lists itself, and no stop word or negation appears.
    """
    table = json.loads((RESOURCES / "synonyms.json").read_text(encoding="utf-8"))
    return {word: list(synonyms) for word, synonyms in table.items() if not word.startswith("_")}


def shift_images(x, max_shift: int = 3, *, seed: int = 0) -> np.ndarray:
    """Copies of images ``x`` (N, H, W) or (N, H, W, C), each moved by a random whole number
    of pixels in [-max_shift, max_shift] down and right (independently), the vacated border
    filled with 0 — images as an uncentred camera would deliver them. Seeded: the same
    ``seed`` always gives the same shifts.
    """
    x = np.asarray(x)
    shifts = np.random.default_rng(seed).integers(-max_shift, max_shift + 1, size=(len(x), 2))
    out = np.zeros_like(x)
    height, width = x.shape[1:3]
    for i, (dy, dx) in enumerate(shifts):
        out[i, max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = x[
            i, max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)
        ]
    return out
