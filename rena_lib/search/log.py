"""The search log: one JSON record per child in log.jsonl, one per policy update in policy_log.jsonl.

Record fields (dashboards rely on these names): child_id, episode, step, trajectory, proposer, spec
(dict), notation, spec_key, parent_key, actions (this step's action dicts), log_prob, the flattened metric
columns (params, flops, size_bytes, bytes_accessed, intensity, ... ; None for an invalid child),
performance, test_accuracy, reward, feasible, failed, reason, cached, epochs, wall_time (seconds the
evaluation took; 0 for a cached child), extras (the evaluator's extras, if any) and proposal (the
proposer's small JSON record, e.g. evolution's phase and parent_id or TPE's trial number; {} for RENA and
random search). A TPE child has no parent (parent_key None) and no edits (actions []).

Both files are strict JSON (no bare NaN or Infinity; a policy record's non-finite number is written as
null). Only the last line of a file may be incomplete (a write cut short by a kill): it is dropped, and
SearchLog warns how many records it kept. A corrupt line before the last is a LogError naming the file
and the line, never a silent drop.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

from rena_lib.arch.spec import Spec

__all__ = [
    "LOG_FIELDS",
    "JsonlWriter",
    "LogError",
    "SearchLog",
    "finite_or_none",
    "read_jsonl",
    "write_jsonl_atomic",
]

LOG_FIELDS = (
    "child_id", "episode", "step", "trajectory", "proposer", "spec", "notation", "spec_key", "parent_key",
    "actions", "log_prob", "params", "flops", "size_bytes", "bytes_accessed", "intensity", "performance",
    "test_accuracy", "reward", "feasible", "failed", "reason", "cached", "epochs", "wall_time",
)  # fmt: skip


class LogError(ValueError):
    """A search log file is corrupt before its last line (not a write cut short by a kill)."""


def _strict_dumps(record: dict[str, Any], path: Path) -> str:
    try:
        return json.dumps(record, allow_nan=False)
    except (TypeError, ValueError) as exc:
        bad = sorted(k for k, v in record.items() if not _is_strict_json(v))
        raise ValueError(
            f"cannot write a record to {path}: fields {bad} are not strict JSON ({exc})"
        ) from exc


def _is_strict_json(v: Any) -> bool:
    try:
        json.dumps(v, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def finite_or_none(value: Any) -> Any:
    """value with every non-finite float (NaN, inf) replaced by None, through dicts and lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


def read_jsonl(path: Path, key: str | None = None) -> tuple[list[dict[str, Any]], bool]:
    """(records, clean) of a JSON-lines file; clean is False if its last line was cut short (dropped).

    A line before the last that is not a JSON object (with an int `key`, if given) raises LogError naming
    the file and the line.
    """
    if not path.exists():
        return [], True
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.readlines()
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)
        try:
            record = json.loads(line)  # lenient: logs written before strict JSON may hold a bare NaN
            if not isinstance(record, dict):
                raise ValueError(f"a {type(record).__name__}, not a JSON object")
            if key is not None and (
                isinstance(record.get(key), bool) or not isinstance(record.get(key), int)
            ):
                raise ValueError(f"no integer {key!r} field")
            if not line.endswith("\n"):
                raise ValueError("no end of line")
        except ValueError as exc:
            if last:
                return records, False  # a write cut short (kill -9): drop it
            raise LogError(
                f"{path}, line {number} of {len(lines)}: not a valid record ({exc}); {len(records)} records "
                f"before it and {len(lines) - number} lines after it. Restore the file from a copy, or "
                f"delete line {number} if you accept losing that record (a resumed search then stops "
                "with an error if the checkpoint counts it)."
            ) from exc
        records.append(record)
    return records, True


def write_jsonl_atomic(path: Path, records: list[dict[str, Any]]) -> None:
    """Replace a JSON-lines file with records, atomically (temp file + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(_strict_dumps(r, path) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class JsonlWriter:
    """Appends JSON records to a file, one per line, flushed after each."""

    def __init__(self, path: Path):
        self.path = path
        self.fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and flush it to the OS."""
        self.fh.write(_strict_dumps(record, self.path) + "\n")
        self.fh.flush()

    def sync(self) -> None:
        """fsync the file (before a checkpoint that counts on it)."""
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        """Close the file."""
        self.fh.close()


class SearchLog:
    """A search directory's log: records, policy updates and config, with a DataFrame view."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ValueError(f"no search directory at {self.directory}")
        self.records = self._read("log.jsonl", "child_id")
        self.policy_records = self._read("policy_log.jsonl", "episode")
        cfg = self.directory / "config.json"
        self.config = None
        if cfg.exists():
            from rena_lib.search.config import read_config

            self.config = read_config(cfg)

    def _read(self, name: str, key: str) -> list[dict[str, Any]]:
        path = self.directory / name
        records, clean = read_jsonl(path, key)
        if not clean:
            warnings.warn(
                f"{path}: the last line is incomplete (a write cut short); kept the {len(records)} records "
                "before it (resuming the search rewrites the file without it)",
                stacklevel=3,
            )
        return records

    @classmethod
    def load(cls, directory: str | Path) -> SearchLog:
        """Read a search directory."""
        return cls(directory)

    def __len__(self) -> int:
        return len(self.records)

    def to_dataframe(self):
        """One row per child (pandas DataFrame); spec and actions stay dicts / lists."""
        import pandas as pd

        df = pd.DataFrame(self.records)
        if df.empty:
            df = pd.DataFrame(columns=list(LOG_FIELDS))
        return df

    def policy_dataframe(self):
        """One row per policy update (pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame(self.policy_records)

    def feasible(self) -> list[dict[str, Any]]:
        """Records of children that were evaluated and meet every constraint."""
        return [r for r in self.records if r["feasible"] and not r["failed"]]

    def best(self, feasible_only: bool = True) -> dict[str, Any] | None:
        """The record with the highest reward (earliest on ties), among feasible children by default."""
        return self.best_of(self.records, feasible_only)

    def summary(self, window: int = 100) -> dict[str, Any]:
        """Feasibility at a glance: share feasible in the last `window` children, children searched until
        the first and the tenth feasible one (None: not reached), feasible per 50 children, best reward."""
        feasible = [bool(r["feasible"]) and not r["failed"] for r in self.records]
        hits = [i + 1 for i, f in enumerate(feasible) if f]
        best = self.best()
        return {
            "children": len(feasible),
            "feasible_total": len(hits),
            "feasible_share_last": sum(feasible[-window:]) / max(1, min(window, len(feasible))),
            "window": window,
            "children_to_first_feasible": hits[0] if hits else None,
            "children_to_10_feasible": hits[9] if len(hits) >= 10 else None,
            "feasible_per_50": [sum(feasible[i : i + 50]) for i in range(0, len(feasible), 50)],
            "best_feasible_performance": None if best is None else best["performance"],
            "failed": sum(bool(r["failed"]) for r in self.records),
            "cached": sum(bool(r["cached"]) for r in self.records),
        }

    def best_spec(self, feasible_only: bool = True) -> Spec | None:
        """The best child's spec."""
        rec = self.best(feasible_only)
        return None if rec is None else Spec.from_dict(rec["spec"])

    def history(self, child_id: int) -> list[dict[str, Any]]:
        """The action dicts that turn the search's baseline into this child (for actions.replay)."""
        rec = next((r for r in self.records if r["child_id"] == child_id), None)
        if rec is None:
            raise ValueError(f"no child {child_id} in the log")
        chain = self.lineage(self.records, rec)
        if chain[0].get("parent_key") is None:
            raise ValueError(
                f"child {child_id} descends from child {chain[0]['child_id']}, which the {chain[0].get('proposer')} "
                "proposer sampled whole (no parent): no edits lead to it from the baseline. "
                "rena_lib.export.edit_history starts such a lineage at that child"
            )
        return [a for r in chain for a in r["actions"]]

    # one best-child rule, one lineage and one quiet file reader, for SearchLog records and bare ones alike
    @staticmethod
    def ranked(records: list[dict[str, Any]], feasible_only: bool = False) -> list[dict[str, Any]]:
        """Non-failed records (feasible ones only, if asked), best first: higher reward, earlier child on ties.

        This is the best-child rule (a missing reward ranks last); best() is its first record.
        """
        pool = [r for r in records if not r.get("failed")]
        if feasible_only:
            pool = [r for r in pool if r.get("feasible")]

        def reward(r: dict[str, Any]) -> float:
            v = r.get("reward")
            return -math.inf if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

        return sorted(pool, key=lambda r: (-reward(r), r["child_id"]))

    @staticmethod
    def best_of(records: list[dict[str, Any]], feasible_only: bool = True) -> dict[str, Any] | None:
        """The best record by the best-child rule (see ranked), among feasible ones by default; None if none."""
        ranked = SearchLog.ranked(records, feasible_only)
        return ranked[0] if ranked else None

    @staticmethod
    def lineage(records: list[dict[str, Any]], child: dict[str, Any]) -> list[dict[str, Any]]:
        """The records from the baseline's first edit down to `child` (oldest first), along parent_key.

        A record's parent is an earlier record whose spec_key is its parent_key: the same trajectory's
        previous step where the log has it, else the earliest such record. The chain ends at a parent_key
        no earlier record has (the baseline's key).
        """
        by_key: dict[Any, list[dict[str, Any]]] = {}
        for r in records:
            by_key.setdefault(r.get("spec_key"), []).append(r)
        chain = [child]
        while True:
            rec = chain[-1]
            cands = [r for r in by_key.get(rec.get("parent_key"), []) if r["child_id"] < rec["child_id"]]
            if not cands:
                return chain[::-1]
            same = [
                r
                for r in cands
                if (r.get("episode"), r.get("trajectory"), r.get("proposer"))
                == (rec.get("episode"), rec.get("trajectory"), rec.get("proposer"))
                and r.get("step") is not None
                and rec.get("step") is not None
                and r["step"] == rec["step"] - 1
            ]
            chain.append(
                max(same, key=lambda r: r["child_id"]) if same else min(cands, key=lambda r: r["child_id"])
            )

    @staticmethod
    def read_records(path: str | Path, policy: bool = False) -> list[dict[str, Any]]:
        """The child records (or policy updates) of a search directory or of its log file, config not read.

        For views of a log as it is being written: a torn last line is dropped without a warning, and the
        directory's config.json need not be a SearchConfig. A missing child log is a FileNotFoundError; a
        missing policy log has no records.
        """
        name, key = ("policy_log.jsonl", "episode") if policy else ("log.jsonl", "child_id")
        path = Path(path)
        path = path / name if path.is_dir() else path
        if not policy and not path.exists():
            raise FileNotFoundError(f"no search log at {path}")
        return read_jsonl(path, key)[0]
