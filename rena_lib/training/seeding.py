"""set_seed: one seed for Python, NumPy and Keras, without importing TensorFlow on the other backends."""

from __future__ import annotations

from rena_lib.training.keras_backend import _backend


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and Keras (keras.utils.set_random_seed), without importing TensorFlow off its backend.

    keras.utils.set_random_seed also seeds TensorFlow whenever it is installed, which imports it (20 s);
    on the JAX or torch backends we do the rest of what it does and leave TensorFlow alone.
    """
    import random

    import keras
    import numpy as np

    if _backend() == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if _backend() == "torch":
        import torch

        torch.manual_seed(seed)
