"""Atomic search checkpoints: checkpoint/state.json plus the proposer's arrays in checkpoint/arrays-*.npz.

The arrays (policy weights, Adam state) change only at a policy update, so they are written once per
update to a new file named by the update count; state.json - written after every step - names the file
it goes with. Each file is written to a temporary name, fsynced and renamed, and state.json is renamed
last, so a kill at any moment leaves the previous consistent checkpoint or the new one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_checkpoint", "save_checkpoint"]


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def save_checkpoint(
    directory: Path, state: dict[str, Any], arrays: dict[str, np.ndarray] | None, version: int
) -> None:
    """Write state.json atomically, naming arrays-<version>.npz (written first when arrays are given);
    arrays files of other versions are removed afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"arrays-{version:06d}.npz"
    if arrays is not None:
        _atomic(directory / name, lambda fh: np.savez(fh, **arrays))
    elif not (directory / name).exists():
        name = None
    state = {**state, "arrays": name}
    _atomic(directory / "state.json", lambda fh: fh.write(json.dumps(state).encode()))
    for old in directory.glob("arrays-*.npz"):
        if name is None or old.name != name:
            old.unlink()


def load_checkpoint(directory: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """(state, arrays) of the last checkpoint, or None if there is none."""
    path = directory / "state.json"
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    arrays: dict[str, np.ndarray] = {}
    if state.get("arrays"):
        with np.load(directory / state["arrays"]) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return state, arrays
