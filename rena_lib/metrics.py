"""Resource metrics of section 3: model size, FLOPs (Appendix A) and compute intensity (footnote 2).

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
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from rena_lib.arch.graph import Graph, lower
from rena_lib.arch.spec import Spec

__all__ = [
    "BYTES_PER_VALUE",
    "CONVENTIONS",
    "COSTS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CONVENTION",
    "METRIC_NAMES",
    "Metrics",
    "OpCost",
    "measure",
    "op_cost",
]

#: bytes per weight and per activation value (footnote 1: 4-byte precision)
BYTES_PER_VALUE = 4
#: the byte-accounting conventions of bytes_accessed (see the module docstring)
CONVENTIONS = ("per_op", "per_layer")
#: the convention and batch size measure() uses unless told otherwise
DEFAULT_CONVENTION = "per_op"
DEFAULT_BATCH_SIZE = 64
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

Shape = tuple[int, ...]


@dataclass(frozen=True)
class _Cost:
    params: int = 0  # trainable weights
    non_trainable: int = 0
    flops: int = 0  # per example
    moved: int = 0  # activation values read + written per example, per layer
    moved_op: int | None = None  # the same, per op (None: as per layer)
    weight_reads: int = 1  # times the weights are read per batch, per op


# --------------------------------------------------------------------------------------------------
# one cost function per op kind: (input shapes, output shape, config) -> _Cost; shapes without batch
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


def _conv2d(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    cin, taps, groups = ins[0][-1], _size(c["kernel"]), c.get("groups", 1)
    bias = c.get("use_bias", True)
    params = taps * (cin // groups) * c["filters"] + (c["filters"] if bias else 0)
    per_out = 2 * taps * (cin // groups) + int(bias) + _act_flops(c.get("activation"))
    return _Cost(params, 0, per_out * _size(out), _io(ins, out), _io_ops(ins, out, bias, c))


def _depthwise_conv2d(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    cout, taps, bias = out[-1], _size(c["kernel"]), c.get("use_bias", True)
    params = taps * cout + (cout if bias else 0)
    per_out = 2 * taps + int(bias) + _act_flops(c.get("activation"))
    return _Cost(params, 0, per_out * _size(out), _io(ins, out), _io_ops(ins, out, bias, c))


def _dense(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    n, u, bias = ins[0][-1], c["units"], c.get("use_bias", True)
    positions = _size(ins[0][:-1])
    params = n * u + (u if bias else 0)
    flops = positions * u * (2 * n + int(bias) + _act_flops(c.get("activation")))
    return _Cost(params, 0, flops, _io(ins, out), _io_ops(ins, out, bias, c))


def _gru(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    steps, n = ins[0]
    u, dirs = c["units"], 2 if c.get("bidirectional") else 1
    bias = 0 if not c.get("use_bias", True) else (6 * u if c.get("reset_after", True) else 3 * u)
    params = dirs * (3 * u * (n + u) + bias)
    per_step = 2 * 3 * u * (n + u) + bias + 11 * u
    # per op, per step: x W (n in, 3u out), h U (u in, 3u out), every bias add reads and writes 3u (2 x
    # bias values in all), the 11u gate operations 29u (binary ops read two operands, unary ones one)
    moved_step = n + 7 * u + 2 * bias + 29 * u
    return _Cost(params, 0, dirs * steps * per_step, _io(ins, out), dirs * steps * moved_step, steps)


def _batchnorm(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    axis = c.get("axis", -1)  # as Keras counts it: a non-negative axis includes the batch dimension
    ch = ins[0][axis if axis < 0 else axis - 1]
    params = ch * (int(c.get("scale", True)) + int(c.get("center", True)))
    return _Cost(params, 2 * ch, 2 * _size(out), _io(ins, out))


def _activation(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    if c["activation"] == "crelu":
        return _Cost(0, 0, 3 * _size(ins[0]), _io(ins, out))
    return _Cost(0, 0, _act_flops(c["activation"]) * _size(out), _io(ins, out))


def _pool(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    return _Cost(0, 0, _size(c["pool"]) * _size(out), _io(ins, out))


def _global_pool(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    return _Cost(0, 0, _size(ins[0]), _io(ins, out))


def _add(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    return _Cost(0, 0, (len(ins) - 1) * _size(out), _io(ins, out))


def _copy(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    """Concatenation, zero padding: read every input, write the output, no arithmetic."""
    return _Cost(0, 0, 0, _io(ins, out))


def _slice(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    """Cropping, FinalState: read only the part that is kept, write it."""
    return _Cost(0, 0, 0, 2 * _size(out))


def _view(ins: list[Shape], out: Shape, c: dict[str, Any]) -> _Cost:
    """Input, reshape, flatten, dropout at inference: no arithmetic, no data moved."""
    return _Cost()


#: op kind -> cost function; the arch Graph's kinds plus a few more the Keras path can produce
COSTS: dict[str, Callable[[list[Shape], Shape, dict[str, Any]], _Cost]] = {
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
        if _check_convention(convention) == "per_layer":
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


def _check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown byte-accounting convention {convention!r}; choose one of {CONVENTIONS}")
    return convention


def op_cost(
    name: str, kind: str, in_shapes: list[Shape], out_shape: Shape, config: dict[str, Any], layer: int = 0
) -> OpCost:
    """The cost of one op of the given kind and shapes (batch dimension left out)."""
    if kind not in COSTS:
        raise ValueError(f"op {name}: no cost model for op kind {kind!r}; known: {tuple(COSTS)}")
    ins = [tuple(int(d) for d in s) for s in in_shapes]
    out = tuple(int(d) for d in out_shape)
    c = COSTS[kind](ins, out, config)
    moved_op = c.moved if c.moved_op is None else c.moved_op
    return OpCost(
        name, kind, layer, out, c.params, c.non_trainable, c.flops, c.moved, moved_op, c.weight_reads
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
    _check_convention(convention)
    if isinstance(x, Spec):
        x = lower(x)
    if isinstance(x, Graph):
        live = _reaching_output(x)
        ops = [
            op_cost(o.name, o.kind, o.in_shapes, o.out_shape, o.config, o.layer)
            for o in x.ops
            if o.name in live
        ]
        return dataclasses.replace(Metrics.from_ops(ops, batch_size, convention), **_memory(x))
    if _is_keras_model(x):
        metrics = Metrics.from_ops(_keras_costs(x), batch_size, convention)
        graph = _keras_graph(x)
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


def _reaching_output(graph: Graph) -> set[str]:
    """Names of the ops the output depends on (a dangling op, e.g. a dropout the head skips, is not built)."""
    from rena_lib.arch.graph import reaching_output

    return reaching_output(graph)


# --------------------------------------------------------------------------------------------------
# the Keras path: every layer -> (kind, config) of the cost functions above
# --------------------------------------------------------------------------------------------------
def _is_keras_model(x: Any) -> bool:
    """True for a keras.Model, without importing Keras when nothing has imported it yet."""
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(x, keras.Model)


def _shape(t: Any, where: str) -> Shape:
    s = tuple(t.shape[1:])
    if any(d is None for d in s):
        raise ValueError(
            f"{where}: shape {tuple(t.shape)} has unknown dimensions; give the model fixed shapes"
        )
    return s


def _keras_costs(model: Any, prefix: str = "") -> list[OpCost]:
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"measure() takes a Spec, a Graph or a keras.Model, got {type(model).__name__}")
    if isinstance(model, keras.Sequential):
        if getattr(model, "_functional", None) is None:
            raise ValueError(f"Sequential model {model.name!r} is not built: give it an Input first")
        model = model._functional
    if not hasattr(model, "_nodes_by_depth"):
        raise ValueError(
            f"model {model.name!r} ({type(model).__name__}) is subclassed: measure() needs a functional "
            "or Sequential model whose layers and shapes it can walk"
        )
    rows: list[OpCost] = []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            layer = node.operation
            name = prefix + layer.name
            ins = [_shape(t, name) for t in node.input_tensors]
            outs = [_shape(t, name) for t in node.outputs]
            if isinstance(layer, keras.Model):
                rows.extend(_keras_costs(layer, prefix=name + "/"))
                continue
            pieces = _keras_ops(layer, name, ins, outs[0])
            costs = [op_cost(n, kind, i, o, cfg) for n, kind, i, o, cfg in pieces]
            rows.extend(_trainability(layer, name, costs))
    return rows


def _keras_graph(model: Any) -> Graph | None:
    """The model's layers as an arch Graph in the model's layer order (for the memory metrics); None for
    a nested or Sequential model."""
    import keras

    from rena_lib.arch.graph import Op

    if isinstance(model, keras.Sequential) or not hasattr(model, "_nodes_by_depth"):
        return None
    order = {layer.name: i for i, layer in enumerate(model.layers)}
    nodes = [n for depth in model._nodes_by_depth.values() for n in depth]
    if any(isinstance(n.operation, keras.Model) for n in nodes):
        return None
    nodes.sort(key=lambda n: order[n.operation.name])
    ops: list[Op] = []
    last: dict[str, str] = {}  # layer name -> the name of its last piece (its output)
    for node in nodes:
        layer = node.operation
        ins = [_shape(t, layer.name) for t in node.input_tensors]
        srcs = [last[t._keras_history.operation.name] for t in node.input_tensors]
        for name, kind, in_shapes, out, cfg in _keras_ops(
            layer, layer.name, ins, _shape(node.outputs[0], layer.name)
        ):
            ops.append(Op(name, kind, srcs, list(in_shapes), tuple(out), dict(cfg)))
            srcs = [name]
        last[layer.name] = ops[-1].name
    return Graph(ops, ops[0].out_shape, ops[-1].out_shape[-1])


def _trainability(layer: Any, name: str, costs: list[OpCost]) -> list[OpCost]:
    """Check the formulas' weight count against Keras; a frozen layer's weights are non-trainable."""
    total = sum(c.params + c.non_trainable for c in costs)
    if hasattr(layer, "count_params") and layer.built and total != layer.count_params():
        raise ValueError(
            f"layer {name} ({type(layer).__name__}): the cost model counts {total} weights but Keras has "
            f"{layer.count_params()}; this configuration of the layer is not supported"
        )
    if getattr(layer, "trainable", True):
        return costs
    return [dataclasses.replace(c, params=0, non_trainable=c.params + c.non_trainable) for c in costs]


def _act_name(fn: Any) -> str | None:
    import keras

    name = keras.activations.serialize(fn) if fn is not None else "linear"
    if not isinstance(name, str):
        name = getattr(fn, "__name__", str(fn))
    return {"linear": None, "silu": "swish"}.get(name, name)


def _channels_last(layer: Any, name: str) -> None:
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError(f"layer {name} ({type(layer).__name__}): only channels_last is supported")


def _keras_ops(layer: Any, name: str, ins: list[Shape], out: Shape) -> list[tuple]:
    """(name, kind, in_shapes, out_shape, config) pieces of one Keras layer; ValueError if unknown."""
    import keras

    from rena_lib.arch.layers import CReLU, FinalState

    L = keras.layers
    one = lambda kind, **cfg: [(name, kind, ins, out, cfg)]
    if isinstance(layer, L.InputLayer):
        return one("input")
    if isinstance(layer, L.SeparableConv2D):
        _channels_last(layer, name)
        mid = (*out[:-1], ins[0][-1] * layer.depth_multiplier)
        return [
            (f"{name}:depthwise", "depthwise_conv2d", ins, mid, {"kernel": layer.kernel_size, "use_bias": False}),
            (f"{name}:pointwise", "conv2d", [mid], out, {"kernel": (1, 1), "filters": layer.filters,
             "use_bias": layer.use_bias, "activation": _act_name(layer.activation)}),
        ]  # fmt: skip
    if isinstance(layer, L.DepthwiseConv2D):
        _channels_last(layer, name)
        return one("depthwise_conv2d", kernel=layer.kernel_size, use_bias=layer.use_bias,
                   activation=_act_name(layer.activation))  # fmt: skip
    if isinstance(layer, L.Conv2D) and not isinstance(layer, L.Conv2DTranspose):
        _channels_last(layer, name)
        return one("conv2d", filters=layer.filters, kernel=layer.kernel_size, groups=layer.groups,
                   use_bias=layer.use_bias, activation=_act_name(layer.activation),
                   dilation=tuple(layer.dilation_rate))  # fmt: skip
    if isinstance(layer, L.Dense):
        return one(
            "dense", units=layer.units, use_bias=layer.use_bias, activation=_act_name(layer.activation)
        )
    if isinstance(layer, L.Bidirectional) and isinstance(layer.forward_layer, L.GRU):
        if layer.merge_mode != "concat":
            raise ValueError(
                f"layer {name} (Bidirectional): merge_mode {layer.merge_mode!r} is not supported"
            )
        g = layer.forward_layer
        return one("gru", units=g.units, bidirectional=True, reset_after=g.reset_after, use_bias=g.use_bias)
    if isinstance(layer, L.GRU):
        return one("gru", units=layer.units, bidirectional=False, reset_after=layer.reset_after,
                   use_bias=layer.use_bias)  # fmt: skip
    if isinstance(layer, L.BatchNormalization):
        return one("batchnorm", axis=layer.axis, center=layer.center, scale=layer.scale)
    if isinstance(layer, CReLU):
        return one("activation", activation="crelu")
    if isinstance(layer, L.Activation):
        return one("activation", activation=_act_name(layer.activation))
    if isinstance(layer, L.ReLU | L.ELU | L.LeakyReLU | L.Softmax):
        return one("activation", activation=type(layer).__name__.lower())
    if isinstance(layer, L.MaxPooling2D | L.AveragePooling2D):
        _channels_last(layer, name)
        kind = "maxpool2d" if isinstance(layer, L.MaxPooling2D) else "avgpool2d"
        return one(kind, pool=layer.pool_size)
    if isinstance(layer, L.GlobalAveragePooling2D | L.GlobalMaxPooling2D):
        _channels_last(layer, name)
        return one("global_avgpool2d" if isinstance(layer, L.GlobalAveragePooling2D) else "global_maxpool2d")
    if isinstance(layer, L.Add):
        return one("add")
    if isinstance(layer, L.Concatenate):
        return one("concat")
    if isinstance(layer, L.ZeroPadding2D):
        return one("zeropad2d")
    if isinstance(layer, L.Cropping2D):
        return one("cropping2d")
    if isinstance(layer, FinalState):
        return one("final_state")
    if isinstance(layer, L.Flatten):
        return one("flatten")
    if isinstance(layer, L.Reshape):
        return one("reshape")
    if isinstance(layer, L.Dropout):
        return one("dropout")
    raise ValueError(f"layer {name}: no cost model for Keras layer {type(layer).__name__}")
