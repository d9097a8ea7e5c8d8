"""Speech Commands (section 5.2, Appendix B): layout, canonical speaker split, 12-class index, tf.data pipelines."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rena_lib.data.cache import shared_property

if TYPE_CHECKING:
    import tensorflow as tf

    from rena_lib.data.audio import NoiseBank
    from rena_lib.data.feature_bank import FeatureBank
from rena_lib.data.paths import DataError, download_hint, download_with_keras, local_dataset_dir

__all__ = [
    "CLASSES",
    "ORIGIN",
    "RESPLIT_SALT",
    "WORDS",
    "SpeechCommandsData",
    "SpeechCommandsIndex",
    "find_speech_commands_dir",
    "index_speech_commands",
    "which_set",
]

SUBDIR = "speech_commands"
ORIGIN = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
BACKGROUND_NOISE_DIR = "_background_noise_"
SILENCE, UNKNOWN = "_silence_", "_unknown_"
WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
CLASSES = (SILENCE, UNKNOWN, *WORDS)
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # ~134M, as in TensorFlow's input_data.py
RESPLIT_SALT = "rena"  # a suggested salt for data that lies inside one canonical partition
RANDOM_SEED = 59185  # input_data.py's seed for the unknown-word draw and the shuffles
PARTITIONS = ("training", "validation", "testing")
_SPLIT_ALIASES = {
    "train": "training",
    "training": "training",
    "validation": "validation",
    "val": "validation",
}
_SPLIT_ALIASES |= {"test": "testing", "testing": "testing"}


def which_set(
    filename: str, validation_percentage: float = 10.0, testing_percentage: float = 10.0, *, salt: str = ""
) -> str:
    """The partition of a file ('training', 'validation' or 'testing'): SHA-1 of its speaker id.

    With salt '' this is the canonical split of TensorFlow's input_data.py (it reproduces the official
    list files); a non-empty salt is prepended to the speaker id and draws another speaker-disjoint split.
    """
    base_name = os.path.basename(filename)
    speaker = re.sub(r"_nohash_.*$", "", base_name)
    hashed = hashlib.sha1((salt + speaker).encode("utf-8")).hexdigest()
    percentage = (int(hashed, 16) % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < testing_percentage + validation_percentage:
        return "testing"
    return "training"


def find_speech_commands_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The dataset folder: data_dir, else $RENA_DATA_DIR/speech_commands, else Keras's download of v0.02."""
    root = local_dataset_dir(data_dir, SUBDIR)
    if root is None:
        root = download_with_keras("speech_commands_v0_02", ORIGIN)
    return root


@dataclass
class SpeechCommandsIndex:
    """Every partition's (path, label) entries; path '' is a _silence_ clip. Labels index CLASSES."""

    root: str
    entries: dict[str, list[tuple[str, int]]]
    noise_files: list[str]
    unknown_words: list[str] = field(default_factory=list)
    split_salt: str = ""

    def labels(self, partition: str) -> np.ndarray:
        """Labels of one partition as int32."""
        return np.array([label for _, label in self.entries[partition]], np.int32)

    def paths(self, partition: str) -> list[str]:
        """File paths of one partition ('' for silence)."""
        return [p for p, _ in self.entries[partition]]

    def fingerprint(self) -> str:
        """SHA-1 of the relative file list and labels (keys on-disk feature caches)."""
        h = hashlib.sha1()
        for part in PARTITIONS:
            for p, label in self.entries[part]:
                rel = os.path.relpath(p, self.root) if p else ""
                h.update(f"{part}\t{rel}\t{label}\n".encode())
        return h.hexdigest()


def _wavs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav" and p.is_file())


def index_speech_commands(
    root: str | os.PathLike[str],
    *,
    validation_percentage: float = 10.0,
    testing_percentage: float = 10.0,
    silence_percentage: float = 10.0,
    unknown_percentage: float = 10.0,
    split_salt: str = "",
    seed: int = RANDOM_SEED,
) -> SpeechCommandsIndex:
    """Check the standard layout and build the 12-class index as TensorFlow's input_data.py does.

    Per partition, _silence_ and _unknown_ each add ceil(percentage x keyword clips) entries; unknowns are
    drawn from the non-keyword folders. Missing folders or files raise errors naming them, and so does a
    split that leaves a partition without keyword clips (e.g. a subset of the official test set, which the
    canonical split puts entirely in 'testing': pass split_salt=RESPLIT_SALT for a re-drawn split).
    """
    root = Path(root)
    hint = download_hint(SUBDIR)
    if not root.is_dir():
        raise FileNotFoundError(f"Speech Commands folder not found: {root}. {hint}")
    noise_dir = root / BACKGROUND_NOISE_DIR
    if not noise_dir.is_dir():
        raise FileNotFoundError(f"missing {noise_dir} (background noise recordings). {hint}")
    noise_files = [str(p) for p in _wavs(noise_dir)]
    if not noise_files:
        raise FileNotFoundError(f"no .wav files in {noise_dir}. {hint}")
    for word in WORDS:
        folder = root / word
        if not folder.is_dir():
            raise FileNotFoundError(f"missing class folder {folder} (keyword {word!r}). {hint}")
        if not _wavs(folder):
            raise FileNotFoundError(f"class folder {folder} has no .wav files. {hint}")
    others = sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and p.name.lower() not in WORDS and not p.name.startswith("_")
    )
    if not any(_wavs(root / w) for w in others):
        raise FileNotFoundError(f"no auxiliary word folders with .wav files in {root} for {UNKNOWN}. {hint}")

    label_of = {w: CLASSES.index(w) for w in WORDS}
    known: dict[str, list[tuple[str, int]]] = {p: [] for p in PARTITIONS}
    unknown: dict[str, list[tuple[str, int]]] = {p: [] for p in PARTITIONS}
    for word in sorted([*WORDS, *others]):
        for wav in _wavs(root / word):
            part = which_set(wav.name, validation_percentage, testing_percentage, salt=split_salt)
            if word in label_of:
                known[part].append((str(wav), label_of[word]))
            else:
                unknown[part].append((str(wav), CLASSES.index(UNKNOWN)))
    empty = [p for p in PARTITIONS if not known[p]]
    if empty:
        counts = ", ".join(f"{p}: {len(known[p])}" for p in PARTITIONS)
        which = "the canonical split" if not split_salt else f"the split with salt {split_salt!r}"
        raise DataError(  # issue 18: a data error (ValueError), so a search stops instead of failing children
            f"{which} leaves no keyword clips in the {' and '.join(empty)} partition(s) of {root} ({counts}). "
            "If this folder is a subset of one official partition (the canonical SHA-1 split of a subset of "
            f"the official test set puts every clip in 'testing'), pass split_salt={RESPLIT_SALT!r} to draw "
            "another speaker-disjoint split of it, or use the full dataset."
        )
    rng = random.Random(seed)
    entries: dict[str, list[tuple[str, int]]] = {}
    for part in ("validation", "testing", "training"):
        n = len(known[part])
        items = list(known[part])
        items += [("", CLASSES.index(SILENCE))] * math.ceil(n * silence_percentage / 100)
        pool = list(unknown[part])
        rng.shuffle(pool)
        items += pool[: math.ceil(n * unknown_percentage / 100)]
        entries[part] = items
    for part in ("validation", "testing", "training"):
        rng.shuffle(entries[part])
    return SpeechCommandsIndex(str(root), entries, noise_files, others, split_salt)


def _normalize(feats, mean: np.ndarray, std: np.ndarray):
    """(MFCC - mean) / std per coefficient, with a channel axis: [..., 49, 40] -> [..., 49, 40, 1]."""
    import tensorflow as tf

    return tf.expand_dims((feats - mean) / std, -1)


class SpeechCommandsData:
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

    def _cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        key = json.dumps(
            [self.index.fingerprint(), asdict(self.mfcc_config), self.eval_noise, self.STATS_CLIPS],
            sort_keys=True,
        )
        return (
            Path(self.cache_dir)
            / f"speech_commands_features_{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
        )

    def _features_of(self, audio: np.ndarray, batch: int = 512) -> np.ndarray:
        from rena_lib.data.audio import mfcc

        parts = [mfcc(audio[i : i + batch], self.mfcc_config).numpy() for i in range(0, len(audio), batch)]
        return np.concatenate(parts) if parts else np.zeros((0, *self.mfcc_config.shape), np.float32)

    @shared_property
    def _eval_cache(self) -> dict[str, np.ndarray]:
        path = self._cache_path()
        if path is not None and path.exists():
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        from rena_lib.data.audio import augment_batch, decode_wavs

        cfg = self.mfcc_config
        out: dict[str, np.ndarray] = {}
        for split, part in (("validation", "validation"), ("test", "testing")):
            audio = decode_wavs(
                self.index.paths(part), sample_rate=cfg.sample_rate, clip_samples=cfg.clip_samples
            )
            if self.eval_noise and len(audio):
                seed = [self.seed, 1 if split == "validation" else 2]
                audio = augment_batch(audio, self.noise, seed, jitter_samples=0).numpy()
            out[split] = self._features_of(audio)
        n_train = len(self.index.entries["training"])
        pick = np.sort(np.random.default_rng(self.seed).permutation(n_train)[: self.STATS_CLIPS])
        rows = None if len(pick) == n_train else pick
        feats = self._features_of(self.train_clips(rows).astype(np.float32) / 32768.0)
        out["mean"] = feats.mean(axis=(0, 1)).astype(np.float32)
        out["std"] = (feats.std(axis=(0, 1)) + 1e-6).astype(np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **out)
            tmp.replace(path)
        return out

    def features(self, split: str) -> np.ndarray:
        """Un-normalised MFCCs [N, 49, 40] of 'validation' or 'test' (computed once)."""
        part = self._partition(split)
        if part == "training":
            raise ValueError("training features are computed on the fly (augmented); use train_dataset()")
        return self._eval_cache["validation" if part == "validation" else "test"]

    @property
    def feature_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-coefficient mean and std [40] of clean training MFCCs (used to normalise every split)."""
        return self._eval_cache["mean"], self._eval_cache["std"]

    @shared_property
    def _clean_cache(self) -> dict[str, np.ndarray]:
        return {}

    def _clean_train_features(self, rows: np.ndarray | None) -> np.ndarray:
        key = "all" if rows is None else hashlib.sha1(np.asarray(rows, np.int64).tobytes()).hexdigest()
        if key not in self._clean_cache:
            if len(self._clean_cache) > 8:  # seeds vary: keep memory bounded
                self._clean_cache.clear()
            self._clean_cache[key] = self._features_of(self.train_clips(rows).astype(np.float32) / 32768.0)
        return self._clean_cache[key]

    @shared_property
    def _bank_store(self) -> dict[str, FeatureBank]:
        return {}

    def feature_bank(self, epochs: int) -> FeatureBank:
        """A bank of `epochs` augmented epochs of the whole training set plus clean eval features.

        Epoch e is drawn with seed (self.seed, e), so a larger bank starts with a smaller one's epochs; the
        bank is drawn once per process (and extended, not redrawn, when more epochs are asked for).
        """
        from rena_lib.data.feature_bank import FeatureBank

        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"bank_epochs must be a positive int, got {epochs!r}")
        store = self._bank_store
        have = store.get("bank")
        if have is not None and have.epochs >= epochs:
            if have.epochs == epochs:
                return have
            # the cut is kept, so that every child asking for it reads the same object (and its tensors)
            cut = f"first:{epochs}"
            if cut not in store:
                store[cut] = _first_epochs(have, epochs)
            return store[cut]
        start = 0 if have is None else have.epochs
        feats, params = self._augmented_epochs(range(start, epochs))
        if have is not None:
            feats = np.concatenate([have.train, feats])
            params = {k: np.concatenate([have.params[k], v]) for k, v in params.items()}
        bank = FeatureBank(
            train=feats,
            train_labels=self.labels("train"),
            eval_features={s: self._normalized(self.features(s), np.float32) for s in ("validation", "test")},
            eval_labels={s: self.labels(s) for s in ("validation", "test")},
            params=params,
            meta={"seed": self.seed, "split": self.split_options, "eval_noise": self.eval_noise,
                  "mfcc": asdict(self.mfcc_config), "augmentation": "Appendix B: jitter <= 100 ms, "
                  "noise at 10-20 dB SNR on 80% of clips"},
            num_classes=self.num_classes,
        )  # fmt: skip
        store.clear()  # cuts of the smaller bank are stale
        store["bank"] = bank
        return bank

    def _normalized(self, feats: np.ndarray, dtype: type = np.float16) -> np.ndarray:
        mean, std = self.feature_stats
        return ((feats - mean) / std).astype(dtype)

    def _augmented_epochs(self, epochs: range, batch: int = 512) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Normalised float16 features [len(epochs), N, 49, 40] of fresh augmentation draws, and the draws."""
        import tensorflow as tf

        from rena_lib.data.audio import augment_batch, mfcc

        clips, noise, cfg = self.train_clips(None), self.noise, self.mfcc_config
        n = len(clips)
        out = np.empty((len(epochs), n, *cfg.shape), np.float16)
        params = {"shift": np.empty((len(epochs), n), np.int16), "noisy": np.empty((len(epochs), n), bool)}
        params["snr_db"] = np.empty((len(epochs), n), np.float32)
        for j, e in enumerate(epochs):
            for i in range(0, n, batch):
                audio = tf.constant(clips[i : i + batch].astype(np.float32) / 32768.0)
                seed = tf.constant([self.seed, e * 100_000 + i // batch], tf.int64)
                mixed, drawn = augment_batch(audio, noise, seed, return_params=True)
                out[j, i : i + batch] = self._normalized(mfcc(mixed, cfg).numpy())
                for k, v in drawn.items():
                    params[k][j, i : i + batch] = v.numpy()
        return out, params

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


def _first_epochs(bank: FeatureBank, epochs: int) -> FeatureBank:
    """The same bank cut to its first `epochs` epochs (views, no copy)."""
    from dataclasses import replace as _replace

    return _replace(bank, train=bank.train[:epochs], params={k: v[:epochs] for k, v in bank.params.items()})
