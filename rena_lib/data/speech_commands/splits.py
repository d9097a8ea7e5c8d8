"""The canonical speaker-disjoint split of Speech Commands (TensorFlow's input_data.py) and the split names."""

from __future__ import annotations

import hashlib
import os
import re

MAX_NUM_WAVS_PER_CLASS = 2**27 - 1  # ~134M, as in TensorFlow's input_data.py
RESPLIT_SALT = "rena"  # a suggested salt for data that lies inside one canonical partition
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
