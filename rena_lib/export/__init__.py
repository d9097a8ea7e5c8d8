"""Deployable exports of a searched child, with its provenance: how the search found it.

``export_child(log, out_dir, model=...)`` writes, for one child of a search log (by default the best
feasible one):

* ``<name>.keras``, the trained Keras model;
* ``<name>_float.tflite`` and ``<name>_int8.tflite``: TensorFlow Lite, float and int8 post-training
  quantisation calibrated on a representative sample of the task's data (float input and output);
* ``manifest.json``: spec, paper notation, metrics, file sizes, measured latency, the test accuracy of
  every form next to the Keras model's, and the edit history from the baseline.

The edit history follows the log's ``parent_key`` links from the child back to the baseline and replays
each step's scale / insert / remove actions (:func:`rena_lib.actions.replay`); the replay must reproduce
every logged spec exactly, or :class:`HistoryError` is raised.

Modules, one concept each: selection (which child), history (its edit history, replayed and checked),
train (training the child), arrays (a data split as arrays), package (export_child and its manifest).
TFLite conversion lives in rena_lib.tflite. Every name is importable from rena_lib.export.
"""

from rena_lib.analysis import log_records as _records  # noqa: F401 - the old private name, for tests
from rena_lib.export.arrays import task_arrays
from rena_lib.export.history import HistoryError, HistoryStep, describe_action, edit_history, history_frame
from rena_lib.export.package import ExportResult, export_child
from rena_lib.export.selection import best_child, select_child
from rena_lib.export.train import inference_model, train_first_that_learns, train_model
from rena_lib.tflite import (
    QUANTIZATIONS,
    interpreter,
    quiet_native_stderr,
    tflite_predict,
    tflite_ready,
    to_tflite,
)

__all__ = [
    "QUANTIZATIONS",
    "ExportResult",
    "HistoryError",
    "HistoryStep",
    "best_child",
    "describe_action",
    "edit_history",
    "export_child",
    "history_frame",
    "inference_model",
    "interpreter",
    "quiet_native_stderr",
    "select_child",
    "task_arrays",
    "tflite_predict",
    "tflite_ready",
    "to_tflite",
    "train_first_that_learns",
    "train_model",
]
