"""A data object's evaluation split as numpy arrays (test inputs and labels, int8 calibration inputs)."""

from __future__ import annotations

from typing import Any

import numpy as np


def task_arrays(
    data: Any, *, split: str = "test", max_examples: int | None = None, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) numpy arrays of a data object's eval split (SpeechCommandsData, Cifar10Data)."""
    xs, ys = [], []
    for x, y in data.eval_dataset(split, batch_size, max_examples=max_examples):
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    return np.concatenate(xs), np.concatenate(ys)
