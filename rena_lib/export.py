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

TFLite conversion lives in rena_lib.tflite (its names are re-exported here).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rena_lib.arch.notation import to_paper_notation
from rena_lib.arch.spec import Spec
from rena_lib.tflite import (
    QUANTIZATIONS,
    interpreter,
    quiet_native_stderr,
    tflite_predict,
    tflite_ready,
    to_tflite,
)

if TYPE_CHECKING:
    import keras
    import pandas as pd

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


# --------------------------------------------------------------------------------------------------
# choosing a child and its edit history
# --------------------------------------------------------------------------------------------------
class HistoryError(ValueError):
    """The log's actions do not replay to its specs (or the chain to the baseline is broken)."""


@dataclass
class HistoryStep:
    """One step of an edit history: the actions taken and the network they produced, in paper notation."""

    index: int
    child_id: int | None
    episode: int | None
    step: int | None
    actions: list[dict[str, Any]]
    description: str
    notation: str
    spec_key: str
    spec: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _records(log: Any) -> list[dict[str, Any]]:
    from rena_lib.analysis import load_log

    df = load_log(log)
    return [{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")]


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def _config(log: Any) -> dict[str, Any]:
    """The search config of a directory (config.json) or a SearchLog, as a dict; {} for bare records."""
    config = getattr(log, "config", None)
    if config is not None:
        return config.to_dict() if hasattr(config, "to_dict") else dict(config)
    path = Path(log) / "config.json" if isinstance(log, str | os.PathLike) and Path(log).is_dir() else None
    return json.loads(path.read_text()) if path is not None and path.exists() else {}


def select_child(log: Any, child_id: int | None = None, *, feasible_only: bool = True) -> dict[str, Any]:
    """A child's log record: the given child_id, else the best feasible child (highest reward = accuracy)."""
    records = _records(log)
    if child_id is not None:
        found = [r for r in records if r.get("child_id") == child_id]
        if not found:
            raise ValueError(f"child_id {child_id} is not in the log ({len(records)} children)")
        return found[0]
    ok = [r for r in records if not r.get("failed")]
    if feasible_only:
        ok = [r for r in ok if r.get("feasible")]
    if not ok:
        what = "feasible, non-failed" if feasible_only else "non-failed"
        raise ValueError(f"no {what} child in the log; pass child_id= or feasible_only=False")
    return max(ok, key=lambda r: (r.get("reward") or 0.0, -r["child_id"]))  # as SearchLog.best


def best_child(log: Any) -> dict[str, Any]:
    """The best feasible child, or (when no child is feasible, as in a tiny search) the best by reward."""
    try:
        return select_child(log)
    except ValueError:
        return select_child(log, feasible_only=False)


def _parent(records: list[dict[str, Any]], rec: dict[str, Any]) -> dict[str, Any] | None:
    """The record the child was edited from: same trajectory one step earlier, else the earliest with that key."""
    key = rec.get("parent_key")
    cands = [r for r in records if r.get("spec_key") == key and r["child_id"] < rec["child_id"]]
    if not cands:
        return None
    same = [
        r
        for r in cands
        if r.get("episode") == rec.get("episode")
        and r.get("trajectory") == rec.get("trajectory")
        and r.get("proposer") == rec.get("proposer")
        and r.get("step") is not None
        and rec.get("step") is not None
        and r["step"] == rec["step"] - 1
    ]
    return max(same, key=lambda r: r["child_id"]) if same else min(cands, key=lambda r: r["child_id"])


def _baseline_candidates(config: dict[str, Any]) -> list[Spec]:
    """Specs a search may have started from: its SearchConfig's baseline, else explicit specs / notation."""
    out: list[Spec] = []
    if "space" in config:
        with contextlib.suppress(Exception):  # not a SearchConfig dict: try the plainer forms below
            from rena_lib.search.config import SearchConfig

            out.append(SearchConfig.from_dict(config).baseline_spec())
    for b in [config.get("baseline"), *(config.get("baselines") or [])]:
        if isinstance(b, dict):
            out.append(Spec.from_dict(b))
    if isinstance(config.get("space"), str):
        from rena_lib import spaces

        with contextlib.suppress(Exception):
            out.append(spaces.baseline(config["space"], config.get("max_layers"), config.get("stack")))
    return out


def _find_baseline(config: dict[str, Any], key: str | None, given: Spec | None) -> Spec:
    cands = [given] if given is not None else _baseline_candidates(config)
    for spec in cands:
        if key is None or spec.key() == key:
            return spec
    if given is not None:
        raise HistoryError(f"the given baseline has key {given.key()}, the chain starts from {key}")
    raise HistoryError(
        f"cannot find the baseline (spec key {key}) in the log's config.json; pass baseline= explicitly"
    )


def _layer_text(spec: Spec, index: int) -> str:
    """Paper notation of layer `index` (1-based) alone, with @src when it does not read the previous layer."""
    layer = spec.layers[index - 1]
    if spec.granularity == "module":
        return to_paper_notation(Spec(spec.task, [layer], spec.granularity, spec.stack))
    src = layer.get("src1")
    alone = layer.replace(src1=0) if layer.type != "add" else layer
    text = to_paper_notation(Spec(spec.task, [alone], spec.granularity, spec.stack))
    return text if layer.type == "add" or src in (None, index - 1) else f"{text.split('@')[0]}@{src}"


def describe_action(action: dict[str, Any], before: Spec, after: Spec) -> str:
    """A one-line description of an action dict, e.g. "scale L1 channels 12->32" or "insert 2: GRU (1,16,1)"."""
    op = action.get("op")
    if op == "scale":
        parts = []
        for layer, feature, value in action.get("changes", []):
            old = before.layers[layer - 1].get(feature) if 1 <= layer <= len(before.layers) else None
            parts.append(f"L{layer} {feature} {old}->{value}")
        return "scale " + (", ".join(parts) if parts else "(no change)")
    if op == "insert":
        pos = action["position"]
        return f"insert at {pos}: {_layer_text(after, pos)}"
    if op == "remove":
        k = action["index"]
        return f"remove L{k}: {_layer_text(before, k)}"
    return str(op)


def edit_history(log: Any, child: int | dict[str, Any] | None = None, *, baseline: Spec | None = None):
    """The steps from the baseline to the child (default: best feasible), each replayed and checked.

    Follows parent_key links back to a spec key no earlier record has (the baseline, found in config.json
    or given), then replays every step's actions with rena_lib.actions.apply; each replayed spec must
    equal the logged one. Returns a list of HistoryStep, the baseline first.
    """
    from rena_lib.actions import apply

    records = _records(log)
    if child is None or isinstance(child, int | np.integer):
        rec = select_child(records, None if child is None else int(child))
    else:
        rec = child
    chain = [rec]
    while (parent := _parent(records, chain[-1])) is not None:
        chain.append(parent)
    chain.reverse()
    spec = _find_baseline(_config(log), chain[0].get("parent_key"), baseline)
    steps = [
        HistoryStep(0, None, None, None, [], "baseline", to_paper_notation(spec), spec.key(), spec.to_dict())
    ]
    for i, r in enumerate(chain, start=1):
        actions = list(r.get("actions") or [])
        words = []
        for action in actions:
            new = apply(spec, action)
            if action.get("op") != "keep":
                words.append(describe_action(action, spec, new))
            spec = new
        logged = Spec.from_dict(r["spec"])
        if spec != logged:
            raise HistoryError(
                f"child {r['child_id']}: replaying its actions gives {to_paper_notation(spec)!r}, "
                f"the log has {to_paper_notation(logged)!r}"
            )
        steps.append(
            HistoryStep(
                i, r["child_id"], r.get("episode"), r.get("step"), actions,
                "; ".join(words) or "keep", to_paper_notation(spec), spec.key(), spec.to_dict(),
            )
        )  # fmt: skip
    return steps


def history_frame(history: Sequence[HistoryStep]) -> pd.DataFrame:
    """The edit history as a table: one row per step with its description and paper notation."""
    import pandas as pd

    cols = ["index", "child_id", "episode", "step", "description", "notation"]
    df = pd.DataFrame([{k: getattr(h, k) for k in cols} for h in history]).set_index("index")
    return df.astype({"child_id": "Int64", "episode": "Int64", "step": "Int64"})


# --------------------------------------------------------------------------------------------------
# training and data
# --------------------------------------------------------------------------------------------------
def train_model(spec: Spec, evaluator: Any) -> tuple[keras.Model, Any]:
    """Train the child under a training evaluator's budget and return (trained model, its EvalResult).

    evaluator is a rena_lib.training KwsEvaluator / CifarEvaluator (anything with evaluate_model(factory)):
    the model the factory builds is kept, so its trained weights survive the evaluator's cleanup.
    """
    from rena_lib.arch import build

    built: list[keras.Model] = []

    def factory() -> keras.Model:
        built.append(build(spec))
        return built[-1]

    result = evaluator.evaluate_model(factory)
    if result.failed or not built:
        raise RuntimeError(f"training the child failed: {result.reason}")
    return built[-1], result


def train_first_that_learns(
    log: Any, evaluator: Any, *, candidates: int = 3, min_accuracy: float = 2 / 12
) -> tuple[dict[str, Any], keras.Model, Any, list[dict[str, Any]]]:
    """Train the best children of a log in turn (feasible first, by reward) until one learns.

    A child "learns" when its validation accuracy reaches min_accuracy (default: twice chance for the 12
    KWS classes); a search scored by a proxy can rank first an architecture that cannot learn (e.g. five
    4-unit FC layers). Returns (record, trained model, EvalResult, what was tried); when no candidate
    learns, the one with the highest validation accuracy.
    """
    records = [r for r in _records(log) if not r.get("failed")]
    ranked = sorted(records, key=lambda r: (not r.get("feasible"), -r["reward"], r["child_id"]))
    seen, tried, best = set(), [], None
    for rec in ranked:
        if len(tried) >= candidates:
            break
        if rec["spec_key"] in seen:
            continue
        seen.add(rec["spec_key"])
        model, result = train_model(Spec.from_dict(rec["spec"]), evaluator)
        acc = 0.0 if result.failed else float(result.performance)
        tried.append({"child_id": rec["child_id"], "notation": rec["notation"], "feasible": bool(rec.get("feasible")),
                      "val_accuracy": acc, "train_accuracy": result.extras.get("train_accuracy"),
                      "learned": acc >= min_accuracy})  # fmt: skip
        if best is None or acc > best[3]:
            best = (rec, model, result, acc)
        if acc >= min_accuracy:
            return rec, model, result, tried
    if best is None:
        raise ValueError("the log has no child that did not fail")
    return best[0], best[1], best[2], tried


def inference_model(model: keras.Model, spec: Spec) -> keras.Model:
    """model with the batch norms its KWS convolutions trained with folded in (as is, if it has none)."""
    from rena_lib.arch import fold_batchnorm
    from rena_lib.arch.builder import BN_SUFFIX

    if any(layer.name.endswith(BN_SUFFIX) for layer in model.layers):
        return fold_batchnorm(model, spec)
    return model


def task_arrays(
    data: Any, *, split: str = "test", max_examples: int | None = None, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, labels) numpy arrays of a data object's eval split (SpeechCommandsData, Cifar10Data)."""
    xs, ys = [], []
    for x, y in data.eval_dataset(split, batch_size, max_examples=max_examples):
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    return np.concatenate(xs), np.concatenate(ys)


# --------------------------------------------------------------------------------------------------
# the export
# --------------------------------------------------------------------------------------------------
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
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_plain) + "\n")
    return ExportResult(out, files, manifest)
