"""Resource constraints and the multi-objective reward of Eq. 3.

    r = P * prod_j p ** |V(U_j, C_j)|,  V(U, C) = max(0, U - C) / C   for a constraint U < C,
                                        V(U, C) = min(0, U - C) / U   for a constraint U > C.

Reading of the sign: for "<" constraints V >= 0, for ">" constraints V <= 0, so the literal p ** V with a
base penalty p in (0, 1) would *reward* violating a ">" constraint. The paper's intent is a penalty in
both directions, so the exponent is |V|: r == P when every constraint holds and r < P, strictly
decreasing as any violation grows, otherwise. Boundaries count as satisfied (V(C, C) == 0), and so does
``is_feasible``. For ">" with U <= 0 (e.g. zero intensity) V is -inf and the reward is 0.

Constraints are plain data that round-trip through JSON: ``Constraint("params", "<", 1e5)``,
``Constraint.parse("intensity > 10")``, ``Constraint.from_dict(c.to_dict())``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DIRECTIONS",
    "METRICS",
    "RAM_PRECISIONS",
    "Constraint",
    "is_feasible",
    "penalty",
    "register_metric",
    "reward",
    "violation",
]

DIRECTIONS = ("<", ">")

#: metric names a constraint may name: those of rena_lib.metrics.Metrics, plus measured latency
METRICS: set[str] = {"params", "size_bytes", "flops", "bytes_accessed", "intensity", "latency_ms"}
#: a microcontroller's resources (rena_lib.memory): peak RAM needs its activation precision in the name
RAM_PRECISIONS = ("int8", "float32")
METRICS |= {f"ram_bytes_{p}" for p in RAM_PRECISIONS} | {"flash_bytes"}

_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_PARSE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*([<>])\s*([0-9.eE+\-]+)\s*([kKMGT]?)\s*$")


def register_metric(name: str) -> None:
    """Allow constraints on a new metric name (e.g. one a new evaluator measures)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a metric name must be an identifier, got {name!r}")
    METRICS.add(name)


@dataclass(frozen=True)
class Constraint:
    """A resource constraint: metric, direction ("<": at most, ">": at least) and a positive bound."""

    metric: str
    direction: str
    bound: float

    def __post_init__(self) -> None:
        if isinstance(self.metric, str) and self.metric.startswith("ram") and self.metric not in METRICS:
            names = " or ".join(f"'ram_bytes_{p}'" for p in RAM_PRECISIONS)
            prefix = "ram_bytes_"
            precision = self.metric[len(prefix) :] if self.metric.startswith(prefix) else "none given"
            raise ValueError(
                f"constraint on {self.metric!r}: peak RAM needs an activation precision (float32 or int8), "
                f"got {precision!r}; name {names}"
            )
        if self.metric not in METRICS:
            raise ValueError(
                f"constraint on unknown metric {self.metric!r}; known: {sorted(METRICS)} "
                "(rena_lib.reward.register_metric adds one)"
            )
        if self.direction not in DIRECTIONS:
            raise ValueError(f"constraint direction {self.direction!r} must be '<' or '>'")
        b = self.bound
        if isinstance(b, bool) or not isinstance(b, numbers.Real) or not math.isfinite(b) or b <= 0:
            raise ValueError(f"constraint bound {b!r} on {self.metric} must be a finite number > 0")
        object.__setattr__(self, "bound", float(b))

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """Parse "metric < bound" or "metric > bound"; the bound may end in k, M, G or T ("params < 0.1M")."""
        m = _PARSE.match(text) if isinstance(text, str) else None
        if m is None:
            raise ValueError(
                f"cannot parse constraint {text!r}; expected e.g. 'params < 100000' or 'intensity > 10'"
            )
        metric, direction, number, suffix = m.groups()
        try:
            value = float(number) * _SUFFIX[suffix]
        except ValueError:
            raise ValueError(f"constraint {text!r}: {number!r} is not a number") from None
        return cls(metric, direction, value)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {"metric": self.metric, "direction": self.direction, "bound": self.bound}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Constraint:
        """Inverse of to_dict."""
        missing = [k for k in ("metric", "direction", "bound") if k not in d]
        if missing:
            raise ValueError(f"constraint dict {dict(d)!r} is missing {missing}")
        return cls(d["metric"], d["direction"], d["bound"])

    def __str__(self) -> str:
        return f"{self.metric} {self.direction} {self.bound:g}"


def _constraints(constraints: Constraint | str | Iterable[Constraint | str]) -> list[Constraint]:
    if isinstance(constraints, Constraint | str):
        constraints = [constraints]
    return [c if isinstance(c, Constraint) else Constraint.parse(c) for c in constraints]


def _value(metrics: Mapping[str, Any], c: Constraint) -> float:
    if c.metric not in metrics:
        raise ValueError(
            f"constraint {c} names {c.metric!r}, which the metrics do not hold ({sorted(metrics)})"
        )
    value = metrics[c.metric]
    if value is None:
        raise ValueError(
            f"constraint {c}: {c.metric} is not defined for this network (int8 RAM and flash need an int8 "
            "export; a nested or Sequential keras.Model has no op schedule): see rena_lib.memory"
        )
    return float(value)


def violation(value: float, constraint: Constraint) -> float:
    """V(U, C) of Eq. 3: >= 0 for "<" constraints, <= 0 for ">" constraints, 0 when satisfied."""
    u, c = float(value), constraint.bound
    if math.isnan(u):
        raise ValueError(f"metric {constraint.metric} is NaN")
    if constraint.direction == "<":
        return max(0.0, u - c) / c
    if u >= c:
        return 0.0
    return (u - c) / u if u > 0 else -math.inf


def penalty(value: float, constraint: Constraint, p: float = 0.9) -> float:
    """The factor p ** |V(U, C)| that one constraint multiplies the reward by (1 when satisfied)."""
    return p ** abs(violation(value, constraint))


def reward(
    performance: float,
    metrics: Mapping[str, Any],
    constraints: Constraint | str | Iterable[Constraint | str] = (),
    p: float = 0.9,
) -> float:
    """Eq. 3: r = P * prod p ** |V| over the constraints; metrics is a Metrics or any mapping of values."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 < p <= 1.0:
        raise ValueError(f"base penalty p={p!r} must be in (0, 1]")
    r = float(performance)
    for c in _constraints(constraints):
        r *= penalty(_value(metrics, c), c, p)
    return r


def is_feasible(
    metrics: Mapping[str, Any], constraints: Constraint | str | Iterable[Constraint | str]
) -> bool:
    """True when every constraint holds (zero violation; the bound itself is allowed)."""
    return all(violation(_value(metrics, c), c) == 0.0 for c in _constraints(constraints))
