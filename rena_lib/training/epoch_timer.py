"""The Keras callback that times epochs, notes the batch of a NaN loss and stops at a wall-clock cap."""

from __future__ import annotations

import math
import time
from typing import Any


def _epoch_timer(max_seconds: float | None = None) -> Any:
    """A new EpochTimer callback (times, nan_batch, capped), stopping training after max_seconds if given."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Wall time of every epoch, the batch at which TerminateOnNaN fired (if it did), and the
        wall-clock cap: training stops after the batch that crosses max_seconds."""

        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []
            self.nan_batch: int | None = None
            self.capped = False
            self._start = time.perf_counter()

        def on_train_begin(self, logs=None):
            self._start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._t)

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and self.nan_batch is None and not math.isfinite(float(loss)):
                self.nan_batch = batch
            if max_seconds is not None and time.perf_counter() - self._start > max_seconds:
                self.capped = True
                self.model.stop_training = True

    return EpochTimer()
