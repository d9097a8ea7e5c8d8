"""Speech Commands: the canonical split, the 12-class index, MFCCs, augmentation and bad-input errors."""

from __future__ import annotations

import math
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from rena_lib.data.paths import DataDownloadError
from rena_lib.data.speech_commands import (
    CLASSES,
    RESPLIT_SALT,
    WORDS,
    SpeechCommandsData,
    index_speech_commands,
    which_set,
)


def speaker(entry_path: str) -> str:
    return re.sub(r"_nohash_.*$", "", Path(entry_path).name)


# ---------------------------------------------------------------- the split (pure Python, no TensorFlow)


@pytest.mark.parametrize(
    ("list_file", "partition"), [("testing_list.txt", "testing"), ("validation_list.txt", "validation")]
)
def test_which_set_reproduces_the_official_v001_lists(data_dir, list_file, partition):
    names = (data_dir / "speech_commands_v0.01_split" / list_file).read_text().split()
    assert len(names) > 6000
    wrong = [n for n in names if which_set(n) != partition]
    assert wrong == []


def test_which_set_is_a_function_of_the_speaker_only():
    assert which_set("yes/0a7c2a8d_nohash_0.wav") == which_set("go/0a7c2a8d_nohash_3.wav")
    assert which_set("x/abc_nohash_1.wav", salt="s") == which_set("y/abc_nohash_0.wav", salt="s")


def test_canonical_split_of_the_shared_subset_says_what_to_do(data_dir):
    # the shared clips are a subset of the official test set: all of them hash to 'testing'
    with pytest.raises(ValueError, match=r"split_salt='rena'") as err:
        index_speech_commands(data_dir / "speech_commands")
    assert "training" in str(err.value) and str(data_dir / "speech_commands") in str(err.value)


# ---------------------------------------------------------------- the real subset


@pytest.fixture(scope="module")
def kws(data_dir) -> SpeechCommandsData:
    return SpeechCommandsData(data_dir / "speech_commands", split_salt=RESPLIT_SALT)


def test_index_class_balance_and_speaker_disjointness(kws):
    idx = kws.index
    speakers = {}
    for part in ("training", "validation", "testing"):
        counts = np.bincount(idx.labels(part), minlength=len(CLASSES))
        n_keywords = int(counts[2:].sum())
        assert n_keywords > 0 and all(counts[2:] > 0), (part, counts)
        assert counts[0] == math.ceil(0.1 * n_keywords)  # _silence_
        assert counts[1] == math.ceil(0.1 * n_keywords)  # _unknown_
        speakers[part] = {speaker(p) for p in idx.paths(part) if p}
        assert all(which_set(p, salt=RESPLIT_SALT) == part for p in idx.paths(part) if p)
    assert not speakers["training"] & speakers["validation"]
    assert not speakers["training"] & speakers["testing"]
    assert not speakers["validation"] & speakers["testing"]
    assert len(idx.entries["training"]) > 5 * len(idx.entries["validation"])
    assert CLASSES[:2] == ("_silence_", "_unknown_") and CLASSES[2:] == WORDS


def test_features_are_49_by_40_and_cached(kws):
    val = kws.features("validation")
    assert val.shape == (len(kws.labels("validation")), 49, 40)
    assert np.isfinite(val).all()
    assert kws.features("validation") is val  # computed once
    mean, std = kws.feature_stats
    assert mean.shape == std.shape == (40,) and (std > 0).all()
    x, y = next(iter(kws.eval_dataset("test", 32)))
    assert x.shape == (32, 49, 40, 1) and y.shape == (32,)


def test_mfcc_shape_and_config():
    from rena_lib.data.audio import MfccConfig, mfcc

    cfg = MfccConfig()
    assert (cfg.frame_length, cfg.frame_step, cfg.shape) == (640, 320, (49, 40))
    out = mfcc(np.random.default_rng(0).normal(0, 0.1, (3, 16000)).astype(np.float32))
    assert tuple(out.shape) == (3, 49, 40)


def test_augmentation_changes_inputs_not_labels(kws):
    plain, n = kws.train_dataset(64, seed=3, augment=False, num_examples=256)
    aug, n2 = kws.train_dataset(64, seed=3, augment=True, num_examples=256)
    assert n == n2 == 256
    (x0, y0), (x1, y1) = next(iter(plain)), next(iter(aug))
    assert x1.shape == (64, 49, 40, 1)
    np.testing.assert_array_equal(y0.numpy(), y1.numpy())
    assert np.abs(x0.numpy() - x1.numpy()).mean() > 0.05
    # seeded: the same seed gives the same batch, the next epoch a different one
    again = next(iter(kws.train_dataset(64, seed=3, augment=True, num_examples=256)[0]))
    np.testing.assert_array_equal(again[0].numpy(), x1.numpy())
    epochs = [next(iter(aug))[0].numpy() for _ in range(2)]
    assert not np.array_equal(epochs[0], epochs[1])


def test_noise_is_added_to_80_percent_at_10_to_20_db(kws):
    from rena_lib.data.audio import augment_batch

    rng = np.random.default_rng(0)
    clean = (0.05 * rng.standard_normal((400, 16000))).astype(np.float32)
    noisy = augment_batch(clean, kws.noise, [1, 2], jitter_samples=0).numpy()
    added = noisy - clean
    changed = np.abs(added).max(axis=1) > 0
    assert 0.7 < changed.mean() < 0.9
    snr = 10 * np.log10((clean[changed] ** 2).mean(1) / (added[changed] ** 2).mean(1))
    assert snr.min() > 9.9 and snr.max() < 20.1
    # time jitter alone is a shift of at most 1600 samples
    shifted = augment_batch(clean, kws.noise, [1, 2], noise_probability=0.0).numpy()
    assert not np.array_equal(shifted, clean)
    assert np.all((shifted == 0).sum(axis=1) <= 1600)


def test_pickles_without_the_data(kws):
    import pickle

    kws.features("validation")
    blob = pickle.dumps(kws)
    assert len(blob) < 10_000
    assert pickle.loads(blob).features("validation") is kws.features("validation")  # per-process cache


# ---------------------------------------------------------------- bad input on fake layouts


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def speakers_per_partition() -> dict[str, str]:
    found: dict[str, str] = {}
    i = 0
    while len(found) < 3:
        sid = f"{i:08x}"
        found.setdefault(which_set(f"{sid}_nohash_0.wav"), sid)
        i += 1
    return found


def fake_layout(root: Path, *, skip: tuple[str, ...] = (), aux: tuple[str, ...] = ("bed",)) -> dict[str, str]:
    """A tiny standard layout: one clip per keyword and partition, one noise file."""
    rng = np.random.default_rng(0)
    spk = speakers_per_partition()
    for word in (*WORDS, *aux):
        if word in skip:
            continue
        for sid in spk.values():
            write_wav(root / word / f"{sid}_nohash_0.wav", 0.1 * rng.standard_normal(16000))
    if "_background_noise_" not in skip:
        write_wav(root / "_background_noise_" / "white_noise.wav", 0.1 * rng.standard_normal(24000))
    return spk


def test_fake_layout_loads(tmp_path):
    fake_layout(tmp_path)
    data = SpeechCommandsData(tmp_path)
    assert np.bincount(data.labels("validation"), minlength=12)[2:].tolist() == [1] * 10
    assert data.features("test").shape == (len(data.labels("test")), 49, 40)


def test_missing_folder_names_it_and_says_how_to_get_data(tmp_path, monkeypatch):
    monkeypatch.delenv("RENA_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="RENA_DATA_DIR") as err:
        SpeechCommandsData(tmp_path / "nowhere").index  # noqa: B018
    assert str(tmp_path / "nowhere") in str(err.value)


def test_rena_data_dir_without_speech_commands_is_an_error_not_a_download(tmp_path, monkeypatch):
    monkeypatch.setenv("RENA_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="speech_commands"):
        SpeechCommandsData().index  # noqa: B018


@pytest.mark.parametrize("missing", ["go", "_background_noise_"])
def test_missing_class_or_noise_folder(tmp_path, missing):
    fake_layout(tmp_path, skip=(missing,))
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / missing))):
        SpeechCommandsData(tmp_path).index  # noqa: B018


def test_no_auxiliary_words_for_unknown(tmp_path):
    fake_layout(tmp_path, aux=())
    with pytest.raises(FileNotFoundError, match="_unknown_"):
        SpeechCommandsData(tmp_path).index  # noqa: B018


def test_wrong_sample_rate_names_the_file(tmp_path):
    spk = fake_layout(tmp_path)
    bad = tmp_path / "yes" / f"{spk['validation']}_nohash_0.wav"
    write_wav(bad, np.zeros(8000), rate=8000)
    with pytest.raises(ValueError, match=r"8000 Hz") as err:
        SpeechCommandsData(tmp_path).features("validation")
    assert str(bad) in str(err.value)


def test_corrupt_wav_names_the_file(tmp_path):
    spk = fake_layout(tmp_path)
    bad = tmp_path / "no" / f"{spk['training']}_nohash_0.wav"
    bad.write_bytes(b"RIFF\x00\x00not a wav at all")
    with pytest.raises(ValueError, match="corrupt wav") as err:
        SpeechCommandsData(tmp_path).train_audio  # noqa: B018
    assert str(bad) in str(err.value)


def test_no_internet_points_to_rena_data_dir(monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.delenv("RENA_DATA_DIR", raising=False)
    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(DataDownloadError, match="RENA_DATA_DIR"):
        SpeechCommandsData().index  # noqa: B018


def test_on_disk_feature_cache(tmp_path):
    fake_layout(tmp_path / "sc")
    from rena_lib.data.cache import clear_data_cache

    data = SpeechCommandsData(tmp_path / "sc", cache_dir=tmp_path / "cache")
    first = data.features("test")
    files = list((tmp_path / "cache").glob("*.npz"))
    assert len(files) == 1
    clear_data_cache(data)
    for wav in (tmp_path / "sc").glob("*/*.wav"):  # the features now come from the .npz alone
        if "_background_noise_" not in str(wav):
            wav.write_bytes(b"corrupt")
    again = SpeechCommandsData(tmp_path / "sc", cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again.features("test"), first)


def test_subsets_of_the_training_set_decode_only_their_clips(tmp_path):
    fake_layout(tmp_path)
    data = SpeechCommandsData(tmp_path)
    rows = np.array([0, 2])
    part = data.train_clips(rows)
    assert part.shape == (2, 16000) and part.dtype == np.int16
    assert "all" not in data._train_cache
    np.testing.assert_array_equal(data.train_audio[rows], part)


def test_eval_noise_is_fixed_and_optional(tmp_path):
    fake_layout(tmp_path)
    clean = SpeechCommandsData(tmp_path).features("test")
    noisy = SpeechCommandsData(tmp_path, eval_noise=True).features("test")
    assert noisy.shape == clean.shape and not np.allclose(noisy, clean)
    from rena_lib.data.cache import clear_data_cache

    again = SpeechCommandsData(tmp_path, eval_noise=True)
    clear_data_cache(again)
    np.testing.assert_array_equal(again.features("test"), noisy)  # the same noise every time
