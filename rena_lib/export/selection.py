"""Which child to export: a given child_id, else the best by the one best-child rule (SearchLog.ranked)."""

from __future__ import annotations

from typing import Any

from rena_lib.analysis import log_records
from rena_lib.search.log import SearchLog


def select_child(log: Any, child_id: int | None = None, *, feasible_only: bool = True) -> dict[str, Any]:
    """A child's log record: the given child_id, else the best feasible child (highest reward = accuracy)."""
    records = log_records(log)
    if child_id is not None:
        found = [r for r in records if r.get("child_id") == child_id]
        if not found:
            raise ValueError(f"child_id {child_id} is not in the log ({len(records)} children)")
        return found[0]
    best = SearchLog.best_of(records, feasible_only)
    if best is None:
        what = "feasible, non-failed" if feasible_only else "non-failed"
        raise ValueError(f"no {what} child in the log; pass child_id= or feasible_only=False")
    return best


def best_child(log: Any) -> dict[str, Any]:
    """The best feasible child, or (when no child is feasible, as in a tiny search) the best by reward."""
    try:
        return select_child(log)
    except ValueError:
        return select_child(log, feasible_only=False)
