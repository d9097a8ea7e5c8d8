"""Two small Keras layers the builder needs beyond keras.layers (registered, so .keras files reload)."""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["CReLU", "FinalState"]


@keras.saving.register_keras_serializable(package="rena_lib")
class CReLU(keras.layers.Layer):
    """Concatenated ReLU: concat(relu(x), relu(-x)) along channels (doubles them)."""

    def call(self, x):
        return ops.concatenate([ops.relu(x), ops.relu(-x)], axis=-1)

    def compute_output_shape(self, input_shape):
        c = input_shape[-1]
        return (*input_shape[:-1], None if c is None else 2 * c)


@keras.saving.register_keras_serializable(package="rena_lib")
class FinalState(keras.layers.Layer):
    """Final state of a GRU from its output sequence: last step forward; first step for the backward half."""

    def __init__(self, units: int, bidirectional: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.bidirectional = bidirectional

    def call(self, seq):
        if not self.bidirectional:
            return seq[:, -1, :]
        return ops.concatenate([seq[:, -1, : self.units], seq[:, 0, self.units :]], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units * (2 if self.bidirectional else 1))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "bidirectional": self.bidirectional}
