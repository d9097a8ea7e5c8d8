"""A bank of augmented training epochs, drawn once and read by every child of a search (numpy only).

A search trains hundreds of children on the same clips; drawing Appendix B's augmentation (jitter, noise
at 10-20 dB SNR, MFCCs) for every child and epoch costs about 1 s per epoch on 2 CPU cores, all of a small
child's time. The bank holds E epochs of normalised features of the whole training set, each epoch with its
own augmentation draw (recorded per clip: shift, SNR, noisy or not), plus the clean validation and test
features. Child epoch e reads bank epoch e, in the child's own seeded order and subset. A bank is plain
numpy: children train from it under any Keras backend (JAX included) without importing TensorFlow, and
it saves to / loads from one .npz file (the feature cache of scripts/write_feature_cache.py).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FeatureBank", "bank_batches"]

_SPLITS = ("validation", "test")


@dataclass
class FeatureBank:
    """E augmented epochs of normalised training features [E, N, 49, 40] (float16) and clean eval features.

    Implements the data interface of rena_lib.training.train_child (train_dataset, eval_dataset, labels,
    num_classes, input_shape). reuse=True lets a child run more epochs than the bank holds, re-reading its
    epochs in turn (a stated reduction, for the GPU check's small cache); otherwise that is an error.
    """

    train: np.ndarray
    train_labels: np.ndarray
    eval_features: dict[str, np.ndarray]
    eval_labels: dict[str, np.ndarray]
    params: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    num_classes: int = 12
    reuse: bool = False

    def __post_init__(self) -> None:
        if self.train.ndim != 4 or self.train.shape[1] != len(self.train_labels):
            raise ValueError(
                f"FeatureBank.train must be [epochs, N, frames, coefficients] with N = {len(self.train_labels)} "
                f"labels, got shape {self.train.shape}"
            )
        if self.train.shape[0] < 1 or self.train.shape[1] < 1:
            raise ValueError(f"FeatureBank.train holds no epochs or no clips: shape {self.train.shape}")
        for split in _SPLITS:
            if split not in self.eval_features or split not in self.eval_labels:
                raise ValueError(f"FeatureBank needs {split!r} features and labels")

    @property
    def epochs(self) -> int:
        """Augmented epochs held."""
        return int(self.train.shape[0])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Model input shape (frames, coefficients, 1)."""
        return (*self.train.shape[2:], 1)

    def labels(self, split: str) -> np.ndarray:
        """Labels of 'train', 'validation' or 'test'."""
        if split in ("train", "training"):
            return self.train_labels
        return self.eval_labels[_eval_split(split)]

    def epoch_rows(self, rows: np.ndarray, seed: int, epoch: int, augment: bool) -> tuple[int, np.ndarray]:
        """(bank epoch, rows in their seeded order) that fit epoch `epoch` of a child reads."""
        bank_epoch = epoch % self.epochs if augment else 0
        return bank_epoch, rows[np.random.default_rng([seed, epoch]).permutation(len(rows))]

    def check_epochs(self, epochs: int) -> None:
        """Raise ValueError if a child needing `epochs` epochs would exhaust the bank."""
        if epochs > self.epochs and not self.reuse:
            raise ValueError(
                f"the augmentation bank holds {self.epochs} epochs but the budget needs {epochs}: build it with "
                f"bank_epochs >= {epochs} (KwsEvaluator(bank_epochs=...)), lower Budget.epochs / Budget.steps, "
                "or use augmentation='online'"
            )

    def train_dataset(
        self,
        batch_size: int,
        *,
        seed: int = 0,
        augment: bool = True,
        num_examples: int | None = None,
        epochs: int | None = None,
    ) -> tuple[Any, int]:
        """Shuffled batches of the bank's epochs (epoch 0 only, every time, when augment=False); and its size.

        On TensorFlow a tf.data stream of `epochs` epochs (default: the bank's), else a keras PyDataset.
        """
        n = len(self.train_labels)
        if num_examples is not None and num_examples > n:
            raise ValueError(f"Budget asks for {num_examples} training examples; the bank holds {n}")
        rows = None
        if num_examples is not None and num_examples < n:
            rows = np.sort(np.random.default_rng(seed).permutation(n)[:num_examples])
        if _keras_backend() == "tensorflow":
            return self._tf_dataset(batch_size, seed=seed, rows=rows, augment=augment, epochs=epochs)
        batches = bank_batches(self, batch_size, seed=seed, rows=rows, augment=augment)
        return batches, batches.num_examples

    #: train_dataset yields every epoch's batches in one stream (TensorFlow backend): pass steps_per_epoch
    #: to fit, so that Keras keeps one iterator across epochs and fit epoch e reads bank epoch e
    continuous_epochs = True

    def _tf_dataset(
        self, batch_size: int, *, seed: int, rows: np.ndarray | None, augment: bool, epochs: int | None = None
    ) -> tuple[Any, int]:
        """A tf.data stream of `epochs` (default: the bank's) epochs of batches gathered from the bank tensor."""
        import tensorflow as tf

        n_all = len(self.train_labels)
        rows = np.arange(n_all) if rows is None else np.asarray(rows)
        epochs = epochs or self.epochs
        if augment:
            self.check_epochs(epochs)
        order = []
        for e in range(epochs):
            bank_epoch, ordered = self.epoch_rows(rows, seed, e, augment)
            order.append(bank_epoch * n_all + ordered)  # rows of the flattened [epochs x N] bank
        order = np.stack(order).astype(np.int64)
        flat, labels = self._tf_tensors()
        per_epoch = tf.data.Dataset.from_tensor_slices(order)  # one element per epoch: its row order
        ds = per_epoch.flat_map(lambda idx: tf.data.Dataset.from_tensor_slices(idx).batch(batch_size))
        ds = ds.map(
            lambda idx: (
                tf.expand_dims(tf.cast(tf.gather(flat, idx), tf.float32), -1),
                tf.gather(labels, idx % n_all),
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return ds.prefetch(tf.data.AUTOTUNE), len(rows)

    def _tf_tensors(self) -> tuple[Any, Any]:
        """The bank as one [epochs x N, 49, 40] float16 tensor and the labels, built once per bank."""
        import tensorflow as tf

        cached = self.__dict__.get("_tf_cache")
        if cached is None or cached[0] is not self.train:
            flat = tf.constant(self.train.reshape(-1, *self.train.shape[2:]))
            cached = (self.train, flat, tf.constant(self.train_labels))
            self.__dict__["_tf_cache"] = cached
        return cached[1], cached[2]

    def eval_dataset(self, split: str, batch_size: int, *, max_examples: int | None = None) -> list:
        """Batches (x [b, 49, 40, 1] float32, y) of 'validation' or 'test'."""
        x, y = self.eval_features[_eval_split(split)], self.eval_labels[_eval_split(split)]
        if max_examples is not None:
            x, y = x[:max_examples], y[:max_examples]
        return [
            (np.asarray(x[i : i + batch_size], np.float32)[..., None], y[i : i + batch_size])
            for i in range(0, len(y), batch_size)
        ]

    def arrays(self, split: str, epoch: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(x float32 [N, 49, 40, 1], y) of a split; 'train' gives bank epoch `epoch`."""
        if split in ("train", "training"):
            return np.asarray(self.train[epoch], np.float32)[..., None], self.train_labels
        s = _eval_split(split)
        return np.asarray(self.eval_features[s], np.float32)[..., None], self.eval_labels[s]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the bank to one .npz (atomically: a temporary file, then a rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"train": self.train, "train_labels": self.train_labels}
        for s in _SPLITS:
            arrays[f"{s}_features"], arrays[f"{s}_labels"] = self.eval_features[s], self.eval_labels[s]
        arrays |= {f"param_{k}": v for k, v in self.params.items()}
        meta = {**self.meta, "num_classes": self.num_classes}
        arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, reuse: bool = False) -> FeatureBank:
        """Read a bank written by save(); errors name the file."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"feature bank {path} not found (write one with scripts/write_feature_cache.py)"
            )
        try:
            with np.load(path) as z:
                d = {k: z[k] for k in z.files}
            meta = json.loads(bytes(d.pop("meta")).decode())
            return cls(
                train=d["train"],
                train_labels=d["train_labels"],
                eval_features={s: d[f"{s}_features"] for s in _SPLITS},
                eval_labels={s: d[f"{s}_labels"] for s in _SPLITS},
                params={k[len("param_") :]: v for k, v in d.items() if k.startswith("param_")},
                meta=meta,
                num_classes=int(meta.get("num_classes", 12)),
                reuse=reuse,
            )
        except (KeyError, ValueError, OSError) as exc:
            from rena_lib.data.paths import DataError

            raise DataError(
                f"feature bank {path} is unreadable or incomplete ({type(exc).__name__}: {exc}); "
                "delete it and write it again"
            ) from exc

    def nbytes(self) -> int:
        """Bytes of feature memory held."""
        return int(self.train.nbytes + sum(v.nbytes for v in self.eval_features.values()))


def _keras_backend() -> str:
    """Keras's backend, read without importing Keras when it is not loaded yet."""
    import sys

    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def _eval_split(split: str) -> str:
    aliases = {"validation": "validation", "val": "validation", "test": "test", "testing": "test"}
    if split not in aliases:
        raise ValueError(f"unknown split {split!r}; expected train, validation or test")
    return aliases[split]


def bank_batches(
    bank: FeatureBank, batch_size: int, *, seed: int = 0, rows: np.ndarray | None = None, augment: bool = True
) -> Any:
    """A keras.utils.PyDataset over the bank: epoch e of a fit reads bank epoch e, in a seeded order."""
    return _batches_class()(bank, batch_size, seed=seed, rows=rows, augment=augment)


_IMPL: type | None = None


def _batches_class() -> type:
    """The PyDataset subclass, defined on first use (importing this module needs no Keras)."""
    global _IMPL
    if _IMPL is None:
        import keras

        class BankBatches(keras.utils.PyDataset):
            """Numpy batches of a FeatureBank (one __getitem__ per step), so they feed any Keras backend."""

            def __init__(self, bank, batch_size, *, seed=0, rows=None, augment=True):
                super().__init__()
                self.bank, self.batch_size, self.seed, self.augment = bank, batch_size, seed, augment
                self.rows = np.arange(len(bank.train_labels)) if rows is None else np.asarray(rows)
                self.num_examples = len(self.rows)
                self.epoch = 0
                self._bank_epoch, self._order = bank.epoch_rows(self.rows, seed, 0, augment)

            def __len__(self) -> int:
                return math.ceil(self.num_examples / self.batch_size)

            def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
                idx = np.sort(self._order[i * self.batch_size : (i + 1) * self.batch_size])
                x = self.bank.train[self._bank_epoch][idx].astype(np.float32)[..., None]
                return x, self.bank.train_labels[idx]

            def on_epoch_end(self) -> None:
                self.epoch += 1
                self._bank_epoch, self._order = self.bank.epoch_rows(
                    self.rows, self.seed, self.epoch, self.augment
                )

        _IMPL = BankBatches
    return _IMPL
