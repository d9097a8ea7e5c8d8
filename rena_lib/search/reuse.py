"""Trainings shared between searches: an evaluator that answers a spec another search already trained.

Searches run with one evaluator at one budget train some identical children: RENA and `rena_tuned` with
the same seed sample the same first episode from the same untrained policy, and every strategy edits the
same baseline. A training is deterministic given the spec, the budget and its seed (the committed real
searches retrained 132 children twice, every time to the same validation and test accuracy), so the
second training can be skipped. A reused child is logged with wall_time 0 and extras["reused_from"]
naming the search and child that trained it; a search's own repeats stay the loop's `cached` children.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rena_lib.evaluation import EvalResult, Evaluator
from rena_lib.search.log import read_jsonl


def trained_here(record: Mapping[str, Any]) -> bool:
    """Whether a log record is a training its search ran (not failed, not cached, not reused)."""
    return not record["failed"] and not record["cached"] and "reused_from" not in (record.get("extras") or {})


class ReusedTrainings:
    """Evaluate a spec by the training a search under `root` logged for it at `budget`, else train it."""

    def __init__(self, evaluator: Evaluator, root: str | os.PathLike[str], budget: Mapping[str, Any]):
        if not isinstance(budget, Mapping) or not budget:
            raise ValueError(f"budget must be the evaluator's budget as a non-empty dict, got {budget!r}")
        self.evaluator = evaluator
        self.root = Path(root)
        self.budget = dict(budget)
        self.reused = 0
        self._index: dict[Path, tuple[tuple[int, int], dict[str, dict[str, Any]]]] = {}

    def _trainings(self, path: Path) -> dict[str, dict[str, Any]]:
        """spec_key -> the first training logged in one log.jsonl at this budget (re-read when it grows)."""
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._index.get(path)
        if cached is None or cached[0] != stamp:
            # an incomplete last line (a write cut short) is left out
            records, _ = read_jsonl(path, "child_id")
            found: dict[str, dict[str, Any]] = {}
            for r in records:
                if trained_here(r) and (r.get("extras") or {}).get("budget") == self.budget:
                    found.setdefault(r["spec_key"], r)
            self._index[path] = cached = (stamp, found)
        return cached[1]

    def find(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """(search directory name, record) of a training of spec `key` at this budget, or None."""
        for path in sorted(self.root.glob("*/log.jsonl")):
            hit = self._trainings(path).get(key)
            if hit is not None:
                return path.parent.name, hit
        return None

    def __call__(self, spec: Any) -> EvalResult:
        found = self.find(spec.key())
        if found is None:
            return self.evaluator(spec)
        search, r = found
        self.reused += 1
        reused_from = {"search": search, "child_id": r["child_id"], "wall_time": r["wall_time"]}
        return EvalResult(
            performance=r["performance"],
            test_accuracy=r["test_accuracy"],
            epochs=r["epochs"],
            wall_time=0.0,
            extras={**r["extras"], "reused_from": reused_from},
        )
