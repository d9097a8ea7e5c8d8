"""Child training: budgets, the paper's optimisers, train-a-child, and the CIFAR-10 / KWS evaluators.

Keras and TensorFlow are imported lazily, so budgets and evaluators can be built and pickled (for Ray
workers) without paying the TensorFlow import; datasets load on a child's first evaluation in a process.

Modules, one concept each: budget (Budget), schedules (the paper's optimisers), seeding (set_seed),
keras_backend (backend name, OOM, custom-gradient cleanup), epoch_timer (the fit callback),
child_training (train_child) and evaluators (CifarEvaluator, KwsEvaluator). Every name is importable
from rena_lib.training.
"""

from rena_lib.training.budget import CPU_CIFAR_EPOCHS, CPU_KWS_EPOCHS, KWS_PAPER_STEPS, TASKS, Budget
from rena_lib.training.child_training import train_child
from rena_lib.training.epoch_timer import _epoch_timer as _epoch_timer
from rena_lib.training.evaluators import AUGMENTATIONS, CifarEvaluator, KwsEvaluator
from rena_lib.training.keras_backend import release_custom_gradients
from rena_lib.training.schedules import (
    CIFAR_LR_MAX,
    CIFAR_LR_MIN,
    CIFAR_MOMENTUM,
    CIFAR_T0_EPOCHS,
    CIFAR_T_MUL,
    KWS_DECAY_RATE,
    KWS_DECAY_STEPS,
    KWS_LR,
    cifar_optimizer,
    cifar_schedule,
    kws_decay_steps,
    kws_optimizer,
    kws_schedule,
)
from rena_lib.training.seeding import set_seed

__all__ = [
    "AUGMENTATIONS",
    "CIFAR_LR_MAX",
    "CIFAR_LR_MIN",
    "CIFAR_MOMENTUM",
    "CIFAR_T0_EPOCHS",
    "CIFAR_T_MUL",
    "CPU_CIFAR_EPOCHS",
    "CPU_KWS_EPOCHS",
    "KWS_DECAY_RATE",
    "KWS_DECAY_STEPS",
    "KWS_LR",
    "KWS_PAPER_STEPS",
    "TASKS",
    "Budget",
    "CifarEvaluator",
    "KwsEvaluator",
    "cifar_optimizer",
    "cifar_schedule",
    "kws_decay_steps",
    "kws_optimizer",
    "kws_schedule",
    "release_custom_gradients",
    "set_seed",
    "train_child",
]
