"""CIFAR-10 (section 5.1): the cifar-10-batches-py format, a validation split and the augmented tf.data pipeline."""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rena_lib.data.cache import shared_property

if TYPE_CHECKING:
    import tensorflow as tf
from rena_lib.data.paths import DataError, download_hint, download_with_keras, local_dataset_dir

__all__ = [
    "CLASSES",
    "Cifar10Arrays",
    "Cifar10Data",
    "augment_image",
    "find_cifar10_dir",
    "load_cifar10",
    "read_batch",
    "stratified_split",
]

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SUBDIR = "cifar10"
BATCHES_DIR = "cifar-10-batches-py"
ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# the archive's sha256, as Keras's own keras.datasets.cifar10 checks it (and under the same cache name)
ORIGIN_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
PAD = 4  # pixels of zero padding before the random 32 x 32 crop
BRIGHTNESS_DELTA = 0.2  # on images scaled to [0, 1]
CONTRAST_RANGE = (0.8, 1.2)


def _is_batches_dir(path: Path) -> bool:
    return (path / "test_batch").exists() or any(path.glob("data_batch_*"))


def find_cifar10_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cifar-10-batches-py folder: data_dir (or a parent of it), $RENA_DATA_DIR/cifar10/..., or a download."""
    root = local_dataset_dir(data_dir, SUBDIR)
    if root is None:
        return (
            download_with_keras("cifar-10-batches-py-target", ORIGIN, file_hash=ORIGIN_SHA256) / BATCHES_DIR
        )
    for candidate in (root, root / BATCHES_DIR, root / SUBDIR / BATCHES_DIR):
        if candidate.is_dir() and _is_batches_dir(candidate):
            return candidate
    raise FileNotFoundError(
        f"no CIFAR-10 batches (data_batch_N, test_batch) in {root} or {root / BATCHES_DIR}. "
        f"{download_hint(f'{SUBDIR}/{BATCHES_DIR}')}"
    )


def read_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch -> (uint8 images N x 32 x 32 x 3, int32 labels N)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            d = pickle.load(f, encoding="bytes")
        data = np.asarray(d[b"data"], dtype=np.uint8)
        labels = np.asarray(d[b"labels"], dtype=np.int32)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise DataError(
            f"corrupt CIFAR-10 batch {path}: {type(exc).__name__}: {exc}. {download_hint(SUBDIR)}"
        ) from exc
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(f"corrupt CIFAR-10 batch {path}: data {data.shape}, {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise DataError(f"corrupt CIFAR-10 batch {path}: labels outside 0..9")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def stratified_split(y: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out) with round(fraction * n_c) of every class held out, seeded."""
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n = round(fraction * len(idx))
        held.append(idx[:n])
        keep.append(idx[n:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(held))


@dataclass(frozen=True)
class Cifar10Arrays:
    """Train / validation / test images (uint8 NHWC) and labels (int32), with the training set's statistics."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray  # per channel, on [0, 1] pixels
    std: np.ndarray


def load_cifar10(
    data_dir: str | os.PathLike[str] | None = None, *, validation_fraction: float = 0.1, seed: int = 0
) -> Cifar10Arrays:
    """Read every data_batch_N and test_batch; hold out a stratified validation split of the training set."""
    folder = find_cifar10_dir(data_dir)
    batches = sorted(folder.glob("data_batch_*"), key=lambda p: (len(p.name), p.name))
    if not batches:
        raise FileNotFoundError(
            f"no data_batch_N files in {folder}. {download_hint(f'{SUBDIR}/{BATCHES_DIR}')}"
        )
    test_path = folder / "test_batch"
    if not test_path.exists():
        raise FileNotFoundError(f"missing {test_path}. {download_hint(f'{SUBDIR}/{BATCHES_DIR}')}")
    parts = [read_batch(p) for p in batches]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    x_test, y_test = read_batch(test_path)
    keep, held = stratified_split(y, validation_fraction, seed)
    x_train = x[keep]
    pixels = x_train.reshape(-1, 3).astype(np.float64) / 255.0
    return Cifar10Arrays(
        x_train=x_train,
        y_train=y[keep],
        x_val=x[held],
        y_val=y[held],
        x_test=x_test,
        y_test=y_test,
        mean=pixels.mean(0).astype(np.float32),
        std=pixels.std(0).astype(np.float32),
    )


def augment_image(image, seed):
    """Paper augmentation of one [0, 1] image, stateless in seed (shape [2]): flip, pad+crop, brightness, contrast."""
    import tensorflow as tf

    seeds = tf.random.experimental.stateless_split(seed, 4)
    image = tf.image.stateless_random_flip_left_right(image, seeds[0])
    image = tf.image.resize_with_crop_or_pad(image, 32 + 2 * PAD, 32 + 2 * PAD)
    image = tf.image.stateless_random_crop(image, (32, 32, 3), seeds[1])
    image = tf.image.stateless_random_brightness(image, BRIGHTNESS_DELTA, seeds[2])
    image = tf.image.stateless_random_contrast(image, *CONTRAST_RANGE, seeds[3])
    return tf.clip_by_value(image, 0.0, 1.0)


class Cifar10Data:
    """Lazily loaded CIFAR-10 with tf.data pipelines; picklable (the arrays live in a per-process cache)."""

    num_classes = len(CLASSES)
    input_shape = (32, 32, 3)

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        validation_fraction: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.data_dir = None if data_dir is None else str(data_dir)
        self.validation_fraction = validation_fraction
        self.seed = seed

    def cache_key(self) -> tuple:
        """The settings that determine the loaded data (objects with equal keys share it in a process)."""
        return (self.data_dir, self.validation_fraction, self.seed)

    @shared_property
    def arrays(self) -> Cifar10Arrays:
        """The loaded arrays (read once per process)."""
        return load_cifar10(self.data_dir, validation_fraction=self.validation_fraction, seed=self.seed)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of 'train', 'validation' or 'test'."""
        a = self.arrays
        table = {
            "train": (a.x_train, a.y_train),
            "validation": (a.x_val, a.y_val),
            "test": (a.x_test, a.y_test),
        }
        if name not in table:
            raise ValueError(f"unknown split {name!r}; expected one of {sorted(table)}")
        return table[name]

    def labels(self, split: str) -> np.ndarray:
        """Labels of 'train', 'validation' or 'test'."""
        return self.split(split)[1]

    def _normalize(self, image):
        import tensorflow as tf

        return (image - tf.constant(self.arrays.mean)) / tf.constant(self.arrays.std)

    def train_dataset(
        self, batch_size: int, *, seed: int = 0, augment: bool = True, num_examples: int | None = None
    ) -> tuple[tf.data.Dataset, int]:
        """Shuffled, augmented, normalised batches of (image, label), reshuffled every epoch; and its size."""
        import tensorflow as tf

        x, y = self.split("train")
        if num_examples is not None and num_examples < len(y):
            idx = np.sort(np.random.default_rng(seed).permutation(len(y))[:num_examples])
            x, y = x[idx], y[idx]
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(
            len(y), seed=seed, reshuffle_each_iteration=True
        )
        if augment:
            seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
            ds = tf.data.Dataset.zip(ds, seeds).map(
                lambda xy, s: (augment_image(tf.cast(xy[0], tf.float32) / 255.0, s), xy[1]),
                num_parallel_calls=tf.data.AUTOTUNE,
            )
        else:
            ds = ds.map(lambda img, label: (tf.cast(img, tf.float32) / 255.0, label))
        ds = ds.map(lambda img, label: (self._normalize(img), label), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE), len(y)

    def eval_dataset(
        self, split: str, batch_size: int, *, max_examples: int | None = None
    ) -> tf.data.Dataset:
        """Normalised, un-augmented batches of 'validation' or 'test' (the first max_examples)."""
        import tensorflow as tf

        x, y = self.split(split)
        if max_examples is not None:
            x, y = x[:max_examples], y[:max_examples]
        ds = tf.data.Dataset.from_tensor_slices((x, y)).map(
            lambda img, label: (self._normalize(tf.cast(img, tf.float32) / 255.0), label),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
