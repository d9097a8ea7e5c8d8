"""The trajectory / episode proposer of Fig. 3, shared by RENA and random search.

N trajectories (config.batch_size) each hold a current network. Every ask proposes one step for each:
the subclass turns the N current networks into N proposals (rena_lib.actions.Proposal) with the
proposer's numpy Generator (seeded [seed, 1]); the child is the parent with the proposal's edits
replayed. Told the records, a trajectory moves to its child unless the child failed. After T steps
(config.episode_size) the episode ends: the subclass learns from its history (``learn``: RENA runs
REINFORCE; it may return a policy-log record), and the next episode starts from the top-K distinct
children of this episode by reward (layer search) or from the baseline (module search,
``config.restarts``); trajectory n starts from pool[n % K].
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from rena_lib.actions import Proposal, replay
from rena_lib.arch.spec import Spec
from rena_lib.search.config import SearchConfig
from rena_lib.search.proposers.base import Candidate

__all__ = ["TrajectoryProposer"]


class TrajectoryProposer:
    """Episodes of T steps over N trajectories with a top-K pool; subclasses propose steps and learn."""

    name = "trajectory"

    def __init__(self, config: SearchConfig):
        self.config = config
        self.space = config.search_space()
        base = config.baseline_spec().to_dict()
        self.baseline = base
        self.episode, self.step = 0, 0
        self.rng = np.random.default_rng([config.seed, 1])
        self.pool: list[dict[str, Any]] = [base]
        self.current = [copy.deepcopy(base) for _ in range(config.batch_size)]
        self.history: list[list[dict[str, Any]]] = []
        self.ranked: list[
            list[Any]
        ] = []  # [reward, child_id, spec_key, spec] of this episode's good children

    # ---- what subclasses provide ----------------------------------------------------------------------
    def propose_batch(self, specs: list[Spec], rng: np.random.Generator) -> list[Proposal]:
        """One step for each network (the N trajectories of a search step)."""
        raise NotImplementedError

    def learn(self, episode: int, history: list[list[dict[str, Any]]]) -> dict[str, Any] | None:
        """Learn from an episode: history[t][n] = {"trajectory", "parent", "decisions", "reward"}."""
        return None

    def extra_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The subclass's own (JSON state, arrays)."""
        return {}, {}

    def load_extra_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what extra_state returned."""

    # ---- ask / tell ---------------------------------------------------------------------------------
    def ask(self) -> list[Candidate]:
        """One step of every trajectory."""
        parents = [Spec.from_dict(d) for d in self.current]
        out = []
        for n, (parent, prop) in enumerate(zip(parents, self.propose_batch(parents, self.rng), strict=True)):
            child, reason = None, None
            try:
                child = replay(parent, prop.actions)
            except ValueError as exc:
                reason = f"invalid architecture: {exc}"
            where = {"episode": self.episode, "step": self.step, "trajectory": n}
            out.append(
                Candidate(
                    child, parent, prop.actions, prop.log_prob, reason, **where, decisions=prop.decisions
                )
            )
        return out

    def tell(self, candidates: list[Candidate], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Move the trajectories, and at the end of an episode learn and pick the next starts."""
        history = []
        for n, (cand, rec) in enumerate(zip(candidates, records, strict=True)):
            history.append(
                {
                    "trajectory": n,
                    "parent": self.current[n],
                    "decisions": cand.decisions,
                    "reward": rec["reward"],
                }
            )
            if not rec["failed"]:
                self.current[n] = rec["spec"]
                self.ranked.append([rec["reward"], rec["child_id"], rec["spec_key"], rec["spec"]])
        self.history = [*self.history, history]
        self.step += 1
        if self.step < self.config.episode_size:
            return []
        record = self.learn(self.episode, self.history)
        self._next_episode()
        return [] if record is None else [record]

    def _next_episode(self) -> None:
        cfg = self.config
        if cfg.restarts:
            pool = [copy.deepcopy(self.baseline)]
        else:
            pool, seen = [], set()
            for _, _, key, spec in sorted(self.ranked, key=lambda r: (-r[0], r[1])):
                if key not in seen and len(pool) < cfg.k:
                    seen.add(key)
                    pool.append(spec)
            pool = pool or self.pool
        self.pool = pool
        self.current = [copy.deepcopy(pool[n % len(pool)]) for n in range(cfg.batch_size)]
        self.history, self.ranked = [], []
        self.episode += 1
        self.step = 0

    # ---- checkpoints --------------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Episode, step, RNG, pool, current networks, the episode's history (JSON) + the subclass's."""
        extra, arrays = self.extra_state()
        state = {
            "episode": self.episode,
            "step": self.step,
            "rng": self.rng.bit_generator.state,
            "pool": self.pool,
            "current": self.current,
            "history": self.history,
            "ranked": self.ranked,
            **extra,
        }
        return copy.deepcopy(state), arrays

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what state() returned."""
        state = copy.deepcopy(state)
        self.episode, self.step = int(state["episode"]), int(state["step"])
        self.rng.bit_generator.state = state["rng"]
        self.pool, self.current = state["pool"], state["current"]
        self.history, self.ranked = state["history"], state["ranked"]
        self.load_extra_state(state, arrays)
