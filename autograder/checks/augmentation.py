"""Checks for chapter 08 (data augmentation and input pipelines).

Augmentation has no single right output, so these checks test **invariants** rather than
values: shapes, dtypes and value ranges; that augmentation happens in training only; that a
seed makes it reproducible; that labels survive shuffling; and, for text, the rules that keep a
sentence's label (negations are never deleted or replaced, stop words never replaced, inserted
and substituted words come from the synonym table). Statistical properties (how many words
random deletion removes) are checked over a few hundred seeded draws with wide bounds.
"""

from __future__ import annotations

import numpy as np

from autograder.checks.arrays import check_array, to_numpy
from autograder.checks.failure import explains_errors, fail
from autograder.checks.tolerances import tolerance

# --------------------------------------------------------------------------- image augmentation


def sample_images(n: int = 16, *, seed: int = 0) -> np.ndarray:
    """``n`` Fashion-MNIST-like float32 images (n, 28, 28, 1) in [0, 1] with structure (not noise),
    so that a flip, rotation or shift visibly changes them."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28] / 27.0
    images = []
    for _ in range(n):
        a, b, c = rng.uniform(-1, 1, 3)
        images.append(np.clip(0.5 + 0.5 * np.sin(3 * a * xx + 5 * b * yy * xx + c), 0, 1))
    return np.stack(images)[..., None].astype("float32")


def _augmentation_layers(model) -> list:
    import keras

    layers = getattr(model, "layers", [model])
    found = []
    for layer in layers:
        if isinstance(layer, keras.Sequential):
            found += _augmentation_layers(layer)
        else:
            found.append(layer)
    return found


@explains_errors
def check_augmenter(build_augmenter, *, seed: int = 0) -> None:
    """Check ``build_augmenter(seed) -> keras.Sequential`` of preprocessing layers for
    Fashion-MNIST batches (N, 28, 28, 1) float32 in [0, 1].

    * training=True changes the images; training=False (and ``predict``) leaves them unchanged;
    * shape, dtype and the [0, 1] range are kept;
    * the same seed gives the same augmentation, another seed another one;
    * label-preserving for clothes: no vertical flip, rotations of at most 0.1 turn (36°).
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import keras

    x = sample_images()
    augmenter = build_augmenter(seed)
    if not isinstance(augmenter, keras.layers.Layer):
        fail(
            f"build_augmenter({seed}) returned {type(augmenter).__name__}; expected a Keras layer or "
            "keras.Sequential of preprocessing layers."
        )
    layers = _augmentation_layers(augmenter)
    names = [type(layer).__name__ for layer in layers]
    random_layers = [n for n in names if n.startswith("Random")]
    if len(set(random_layers)) < 2:
        fail(
            f"build_augmenter: found the layers {names}; expected at least two different random "
            "augmentations (RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast, ...)."
        )
    for layer in layers:
        try:
            config = layer.get_config()
        except NotImplementedError:  # a student's own layer without get_config: nothing to inspect
            config = {}
        if type(layer).__name__ == "RandomFlip" and config.get("mode") != "horizontal":
            fail(
                f"RandomFlip(mode={config.get('mode')!r}) flips vertically. Hint: an upside-down shoe is not a "
                'shoe any more — for clothes only RandomFlip("horizontal") preserves the label.'
            )
        if type(layer).__name__ == "RandomRotation":
            factor = config.get("factor")
            worst = max(abs(f) for f in (factor if isinstance(factor, (list, tuple)) else [factor]))
            if worst > 0.1:
                fail(
                    f"RandomRotation(factor={factor}) rotates by up to {worst * 360:.0f}°. Hint: keep "
                    "rotations small (factor ≤ 0.1, i.e. ≤ 36°): a coat on its side is not in the test set."
                )
    inference = to_numpy(augmenter(x, training=False), name="augmenter(x, training=False)")
    check_array(inference, x, name="augmenter(x, training=False)", **tolerance("exact"),
                hint="augmentation layers must be the identity at inference; don't force training=True.")
    predicted = to_numpy(keras.Sequential([keras.Input((28, 28, 1)), augmenter]).predict(x, verbose=0))
    check_array(predicted, x, name="a model containing the augmenter, .predict(x)", **tolerance("exact"),
                hint="predict() must not augment: don't wrap the augmenter in a layer that forces training=True.")
    train = to_numpy(augmenter(x, training=True), name="augmenter(x, training=True)")
    if train.shape != x.shape or train.dtype != x.dtype:
        fail(
            f"augmenter(x, training=True): expected shape {x.shape} and dtype {x.dtype}, found "
            f"{train.shape} {train.dtype}. Hint: no resizing or cropping here; the model expects 28×28×1."
        )
    changed = np.mean(np.any(np.abs(train - x) > 1e-3, axis=(1, 2, 3)))
    if changed < 0.5:
        fail(
            f"augmenter(x, training=True) changed only {changed:.0%} of 16 images. Hint: the factors may be 0."
        )
    if train.min() < -1e-6 or train.max() > 1 + 1e-6:
        fail(
            f"augmenter(x, training=True) produced values in [{train.min():.3f}, {train.max():.3f}] from images in "
            "[0, 1]. Hint: RandomContrast and RandomBrightness assume value_range=(0, 255) unless told "
            "value_range=(0, 1)."
        )
    again = to_numpy(build_augmenter(seed)(x, training=True))
    check_array(again, train, name=f"build_augmenter({seed}) built twice, first call", **tolerance("augmenter_rebuilt"),
                hint="pass the seed to every random layer (RandomFlip(..., seed=seed), ...).")
    other = to_numpy(build_augmenter(seed + 1)(x, training=True))
    if np.array_equal(other, train):
        fail(
            f"build_augmenter({seed}) and build_augmenter({seed + 1}) augment identically. "
            "Hint: use the seed argument instead of a fixed number."
        )


# --------------------------------------------------------------------------- tf.data pipelines


def indexed_images(n: int = 50):
    """uint8 images (n, 28, 28) where image i is filled with the value i, and labels i % 10: a
    pipeline that separates images from their labels is caught by pairing them back."""
    x = np.repeat(np.arange(n, dtype="uint8"), 28 * 28).reshape(n, 28, 28)
    return x, (np.arange(n) % 10).astype("int64")


def _transformations(dataset) -> list[str]:
    """Class names along a tf.data pipeline, last transformation first."""
    names = []
    while dataset is not None and len(names) < 50:
        names.append(type(dataset).__name__.strip("_"))
        dataset = getattr(dataset, "_input_dataset", None)
    return names


def _epoch(dataset, name: str):
    images, labels = [], []
    for batch in dataset:
        if not (isinstance(batch, tuple) and len(batch) == 2):
            fail(f"{name}: each element should be a pair (images, labels), found {type(batch).__name__}.")
        images.append(batch[0].numpy())
        labels.append(batch[1].numpy())
    return images, labels


@explains_errors
def check_make_dataset(make_dataset, *, n: int = 50, batch_size: int = 8, seed: int = 0) -> None:
    """Check ``make_dataset(x, y, batch_size, training, augmenter=None, seed=0) -> tf.data.Dataset``.

    Evaluation (``training=False``): every image once, in order, scaled to float32 [0, 1] with a
    channel axis, batches of ``batch_size`` (the last one smaller), prefetched.
    Training: every (image, label) pair once per epoch, shuffled differently each epoch,
    reproducibly for a seed, cached before the shuffle, prefetched last.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    import tensorflow as tf

    x, y = indexed_images(n)
    expected_x = (x.astype("float32") / 255.0)[..., None]
    name = f"make_dataset(x, y, batch_size={batch_size}, training=False)"
    ds = make_dataset(x, y, batch_size, False)
    if not isinstance(ds, tf.data.Dataset):
        fail(f"{name}: expected a tf.data.Dataset, found {type(ds).__name__}.")
    steps = _transformations(ds)
    if not steps[0].startswith("Prefetch"):
        fail(
            f"{name}: the last transformation is {steps[0]}, expected prefetch. Hint: end with "
            ".prefetch(tf.data.AUTOTUNE) so the next batch is prepared while the model trains on this one."
        )
    images, labels = _epoch(ds, name)
    sizes = [len(b) for b in labels]
    want_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    if sizes != want_sizes:
        fail(f"{name}: batch sizes {sizes}, expected {want_sizes}. Hint: batch(batch_size) without drop_remainder.")
    check_array(np.concatenate(labels), y, name=f"{name}: labels, in order", **tolerance("exact"),
                hint="evaluation data is never shuffled.")
    check_array(np.concatenate(images), expected_x, name=f"{name}: images", **tolerance("pipeline"),
                hint="cast to float32, divide by 255 and add a channel axis (x[..., None] or tf.expand_dims); "
                "at evaluation nothing is augmented.")

    name = f"make_dataset(x, y, batch_size={batch_size}, training=True, seed={seed})"
    ds = make_dataset(x, y, batch_size, True, seed=seed)
    steps = _transformations(ds)
    if not steps[0].startswith("Prefetch"):
        fail(f"{name}: the last transformation is {steps[0]}, expected prefetch.")
    if not any(s.startswith("Cache") for s in steps):
        fail(
            f"{name}: the pipeline {list(reversed(steps))} has no cache. Hint: cache() after the decoding map "
            "and before shuffle, so decoding happens once and every epoch is still shuffled."
        )
    epochs = [_epoch(ds, name) for _ in range(2)]
    orders = []
    for images, labels in epochs:
        images, labels = np.concatenate(images), np.concatenate(labels)
        index = np.rint(images[:, 0, 0, 0] * 255).astype(int)
        if sorted(index.tolist()) != list(range(n)):
            fail(f"{name}: one epoch should contain every image exactly once.")
        check_array(labels, index % 10, name=f"{name}: label of each image after shuffling", **tolerance("exact"),
                    hint="shuffle (image, label) pairs together: from_tensor_slices((x, y)), then shuffle.")
        orders.append(index)
    if np.array_equal(orders[0], np.arange(n)):
        fail(f"{name}: the first epoch is in the original order. Hint: shuffle in training.")
    if np.array_equal(orders[0], orders[1]):
        fail(
            f"{name}: two epochs came in the same order. Hint: shuffle after cache (and keep "
            "reshuffle_each_iteration=True, the default), with a buffer as large as the dataset."
        )
    fresh = np.rint(np.concatenate(_epoch(make_dataset(x, y, batch_size, True, seed=seed), name)[0])[:, 0, 0, 0] * 255)
    if not np.array_equal(fresh.astype(int), orders[0]):
        fail(f"{name}: a second dataset with the same seed shuffles differently. Hint: shuffle(..., seed=seed).")


@explains_errors
def check_make_dataset_augments(make_dataset, build_augmenter, *, seed: int = 0) -> None:
    """With an augmenter, training batches are augmented (and stay float32 in [0, 1]);
    evaluation batches are not."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    x = np.rint(sample_images(24, seed=seed)[..., 0] * 255).astype("uint8")
    y = np.arange(24) % 10
    plain = (x.astype("float32") / 255.0)[..., None]
    eval_images = np.concatenate(_epoch(make_dataset(x, y, 8, False, augmenter=build_augmenter(seed)), "evaluation")[0])
    check_array(eval_images, plain, name="make_dataset(..., training=False, augmenter=...)", **tolerance("pipeline"),
                hint="augment only the training pipeline: evaluation data must be the real images.")
    ds = make_dataset(x, y, 24, True, augmenter=build_augmenter(seed), seed=seed)
    images = np.concatenate(_epoch(ds, "training")[0])
    unchanged = sum(any(np.array_equal(image, p) for p in plain) for image in images)
    if unchanged > len(images) // 2:
        fail(
            f"make_dataset(..., training=True, augmenter=...): {unchanged} of {len(images)} training images are "
            "unaugmented. Hint: map(lambda x, y: (augmenter(x, training=True), y)) after batching."
        )
    if images.dtype != np.float32 or images.min() < -1e-6 or images.max() > 1 + 1e-6:
        fail(
            f"training images should be float32 in [0, 1]; found {images.dtype} in [{images.min():.3f}, {images.max():.3f}]."
        )


# --------------------------------------------------------------------------- text augmentation (EDA)

SENTENCE = "this movie was not good but the actors were really funny and the music was great".split()
OTHER_SENTENCE = "the dress was not cheap but the quality is great and the bag was never ugly".split()
NO_SYNONYMS = "the of and it was".split()


def _call(fn, words, *args, name: str, **kwargs):
    original = list(words)
    result = fn(words, *args, **kwargs)
    if words != original:
        fail(f"{name} modified its input list. Hint: work on a copy (words = list(words)).")
    if not isinstance(result, list) or not all(isinstance(w, str) for w in result):
        fail(f"{name}: expected a list of words (str), found {result!r:.120}.")
    return result


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(word in it for word in short)


def _check_seeded(fn, words, *args, name: str, min_changed: int, **kwargs) -> None:
    """Same seed, same output; over 20 seeds at least ``min_changed`` outputs differ from the input."""
    first = _call(fn, words, *args, np.random.default_rng(0), name=name, **kwargs)
    again = _call(fn, words, *args, np.random.default_rng(0), name=name, **kwargs)
    if first != again:
        fail(f"{name}: two calls with np.random.default_rng(0) differ. Hint: draw only from rng.")
    changed = sum(_call(fn, words, *args, np.random.default_rng(s), name=name, **kwargs) != words for s in range(20))
    if changed < min_changed:
        fail(
            f"{name}: only {changed} of 20 seeds changed the sentence (expected ≥ {min_changed}). Hint: is the "
            "randomness coming from the rng argument?"
        )


@explains_errors
def check_random_swap(random_swap, sentence: list[str] = SENTENCE) -> None:
    """``random_swap(words, n, rng)``: n swaps of two random positions; same words, same length."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    for n in (1, 3):
        name = f"random_swap(words, n={n}, rng)"
        for s in range(10):
            out = _call(random_swap, sentence, n, np.random.default_rng(s), name=name)
            if sorted(out) != sorted(sentence):
                fail(f"{name}: {out} does not have the same words as {sentence}. Hint: swap, don't draw words.")
            moved = sum(a != b for a, b in zip(out, sentence, strict=True))
            if moved > 2 * n:
                fail(f"{name}: {moved} positions changed; n swaps move at most {2 * n} words.")
        _check_seeded(random_swap, sentence, n, name=name, min_changed=15)
    for words in ([], ["hello"]):
        out = _call(random_swap, words, 2, np.random.default_rng(0), name=f"random_swap({words}, 2, rng)")
        if out != words:
            fail(f"random_swap({words}, 2, rng) returned {out}; with fewer than two words nothing can move.")
    out = _call(random_swap, sentence, 0, np.random.default_rng(0), name="random_swap(words, 0, rng)")
    if out != sentence:
        fail("random_swap(words, 0, rng) changed the sentence; n = 0 means no swap.")


@explains_errors
def check_random_deletion(random_deletion, sentence: list[str] = SENTENCE) -> None:
    """``random_deletion(words, p, rng)``: drop each word with probability p, except negations;
    never return an empty sentence for a non-empty one. ``sentence`` must hold a negation."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    from autograder.data import NEGATIONS as protected  # noqa: N811

    negations = sorted(w for w in sentence if w in protected)
    for p in (0.1, 0.3, 0.5):
        name = f"random_deletion(words, p={p}, rng)"
        kept = []
        for s in range(200):
            out = _call(random_deletion, sentence, p, np.random.default_rng(s), name=name)
            if not _is_subsequence(out, sentence):
                fail(f"{name}: {out} is not {sentence} with words removed (order kept).")
            if sorted(w for w in out if w in protected) != negations:
                fail(
                    f"{name}: deleted a negation from {' '.join(sentence)!r}. Hint: never delete a negation "
                    f"({', '.join(sorted(protected))}): 'was good' has the opposite label of 'was not good'."
                )
            kept.append(len(out) - len(negations))
        deleted = 1 - np.mean(kept) / (len(sentence) - len(negations))
        if abs(deleted - p) > 0.05:
            fail(f"{name}: deleted {deleted:.2f} of the deletable words on average, expected about p = {p}.")
        _check_seeded(random_deletion, sentence, p, name=name, min_changed=15)
    out = _call(random_deletion, sentence, 0.0, np.random.default_rng(0), name="random_deletion(words, 0.0, rng)")
    if out != sentence:
        fail("random_deletion(words, p=0.0, rng) changed the sentence.")
    words = "great shirt".split()
    for s in range(20):
        out = _call(random_deletion, words, 1.0, np.random.default_rng(s), name="random_deletion(words, p=1.0, rng)")
        if len(out) != 1 or out[0] not in words:
            fail(
                f"random_deletion({words}, p=1.0, rng) returned {out}. Hint: when every word is deleted, return one "
                "word of the sentence chosen with rng (EDA's rule): an empty sentence has no label."
            )
    for words in ([], ["nice"]):
        out = _call(random_deletion, words, 0.9, np.random.default_rng(0), name=f"random_deletion({words}, 0.9, rng)")
        if out != words:
            fail(f"random_deletion({words}, 0.9, rng) returned {out}, expected {words}.")


def _replaceable(words, synonyms):
    from autograder.data import NEGATIONS, STOP_WORDS

    return {w for w in words if w in synonyms and w not in STOP_WORDS and w not in NEGATIONS}


@explains_errors
def check_synonym_replacement(synonym_replacement, synonyms, sentence: list[str] = SENTENCE) -> None:
    """``synonym_replacement(words, n, rng, synonyms)``: up to n distinct replaceable words (with
    synonyms, not stop words or negations), every occurrence of each replaced by one synonym."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    words = sentence + [w for w in sentence if w in synonyms][:1]  # one replaceable word twice
    candidates = _replaceable(words, synonyms)
    for n in (1, 2, len(candidates) + 3):
        name = f"synonym_replacement(words, n={n}, rng, synonyms)"
        for s in range(20):
            out = _call(synonym_replacement, words, n, np.random.default_rng(s), synonyms, name=name)
            if len(out) != len(words):
                fail(f"{name}: {len(out)} words from {len(words)}; replacement keeps the length.")
            replaced = {}
            for old, new in zip(words, out, strict=True):
                if old == new:
                    continue
                if old not in candidates:
                    fail(
                        f"{name}: replaced {old!r} by {new!r}. Hint: only words with synonyms that are not stop "
                        "words or negations may be replaced."
                    )
                if new not in synonyms[old]:
                    fail(f"{name}: replaced {old!r} by {new!r}, which is not among its synonyms {synonyms[old]}.")
                if replaced.setdefault(old, new) != new:
                    fail(f"{name}: {old!r} became {replaced[old]!r} and {new!r}; use one synonym for every occurrence.")
            if any(w in replaced and o == w for w, o in zip(words, out, strict=True)):
                fail(f"{name}: some occurrences of a replaced word were left. Replace every occurrence.")
            want = min(n, len(candidates))
            if len(replaced) != want:
                fail(
                    f"{name}: replaced {len(replaced)} distinct words, expected {want} (min(n, {len(candidates)} "
                    "replaceable words))."
                )
        _check_seeded(synonym_replacement, words, n, synonyms=synonyms, name=name, min_changed=20)
    for edge in ([], NO_SYNONYMS):
        out = _call(synonym_replacement, edge, 2, np.random.default_rng(0), synonyms, name="synonym_replacement")
        if out != edge:
            fail(f"synonym_replacement({edge}, 2, ...) returned {out}: nothing there has synonyms.")


@explains_errors
def check_random_insertion(random_insertion, synonyms, sentence: list[str] = SENTENCE) -> None:
    """``random_insertion(words, n, rng, synonyms)``: n synonyms of replaceable words inserted at
    random positions; the original words stay, in order."""
    __tracebackhide__ = True  # noqa: F841 - IPython hides this frame
    for n in (1, 3):
        name = f"random_insertion(words, n={n}, rng, synonyms)"
        allowed = {s for w in _replaceable(sentence, synonyms) for s in synonyms[w]}
        for seed in range(20):
            out = _call(random_insertion, sentence, n, np.random.default_rng(seed), synonyms, name=name)
            if len(out) != len(sentence) + n:
                fail(f"{name}: {len(out)} words from {len(sentence)}; expected {len(sentence) + n}.")
            if not _is_subsequence(sentence, out):
                fail(f"{name}: the original words are no longer all there in order: {out}.")
            extra = list(out)
            for word in sentence:
                extra.remove(word)
            stray = [w for w in extra if w not in allowed]
            if stray:
                fail(
                    f"{name}: inserted {stray}, which are not synonyms of the sentence's replaceable words. Hint: "
                    "insert a synonym of a random word that has synonyms (not a stop word or negation)."
                )
        positions = set()
        for seed in range(30):
            out = _call(random_insertion, sentence, 1, np.random.default_rng(seed), synonyms, name=name)
            positions.add(next(i for i, (a, b) in enumerate(zip(out, [*sentence, None], strict=False)) if a != b))
        if len(positions) < 5:
            fail(f"{name}: the synonym always goes to one of {sorted(positions)}; insert at a random position.")
        _check_seeded(random_insertion, sentence, n, synonyms=synonyms, name=name, min_changed=20)
    for edge in ([], NO_SYNONYMS):
        out = _call(random_insertion, edge, 2, np.random.default_rng(0), synonyms, name="random_insertion")
        if out != edge:
            fail(f"random_insertion({edge}, 2, ...) returned {out}: nothing there has synonyms.")
