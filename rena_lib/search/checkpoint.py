"""Atomic search checkpoints: checkpoint/state.json plus the proposer's arrays in checkpoint/arrays-*.npz.

The loop's counters and the proposer's JSON state go to state.json. The arrays (RENA's policy weights and
Adam state, TPE's pickled sampler) change only at a proposer update (its state's "updates"), so they are written once per
update to a new file named by the update count; state.json - written after every step - names the file
it goes with. Each file is written to a temporary name, fsynced and renamed, and state.json is renamed
last, so a kill at any moment leaves the previous consistent checkpoint or the new one.

An unreadable checkpoint (a garbled state.json, a missing or corrupt arrays file) is a CheckpointError
that names the file. The log holds everything the checkpoint summarises: deleting the checkpoint folder
and resuming replays the search from log.jsonl without evaluating a logged child again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CheckpointError", "load_checkpoint", "save_checkpoint"]

#: what state.json must hold (written by rena_lib.search.loop)
STATE_KEYS = ("next_child_id", "batches", "policy_records", "proposer")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read; the message names it and says how to recover."""


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
    _atomic(directory / "state.json", lambda fh: fh.write(json.dumps(state, allow_nan=False).encode()))
    for old in directory.glob("arrays-*.npz"):
        if name is None or old.name != name:
            old.unlink()


def load_checkpoint(directory: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """(state, arrays) of the last checkpoint, or None if there is none."""
    path = directory / "state.json"
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict):
            raise ValueError(f"a {type(state).__name__}, not a JSON object")
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            raise ValueError(f"missing {missing}")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(_unreadable(path, directory, exc)) from exc
    arrays: dict[str, np.ndarray] = {}
    if state.get("arrays"):
        npz_path = directory / str(state["arrays"])
        try:
            with np.load(npz_path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except Exception as exc:  # missing, truncated, not a zip, pickled objects: all unreadable
            raise CheckpointError(_unreadable(npz_path, directory, exc)) from exc
    return state, arrays


def _unreadable(path: Path, directory: Path, exc: BaseException) -> str:
    return (
        f"cannot resume: the checkpoint file {path} is unreadable ({type(exc).__name__}: {exc}). Delete "
        f"the folder {directory} and resume again: the search is then replayed from log.jsonl without "
        "evaluating a logged child again"
    )
