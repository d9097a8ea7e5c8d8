"""Shared test setup: quiet TensorFlow, headless matplotlib, the real-data directory."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real-data directory from RENA_DATA_DIR (tests that need it skip without it)."""
    value = os.environ.get("RENA_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("RENA_DATA_DIR is not set to a data directory (see README: Data)")
    return Path(value)
