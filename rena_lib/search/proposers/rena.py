"""RENA: the policy network of Fig. 1 proposes each step, REINFORCE (Adam) learns after every episode."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rena_lib.actions import Proposal
from rena_lib.arch.spec import Spec
from rena_lib.search.config import SearchConfig
from rena_lib.search.proposers.trajectory import TrajectoryProposer
from rena_lib.search.reinforce import StepBaseline, reinforce_loss, returns_to_go

__all__ = ["MissingGradientError", "RenaProposer"]


class MissingGradientError(RuntimeError):
    """A policy variable got no gradient from the REINFORCE loss (it is not connected to the loss)."""


class RenaProposer(TrajectoryProposer):
    """The policy network of Fig. 1 on the trajectories of Fig. 3, trained with REINFORCE at the end of
    every episode (Eq. 1-2, rena_lib.search.reinforce). No options (its settings are SearchConfig fields)."""

    name = "rena"

    def __init__(self, config: SearchConfig):
        import keras

        from rena_lib.policy import PolicyNetwork

        super().__init__(config)
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
        self.reinforce_baseline = StepBaseline(config.baseline_decay)
        self.updates = 0

    def propose_batch(self, specs: list[Spec], rng: np.random.Generator) -> list[Proposal]:
        """Sample a step for each network from the policy (one batched pass)."""
        return self.policy.propose_batch(specs, rng)

    def learn(self, episode: int, history: list[list[dict[str, Any]]]) -> dict[str, Any]:
        """REINFORCE on returns-to-go minus the step baseline (Eq. 1-2); returns the policy log record.

        A policy variable without a gradient is a MissingGradientError naming it (never a zero update)."""
        import tensorflow as tf

        t0 = time.perf_counter()
        T, N = len(history), len(history[0])
        rewards = np.array([[history[t][n]["reward"] for t in range(T)] for n in range(N)])
        returns = returns_to_go(rewards)
        b = self.reinforce_baseline.update(returns)
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
            grads = tape.gradient(loss, variables)
            missing = [
                getattr(v, "path", None) or v.name for g, v in zip(grads, variables, strict=True) if g is None
            ]
            if missing:
                raise MissingGradientError(
                    f"the REINFORCE loss has no gradient for policy variable(s) {missing}: they do not take "
                    "part in the loss (a head or layer the decisions never reach, or a computation outside "
                    "the GradientTape); fix the policy instead of updating them with zeros"
                )
            grads = [tf.convert_to_tensor(g) for g in grads]
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

    def extra_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Updates count and baseline (JSON); policy weights and Adam variables (arrays)."""
        arrays = {f"w{i:03d}": w for i, w in enumerate(self.policy.get_weights())}
        arrays.update({f"o{i:03d}": np.asarray(v) for i, v in enumerate(self.optimizer.variables)})
        return {"updates": self.updates, "baseline": self.reinforce_baseline.to_dict()}, arrays

    def load_extra_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
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
        self.reinforce_baseline = StepBaseline.from_dict(state["baseline"])
        self.updates = int(state["updates"])
