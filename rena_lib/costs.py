"""Analytic per-op costs (Appendix A): weights, FLOPs and values moved of one primitive op from its shapes.

One cost function per op kind (``COSTS``); an op kind a registered layer type brings
(rena_lib.arch.registry.OpKind) carries its own. What each counts is set out in rena_lib.metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import rena_lib.arch.registry as registry

__all__ = [
    "BYTES_PER_VALUE",
    "CONVENTIONS",
    "COSTS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CONVENTION",
    "Cost",
    "OpCost",
    "check_convention",
    "op_cost",
]

#: bytes per weight and per activation value (footnote 1: 4-byte precision)
BYTES_PER_VALUE = 4
#: the byte-accounting conventions of bytes_accessed (see the module docstring)
CONVENTIONS = ("per_op", "per_layer")
#: the convention and batch size measure() uses unless told otherwise
DEFAULT_CONVENTION = "per_op"
DEFAULT_BATCH_SIZE = 64
Shape = tuple[int, ...]


@dataclass(frozen=True)
class Cost:
    """What one op costs: weights (trainable, not), FLOPs per example, values moved per example."""

    params: int = 0  # trainable weights
    non_trainable: int = 0
    flops: int = 0  # per example
    moved: int = 0  # activation values read + written per example, per layer
    moved_op: int | None = None  # the same, per op (None: as per layer)
    weight_reads: int = 1  # times the weights are read per batch, per op


# --------------------------------------------------------------------------------------------------
# one cost function per op kind: (input shapes, output shape, config) -> Cost; shapes without batch
# --------------------------------------------------------------------------------------------------
def _size(shape: Shape) -> int:
    return math.prod(shape)


def _io(ins: list[Shape], out: Shape) -> int:
    return sum(_size(s) for s in ins) + _size(out)


def _io_ops(ins: list[Shape], out: Shape, bias: bool, c: dict[str, Any]) -> int:
    """Values moved per op by a matmul or convolution, then its bias add and activation (each r/w out)."""
    return _io(ins, out) + 2 * _size(out) * (int(bias) + _act_flops(c.get("activation")))


def _act_flops(activation: str | None) -> int:
    return 0 if activation in (None, "linear") else 1


def _conv2d(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    cin, taps, groups = ins[0][-1], _size(c["kernel"]), c.get("groups", 1)
    bias = c.get("use_bias", True)
    params = taps * (cin // groups) * c["filters"] + (c["filters"] if bias else 0)
    per_out = 2 * taps * (cin // groups) + int(bias) + _act_flops(c.get("activation"))
    return Cost(params, 0, per_out * _size(out), _io(ins, out), _io_ops(ins, out, bias, c))


def _depthwise_conv2d(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    cout, taps, bias = out[-1], _size(c["kernel"]), c.get("use_bias", True)
    params = taps * cout + (cout if bias else 0)
    per_out = 2 * taps + int(bias) + _act_flops(c.get("activation"))
    return Cost(params, 0, per_out * _size(out), _io(ins, out), _io_ops(ins, out, bias, c))


def _dense(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    n, u, bias = ins[0][-1], c["units"], c.get("use_bias", True)
    positions = _size(ins[0][:-1])
    params = n * u + (u if bias else 0)
    flops = positions * u * (2 * n + int(bias) + _act_flops(c.get("activation")))
    return Cost(params, 0, flops, _io(ins, out), _io_ops(ins, out, bias, c))


def _gru(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    steps, n = ins[0]
    u, dirs = c["units"], 2 if c.get("bidirectional") else 1
    bias = 0 if not c.get("use_bias", True) else (6 * u if c.get("reset_after", True) else 3 * u)
    params = dirs * (3 * u * (n + u) + bias)
    per_step = 2 * 3 * u * (n + u) + bias + 11 * u
    # per op, per step: x W (n in, 3u out), h U (u in, 3u out), every bias add reads and writes 3u (2 x
    # bias values in all), the 11u gate operations 29u (binary ops read two operands, unary ones one)
    moved_step = n + 7 * u + 2 * bias + 29 * u
    return Cost(params, 0, dirs * steps * per_step, _io(ins, out), dirs * steps * moved_step, steps)


def _batchnorm(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    axis = c.get("axis", -1)  # as Keras counts it: a non-negative axis includes the batch dimension
    ch = ins[0][axis if axis < 0 else axis - 1]
    params = ch * (int(c.get("scale", True)) + int(c.get("center", True)))
    return Cost(params, 2 * ch, 2 * _size(out), _io(ins, out))


def _activation(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    if c["activation"] == "crelu":
        return Cost(0, 0, 3 * _size(ins[0]), _io(ins, out))
    return Cost(0, 0, _act_flops(c["activation"]) * _size(out), _io(ins, out))


def _pool(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    return Cost(0, 0, _size(c["pool"]) * _size(out), _io(ins, out))


def _global_pool(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    return Cost(0, 0, _size(ins[0]), _io(ins, out))


def _add(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    return Cost(0, 0, (len(ins) - 1) * _size(out), _io(ins, out))


def _copy(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    """Concatenation, zero padding: read every input, write the output, no arithmetic."""
    return Cost(0, 0, 0, _io(ins, out))


def _slice(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    """Cropping, FinalState: read only the part that is kept, write it."""
    return Cost(0, 0, 0, 2 * _size(out))


def _view(ins: list[Shape], out: Shape, c: dict[str, Any]) -> Cost:
    """Input, reshape, flatten, dropout at inference: no arithmetic, no data moved."""
    return Cost()


#: op kind -> cost function; the arch Graph's kinds plus a few more the Keras path can produce
COSTS: dict[str, Callable[[list[Shape], Shape, dict[str, Any]], Cost]] = {
    "input": _view,
    "conv2d": _conv2d,
    "depthwise_conv2d": _depthwise_conv2d,
    "dense": _dense,
    "gru": _gru,
    "batchnorm": _batchnorm,
    "activation": _activation,
    "maxpool2d": _pool,
    "avgpool2d": _pool,
    "global_avgpool2d": _global_pool,
    "global_maxpool2d": _global_pool,
    "add": _add,
    "concat": _copy,
    "zeropad2d": _copy,
    "cropping2d": _slice,
    "final_state": _slice,
    "flatten": _view,
    "reshape": _view,
    "dropout": _view,
}


@dataclass(frozen=True)
class OpCost:
    """One row of the per-op breakdown: weights, FLOPs per example and activation values moved."""

    name: str
    kind: str
    layer: int  # 1-based spec layer it implements (0: input, stem, head, or a Keras model)
    out_shape: tuple[int, ...]
    params: int
    non_trainable: int
    flops: int
    moved: int  # activation values read + written per example, per layer
    moved_op: int  # activation values read + written per example, per op
    weight_reads: int = 1  # times the weights are read per batch, per op (a GRU: once per time step)

    def bytes_accessed(
        self, batch_size: int = DEFAULT_BATCH_SIZE, convention: str = DEFAULT_CONVENTION
    ) -> int:
        """Bytes moved for a batch of batch_size examples under the convention (4 bytes per value)."""
        weights = self.params + self.non_trainable
        if check_convention(convention) == "per_layer":
            return BYTES_PER_VALUE * (weights + batch_size * self.moved)
        return BYTES_PER_VALUE * (self.weight_reads * weights + batch_size * self.moved_op)

    def to_dict(
        self, batch_size: int = DEFAULT_BATCH_SIZE, convention: str = DEFAULT_CONVENTION
    ) -> dict[str, Any]:
        """Plain JSON-able dict, with bytes and intensity for the batch size and convention."""
        b = self.bytes_accessed(batch_size, convention)
        d = asdict(self)
        d["out_shape"] = list(self.out_shape)
        return {**d, "bytes": b, "intensity": batch_size * self.flops / b if b else 0.0}


def check_convention(convention: str) -> str:
    """The convention, or ValueError naming the known ones."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown byte-accounting convention {convention!r}; choose one of {CONVENTIONS}")
    return convention


def op_cost(
    name: str, kind: str, in_shapes: list[Shape], out_shape: Shape, config: dict[str, Any], layer: int = 0
) -> OpCost:
    """The cost of one op of the given kind and shapes (batch dimension left out)."""
    extension = registry.op_kind(kind)
    fn = COSTS.get(kind) or (extension.cost if extension is not None else None)
    if fn is None:
        known = (*COSTS, *(k.name for k in registry.extension_op_kinds()))
        raise ValueError(f"op {name}: no cost model for op kind {kind!r}; known: {known}")
    ins = [tuple(int(d) for d in s) for s in in_shapes]
    out = tuple(int(d) for d in out_shape)
    c = fn(ins, out, config)
    moved_op = c.moved if c.moved_op is None else c.moved_op
    return OpCost(
        name, kind, layer, out, c.params, c.non_trainable, c.flops, c.moved, moved_op, c.weight_reads
    )
