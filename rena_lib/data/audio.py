"""Audio front end in TensorFlow: wav decoding, the 49 x 40 MFCCs of Appendix B, and on-the-fly augmentation.

TensorFlow is imported inside the functions, so MfccConfig is usable without it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rena_lib.data.paths import DataError

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["MfccConfig", "NoiseBank", "augment_batch", "decode_wav_file", "decode_wavs", "mfcc"]


_FIX = "Restore the file from a good copy of the dataset, or delete it."


@dataclass(frozen=True)
class MfccConfig:
    """MFCC front end: 40 MFCCs from a 40 ms window every 20 ms over 1 s at 16 kHz -> 49 x 40."""

    sample_rate: int = 16000
    clip_samples: int = 16000
    window_ms: float = 40.0
    hop_ms: float = 20.0
    num_mel_bins: int = 40
    num_mfcc: int = 40
    lower_hz: float = 20.0  # as TensorFlow's speech_commands example (audio_ops.mfcc defaults)
    upper_hz: float = 4000.0
    log_offset: float = 1e-6
    fft_length: int | None = None  # None: the window length (640 samples, 25 Hz bins)

    @property
    def frame_length(self) -> int:
        """Window length in samples (640)."""
        return round(self.sample_rate * self.window_ms / 1000)

    @property
    def frame_step(self) -> int:
        """Hop in samples (320)."""
        return round(self.sample_rate * self.hop_ms / 1000)

    @property
    def num_frames(self) -> int:
        """Frames per clip without end padding (49)."""
        return 1 + (self.clip_samples - self.frame_length) // self.frame_step

    @property
    def shape(self) -> tuple[int, int]:
        """(frames, coefficients) = (49, 40)."""
        return (self.num_frames, self.num_mfcc)


def mfcc(audio: tf.Tensor, config: MfccConfig = MfccConfig()) -> tf.Tensor:
    """MFCCs of float audio [..., clip_samples] in [-1, 1] -> [..., 49, 40] (tf.signal, no hand-written DSP)."""
    import tensorflow as tf

    audio = tf.convert_to_tensor(audio, tf.float32)
    stft = tf.signal.stft(
        audio,
        frame_length=config.frame_length,
        frame_step=config.frame_step,
        fft_length=config.fft_length or config.frame_length,
    )
    power = tf.math.square(tf.abs(stft))
    mel_matrix = tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=config.num_mel_bins,
        num_spectrogram_bins=stft.shape[-1],
        sample_rate=config.sample_rate,
        lower_edge_hertz=config.lower_hz,
        upper_edge_hertz=config.upper_hz,
    )
    mel = tf.tensordot(power, mel_matrix, 1)
    log_mel = tf.math.log(mel + config.log_offset)
    return tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., : config.num_mfcc]


def _read_and_decode(path: tf.Tensor, clip_samples: int) -> tuple[tf.Tensor, tf.Tensor]:
    import tensorflow as tf

    audio, rate = tf.audio.decode_wav(tf.io.read_file(path), desired_channels=1, desired_samples=clip_samples)
    return audio[:, 0], rate


def decode_wav_file(
    path: str | os.PathLike[str], *, sample_rate: int = 16000, clip_samples: int = -1
) -> np.ndarray:
    """Decode one mono wav to float32 (padded or cut to clip_samples unless -1); ValueError naming a bad file."""
    import tensorflow as tf

    try:
        audio, rate = _read_and_decode(tf.constant(str(path)), clip_samples)
    except tf.errors.NotFoundError as exc:
        raise FileNotFoundError(f"wav file not found: {path}") from exc
    except tf.errors.OpError as exc:
        raise DataError(f"corrupt wav file {path}: {exc.message.splitlines()[0]}. {_FIX}") from exc
    except UnicodeDecodeError as exc:  # TensorFlow cannot even decode its own message (raw header bytes)
        raise DataError(f"corrupt wav file {path}: not a RIFF/WAVE header. {_FIX}") from exc
    if int(rate) != sample_rate:
        raise DataError(
            f"wav file {path} has sample rate {int(rate)} Hz, expected {sample_rate} Hz. "
            f"Resample it to {sample_rate} Hz or remove it."
        )
    return audio.numpy()


def decode_wavs(paths: Sequence[str], *, sample_rate: int = 16000, clip_samples: int = 16000) -> np.ndarray:
    """Decode many 1 s clips in parallel (tf.data) -> float32 [N, clip_samples]; errors name the bad file.

    An empty path stands for silence (all zeros), as the _silence_ entries of the index.
    """
    import tensorflow as tf

    paths = [str(p) for p in paths]
    real = [p for p in paths if p]
    out = np.zeros((len(paths), clip_samples), np.float32)
    if not real:
        return out
    ds = tf.data.Dataset.from_tensor_slices(real).map(
        lambda p: _read_and_decode(p, clip_samples), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    try:
        chunks = list(ds.batch(512).as_numpy_iterator())
    except (tf.errors.OpError, UnicodeDecodeError):
        for p in real:  # find and name the offending file
            decode_wav_file(p, sample_rate=sample_rate, clip_samples=clip_samples)
        raise
    audio = np.concatenate([c[0] for c in chunks])
    rates = np.concatenate([c[1] for c in chunks])
    bad = np.flatnonzero(rates != sample_rate)
    if len(bad):
        shown = ", ".join(f"{real[i]} ({int(rates[i])} Hz)" for i in bad[:3])
        raise DataError(f"{len(bad)} wav file(s) not at {sample_rate} Hz: {shown}")
    out[[i for i, p in enumerate(paths) if p]] = audio
    return out


@dataclass
class NoiseBank:
    """Background noise recordings concatenated into one tensor, for vectorised random 1 s segments.

    Build it eagerly (outside tf.data / tf.function): the graphs then capture these tensors by reference;
    a large constant built inside a tf.data map function is copied on every call (10x slower).
    """

    samples: tf.Tensor  # float32, all recordings end to end
    starts: tf.Tensor  # int64, first sample of each recording
    lengths: tf.Tensor  # int64, samples of each recording

    @classmethod
    def from_files(
        cls, paths: Sequence[str], *, sample_rate: int = 16000, clip_samples: int = 16000
    ) -> NoiseBank:
        """Decode the _background_noise_ wavs; each must be at least one clip long."""
        import tensorflow as tf

        clips = [decode_wav_file(p, sample_rate=sample_rate) for p in paths]
        if not clips:
            raise DataError("no background noise recordings")
        for p, c in zip(paths, clips, strict=True):
            if len(c) < clip_samples:
                raise DataError(f"background noise {p} is shorter than {clip_samples} samples")
        lengths = np.array([len(c) for c in clips], np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return cls(tf.constant(np.concatenate(clips)), tf.constant(starts), tf.constant(lengths))


def augment_batch(
    audio: tf.Tensor,
    noise: NoiseBank,
    seed: tf.Tensor,
    *,
    jitter_samples: int = 1600,
    noise_probability: float = 0.8,
    snr_db: tuple[float, float] = (10.0, 20.0),
    silence_volume: float = 0.1,
    return_params: bool = False,
) -> tf.Tensor | tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """Appendix B augmentation of float audio [B, S], stateless in seed [2]: time jitter, then noise at an SNR.

    Each clip is shifted by a uniform integer in [-jitter_samples, jitter_samples] (zero fill); with
    probability noise_probability a random segment of a random background recording is added, scaled to
    an SNR uniform in snr_db. Silent clips (the _silence_ class) always get noise at a volume uniform in
    [0, silence_volume], as TensorFlow's speech_commands example does. The result is clipped to [-1, 1].
    return_params=True also returns the draw per clip: shift (samples), noisy (bool) and snr_db (the
    target SNR of a noisy clip that is not silent; NaN otherwise).
    """
    import tensorflow as tf

    audio = tf.convert_to_tensor(audio, tf.float32)
    batch, length = tf.shape(audio)[0], audio.shape[-1]
    s = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 6)
    shift = tf.zeros([batch], tf.int32)
    if jitter_samples > 0:
        shift = tf.random.stateless_uniform([batch], s[0], -jitter_samples, jitter_samples + 1, tf.int32)
        padded = tf.pad(audio, [[0, 0], [jitter_samples, jitter_samples]])
        idx = (jitter_samples - shift)[:, None] + tf.range(length)[None, :]
        audio = tf.gather(padded, idx, batch_dims=1)
    if noise_probability <= 0:
        if not return_params:
            return audio
        nan = tf.fill([batch], float("nan"))
        return audio, {"shift": shift, "noisy": tf.zeros([batch], tf.bool), "snr_db": nan}
    which = tf.random.stateless_uniform([batch], s[1], 0, noise.lengths.shape[0], tf.int32)
    span = tf.gather(noise.lengths, which) - length + 1
    offset = tf.cast(tf.random.stateless_uniform([batch], s[2]) * tf.cast(span, tf.float32), tf.int64)
    start = tf.gather(noise.starts, which) + tf.minimum(offset, span - 1)
    segment = tf.gather(noise.samples, start[:, None] + tf.range(length, dtype=tf.int64)[None, :])
    p_signal = tf.reduce_mean(tf.square(audio), axis=-1)
    p_noise = tf.reduce_mean(tf.square(segment), axis=-1) + 1e-12
    snr = tf.random.stateless_uniform([batch], s[3], snr_db[0], snr_db[1])
    gain = tf.sqrt(p_signal / (p_noise * tf.pow(10.0, snr / 10.0)))
    silent = p_signal < 1e-10
    gain = tf.where(silent, tf.random.stateless_uniform([batch], s[4], 0.0, silence_volume), gain)
    apply = tf.logical_or(tf.random.stateless_uniform([batch], s[5]) < noise_probability, silent)
    gain = tf.where(apply, gain, 0.0)
    mixed = tf.clip_by_value(audio + gain[:, None] * segment, -1.0, 1.0)
    if not return_params:
        return mixed
    snr_db = tf.where(tf.logical_and(apply, tf.logical_not(silent)), snr, float("nan"))
    return mixed, {"shift": shift, "noisy": apply, "snr_db": snr_db}
