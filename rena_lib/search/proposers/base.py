"""The Proposer protocol of the ask / tell search loop, and the Candidate a proposer proposes.

The loop (rena_lib.search.loop) asks a proposer for a batch of candidates, checks, scores and evaluates
them, logs one record per candidate and tells the proposer the records, in the order asked. A proposer
owns everything about *which* children come next: trajectories and episodes (RENA, random search), a
population (regularized evolution) or a study (TPE); the loop owns evaluation, caching, the log and
the checkpoint. A proposer must be deterministic given its state: after ``load_state`` of a checkpoint,
``ask`` returns the same candidates it returned after that checkpoint before a kill, so the loop reuses
their logged results instead of evaluating them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rena_lib.arch.spec import Spec

__all__ = ["PROTOCOL_METHODS", "Candidate", "Proposer", "check_protocol"]


@dataclass
class Candidate:
    """One proposed child: its spec (None if the proposer could not build it: ``reason`` says why), its
    parent (None for a whole architecture), the edits from the parent, their log-probability, where it
    sits (episode / step / trajectory: None lets the loop number batches), the proposer's private record
    (``decisions``: not logged) and a small JSON-able ``info`` logged as the record's "proposal" field."""

    spec: Spec | None
    parent: Spec | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    log_prob: float | None = None
    reason: str | None = None
    episode: int | None = None
    step: int | None = None
    trajectory: int | None = None
    decisions: Any = None
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Proposer(Protocol):
    """What the search loop needs from a proposer (see the module docstring)."""

    name: str

    def ask(self) -> list[Candidate]:
        """The next batch of candidates (at least one)."""
        ...

    def tell(self, candidates: list[Candidate], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Learn from the logged records of the candidates of the last ask (same order); returns the
        policy-log records to append (each with an int "episode"), usually none."""
        ...

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able state, named numpy arrays) for a checkpoint; arrays are rewritten only when the
        state's int "updates" changes, so bump it whenever the arrays change."""
        ...

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what state() returned."""
        ...


PROTOCOL_METHODS = ("ask", "tell", "state", "load_state")


def check_protocol(proposer: Any) -> None:
    """Raise ValueError naming what is missing if proposer does not follow the Proposer protocol."""
    missing = [m for m in PROTOCOL_METHODS if not callable(getattr(proposer, m, None))]
    name = getattr(proposer, "name", None)
    if missing or not isinstance(name, str) or not name:
        what = [f"method {m}()" for m in missing] + ([] if isinstance(name, str) and name else ["a str name"])
        raise ValueError(
            f"{type(proposer).__name__} is not a proposer: it lacks {', '.join(what)}. A proposer has a "
            f"name and the methods {PROTOCOL_METHODS} (rena_lib.search.proposers.Proposer)"
        )
