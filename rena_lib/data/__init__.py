"""CIFAR-10 and Speech Commands: loading (local folder, $RENA_DATA_DIR or Keras download) and tf.data pipelines.

Modules: paths (where data comes from, errors), cifar10, speech_commands (a package: layout, splits,
index, features, bank, dataset), audio (wav decoding, MFCCs, augmentation). TensorFlow is imported only
when data is used.
"""

from rena_lib.data.audio import MfccConfig
from rena_lib.data.cifar10 import Cifar10Data, load_cifar10
from rena_lib.data.paths import ENV_VAR, DataDownloadError
from rena_lib.data.speech_commands import (
    CLASSES as KWS_CLASSES,
)
from rena_lib.data.speech_commands import (
    RESPLIT_SALT,
    SpeechCommandsData,
    index_speech_commands,
    which_set,
)

__all__ = [
    "ENV_VAR",
    "KWS_CLASSES",
    "RESPLIT_SALT",
    "Cifar10Data",
    "DataDownloadError",
    "MfccConfig",
    "SpeechCommandsData",
    "index_speech_commands",
    "load_cifar10",
    "which_set",
]
