"""The table of real trainings: one JSON line per trained child (spec, metrics, budget, seed, accuracies, time).

Every child trained for real by a committed script (the Table 2 runs, the budget study, real-data
searches) is appended here, so accuracies can be summarised per architecture (mean and spread over seeds,
the noise floor of a search) and, later, a surrogate fitted on them. Records are strict JSON; a record is
keyed by (name, budget, seed), so a resumed script skips what it already trained.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "TABLE2_DIR",
    "append_record",
    "done_keys",
    "drop_replays",
    "kws_data",
    "read_records",
    "record_key",
    "summarize",
    "table2_trained",
    "train_and_append",
    "training_record",
]

REQUIRED = ("name", "notation", "spec", "budget", "seed", "val_accuracy", "wall_time")


def training_record(
    name: str, spec: Any, result: Any, budget: Any, *, data: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """One row of the table from an EvalResult of a real training (failed children included)."""
    from rena_lib.arch import to_paper_notation
    from rena_lib.metrics import measure

    m = measure(spec)
    return {
        "name": name,
        "notation": to_paper_notation(spec),
        "spec": spec.to_dict(),
        "task": spec.task,
        "params": int(m["params"]),
        "flops": float(m["flops"]),
        "intensity": float(m["intensity"]),
        "budget": budget.to_dict(),
        "seed": int(budget.seed),
        "failed": bool(result.failed),
        "reason": result.reason,
        "val_accuracy": None if result.failed else float(result.performance),
        "test_accuracy": result.test_accuracy,
        "train_accuracy": result.extras.get("train_accuracy"),
        "epochs": int(result.epochs),
        "wall_time": float(result.wall_time),
        "steady_epoch_s": result.extras.get("timings", {}).get("steady_epoch_s"),
        "train_examples": result.extras.get("train_examples"),
        "history": result.extras.get("history"),
        "data": data,
        **extra,
    }


def kws_data(evaluator: Any, split_salt: str) -> dict[str, Any]:
    """The data a KwsEvaluator trains on, as a record's "data" field (where from, split, sizes)."""
    return {
        "dataset": "speech_commands",
        "data_dir": "RENA_DATA_DIR" if os.environ.get("RENA_DATA_DIR") else "keras download",
        "split_salt": split_salt,
        "train_examples": len(evaluator.data.labels("train")),
        "validation_examples": len(evaluator.data.labels("validation")),
        "test_examples": len(evaluator.data.labels("test")),
        "augmentation": evaluator.augmentation,
    }


def record_key(rec: dict[str, Any]) -> tuple[str, str, int]:
    """(name, budget JSON without its seed, seed): what identifies one training."""
    return rec["name"], *_budget_and_seed(rec)


def _budget_and_seed(rec: dict[str, Any]) -> tuple[str, int]:
    budget = {k: v for k, v in rec["budget"].items() if k != "seed"}
    return json.dumps(budget, sort_keys=True), int(rec["seed"])


def drop_replays(records: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The records less replays, and how many were dropped: a replay trains a spec already in the table at
    the same budget and seed to the same validation and test accuracy (training is deterministic by seed, so
    it repeats a row rather than measuring anything new, as when two searches of one seed start alike)."""
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for rec in records:
        if rec.get("failed"):
            kept.append(rec)
            continue
        spec = json.dumps(rec["spec"], sort_keys=True)
        key = (spec, *_budget_and_seed(rec), rec.get("val_accuracy"), rec.get("test_accuracy"))
        if key not in seen:
            seen.add(key)
            kept.append(rec)
    return kept, len(records) - len(kept)


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of a table file; a malformed line is an error naming the file and line."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{path} line {i} is not JSON ({exc.msg}): restore the file or delete that line"
            ) from exc
        missing = [k for k in REQUIRED if k not in rec]
        if missing:
            raise ValueError(f"{path} line {i} lacks the fields {missing}: not a table of real trainings")
        out.append(rec)
    return out


def done_keys(path: str | os.PathLike[str]) -> set[tuple[str, str, int]]:
    """Keys of the trainings already in the table (for resuming)."""
    return {record_key(r) for r in read_records(path)}


def append_record(path: str | os.PathLike[str], rec: dict[str, Any]) -> None:
    """Append one record as a strict-JSON line (NaN and infinities are rejected) and flush it to disk."""
    line = json.dumps(rec, sort_keys=True, allow_nan=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def train_and_append(
    evaluator: Any,
    name: str,
    spec: Any,
    budget: Any,
    path: str | os.PathLike[str],
    *,
    data: dict[str, Any],
    **extra: Any,
) -> Any:
    """Train `spec` at `budget` with `evaluator`, append its record to `path` and return the EvalResult."""
    evaluator.budget = budget
    load = os.getloadavg()[0]
    result = evaluator(spec)
    finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    append_record(path, training_record(
        name, spec, result, budget, data=data, **extra, load_before=round(load, 2),
        load_after=round(os.getloadavg()[0], 2), finished=finished,
    ))  # fmt: skip
    return result


def summarize(records: Iterable[dict[str, Any]], by: str = "name") -> list[dict[str, Any]]:
    """Per architecture: seeds trained, failures, mean / std / min / max of validation and test accuracy, seconds."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(r[by], []).append(r)
    rows = []
    for key, recs in groups.items():
        ok = [r for r in recs if not r.get("failed")]
        row: dict[str, Any] = {by: key, "notation": recs[0]["notation"], "params": recs[0].get("params")}
        row |= {"flops": recs[0].get("flops"), "intensity": recs[0].get("intensity")}
        row |= {"seeds": len(ok), "failed": len(recs) - len(ok)}
        for field in ("val_accuracy", "test_accuracy"):
            vals = [r[field] for r in ok if r.get(field) is not None]
            row |= _stats(field, vals)
        row["mean_seconds"] = sum(r["wall_time"] for r in ok) / len(ok) if ok else None
        rows.append(row)
    return rows


def _stats(field: str, vals: list[float]) -> dict[str, Any]:
    if not vals:
        return {f"{field}_mean": None, f"{field}_std": None, f"{field}_min": None, f"{field}_max": None}
    mean = sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    return {f"{field}_mean": mean, f"{field}_std": std, f"{field}_min": min(vals), f"{field}_max": max(vals)}


#: where scripts/train_table2.py commits its cpu-budget trainings of Table 2
TABLE2_DIR = Path(__file__).resolve().parent.parent / "results" / "cpu" / "table2"


def table2_trained(directory: str | os.PathLike[str] = TABLE2_DIR) -> tuple[Any, dict[str, Any]]:
    """(table, summary) of the committed Table 2 trainings: paper accuracy beside ours, per architecture."""
    import pandas as pd

    directory = Path(directory)
    table_path, summary_path = directory / "table2.csv", directory / "summary.json"
    if not table_path.exists() or not summary_path.exists():
        raise FileNotFoundError(
            f"no Table 2 trainings in {directory}: run scripts/train_table2.py (it writes table2.csv and summary.json)"
        )
    table = pd.read_csv(table_path)
    cols = ["name", "notation", "params", "seeds", "paper_test_accuracy"]
    cols += [
        "val_accuracy_mean",
        "val_accuracy_std",
        "test_accuracy_mean",
        "test_accuracy_std",
        "mean_seconds",
    ]
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ValueError(
            f"{table_path} lacks the columns {missing}: rewrite it with scripts/train_table2.py --report"
        )
    return table[cols], json.loads(summary_path.read_text())
