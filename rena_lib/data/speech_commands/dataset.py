"""SpeechCommandsData: the dataset object (settings, index, clips, labels) and its tf.data pipelines."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

import numpy as np

from rena_lib.data.cache import shared_property
from rena_lib.data.speech_commands.bank import _Bank
from rena_lib.data.speech_commands.features import _Features, _normalize
from rena_lib.data.speech_commands.index import RANDOM_SEED, SpeechCommandsIndex, index_speech_commands
from rena_lib.data.speech_commands.layout import CLASSES, find_speech_commands_dir
from rena_lib.data.speech_commands.splits import _SPLIT_ALIASES

if TYPE_CHECKING:
    import tensorflow as tf

    from rena_lib.data.audio import NoiseBank


class SpeechCommandsData(_Features, _Bank):
    """Lazily loaded 12-class Speech Commands with cached features and an augmented training pipeline.

    split_salt '' is the canonical split. A folder that lies inside one canonical partition (the real
    subset used for development and CI is part of the official test set) needs split_salt=RESPLIT_SALT.
    Picklable: only the settings are pickled; the index, audio and features live in a per-process cache
    (rena_lib.data.cache) shared by equal objects, so an evaluator unpickled per child loads them once.
    Validation / test MFCCs are computed once (in memory; optionally also an .npz in cache_dir keyed by
    the file list). Training clips are decoded once and kept as int16; jitter, noise and MFCCs of the
    training batches are computed on the fly. With eval_noise=True the validation / test clips get the
    noise of Appendix B once, at a fixed seed (the paper adds noise to 80% of test samples too).
    """

    num_classes = len(CLASSES)
    input_shape = (49, 40, 1)
    STATS_CLIPS = 2000  # training clips used for the per-coefficient feature mean and std

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        validation_percentage: float = 10.0,
        testing_percentage: float = 10.0,
        silence_percentage: float = 10.0,
        unknown_percentage: float = 10.0,
        split_salt: str = "",
        eval_noise: bool = False,
        cache_dir: str | os.PathLike[str] | None = None,
        seed: int = RANDOM_SEED,
    ) -> None:
        from rena_lib.data.audio import MfccConfig

        self.data_dir = None if data_dir is None else str(data_dir)
        self.split_options = {
            "validation_percentage": validation_percentage,
            "testing_percentage": testing_percentage,
            "silence_percentage": silence_percentage,
            "unknown_percentage": unknown_percentage,
            "split_salt": split_salt,
        }
        self.eval_noise = eval_noise
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.seed = seed
        self.mfcc_config = MfccConfig()

    def cache_key(self) -> tuple:
        """The settings that determine the loaded data (objects with equal keys share it in a process)."""
        items = sorted(self.split_options.items())
        return (self.data_dir, tuple(items), self.eval_noise, self.cache_dir, self.seed, self.mfcc_config)

    @shared_property
    def index(self) -> SpeechCommandsIndex:
        """The 12-class index of all three partitions."""
        return index_speech_commands(
            find_speech_commands_dir(self.data_dir), seed=self.seed, **self.split_options
        )

    @shared_property
    def noise(self) -> NoiseBank:
        """The background noise recordings, decoded once."""
        from rena_lib.data.audio import NoiseBank

        cfg = self.mfcc_config
        return NoiseBank.from_files(
            self.index.noise_files, sample_rate=cfg.sample_rate, clip_samples=cfg.clip_samples
        )

    @shared_property
    def _train_cache(self) -> dict[str, np.ndarray]:
        return {}

    def _decode_train(self, rows: np.ndarray | None) -> np.ndarray:
        from rena_lib.data.audio import decode_wavs

        paths = self.index.paths("training")
        if rows is not None:
            paths = [paths[i] for i in rows]
        cfg = self.mfcc_config
        audio = decode_wavs(paths, sample_rate=cfg.sample_rate, clip_samples=cfg.clip_samples)
        return np.round(audio * 32768.0).clip(-32768, 32767).astype(np.int16)

    def train_clips(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Training clips as int16 [n, 16000] (silence rows are zeros): the given rows of the training
        index, or all of them; each decoded once per process.

        Subsets are decoded alone (a smoke budget on the full dataset reads only its clips); once the
        subsets held add up to more clips than the whole training set, everything is decoded instead.
        """
        cache = self._train_cache
        if "all" in cache or rows is None:
            if "all" not in cache:
                cache.clear()
                cache["all"] = self._decode_train(None)
            return cache["all"] if rows is None else cache["all"][rows]
        key = "rows:" + hashlib.sha1(np.asarray(rows, np.int64).tobytes()).hexdigest()
        if key not in cache:
            held = sum(len(v) for k, v in cache.items() if k.startswith("rows:"))
            if held + len(rows) > len(self.index.entries["training"]):
                return self.train_clips(None)[rows]
            cache[key] = self._decode_train(rows)
        return cache[key]

    @property
    def train_audio(self) -> np.ndarray:
        """All training clips, int16 [N, 16000], decoded once (the full training set needs 2.7 GB)."""
        return self.train_clips(None)

    def labels(self, split: str) -> np.ndarray:
        """Labels of 'train', 'validation' or 'test'."""
        return self.index.labels(self._partition(split))

    @staticmethod
    def _partition(split: str) -> str:
        if split not in _SPLIT_ALIASES:
            raise ValueError(f"unknown split {split!r}; expected train, validation or test")
        return _SPLIT_ALIASES[split]

    def train_dataset(
        self, batch_size: int, *, seed: int = 0, augment: bool = True, num_examples: int | None = None
    ) -> tuple[tf.data.Dataset, int]:
        """Shuffled batches of (normalised MFCC [49, 40, 1], label), augmented on the fly; and its size."""
        import tensorflow as tf

        from rena_lib.data.audio import augment_batch, mfcc

        labels, idx = self.labels("train"), None
        if num_examples is not None and num_examples < len(labels):
            idx = np.sort(np.random.default_rng(seed).permutation(len(labels))[:num_examples])
            labels = labels[idx]
        cfg, (mean, std) = self.mfcc_config, self.feature_stats
        if not augment:  # nothing random per epoch: the clean features, computed once per process
            feats = self._clean_train_features(idx)
            ds = tf.data.Dataset.from_tensor_slices((feats, labels))
            ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
            ds = ds.map(lambda f, y: (_normalize(f, mean, std), y))
            return ds.prefetch(tf.data.AUTOTUNE), len(labels)
        noise = self.noise

        def features(clips, labels, s):
            audio = augment_batch(tf.cast(clips, tf.float32) / 32768.0, noise, s)
            return _normalize(mfcc(audio, cfg), mean, std), labels

        ds = tf.data.Dataset.from_tensor_slices((self.train_clips(idx), labels))
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda xy, s: features(xy[0], xy[1], s), num_parallel_calls=tf.data.AUTOTUNE
        )
        return ds.prefetch(tf.data.AUTOTUNE), len(labels)

    def eval_dataset(
        self, split: str, batch_size: int, *, max_examples: int | None = None
    ) -> tf.data.Dataset:
        """Batches of cached, normalised (MFCC [49, 40, 1], label) of 'validation' or 'test'."""
        import tensorflow as tf

        feats, labels = self.features(split), self.labels(split)
        if max_examples is not None:
            feats, labels = feats[:max_examples], labels[:max_examples]
        ds = tf.data.Dataset.from_tensor_slices((feats, labels)).batch(batch_size)
        mean, std = self.feature_stats
        return ds.map(lambda f, y: (_normalize(f, mean, std), y)).prefetch(tf.data.AUTOTUNE)
