"""Executors: evaluate a batch of children. The search loop only calls ``executor.map(evaluator, specs)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from rena_lib.evaluation import EvalResult, Evaluator, safe_evaluate

__all__ = ["Executor", "LocalExecutor", "get_executor"]


class Executor(Protocol):
    """Evaluates children; results come back in the order of the specs."""

    def map(self, evaluator: Evaluator, specs: Sequence[Any]) -> list[EvalResult]:
        """One EvalResult per spec, in order; a failing child gives a failed result, never an exception
        (only an environment error, rena_lib.evaluation.ENVIRONMENT_ERRORS, is raised). The search loop
        checks every result with rena_lib.evaluation.check_result, whatever the executor."""
        ...


class LocalExecutor:
    """In-process, sequential evaluation (the default; no extra dependency)."""

    def map(self, evaluator: Evaluator, specs: Sequence[Any]) -> list[EvalResult]:
        """Evaluate the specs one after the other in this process."""
        return [safe_evaluate(evaluator, spec) for spec in specs]

    def close(self) -> None:
        """Nothing to release."""


def get_executor(name: str = "local", **options: Any) -> Executor:
    """An executor by name: "local", or "ray" (options go to RayExecutor, e.g. address, num_cpus, num_gpus)."""
    if name == "local":
        if options:
            raise ValueError(f"the local executor takes no options, got {sorted(options)}")
        return LocalExecutor()
    if name == "ray":
        from rena_lib.ray_executor import RayExecutor

        return RayExecutor(**options)
    raise ValueError(f"unknown executor {name!r}; choose 'local' or 'ray'")
