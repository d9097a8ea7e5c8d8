"""Speech Commands (section 5.2, Appendix B): layout, canonical speaker split, 12-class index, tf.data pipelines.

Modules, one concept each: layout (folders, class words, download), splits (the canonical speaker split),
index (the 12-class index), features (MFCCs and their statistics), bank (the augmentation bank) and
dataset (SpeechCommandsData and its pipelines). Every name is importable from this package.
"""

from rena_lib.data.speech_commands.dataset import SpeechCommandsData
from rena_lib.data.speech_commands.index import RANDOM_SEED, SpeechCommandsIndex, index_speech_commands
from rena_lib.data.speech_commands.layout import (
    BACKGROUND_NOISE_DIR,
    CLASSES,
    ORIGIN,
    SILENCE,
    SUBDIR,
    UNKNOWN,
    WORDS,
    find_speech_commands_dir,
)
from rena_lib.data.speech_commands.splits import MAX_NUM_WAVS_PER_CLASS, PARTITIONS, RESPLIT_SALT, which_set

__all__ = [
    "BACKGROUND_NOISE_DIR",
    "CLASSES",
    "MAX_NUM_WAVS_PER_CLASS",
    "ORIGIN",
    "PARTITIONS",
    "RANDOM_SEED",
    "RESPLIT_SALT",
    "SILENCE",
    "SUBDIR",
    "UNKNOWN",
    "WORDS",
    "SpeechCommandsData",
    "SpeechCommandsIndex",
    "find_speech_commands_dir",
    "index_speech_commands",
    "which_set",
]
