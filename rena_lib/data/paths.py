"""Where datasets come from: an explicit folder, $RENA_DATA_DIR, or a Keras download; and the errors."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "ENV_VAR",
    "DataDownloadError",
    "DataError",
    "download_hint",
    "download_with_keras",
    "local_dataset_dir",
]

ENV_VAR = "RENA_DATA_DIR"


class DataDownloadError(RuntimeError):
    """The dataset is not on disk and Keras could not download it (for example: no internet)."""


class DataError(ValueError):
    """A data file is corrupt or not in the expected format: the environment's fault, never a child's.

    The search loop stops on it (rena_lib.evaluation.ENVIRONMENT_ERRORS) instead of failing every child.
    """


def download_hint(subdir: str) -> str:
    """One sentence telling the user how to get a dataset."""
    return (
        f"To get the data: set {ENV_VAR} to a folder that contains {subdir}/ in the standard layout, "
        f"pass data_dir=<that folder>, or leave both unset to let Keras download the full dataset."
    )


def local_dataset_dir(data_dir: str | os.PathLike[str] | None, subdir: str) -> Path | None:
    """The local dataset folder (explicit path first, then $RENA_DATA_DIR/<subdir>); None means download.

    An explicit path or a set RENA_DATA_DIR must exist: a missing folder is a FileNotFoundError, never a
    silent fallback to a download or to other data.
    """
    if data_dir is not None:
        path = Path(data_dir).expanduser()
        origin = "data_dir"
    elif os.environ.get(ENV_VAR):
        path = Path(os.environ[ENV_VAR]).expanduser() / subdir
        origin = f"${ENV_VAR}/{subdir}"
    else:
        return None
    if not path.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {path} (from {origin}). {download_hint(subdir)}")
    return path


def download_with_keras(fname: str, origin: str, *, file_hash: str | None = None) -> Path:
    """Download and extract an archive into Keras's cache (~/.keras/datasets); the extracted folder."""
    import keras

    try:
        return Path(keras.utils.get_file(fname=fname, origin=origin, extract=True, file_hash=file_hash))
    except Exception as exc:
        raise DataDownloadError(
            f"could not download {origin} ({type(exc).__name__}: {exc}). Without internet access, set "
            f"{ENV_VAR} to a local copy of the data (for example RENA_DATA_DIR=/path/to/data) or pass "
            "data_dir=..."
        ) from exc
