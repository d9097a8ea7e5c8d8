"""Resource metrics of section 3: model size, FLOPs (Appendix A) and compute intensity (footnote 2).

This module holds the Metrics record and measure(); the per-op formulas are in rena_lib.costs and the
reading of Keras models in rena_lib.keras_costs (both re-exported here where they were public).

``measure(x, batch_size=1)`` takes a Spec, a lowered arch Graph or a functional/Sequential keras.Model and
returns a :class:`Metrics`. Specs and graphs are measured analytically from the lowered ops (no TensorFlow
import); Keras models are walked layer by layer and every layer is mapped to the *same* op kinds and the
same cost functions (one per kind, in ``COSTS``), so the two paths agree by construction.

What is counted, per op (one op = one Keras layer; a SeparableConv2D is two ops, depthwise + 1x1):

* **params**: trainable weights, the paper's model-size unit. ``non_trainable_params`` holds the rest
  (batch-norm moving mean and variance), so ``params + non_trainable_params == model.count_params()``.
* **size_bytes** = 4 bytes x (params + non_trainable_params): every stored weight (footnote 1).
* **flops** (per example, Appendix A): a matmul of m x n by n x p is 2mnp; a convolution is
  2 x kernel taps x input channels per group x output elements (dilation changes no count, padded taps
  count); depthwise 2 x taps x output elements; a dense layer 2 x inputs x units per position; a GRU step
  (Keras, reset_after=True) 2 x 3u x (inputs + u) for the two matmuls, 6u bias adds (3u if
  reset_after=False) and 11u gate operations (2 sigmoid-gate adds and sigmoids, reset product, candidate
  add and tanh, and 4 for h = z*h' + (1-z)*h~), times steps and directions. Every pointwise op costs
  1 FLOP per element: a bias add, an activation (any nonlinearity, swish included), each extra input of
  an Add. Batch norm at inference is a folded scale and shift: 2 FLOPs per element. CReLU: a negation
  and two ReLUs, 3 FLOPs per input element. Pooling: window area per output element (k-1 adds or
  comparisons plus one divide or final comparison); global pooling: one per input element.
  Concatenation, cropping, padding, slicing (FinalState), reshape, flatten and dropout (identity at
  inference) are memory moves: 0 FLOPs, as Appendix A ignores memory-move operations.
* **bytes_accessed** (for one batch of ``batch_size`` examples, 4 bytes per value) - two conventions, the
  two candidates of the paper-tables reference notes, with the batch size as a parameter:

  - ``"per_op"`` (the default, at batch 64): every op of the computation as a TensorFlow graph runs it
    reads its inputs and weights and writes its output. A convolution or dense layer with a bias and an
    activation is three ops (the matmul, the bias add, the nonlinearity), each reading and writing the
    output tensor; a GRU runs step by step and re-reads all its weights at every time step, and every
    gate product, sum and nonlinearity reads its operands and writes its result (per step and direction:
    inputs + 7u for the two matmuls, 12u for the two bias adds (6u for reset_after=False, one bias), 29u
    for the gates). Batch norm at inference, pooling, Add and the other layers are one op each. Weights
    are read once per batch (GRU: once per step per batch).
  - ``"per_layer"``: every Keras layer reads its weights once per batch and its input activations and
    writes its output activations once per example: ``4 x (weights + batch_size x (inputs + outputs))``;
    recurrent weights stay on chip for all time steps, a layer's bias and activation are free.

  In both, reshape, flatten, dropout and the input are free views (0 bytes); cropping and FinalState read
  only what they copy. The per-op convention at batch 64 ranks the paper's 12 Table 2 intensities with a
  Spearman correlation of 0.87 (per layer at batch 1: 0.69). It puts five of the paper's six GRU-only
  models at 2.4-5.1 FLOPs/byte, where the paper has them (2.5-6.4); per layer, four of those five measure
  14.6-21.8. The sixth, the bidirectional GRU (3,128,2), measures 7.35 per op (paper 21.83, per layer 22.2).
* **intensity** = batch_size x flops / bytes_accessed (FLOPs per byte moved between slow and fast memory).
* **ram_bytes_int8**, **ram_bytes_float32**, **flash_bytes**: a microcontroller's resources, from
  :mod:`rena_lib.memory`: the peak of the activation buffers live at once in the op schedule (int8 or
  float32 values, per example) and the int8 model's weights, biases and quantisation parameters (bytes).
  A keras.Model is scheduled in its layer order (None for a nested or Sequential one); int8 RAM and
  flash are None where the network has no int8 export.

Everything is per example except bytes_accessed, which is per batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rena_lib.arch.graph import Graph, lower, reaching_output
from rena_lib.arch.spec import Spec
from rena_lib.costs import (
    BYTES_PER_VALUE,
    CONVENTIONS,
    COSTS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CONVENTION,
    Cost,
    OpCost,
    check_convention,
    op_cost,
)
from rena_lib.keras_costs import is_keras_model, keras_costs, keras_graph

__all__ = [
    "BYTES_PER_VALUE",
    "CONVENTIONS",
    "COSTS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CONVENTION",
    "METRIC_NAMES",
    "Cost",
    "Metrics",
    "OpCost",
    "measure",
    "op_cost",
]

#: the scalar metrics of a Metrics, in order (the keys of its mapping view)
METRIC_NAMES = (
    "params",
    "non_trainable_params",
    "size_bytes",
    "flops",
    "bytes_accessed",
    "intensity",
    "batch_size",
    "ram_bytes_int8",
    "ram_bytes_float32",
    "flash_bytes",
)


@dataclass(frozen=True, eq=True)
class Metrics(Mapping):
    """Resource metrics of one network; also a read-only mapping of its scalar metrics (m["params"])."""

    params: int
    non_trainable_params: int
    size_bytes: int
    flops: int
    bytes_accessed: int
    intensity: float
    batch_size: int
    layers: tuple[OpCost, ...]
    convention: str = DEFAULT_CONVENTION
    # microcontroller resources (rena_lib.memory): peak activation RAM per precision and int8 flash; None
    # for a nested or Sequential keras.Model and, int8, for a network with no int8 export
    ram_bytes_int8: int | None = None
    ram_bytes_float32: int | None = None
    flash_bytes: int | None = None

    @classmethod
    def from_ops(
        cls, ops: list[OpCost], batch_size: int = DEFAULT_BATCH_SIZE, convention: str = DEFAULT_CONVENTION
    ) -> Metrics:
        """Sum a per-op breakdown into the network's metrics."""
        params = sum(o.params for o in ops)
        non_trainable = sum(o.non_trainable for o in ops)
        flops = sum(o.flops for o in ops)
        moved = sum(o.bytes_accessed(batch_size, convention) for o in ops)
        return cls(
            params=params,
            non_trainable_params=non_trainable,
            size_bytes=BYTES_PER_VALUE * (params + non_trainable),
            flops=flops,
            bytes_accessed=moved,
            intensity=batch_size * flops / moved if moved else 0.0,
            batch_size=batch_size,
            layers=tuple(ops),
            convention=convention,
        )

    def __getitem__(self, key: str) -> int | float:
        if key not in METRIC_NAMES:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(METRIC_NAMES)

    def __len__(self) -> int:
        return len(METRIC_NAMES)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict: the scalar metrics, the convention and "layers", the per-op rows."""
        scalars = {k: self[k] for k in METRIC_NAMES}
        return {**scalars, "convention": self.convention, "layers": self.breakdown()}

    def breakdown(self) -> list[dict[str, Any]]:
        """The per-op rows as plain dicts (bytes and intensity for this batch size and convention)."""
        return [o.to_dict(self.batch_size, self.convention) for o in self.layers]

    def frame(self):
        """The per-op breakdown as a pandas DataFrame (one row per op)."""
        import pandas as pd

        return pd.DataFrame(self.breakdown())

    def __str__(self) -> str:
        return (
            f"params={self.params:,} flops={self.flops:,} bytes={self.bytes_accessed:,} "
            f"intensity={self.intensity:.2f} FLOPs/byte ({self.convention}, batch {self.batch_size})"
        )


def measure(x: Any, batch_size: int = DEFAULT_BATCH_SIZE, convention: str = DEFAULT_CONVENTION) -> Metrics:
    """Metrics of a Spec, an arch Graph (analytic, no TensorFlow) or a functional/Sequential keras.Model."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    check_convention(convention)
    if isinstance(x, Spec):
        x = lower(x)
    if isinstance(x, Graph):
        live = reaching_output(x)
        ops = [
            op_cost(o.name, o.kind, o.in_shapes, o.out_shape, o.config, o.layer)
            for o in x.ops
            if o.name in live
        ]
        return dataclasses.replace(Metrics.from_ops(ops, batch_size, convention), **_memory(x))
    if is_keras_model(x):
        metrics = Metrics.from_ops(keras_costs(x), batch_size, convention)
        graph = keras_graph(x)
        return metrics if graph is None else dataclasses.replace(metrics, **_memory(graph))
    raise ValueError(f"measure() takes a Spec, a Graph or a keras.Model, got {type(x).__name__}")


def _memory(graph: Graph) -> dict[str, int | None]:
    """Peak RAM (int8, float32) and int8 flash of a graph; None where the spec has no int8 export."""
    from rena_lib import memory

    out: dict[str, int | None] = {"ram_bytes_float32": memory.peak_ram(graph, "float32").peak_bytes}
    try:
        out["ram_bytes_int8"] = memory.peak_ram(graph, "int8").peak_bytes
        out["flash_bytes"] = memory.flash_bytes(graph).total
    except memory.NoInt8ExportError:
        out["ram_bytes_int8"] = out["flash_bytes"] = None
    return out
