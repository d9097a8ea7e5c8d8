"""The 12-class index of a Speech Commands folder: every partition's (path, label) entries, as input_data.py draws them."""

from __future__ import annotations

import hashlib
import math
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rena_lib.data.paths import DataError, download_hint
from rena_lib.data.speech_commands.layout import (
    BACKGROUND_NOISE_DIR,
    CLASSES,
    SILENCE,
    SUBDIR,
    UNKNOWN,
    WORDS,
    _wavs,
)
from rena_lib.data.speech_commands.splits import PARTITIONS, RESPLIT_SALT, which_set

RANDOM_SEED = 59185  # input_data.py's seed for the unknown-word draw and the shuffles


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
