"""export_child: a trained child written as .keras and float / int8 TFLite, checked on the test set, with a manifest."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rena_lib.analysis import plain_value
from rena_lib.arch.notation import to_paper_notation
from rena_lib.arch.spec import Spec
from rena_lib.export.arrays import task_arrays
from rena_lib.export.history import edit_history
from rena_lib.export.selection import select_child
from rena_lib.export.train import inference_model, train_model
from rena_lib.tflite import QUANTIZATIONS, tflite_predict, tflite_ready, to_tflite

if TYPE_CHECKING:
    import keras
    import pandas as pd


@dataclass
class ExportResult:
    """What export_child wrote: the files by form, and the manifest (also in manifest.json)."""

    directory: Path
    files: dict[str, Path]
    manifest: dict[str, Any]

    @property
    def accuracy(self) -> dict[str, float]:
        """Test accuracy of every form (keras, tflite_float, tflite_int8)."""
        return self.manifest["accuracy"]

    def summary(self) -> pd.DataFrame:
        """One row per exported form: file, bytes, test accuracy, agreement with Keras, logit gap, latency."""
        import pandas as pd

        m = self.manifest
        rows = {}
        for form in ("keras", "tflite_float", "tflite_int8"):
            q = form.removeprefix("tflite_")
            rows[form] = {
                "file": m["files"][form]["path"],
                "bytes": m["files"][form]["bytes"],
                "test_accuracy": m["accuracy"][form],
                "agreement_with_keras": m["agreement_with_keras"][form],
                "max_abs_logit_diff": m["max_abs_logit_diff"][form],
                "latency_ms": m["latency_ms"].get(q),
            }
        return pd.DataFrame.from_dict(rows, orient="index")


def _accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(y).reshape(-1)))


def export_child(
    log: Any,
    out_dir: str | os.PathLike,
    *,
    model: keras.Model | None = None,
    child_id: int | None = None,
    evaluator: Any = None,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    representative: np.ndarray | None = None,
    baseline: Spec | None = None,
    name: str | None = None,
    num_calibration: int = 200,
    latency_runs: int = 30,
    num_threads: int = 1,
    log_fn: Callable[[str], None] | None = None,
    train_result: Any = None,
) -> ExportResult:
    """Export a child of the log (default: best feasible) as .keras + float/int8 TFLite with a manifest.

    The trained model is `model` (with its EvalResult `train_result`, if known, for the manifest), else the
    child trained with `evaluator` (see train_model). Test inputs
    and labels default to the evaluator's data (test split); the int8 calibration sample defaults to
    num_calibration validation inputs. The edit history is replayed and checked before anything is written.
    """
    import keras

    from rena_lib.latency import measure_latency
    from rena_lib.metrics import measure

    say = log_fn or (lambda s: None)
    rec = select_child(log, child_id)
    spec = Spec.from_dict(rec["spec"])
    history = edit_history(log, rec, baseline=baseline)
    if model is None:
        if evaluator is None:
            raise ValueError("export_child needs a trained model= or an evaluator= to train the child with")
        say(f"training child {rec['child_id']}: {to_paper_notation(spec)}")
        model, train_result = train_model(spec, evaluator)
    model = inference_model(model, spec)
    expected = measure(spec)
    if model.count_params() != expected["params"] + expected["non_trainable_params"]:
        raise ValueError(
            f"the model has {model.count_params():,} weights, child {rec['child_id']}'s spec "
            f"{to_paper_notation(spec)!r} has {expected['params'] + expected['non_trainable_params']:,}: "
            "pass the model trained for this child"
        )
    data = getattr(evaluator, "data", None)
    if test is None:
        if data is None:
            raise ValueError("pass test=(x, y) or an evaluator whose .data provides the test split")
        test = task_arrays(data, split="test")
    if representative is None:
        if data is None:
            raise ValueError("pass representative= inputs or an evaluator whose .data provides them")
        representative = task_arrays(data, split="validation", max_examples=num_calibration)[0]
    representative = np.asarray(representative, np.float32)[:num_calibration]
    x_test, y_test = np.asarray(test[0], np.float32), np.asarray(test[1])

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name or f"child_{rec['child_id']}"
    files = {
        "keras": out / f"{stem}.keras",
        "tflite_float": out / f"{stem}_float.tflite",
        "tflite_int8": out / f"{stem}_int8.tflite",
    }
    say("saving .keras")
    model.save(files["keras"])
    reloaded = keras.models.load_model(files["keras"], compile=False)
    say("converting to TFLite (float)")
    files["tflite_float"].write_bytes(to_tflite(model, "float"))
    say("converting to TFLite (int8)")
    int8_mode = "int8 ops only"
    try:
        content = to_tflite(model, "int8", representative)
    except Exception:  # an op without an int8 kernel: keep it float
        content = to_tflite(model, "int8", representative, int8_only=False)
        int8_mode = "int8 with float fallback"
    files["tflite_int8"].write_bytes(content)

    say("evaluating every form on the test set")
    logits = {
        "keras": np.asarray(model.predict(x_test, batch_size=256, verbose=0)),
        "keras_reloaded": np.asarray(reloaded.predict(x_test, batch_size=256, verbose=0)),
        "tflite_float": tflite_predict(files["tflite_float"], x_test, num_threads=num_threads),
        "tflite_int8": tflite_predict(files["tflite_int8"], x_test, num_threads=num_threads),
    }
    accuracy = {k: _accuracy(v, y_test) for k, v in logits.items()}
    agreement = {
        k: float(np.mean(np.argmax(v, -1) == np.argmax(logits["keras"], -1))) for k, v in logits.items()
    }
    max_abs = {k: float(np.max(np.abs(v - logits["keras"]))) if len(v) else 0.0 for k, v in logits.items()}
    say("measuring latency")
    latency = {
        q: measure_latency(files[f"tflite_{q}"], num_threads=num_threads, runs=latency_runs).to_dict()
        for q in QUANTIZATIONS
    }
    metrics = {k: v for k, v in expected.to_dict().items() if k != "layers"}
    search = {
        k: rec.get(k)
        for k in ("child_id", "episode", "step", "trajectory", "proposer", "performance", "test_accuracy")
    }
    search.update({k: rec.get(k) for k in ("reward", "feasible", "spec_key")})
    manifest = {
        "name": stem,
        "task": spec.task,
        "notation": to_paper_notation(spec),
        "spec": spec.to_dict(),
        "spec_key": spec.key(),
        "search_record": search,
        "metrics": metrics,
        "files": {k: {"path": p.name, "bytes": p.stat().st_size} for k, p in files.items()},
        "test_examples": len(y_test),
        "accuracy": {k: accuracy[k] for k in ("keras", "tflite_float", "tflite_int8")},
        "int8_accuracy_loss": accuracy["keras"] - accuracy["tflite_int8"],
        "agreement_with_keras": agreement,
        "max_abs_logit_diff": max_abs,
        "latency_ms": {q: latency[q]["median_ms"] for q in QUANTIZATIONS},
        "latency": latency,
        "tflite": {
            "recurrent_unrolled": tflite_ready(model) is not model,
            "int8": int8_mode,
            "calibration_examples": len(representative),
            "io": "float32",
        },
        "history": [h.to_dict() for h in history],
        "training": None if train_result is None else train_result.to_dict(),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=plain_value) + "\n")
    return ExportResult(out, files, manifest)
