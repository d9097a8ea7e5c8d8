"""The evaluator protocol: a plain callable that turns a spec into an EvalResult, and its checks.

Whose fault is it? A child's fault (it does not build, runs out of memory, its loss diverges, the
evaluator raised on it) gives a failed child with a reason, and the search goes on. The environment's
fault (missing or corrupt data, a metric no evaluator provides) is one of ENVIRONMENT_ERRORS: it is raised
out of the search, which stops with that error instead of failing every child.

Every result, whatever executor produced it (local, Ray, a user's), goes through :func:`check_result`
before the search uses it: numpy numbers are accepted, booleans and non-finite numbers make a failed
child that says why, and extras are made JSON-safe (or the child fails naming the key).
"""

from __future__ import annotations

import math
import numbers
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from rena_lib.data.paths import DataDownloadError, DataError

__all__ = [
    "ENVIRONMENT_ERRORS",
    "EvalResult",
    "Evaluator",
    "SetupError",
    "check_result",
    "json_safe",
    "safe_evaluate",
]


class SetupError(RuntimeError):
    """Not a child's fault (data, files, evaluator setup): raised out of a search, which stops."""


#: exceptions an evaluator raises that stop a search instead of failing the child
ENVIRONMENT_ERRORS: tuple[type[BaseException], ...] = (
    SetupError,
    DataError,
    DataDownloadError,
    FileNotFoundError,
)


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
    """Call evaluator(spec) and check the result; an exception is a failed child, except an environment
    error (ENVIRONMENT_ERRORS: missing or corrupt data, ...), which propagates and stops the search."""
    t0 = time.perf_counter()
    try:
        result = evaluator(spec)
    except ENVIRONMENT_ERRORS:
        raise
    except Exception as exc:  # the child's failure must never stop a search
        tb = traceback.format_exc(limit=3)
        return EvalResult.failure(
            f"{type(exc).__name__}: {exc}", wall_time=time.perf_counter() - t0, traceback=tb
        )
    return check_result(result, wall_time=time.perf_counter() - t0)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or type(v).__name__ == "bool_"  # numpy.bool_ is not a bool


def _real(v: Any) -> float | None:
    """v as a float if it is a real number (int, float, numpy number; not a bool), else None."""
    if _is_bool(v) or not isinstance(v, numbers.Real):
        return None
    return float(v)


def _show(v: Any) -> str:
    """repr of v, numpy scalars shown as the Python number they hold (True, not np.True_)."""
    if hasattr(v, "item") and getattr(v, "shape", None) == ():
        v = v.item()
    return f"{v!r} (a bool)" if isinstance(v, bool) else repr(v)


def json_safe(value: Any, where: str = "value") -> Any:
    """value as strict-JSON data (numpy scalars and arrays to numbers and lists, tuples to lists);
    ValueError naming `where` for a non-finite number or an object JSON cannot hold."""
    if value is None or isinstance(value, str | bool):
        return value
    if _is_bool(value):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            raise ValueError(f"{where} is {x}, not a finite number")
        return x
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where} has a key {k!r} that is not a string")
            out[k] = json_safe(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, list | tuple):
        return [json_safe(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # a numpy array
        return json_safe(value.tolist(), where)
    raise ValueError(f"{where} is a {type(value).__name__}, which a JSON log cannot hold")


def check_result(result: Any, wall_time: float | None = None) -> EvalResult:
    """The one check of an evaluation result: a clean EvalResult of plain, finite numbers, or a failed
    child whose reason says what was wrong (wall_time: the measured seconds, used where none is given)."""
    measured = 0.0 if wall_time is None else float(wall_time)
    if not isinstance(result, EvalResult):
        return EvalResult.failure(
            f"evaluator returned {type(result).__name__}, expected EvalResult", wall_time=measured
        )
    problems: list[str] = []
    wt = _real(result.wall_time)
    if wt is None or not math.isfinite(wt) or wt < 0:
        problems.append(f"wall_time {_show(result.wall_time)} is not a number of seconds >= 0")
        wt = measured
    extras = result.extras if result.extras is not None else {}
    if not isinstance(extras, Mapping):
        problems.append(f"extras must be a dict, got {type(extras).__name__}")
        extras = {}
    safe: dict[str, Any] = {}
    for k, v in extras.items():
        try:
            safe[str(k)] = json_safe(v, f"extras[{k!r}]")
        except ValueError as exc:
            problems.append(str(exc))
            safe[str(k)] = repr(v)
    if _is_bool(result.failed) or isinstance(result.failed, int):
        failed = bool(result.failed)
    else:
        failed = True
        problems.append(f"failed {_show(result.failed)} is not a bool")
    if failed:  # already a failure: keep its reason, make the rest loggable
        reason = result.reason if isinstance(result.reason, str) and result.reason else "evaluation failed"
        epochs = _real(result.epochs)
        return EvalResult(
            0.0,
            failed=True,
            reason=reason if not problems else f"{reason} ({'; '.join(problems)})",
            epochs=int(epochs) if epochs is not None and math.isfinite(epochs) else 0,
            wall_time=wt,
            extras=safe,
        )
    perf = _real(result.performance)
    if perf is None or not math.isfinite(perf) or not 0.0 <= perf <= 1.0:
        problems.insert(0, f"performance {_show(result.performance)} is not a number in [0, 1]")
    test = None
    if result.test_accuracy is not None:
        test = _real(result.test_accuracy)
        if test is None or not math.isfinite(test) or not 0.0 <= test <= 1.0:
            problems.append(
                f"test_accuracy {_show(result.test_accuracy)} is not a number in [0, 1] (or None)"
            )
            test = None
    epochs = _real(result.epochs)
    if epochs is None or epochs != int(epochs) or epochs < 0:
        problems.append(f"epochs {_show(result.epochs)} is not a whole number >= 0")
        epochs = 0
    if problems:
        return EvalResult(
            0.0,
            failed=True,
            reason="malformed evaluation result: " + "; ".join(problems),
            epochs=int(epochs),
            wall_time=wt,
            extras=safe,
        )
    return EvalResult(perf, test_accuracy=test, epochs=int(epochs), wall_time=wt, extras=safe)
