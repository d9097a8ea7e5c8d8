"""Regularized evolution (Real et al. 2019, "aging evolution") over the search space's edits.

Options (``SearchConfig.proposer_options``): ``population`` (P, default 100) and ``sample`` (S, the
tournament size, default 25; 1 <= S <= P), Real et al.'s values.

* **Initial population.** The first P children asked are random members of the space:
  ``SearchSpace.sample`` (a uniformly random number of layers and uniformly random layers, rejection
  sampled until the network builds; no parent). Every one that does not fail joins the population.
* **Cycles.** Every later child is a mutation of a tournament winner: S members are drawn uniformly
  without replacement from the population (all of them if it is smaller) and the one with the highest
  reward (the oldest on a tie) is the parent. The child joins the population, and the oldest member is
  removed once the population holds more than P (aging). A failed child does not join. If no child has
  joined yet, the parent is the search's baseline.
* **Mutation.** One uniformly random edit of rena_lib.actions: the edit kind uniform among those allowed
  (scale one feature, insert a layer, remove a layer); for scale, one (layer, feature) uniformly and a
  new value uniformly among the others; for insert, the new layer's type, features and sources
  uniformly under the masks of actions.walk (as random search draws them); for remove, the layer
  uniformly. The record's actions are that edit (replayable from the parent).

Children are asked config.batch_size at a time (a batch is evaluated together, then told), so the
tournaments of one batch see the population as it was before the batch: with batch_size 1 this is the
sequential algorithm of the paper. Its numpy Generator is seeded [config.seed, 2]; all state is JSON
(population, counters, the Generator's state).
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np

from rena_lib.actions import Choice, decide, replay, scale_choices
from rena_lib.arch.spec import Spec
from rena_lib.search.config import SearchConfig
from rena_lib.search.proposers.base import Candidate

__all__ = ["RegularizedEvolution"]


class _MutationChooser:
    """Answers actions.walk so that exactly one edit (of a kind chosen beforehand) is made."""

    def __init__(self, rng: np.random.Generator, spec: Spec, kind: str):
        self.rng, self.spec, self.kind = rng, spec, kind

    def choose_many(self, choices: list[Choice]) -> list[int]:
        """Keep every scale value but one (for a scale edit)."""
        picks = [c.options.index(self.spec.layers[c.layer - 1][c.head]) for c in choices]
        if self.kind == "scale":
            free = [i for i, c in enumerate(choices) if len(c.options) > 1]
            i = free[int(self.rng.integers(len(free)))]
            others = [k for k in range(len(choices[i].options)) if k != picks[i]]
            picks[i] = others[int(self.rng.integers(len(others)))]
        return picks

    def choose(self, choice: Choice) -> int:
        """The chosen kind for the insert / keep / remove decision, else a uniform allowed option."""
        if choice.kind == "action":
            return choice.options.index("keep" if self.kind == "scale" else self.kind)
        allowed = np.flatnonzero(choice.allowed())
        return int(allowed[self.rng.integers(len(allowed))])


class RegularizedEvolution:
    """Regularized (aging) evolution, Real et al. 2019; see the module docstring."""

    name = "evolution"
    OPTIONS: ClassVar[dict[str, Any]] = {"population": 100, "sample": 25}

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """Raise ValueError naming a bad option."""
        opts = {**cls.OPTIONS, **options}
        for k in ("population", "sample"):
            v = opts[k]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"evolution option {k!r} must be a positive int, got {v!r}")
        if opts["sample"] > opts["population"]:
            raise ValueError(
                f"evolution option 'sample' ({opts['sample']}) must not exceed 'population' ({opts['population']})"
            )

    def __init__(self, config: SearchConfig):
        opts = {**self.OPTIONS, **config.proposer_options}
        self.check_options(config.proposer_options)
        self.config = config
        self.space = config.search_space()
        self.baseline = config.baseline_spec()
        self.population_size, self.sample_size = int(opts["population"]), int(opts["sample"])
        self.rng = np.random.default_rng([config.seed, 2])
        self.asked = 0  # children asked so far
        self.population: list[dict[str, Any]] = []  # oldest first: {"child_id", "reward", "spec"}
        self.updates = 0

    def _kinds(self, spec: Spec) -> list[str]:
        kinds = ["scale"] if any(len(c.options) > 1 for c in scale_choices(self.space, spec)) else []
        if len(spec.layers) < self.space.max_layers:
            kinds.append("insert")
        if len(spec.layers) > 1:
            kinds.append("remove")
        return kinds

    def tournament(self) -> dict[str, Any] | None:
        """The parent: the best of `sample` members drawn without replacement (None if none yet)."""
        if not self.population:
            return None
        k = min(self.sample_size, len(self.population))
        picked = sorted(int(i) for i in self.rng.choice(len(self.population), size=k, replace=False))
        return max((self.population[i] for i in picked), key=lambda m: m["reward"])  # first max: oldest

    def mutate(self, parent: Spec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(decisions, actions) of one uniformly random edit of parent."""
        kinds = self._kinds(parent)
        kind = kinds[int(self.rng.integers(len(kinds)))]
        decisions, actions = decide(self.space, parent, _MutationChooser(self.rng, parent, kind))
        return decisions, [a for a in actions if a["op"] != "keep"]

    def ask(self) -> list[Candidate]:
        """config.batch_size children: random members first, then mutated tournament winners."""
        out = []
        for _ in range(self.config.batch_size):
            if self.asked < self.population_size:
                spec = self.space.sample(self.rng)
                out.append(Candidate(spec, None, [], None, info={"phase": "initial"}))
            else:
                winner = self.tournament()
                parent = self.baseline if winner is None else Spec.from_dict(winner["spec"])
                decisions, actions = self.mutate(parent)
                child, reason = None, None
                try:
                    child = replay(parent, actions)
                except ValueError as exc:
                    reason = f"invalid architecture: {exc}"
                info = {"phase": "mutation", "parent_id": None if winner is None else winner["child_id"]}
                out.append(Candidate(child, parent, actions, None, reason, decisions=decisions, info=info))
            self.asked += 1
        return out

    def tell(self, candidates: list[Candidate], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add the children that did not fail; remove the oldest beyond `population` (aging)."""
        for rec in records:
            if not rec["failed"] and math.isfinite(rec["reward"]):
                self.population.append(
                    {"child_id": rec["child_id"], "reward": float(rec["reward"]), "spec": rec["spec"]}
                )
                while len(self.population) > self.population_size:
                    self.population.pop(0)
        self.updates += 1
        return []

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Counters, population and the Generator's state (all JSON)."""
        state = {
            "updates": self.updates,
            "asked": self.asked,
            "population": self.population,
            "rng": self.rng.bit_generator.state,
        }
        return copy.deepcopy(state), {}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what state() returned."""
        state = copy.deepcopy(state)
        self.updates, self.asked = int(state["updates"]), int(state["asked"])
        self.population = state["population"]
        self.rng.bit_generator.state = state["rng"]
