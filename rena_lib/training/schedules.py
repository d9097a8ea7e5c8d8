"""The paper's optimisers and learning-rate schedules: SGDR for CIFAR-10 (5.1.1), staircase Adam for KWS (Appendix B)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

# Section 5.1.1: SGD with Nesterov momentum and cosine annealing with warm restarts (SGDR).
CIFAR_LR_MAX, CIFAR_LR_MIN, CIFAR_T0_EPOCHS, CIFAR_T_MUL = 0.05, 0.001, 10, 2.0
CIFAR_MOMENTUM = 0.9  # not stated in the paper; the usual value
# Appendix B: Adam, learning rate 0.001 multiplied by 0.2 every 10,000 iterations.
KWS_LR, KWS_DECAY_RATE, KWS_DECAY_STEPS = 0.001, 0.2, 10_000


def cifar_schedule(steps_per_epoch: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """SGDR: CosineDecayRestarts from 0.05 to 0.001, first cycle 10 epochs, each next one twice as long."""
    import keras

    return keras.optimizers.schedules.CosineDecayRestarts(
        initial_learning_rate=CIFAR_LR_MAX,
        first_decay_steps=CIFAR_T0_EPOCHS * steps_per_epoch,
        t_mul=CIFAR_T_MUL,
        m_mul=1.0,
        alpha=CIFAR_LR_MIN / CIFAR_LR_MAX,
    )


def cifar_optimizer(steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """SGD with Nesterov momentum on the cifar_schedule (section 5.1.1)."""
    import keras

    return keras.optimizers.SGD(
        learning_rate=cifar_schedule(steps_per_epoch), momentum=CIFAR_MOMENTUM, nesterov=True
    )


def kws_decay_steps(total_steps: int | None) -> int:
    """Steps between the x0.2 decays: a third of the child's training (10,000 of the paper's 30,000)."""
    return KWS_DECAY_STEPS if total_steps is None else max(1, math.ceil(total_steps / 3))


def kws_schedule(total_steps: int | None = None) -> keras.optimizers.schedules.LearningRateSchedule:
    """0.001 multiplied by 0.2 after each third of training (staircase; every 10,000 of 30,000 steps, Appendix B)."""
    import keras

    return keras.optimizers.schedules.ExponentialDecay(
        KWS_LR, decay_steps=kws_decay_steps(total_steps), decay_rate=KWS_DECAY_RATE, staircase=True
    )


def kws_optimizer(
    steps_per_epoch: int | None = None, total_steps: int | None = None
) -> keras.optimizers.Optimizer:
    """Adam on the kws_schedule (Appendix B), its decays spread over total_steps (the paper's 30,000 if None)."""
    import keras

    return keras.optimizers.Adam(learning_rate=kws_schedule(total_steps))
