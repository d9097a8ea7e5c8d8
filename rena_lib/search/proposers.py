"""The two proposers behind one search loop: RENA (policy network + REINFORCE) and random search.

A proposer turns a trajectory's current network into a step (:class:`rena_lib.actions.Proposal`), learns
at the end of an episode (``update``) and saves / restores its state for checkpoints (``state`` returns
a JSON-able dict and named numpy arrays; ``load_state`` takes them back).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np

from rena_lib.actions import Proposal, UniformChooser
from rena_lib.arch.spec import Spec
from rena_lib.search.config import SearchConfig
from rena_lib.search.reinforce import StepBaseline, reinforce_loss, returns_to_go

__all__ = ["Proposer", "RandomProposer", "RenaProposer", "make_proposer"]


class Proposer(Protocol):
    """What the search loop needs from a proposer."""

    name: str

    def propose_batch(self, specs: list[Spec], rng: np.random.Generator) -> list[Proposal]:
        """One step for each network (the N trajectories of a search step)."""
        ...

    def update(self, episode: int, history: list[list[dict[str, Any]]]) -> dict[str, Any] | None:
        """Learn from an episode: history[t][n] = {"parent", "decisions", "reward"}; a log record or None."""
        ...

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able state, named arrays) for a checkpoint."""
        ...

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what state() returned."""
        ...


class RandomProposer:
    """Random search (footnote 4): uniform insert / keep / remove and uniform hyperparameters."""

    name = "random"

    def __init__(self, config: SearchConfig):
        self.space = config.search_space()

    def propose_batch(self, specs: list[Spec], rng: np.random.Generator) -> list[Proposal]:
        """A uniformly random step for each network."""
        return [UniformChooser(rng).propose(self.space, spec) for spec in specs]

    def update(self, episode: int, history: list[list[dict[str, Any]]]) -> None:
        """Random search does not learn."""
        return None

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Nothing to save."""
        return {}, {}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Nothing to restore."""


class RenaProposer:
    """The policy network of Fig. 1, trained with REINFORCE (Adam) at the end of every episode."""

    name = "rena"

    def __init__(self, config: SearchConfig):
        import keras

        from rena_lib.policy import PolicyNetwork

        self.config = config
        self.policy = PolicyNetwork(
            config.space,
            config.max_layers,
            embed_size=config.embed_size,
            embed_units=config.embed_units,
            controller_units=config.controller_units,
            seed=config.seed,
        )
        self.optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
        self.optimizer.build(self.policy.trainable_variables)
        self.baseline = StepBaseline(config.baseline_decay)
        self.updates = 0

    def propose_batch(self, specs: list[Spec], rng: np.random.Generator) -> list[Proposal]:
        """Sample a step for each network from the policy (one batched pass)."""
        return self.policy.propose_batch(specs, rng)

    def update(self, episode: int, history: list[list[dict[str, Any]]]) -> dict[str, Any]:
        """REINFORCE on returns-to-go minus the step baseline (Eq. 1-2); returns the policy log record."""
        import tensorflow as tf

        t0 = time.perf_counter()
        T, N = len(history), len(history[0])
        rewards = np.array([[history[t][n]["reward"] for t in range(T)] for n in range(N)])
        returns = returns_to_go(rewards)
        b = self.baseline.update(returns)
        adv = returns - b[None, :]
        steps = [
            (Spec.from_dict(history[t][n]["parent"]), history[t][n]["decisions"])
            for n in range(N)
            for t in range(T)
        ]
        flat_adv = adv.reshape(-1)
        variables = self.policy.trainable_variables
        losses, norms, entropy = [], [], {}
        for _ in range(self.config.updates_per_episode):
            with tf.GradientTape() as tape:
                loss, entropies = reinforce_loss(self.policy, steps, flat_adv, N, self.config.entropy_weight)
            if not entropy:  # the entropies of the policy that proposed this episode
                entropy = {k: float(tf.reduce_mean(v).numpy()) for k, v in entropies.items()}
            grads = [
                tf.convert_to_tensor(g) if g is not None else tf.zeros_like(v)
                for g, v in zip(tape.gradient(loss, variables), variables, strict=True)
            ]
            norms.append(float(tf.linalg.global_norm(grads).numpy()))
            losses.append(float(loss.numpy()))
            self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        self.updates += 1
        return {
            "episode": episode,
            "update": self.updates,
            "loss": losses[0],
            "losses": losses,
            "mean_return": float(returns[:, 0].mean()),
            "mean_reward": float(rewards.mean()),
            "baseline": [float(x) for x in b],
            "advantage_std": float(adv.std()),
            "entropy": entropy,
            "grad_norm": norms[0],
            "learning_rate": float(self.config.learning_rate),
            "wall_time": time.perf_counter() - t0,
        }

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Updates count and baseline (JSON); policy weights and Adam variables (arrays)."""
        arrays = {f"w{i:03d}": w for i, w in enumerate(self.policy.get_weights())}
        arrays.update({f"o{i:03d}": np.asarray(v) for i, v in enumerate(self.optimizer.variables)})
        return {"updates": self.updates, "baseline": self.baseline.to_dict()}, arrays

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore weights, optimizer variables, baseline and updates count."""
        weights = [arrays[k] for k in sorted(k for k in arrays if k.startswith("w"))]
        self.policy.set_weights(weights)
        opt = [arrays[k] for k in sorted(k for k in arrays if k.startswith("o"))]
        if len(opt) != len(self.optimizer.variables):
            raise ValueError(
                f"checkpoint holds {len(opt)} optimizer variables, expected {len(self.optimizer.variables)}"
            )
        for var, value in zip(self.optimizer.variables, opt, strict=True):
            var.assign(value)
        self.baseline = StepBaseline.from_dict(state["baseline"])
        self.updates = int(state["updates"])


def make_proposer(config: SearchConfig) -> Proposer:
    """The proposer named by config.proposer ("rena" or "random")."""
    if config.proposer == "rena":
        return RenaProposer(config)
    if config.proposer == "random":
        return RandomProposer(config)
    raise ValueError(f"unknown proposer {config.proposer!r}; choose 'rena' or 'random'")
