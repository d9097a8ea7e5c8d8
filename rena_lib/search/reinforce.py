"""REINFORCE with returns-to-go and a baseline (Eq. 1-2).

    g = 1/N sum_n sum_t grad log pi(a_tn | s_tn) (G_tn - b_t),   G_tn = sum_{t' >= t} r_t'n

The baseline b(s_t) of Eq. 2 estimates the expected return-to-go from step t. The estimator used here
summarises the state by its step index t: b_t is an exponential moving average, over episodes, of the
mean return-to-go at step t across the N trajectories (as in ENAS: the average is updated with the
current episode first, then subtracted; the first episode starts it at its own mean):

    b_t <- decay * b_t + (1 - decay) * mean_n G_tn

With decay 0 it is the per-episode batch mean. The loss whose gradient is g (up to sign) is
``-1/N sum A_tn log pi(a_tn | s_tn)``, minus ``entropy_weight`` x ``1/N sum H_tn`` (0 in the paper), where
H_tn is the summed entropy of every decision of step t of trajectory n: the entropy bonus is normalised
like the policy-gradient term, so a weight of 0.01-0.1 is commensurate with advantages of that size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["StepBaseline", "reinforce_loss", "returns_to_go"]


def returns_to_go(rewards: np.ndarray) -> np.ndarray:
    """G[n, t] = sum of rewards[n, t:] for an (N, T) array of step rewards."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"rewards must be an (N, T) array, got shape {r.shape}")
    return np.flip(np.cumsum(np.flip(r, axis=1), axis=1), axis=1)


@dataclass
class StepBaseline:
    """b_t: an exponential moving average of the mean return-to-go per step index (see module docstring)."""

    decay: float = 0.8
    values: list[float] | None = field(default=None)

    def update(self, returns: np.ndarray) -> np.ndarray:
        """Fold an (N, T) array of returns-to-go into b and return the new b (length T)."""
        mean = np.asarray(returns, dtype=np.float64).mean(axis=0)
        if self.values is None or len(self.values) != len(mean):
            b = mean
        else:
            b = self.decay * np.asarray(self.values) + (1.0 - self.decay) * mean
        self.values = [float(x) for x in b]
        return b

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {"decay": self.decay, "values": self.values}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepBaseline:
        """Inverse of to_dict."""
        return cls(float(d["decay"]), None if d.get("values") is None else [float(x) for x in d["values"]])


def reinforce_loss(
    policy,
    steps: list[tuple[Any, list[dict]]],
    advantages: np.ndarray,
    batch_size: int,
    entropy_weight: float = 0.0,
):
    """(loss, {kind: entropies}) for recorded steps [(parent spec, decisions)] and their advantages.

    The log-probabilities are recomputed by replaying the decisions through the policy (call this under a
    tf.GradientTape); loss = -(sum(A * log pi) + entropy_weight * sum(H)) / batch_size, where H are the
    entropies of all decisions of all steps.
    """
    import tensorflow as tf

    if len(steps) != len(advantages):
        raise ValueError(f"{len(steps)} steps but {len(advantages)} advantages")
    log_probs, entropies = policy.evaluate_batch([s for s, _ in steps], [d for _, d in steps])
    adv = tf.constant(np.asarray(advantages, dtype=np.float32))
    loss = -tf.reduce_sum(adv * log_probs) / float(batch_size)
    if entropy_weight:
        loss -= entropy_weight * tf.reduce_sum(tf.concat(list(entropies.values()), 0)) / float(batch_size)
    return loss, entropies
