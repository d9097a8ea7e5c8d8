"""The augmentation bank of Speech Commands: epochs of Appendix B augmentation drawn once per process
(a mixin of SpeechCommandsData)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from rena_lib.data.cache import shared_property

if TYPE_CHECKING:
    from rena_lib.data.feature_bank import FeatureBank


class _Bank:
    """The bank side of SpeechCommandsData: it reads self.train_clips, noise, labels, features, _normalized,
    mfcc_config, seed, split_options, eval_noise and num_classes."""

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


def _first_epochs(bank: FeatureBank, epochs: int) -> FeatureBank:
    """The same bank cut to its first `epochs` epochs (views, no copy)."""
    from dataclasses import replace as _replace

    return _replace(bank, train=bank.train[:epochs], params={k: v[:epochs] for k, v in bank.params.items()})
