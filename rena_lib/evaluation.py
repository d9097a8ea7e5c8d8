"""The evaluator protocol: a plain callable that turns a spec into an EvalResult."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["EvalResult", "Evaluator", "safe_evaluate"]


@dataclass
class EvalResult:
    """Outcome of evaluating one child: its performance (accuracy in [0, 1]) or why it failed."""

    performance: float
    failed: bool = False
    reason: str | None = None
    test_accuracy: float | None = None
    epochs: int = 0
    wall_time: float = 0.0
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failure(cls, reason: str, wall_time: float = 0.0, **extras: Any) -> EvalResult:
        """A failed result with performance 0 and its reason."""
        return cls(performance=0.0, failed=True, reason=reason, wall_time=wall_time, extras=dict(extras))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalResult:
        """Inverse of to_dict."""
        return cls(**d)


Evaluator = Callable[[Any], EvalResult]


def safe_evaluate(evaluator: Evaluator, spec: Any) -> EvalResult:
    """Call evaluator(spec); any exception or a non-finite performance becomes a failed result."""
    t0 = time.perf_counter()
    try:
        result = evaluator(spec)
    except Exception as exc:  # an evaluator failure must never stop a search
        tb = traceback.format_exc(limit=3)
        return EvalResult.failure(
            f"{type(exc).__name__}: {exc}", wall_time=time.perf_counter() - t0, traceback=tb
        )
    if not isinstance(result, EvalResult):
        return EvalResult.failure(
            f"evaluator returned {type(result).__name__}, expected EvalResult",
            wall_time=time.perf_counter() - t0,
        )
    perf = result.performance
    if not result.failed and not (isinstance(perf, int | float) and 0.0 <= float(perf) <= 1.0):
        return EvalResult.failure(f"performance {perf!r} is not a number in [0, 1]", result.wall_time)
    return result
