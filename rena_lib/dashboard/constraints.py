"""Constraints as the dashboard draws them: (metric, direction, bound) triples from any spelling, or a log's config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rena_lib.analysis import search_config
from rena_lib.reward import Constraint


def _triple(c: Any) -> tuple[str, str, float]:
    """(metric, direction, bound) of a Constraint, a "params < 0.1M" string, a dict or a tuple."""
    if hasattr(c, "metric") and hasattr(c, "direction") and hasattr(c, "bound"):
        return c.metric, c.direction, float(c.bound)
    if isinstance(c, str):
        parsed = Constraint.parse(c)
        return parsed.metric, parsed.direction, parsed.bound
    if isinstance(c, Mapping):
        return str(c["metric"]), str(c["direction"]), float(c["bound"])
    metric, direction, bound = c
    return str(metric), str(direction), float(bound)


def constraints_of(log: Any) -> list[tuple[str, str, float]]:
    """The constraints (metric, direction, bound) of a search directory's config.json or a SearchLog."""
    raw = search_config(log).get("constraints") or []
    if isinstance(raw, str | Mapping):
        raw = [raw]
    return [_triple(c) for c in raw]
