"""MFCC features of Speech Commands: the cached validation / test features, their normalisation statistics,
and clean training features (a mixin of SpeechCommandsData)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from rena_lib.data.cache import shared_property


def _normalize(feats, mean: np.ndarray, std: np.ndarray):
    """(MFCC - mean) / std per coefficient, with a channel axis: [..., 49, 40] -> [..., 49, 40, 1]."""
    import tensorflow as tf

    return tf.expand_dims((feats - mean) / std, -1)


class _Features:
    """The feature side of SpeechCommandsData: it reads self.index, noise, train_clips, mfcc_config, seed,
    eval_noise, cache_dir, STATS_CLIPS and _partition."""

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

    def _normalized(self, feats: np.ndarray, dtype: type = np.float16) -> np.ndarray:
        mean, std = self.feature_stats
        return ((feats - mean) / std).astype(dtype)
