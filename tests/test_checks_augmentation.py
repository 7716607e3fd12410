"""Chapter 08 checks: the notebook's solutions pass; plausible wrong augmenters, pipelines and
text augmentations each fail with a message that points at the mistake."""

import numpy as np
import pytest
from conftest import failure, solution_functions

from autograder.checks.augmentation import (
    check_augmenter,
    check_make_dataset,
    check_make_dataset_augments,
    check_random_deletion,
    check_random_insertion,
    check_random_swap,
    check_synonym_replacement,
)
from autograder.data import load_synonyms, shift_images

S = solution_functions(
    "08_data_augmentation",
    "import keras\nimport numpy as np\nimport tensorflow as tf\n"
    "from autograder.data import NEGATIONS, STOP_WORDS",
)
SYNONYMS = load_synonyms()


def test_solution_passes_every_check():
    check_augmenter(S["build_augmenter"])
    check_augmenter(S["build_augmenter"], seed=7)
    check_make_dataset(S["make_dataset"])
    check_make_dataset(S["make_dataset"], n=37, batch_size=5, seed=3)
    check_make_dataset_augments(S["make_dataset"], S["build_augmenter"])
    check_random_swap(S["random_swap"])
    check_random_deletion(S["random_deletion"])
    check_synonym_replacement(S["synonym_replacement"], SYNONYMS)
    check_random_insertion(S["random_insertion"], SYNONYMS)


def _augmenter(*layers):
    import keras

    return lambda seed=0: keras.Sequential([make(seed) for make in layers])


def _layers():
    import keras

    return {
        "hflip": lambda s: keras.layers.RandomFlip("horizontal", seed=s),
        "vflip": lambda s: keras.layers.RandomFlip("horizontal_and_vertical", seed=s),
        "shift": lambda s: keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=s),
        "rotate_far": lambda s: keras.layers.RandomRotation(0.5, seed=s),
        "contrast_255": lambda s: keras.layers.RandomContrast(0.9, seed=s),
        "shift_unseeded": lambda s: keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        "zoom": lambda s: keras.layers.RandomZoom(0.1, fill_mode="constant", seed=s),
    }


@pytest.mark.parametrize(
    "names, expected",
    [
        (("shift",), "at least two different random augmentations"),
        (("vflip", "shift"), "upside-down shoe"),
        (("hflip", "rotate_far"), "keep rotations small"),
        (("shift", "contrast_255"), "value_range=(0, 1)"),
        (("hflip", "shift_unseeded"), "pass the seed to every random layer"),
    ],
)
def test_wrong_augmenters_fail(names, expected):
    layers = _layers()
    assert expected in failure(check_augmenter, _augmenter(*(layers[n] for n in names)))


def test_augmenter_that_ignores_its_seed_fails():
    layers = _layers()
    fixed = _augmenter(layers["hflip"], layers["shift"])
    assert "use the seed argument" in failure(check_augmenter, lambda seed=0: fixed(3))


def test_augmenter_forced_into_training_mode_fails():
    import keras

    class AlwaysTraining(keras.layers.Layer):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def call(self, x, training=None):
            return self.inner(x, training=True)

    layers = _layers()
    def forced(seed=0):
        return keras.Sequential([layers["hflip"](seed), layers["zoom"](seed), AlwaysTraining(layers["shift"](seed))])

    assert "identity at inference" in failure(check_augmenter, forced)


def _pipeline(cache=True, shuffle=True, prefetch=True, seed_shuffle=True, augment_eval=False, split_pairs=False):
    import tensorflow as tf

    def make_dataset(x, y, batch_size, training, augmenter=None, seed=0):
        if split_pairs:
            xs = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed) if training else tf.data.Dataset.from_tensor_slices(x)
            ds = tf.data.Dataset.zip((xs, tf.data.Dataset.from_tensor_slices(y)))
        else:
            ds = tf.data.Dataset.from_tensor_slices((x, y))
        ds = ds.map(lambda i, label: (tf.cast(i, tf.float32)[..., None] / 255.0, label))
        if training:
            if cache:
                ds = ds.cache()
            if shuffle and not split_pairs:
                ds = ds.shuffle(len(x), seed=seed if seed_shuffle else None)
        ds = ds.batch(batch_size)
        if augmenter is not None and (training or augment_eval):
            ds = ds.map(lambda i, label: (augmenter(i, training=True), label))
        return ds.prefetch(2) if prefetch else ds

    return make_dataset


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"prefetch": False}, "expected prefetch"),
        ({"cache": False}, "has no cache"),
        ({"shuffle": False}, "original order"),
        ({"split_pairs": True}, "shuffle (image, label) pairs together"),
    ],
)
def test_wrong_pipelines_fail(kwargs, expected):
    assert expected in failure(check_make_dataset, _pipeline(**kwargs))


def test_unseeded_shuffle_is_not_reproducible():
    import tensorflow as tf

    tf.random.set_seed(None)  # no global seed: an unseeded shuffle then differs run to run
    try:
        assert "same seed shuffles differently" in failure(check_make_dataset, _pipeline(seed_shuffle=False))
    finally:
        tf.random.set_seed(0)


def test_pipeline_that_augments_evaluation_data_fails():
    message = failure(check_make_dataset_augments, _pipeline(augment_eval=True), S["build_augmenter"])
    assert "augment only the training pipeline" in message


def test_swap_that_overwrites_fails():
    def overwrite(words, n, rng):
        words = list(words)
        for _ in range(n):
            i, j = rng.integers(len(words), size=2) if len(words) > 1 else (0, 0)
            if words:
                words[i] = words[j]
        return words

    assert "does not have the same words" in failure(check_random_swap, overwrite)


def test_swap_that_mutates_its_input_fails():
    def in_place(words, n, rng):
        if len(words) > 1:
            words[0], words[1] = words[1], words[0]
        return words

    assert "modified its input list" in failure(check_random_swap, in_place)


def test_deletion_rules():
    deletes_negations = lambda words, p, rng: [w for w in words if rng.random() >= p] or words[:1]  # noqa: E731
    assert "never delete a negation" in failure(check_random_deletion, deletes_negations)
    may_be_empty = lambda words, p, rng: [w for w in words if w == "not" or rng.random() >= p]  # noqa: E731
    assert "an empty sentence has no label" in failure(check_random_deletion, may_be_empty)
    too_eager = lambda words, p, rng: [w for w in words if w == "not" or rng.random() >= 2 * p] or words[:1]  # noqa: E731
    assert "expected about p" in failure(check_random_deletion, too_eager)


def test_replacement_rules():
    stop_words_too = lambda words, n, rng, synonyms: ["the" if w == "this" else w for w in words]  # noqa: E731
    assert "may be replaced" in failure(check_synonym_replacement, stop_words_too, SYNONYMS)
    per_occurrence = S["synonym_replacement"]

    def differs_per_occurrence(words, n, rng, synonyms):
        out = per_occurrence(words, n, rng, synonyms)
        return [synonyms[w][rng.integers(len(synonyms[w]))] if o != w else o for w, o in zip(words, out, strict=True)]

    assert "one synonym for every occurrence" in failure(check_synonym_replacement, differs_per_occurrence, SYNONYMS)


def test_insertion_rules():
    def inserts_word(words, n, rng, synonyms):
        words = list(words)
        for _ in range(n if words else 0):
            words.insert(int(rng.integers(len(words) + 1)), "movie")
        return words

    assert "not synonyms" in failure(check_random_insertion, inserts_word, SYNONYMS)

    def always_first(words, n, rng, synonyms):
        out = S["random_insertion"](words, n, rng, synonyms)
        extra = [w for w in out if w not in words]
        return extra + [w for w in words]

    assert "random position" in failure(check_random_insertion, always_first, SYNONYMS)


def test_shift_images_moves_each_image_by_whole_pixels_and_is_seeded():
    x = np.arange(3 * 6 * 6).reshape(3, 6, 6) + 1
    shifted = shift_images(x, 2, seed=0)
    assert np.array_equal(shifted, shift_images(x, 2, seed=0))
    dys, dxs = np.random.default_rng(0).integers(-2, 3, size=(3, 2)).T
    for image, moved, dy, dx in zip(x, shifted, dys, dxs, strict=True):
        rolled = np.roll(image, (dy, dx), axis=(0, 1))
        mask = moved != 0
        assert np.array_equal(moved[mask], rolled[mask])
        assert mask.sum() == (6 - abs(dy)) * (6 - abs(dx))


def test_keras_random_layers_transform_as_chapter_05_says():
    """Section 1's table: RandomTranslation shifts by U(-f, f)·H pixels with bilinear
    interpolation (2.8 px for f = 0.1 on 28 rows), a negative RandomZoom factor zooms in, and
    RandomContrast computes (x - mean) · c + mean per image and channel, clipped."""
    import keras

    image = np.zeros((1, 28, 28, 1), "float32")
    image[0, 10, 5] = 1.0
    down = keras.layers.RandomTranslation((0.1, 0.1), (0.0, 0.0), fill_mode="constant", seed=0)
    moved = down(image, training=True).numpy()[0, :, 5, 0]
    np.testing.assert_allclose(moved[12:14], [0.2, 0.8], atol=1e-5)  # 10 + 2.8 rows, interpolated
    assert moved.sum() == pytest.approx(1.0, abs=1e-5)

    square = np.zeros((1, 28, 28, 1), "float32")
    square[0, 10:18, 10:18] = 1.0
    zoom_in = keras.layers.RandomZoom((-0.2, -0.2), fill_mode="constant", seed=0)(square, training=True)
    zoom_out = keras.layers.RandomZoom((0.2, 0.2), fill_mode="constant", seed=0)(square, training=True)
    assert (np.asarray(zoom_in) > 0.5).sum() > 64 > (np.asarray(zoom_out) > 0.5).sum()

    rng = np.random.default_rng(0)
    images = rng.random((3, 28, 28, 1)).astype("float32")
    contrast = keras.layers.RandomContrast(0.5, value_range=(0, 1), seed=0)
    drawn = contrast.get_random_transformation(images, training=True)
    factor = np.asarray(drawn["contrast_factor"])
    assert factor.shape == (3, 1, 1, 1) and np.all((0.5 <= factor) & (factor <= 1.5))
    mean = images.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(contrast.transform_images(images, drawn), np.clip((images - mean) * factor + mean, 0, 1),
                               atol=1e-5)
