"""Where Speech Commands lives and what its folders are: the class words, the noise folder, the download."""

from __future__ import annotations

import os
from pathlib import Path

from rena_lib.data.paths import download_with_keras, local_dataset_dir

SUBDIR = "speech_commands"
ORIGIN = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
BACKGROUND_NOISE_DIR = "_background_noise_"
SILENCE, UNKNOWN = "_silence_", "_unknown_"
WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
CLASSES = (SILENCE, UNKNOWN, *WORDS)


def find_speech_commands_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The dataset folder: data_dir, else $RENA_DATA_DIR/speech_commands, else Keras's download of v0.02."""
    root = local_dataset_dir(data_dir, SUBDIR)
    if root is None:
        root = download_with_keras("speech_commands_v0_02", ORIGIN)
    return root


def _wavs(folder: Path) -> list[Path]:
    """The .wav files of a folder, sorted."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav" and p.is_file())
