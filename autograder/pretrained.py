"""Pretrained models for chapter 11, offline first.

Two sources of pretrained weights:

* **The course's own source model** (always available): a small CNN trained on the five
  Fashion-MNIST classes `SOURCE_CLASSES` (30,000 images), to be transferred to the other five,
  `TARGET_CLASSES`, from a few labels each. `load_source_model` reads it from the Keras cache
  (``$KERAS_HOME/models/``) and trains it there first when it is missing (about 20 s on two
  CPU cores, 0.35 MB); a file lock makes parallel kernels wait for one training instead of
  each running their own. ``python -m autograder pretrain`` builds it ahead of time.
* **ImageNet weights of** ``keras.applications`` (MobileNetV3Small): used when the weight file
  is in the Keras cache or in ``$AUTOGRADER_DATA_DIR/models/``, or when Keras's download host
  answers; `imagenet_weights_status` says which, so that a notebook can skip that path with a
  clear message instead of crashing offline.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np
from filelock import FileLock

from autograder import data

SOURCE_CLASSES = (0, 2, 3, 5, 7)  # T-shirt/top, Pullover, Dress, Sandal, Sneaker
TARGET_CLASSES = (1, 4, 6, 8, 9)  # Trouser, Coat, Shirt, Bag, Ankle boot
SOURCE_FILE = "course_fashion_source_v1.keras"
SOURCE_SEED = 0
SOURCE_EPOCHS = 3
BASE_FILTERS = (16, 32, 64)

MOBILENET_FILE = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
MOBILENET_HOST = ("storage.googleapis.com", 443)


def models_dir() -> Path:
    """``$KERAS_HOME/models`` (``~/.keras/models``), where Keras caches application weights."""
    return data.keras_cache_dir().parent.parent / "models"


def load_task(classes, n_train_per_class: int | None = None, *, seed: int = 0):
    """Fashion-MNIST restricted to ``classes``, labels renumbered 0 … len(classes) - 1.

    Args:
        classes: the original class numbers to keep, in the order of the new labels.
        n_train_per_class: keep this many training images per class (stratified, seeded);
            ``None`` keeps all 6,000.
        seed: seed of the training subset.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 images (N, 28, 28, 1) in [0, 1],
        int64 labels (N,). The test set is every test image of ``classes`` (1,000 per class).
    """
    classes = np.asarray(classes)
    relabel = np.full(10, -1)
    relabel[classes] = np.arange(classes.size)
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(normalize=True)
    keep_train, keep_test = np.isin(y_train, classes), np.isin(y_test, classes)
    x_train, y_train = x_train[keep_train], relabel[y_train[keep_train]]
    x_test, y_test = x_test[keep_test], relabel[y_test[keep_test]]
    if n_train_per_class is not None:
        x_train, y_train = data.stratified_subset(x_train, y_train, n_train_per_class, seed=seed)
    return (x_train[..., None], y_train), (x_test[..., None], y_test)


def make_base(filters=BASE_FILTERS):
    """The convolutional base: three conv → BatchNorm → ReLU blocks, then global average pooling.

    Input (batch, 28, 28, 1) float32; output (batch, filters[-1]) features. Layers are named
    ``conv1, bn1, relu1, pool1, …, conv3, bn3, relu3, gap``; the model is named ``base``.
    """
    import keras

    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for i, width in enumerate(filters, start=1):
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        if i < len(filters):
            x = keras.layers.MaxPooling2D(name=f"pool{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, x, name="base")


def make_classifier(n_classes: int, *, seed: int = 0, head_name: str = "head"):
    """`make_base` followed by a ``Dense(n_classes)`` head (logits), uncompiled, seeded."""
    import keras

    keras.utils.set_random_seed(seed)
    base = make_base()
    inputs = keras.Input((28, 28, 1), name="image")
    outputs = keras.layers.Dense(n_classes, name=head_name)(base(inputs))
    return keras.Model(inputs, outputs, name="classifier")


def compile_classifier(model, learning_rate: float):
    """Compile ``model`` (logits out) with Adam, sparse cross-entropy from logits and accuracy."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def train_source_model(path: Path, *, seed: int = SOURCE_SEED, epochs: int = SOURCE_EPOCHS) -> dict:
    """Train the source model on all 30,000 training images of `SOURCE_CLASSES` and save it.

    Writes ``path`` (a ``.keras`` file, written to a temporary name then renamed) and
    ``path.json`` with the training time, size and test accuracy. Returns that record.
    """
    (x_train, y_train), (x_test, y_test) = load_task(SOURCE_CLASSES)
    model = compile_classifier(make_classifier(len(SOURCE_CLASSES), seed=seed, head_name="source_head"), 1e-3)
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.partial.keras")
    model.save(partial)
    os.replace(partial, path)
    record = {
        "classes": list(SOURCE_CLASSES),
        "train_images": int(x_train.shape[0]),
        "epochs": epochs,
        "seed": seed,
        "train_seconds": round(seconds, 1),
        "test_accuracy": round(float(accuracy), 4),
        "parameters": int(model.count_params()),
        "bytes": path.stat().st_size,
    }
    path.with_suffix(".json").write_text(json.dumps(record, indent=1))
    return record


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_suffix(".lock")):  # another kernel training it: wait for its file
        yield


def source_model_path() -> Path:
    return models_dir() / SOURCE_FILE


def shared_source_model() -> Path | None:
    """A read-only copy of the source model in ``$AUTOGRADER_DATA_DIR/models/`` (how the
    grader's sandbox hands its cached model to a jailed kernel), or None."""
    env_dir = os.environ.get(data.ENV_VAR)
    path = Path(env_dir) / "models" / SOURCE_FILE if env_dir else None
    return path if path is not None and path.is_file() else None


def source_model_record() -> dict | None:
    """What `train_source_model` recorded (time, size, accuracy), or None before it ran."""
    record = source_model_path().with_suffix(".json")
    return json.loads(record.read_text()) if record.is_file() else None


def load_source_model(*, train_if_missing: bool = True, verbose: bool = True):
    """The pretrained source model (base + ``source_head``), from the cache or trained now.

    A cached file that Keras cannot read (truncated, corrupt) is trained again, not trusted.
    Without a cached file, a read-only copy in ``$AUTOGRADER_DATA_DIR/models/`` is used.

    Raises:
        FileNotFoundError: the model is not cached and ``train_if_missing`` is False.
    """
    import keras

    path = source_model_path()
    shared = shared_source_model()
    if not path.is_file() and shared is not None:
        return keras.models.load_model(shared)
    with _locked(path):
        if path.is_file():
            try:
                return keras.models.load_model(path)
            except Exception as err:  # noqa: BLE001 - any unreadable file is rebuilt
                if verbose:
                    print(f"The cached source model {path} is unreadable ({type(err).__name__}); training it again.")
                path.unlink()
        if not train_if_missing:
            raise FileNotFoundError(f"no pretrained source model at {path}; run: python -m autograder pretrain")
        if verbose:
            print(f"Training the source model on 30,000 images of 5 classes (once; cached in {path}) ...")
        record = train_source_model(path)
        if verbose:
            print(f"... done in {record['train_seconds']} s, test accuracy {record['test_accuracy']:.3f}.")
        return keras.models.load_model(path)


def _host_answers(host: tuple[str, int], timeout: float) -> bool:
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


def imagenet_weights_status(*, timeout: float = 3.0) -> tuple[bool, str]:
    """Whether MobileNetV3Small's ImageNet weights (no top) can be had, and why (or why not).

    Looks in the Keras cache, then in ``$AUTOGRADER_DATA_DIR/models/`` (copying the file into
    the cache, where ``keras.applications`` looks), then asks whether Keras's download host
    answers within ``timeout`` seconds.
    """
    cached = models_dir() / MOBILENET_FILE
    if cached.is_file():
        return True, f"ImageNet weights found in the Keras cache ({cached})"
    env_dir = os.environ.get(data.ENV_VAR)
    if env_dir:
        local = Path(env_dir).expanduser() / "models" / MOBILENET_FILE
        if local.is_file():
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, cached)
            return True, f"ImageNet weights copied from {local} into the Keras cache"
    if _host_answers(MOBILENET_HOST, timeout):
        return True, f"ImageNet weights will be downloaded from {MOBILENET_HOST[0]} (about 4 MB)"
    return False, (
        f"Skipped: MobileNetV3Small's ImageNet weights ({MOBILENET_FILE}) are not in {cached.parent} "
        f"and {MOBILENET_HOST[0]} cannot be reached. To run this part offline, copy the file into "
        f"{cached.parent} or into ${data.ENV_VAR}/models/."
    )
