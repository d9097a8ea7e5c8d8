"""The search log: one JSON record per child in log.jsonl, one per policy update in policy_log.jsonl.

Record fields (dashboards rely on these names): child_id, episode, step, trajectory, proposer, spec
(dict), notation, spec_key, parent_key, actions (this step's action dicts), log_prob, the flattened metric
columns (params, flops, size_bytes, bytes_accessed, intensity, ... ; None for an invalid child),
performance, test_accuracy, reward, feasible, failed, reason, cached, epochs, wall_time (seconds the
evaluation took; 0 for a cached child) and extras (the evaluator's extras, if any).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rena_lib.arch.spec import Spec

__all__ = ["LOG_FIELDS", "JsonlWriter", "SearchLog", "read_jsonl", "write_jsonl_atomic"]

LOG_FIELDS = (
    "child_id", "episode", "step", "trajectory", "proposer", "spec", "notation", "spec_key", "parent_key",
    "actions", "log_prob", "params", "flops", "size_bytes", "bytes_accessed", "intensity", "performance",
    "test_accuracy", "reward", "feasible", "failed", "reason", "cached", "epochs", "wall_time",
)  # fmt: skip


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """(records, clean): the parseable records of a JSON-lines file; clean is False if a line was torn."""
    if not path.exists():
        return [], True
    records, clean = [], True
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                clean = False  # a write cut short (kill -9): drop it
                break
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                clean = False
                break
    return records, clean


def write_jsonl_atomic(path: Path, records: list[dict[str, Any]]) -> None:
    """Replace a JSON-lines file with records, atomically (temp file + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
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
        self.fh.write(json.dumps(record) + "\n")
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
        self.records, _ = read_jsonl(self.directory / "log.jsonl")
        self.policy_records, _ = read_jsonl(self.directory / "policy_log.jsonl")
        cfg = self.directory / "config.json"
        self.config = None
        if cfg.exists():
            from rena_lib.search.config import SearchConfig

            self.config = SearchConfig.from_json(cfg.read_text())

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
        pool = self.feasible() if feasible_only else [r for r in self.records if not r["failed"]]
        if not pool:
            return None
        return max(pool, key=lambda r: (r["reward"], -r["child_id"]))

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
        by_key: dict[str, dict[str, Any]] = {}
        for r in self.records:
            if not r["failed"]:
                by_key.setdefault(r["spec_key"], r)
        rec = next((r for r in self.records if r["child_id"] == child_id), None)
        if rec is None:
            raise ValueError(f"no child {child_id} in the log")
        chain, seen = [rec], set()
        while chain[-1]["parent_key"] in by_key and chain[-1]["parent_key"] not in seen:
            seen.add(chain[-1]["parent_key"])
            parent = by_key[chain[-1]["parent_key"]]
            if parent["child_id"] >= chain[-1]["child_id"]:
                break
            chain.append(parent)
        return [a for r in reversed(chain) for a in r["actions"]]
