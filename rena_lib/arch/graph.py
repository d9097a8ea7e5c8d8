"""Lowering a spec to a graph of primitive ops with shapes: validation, the builder and metrics share it.

Shape conventions (documented rules the builder follows):
* KWS tensors are (time, freq, channels) maps, (time, units) sequences or (units,) vectors. A layer that
  needs another rank gets a free reshape: a sequence feeds a 2-D layer as a (time, units, 1) map, a map
  feeds a GRU as a (time, freq*channels) sequence, a vector is a (1, units, 1) map or a length-1 sequence.
  FC flattens its input. KWS convolutions use 'same' padding, bias and ReLU in the inference graph (what
  metrics count); they train as conv (no bias) -> BatchNormalization -> ReLU (op config batchnorm=True),
  and rena_lib.arch.fold folds each BN back into its conv's kernel and bias. AvgPool2d(kt, kf) is a 'valid'
  window with stride 1 (so it can shrink the input to nothing, which is an error). DS-Conv2d with unequal
  time/frequency strides runs its depthwise part at stride 1 and strides the 1x1 (TensorFlow's depthwise
  kernel supports equal strides only); output shape and parameters are unchanged.
* CIFAR convolutions are Conv (no bias) -> BatchNorm -> activation, stride 1, 'same'; crelu doubles the
  channels. MaxPool2d(w) pools w x w with stride 2, 'same'. The head is global average pooling + Dense(10).
* Skip connections ("add" layers) whose shapes differ are reconciled: along each spatial axis the larger
  input is average-pooled by the integer ratio of the sizes and then centre-cropped to the smaller; for
  addition, a channel mismatch is resolved by a 1x1 convolution (no bias) of Src2 to Src1's channels.
* Module search: a 3x3 stem conv, then `stages` stages of `repeats` modules with a 2x2 max-pool between
  stages; a module's output (the concatenation of its propagated branches) is projected by a 1x1
  conv-BN-ReLU to stem_channels x stage_multiplier**stage channels, so stacking does not grow the width.
  Module convolutions use channels x stage_multiplier**stage; pooling inside a module has stride 1, 'same'.
* Layers that do not reach the network output (e.g. bypassed by a Src1 skip) are not built or counted.
* The head: every model ends with Dense(classes) producing logits. KWS: Flatten first, except when every
  layer is a GRU, where the head reads the concatenation of every GRU layer's final state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import rena_lib.arch.registry as registry
from rena_lib.arch.spec import Layer, Spec

__all__ = [
    "Graph",
    "GraphBuilder",
    "Op",
    "keep_probability",
    "live_layers",
    "lower",
    "lower_layers",
    "module_outputs",
    "one_of",
    "positive_int",
    "reaching_output",
    "reads",
    "validate",
]


@dataclass
class Op:
    """A primitive operation (one Keras layer) with its input and output shapes (batch dim left out)."""

    name: str
    kind: str
    inputs: list[str]
    in_shapes: list[tuple[int, ...]]
    out_shape: tuple[int, ...]
    config: dict[str, Any] = field(default_factory=dict)
    layer: int = 0  # 1-based spec layer (branch) it implements; 0 for input, stem and head


@dataclass
class Graph:
    """The lowered network: ops in topological order; the last op is the logits."""

    ops: list[Op]
    input_shape: tuple[int, ...]
    classes: int

    def op(self, name: str) -> Op:
        """The op with this name."""
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(name)


# --------------------------------------------------------------------------------------------------
# field checks a layer type can use (each returns what is wrong, or None)
# --------------------------------------------------------------------------------------------------
def positive_int(v: Any) -> str | None:
    """Check: a positive int."""
    return None if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else "must be a positive int"


def keep_probability(v: Any) -> str | None:
    """Check: a keep probability in (0, 1]."""
    ok = isinstance(v, int | float) and not isinstance(v, bool) and 0.0 < v <= 1.0
    return None if ok else "must be a keep probability in (0, 1]"


def one_of(values: tuple[Any, ...], text: str | None = None) -> Callable[[Any], str | None]:
    """Check: one of values (text: the error's wording, default "is not one of <values>")."""
    return lambda v: None if v in values else text or f"is not one of {values}"


# --------------------------------------------------------------------------------------------------
# structural validation (no shapes)
# --------------------------------------------------------------------------------------------------
def granularity_of(spec: Spec) -> registry.Granularity:
    """The task granularity a spec belongs to; ValueError for an unknown task or granularity."""
    task = registry.get_task(spec.task)
    if spec.granularity not in task.granularities:
        tasks = [registry.get_task(t) for t in registry.task_names()]
        known = list(dict.fromkeys(g for t in tasks for g in t.granularities))
        if spec.granularity not in known:
            raise ValueError(
                f"unknown granularity {spec.granularity!r}; choose {' or '.join(repr(g) for g in known)}"
            )
        having = [t.name for t in tasks if spec.granularity in t.granularities]
        raise ValueError(f"{spec.granularity} search is defined for the {' or '.join(having)} task only")
    return task.granularities[spec.granularity]


def layer_schema(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Layer types allowed for the spec's task and granularity, with their required fields."""
    return {n: e.fields for n, e in registry.family_types(granularity_of(spec).family).items()}


def _check_structure(spec: Spec) -> registry.Granularity:
    if not isinstance(spec, Spec):
        raise ValueError(f"expected a Spec, got {type(spec).__name__}")
    gran = granularity_of(spec)
    if not spec.layers:
        raise ValueError("spec has no layers")
    stack = spec.stack or {}
    for k in gran.stack_fields:
        v = stack.get(k)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{spec.granularity} stack: {k}={v!r} must be a positive int")
    types = registry.family_types(gran.family)
    for i, layer in enumerate(spec.layers, start=1):
        if not isinstance(layer, Layer):
            raise ValueError(f"layer {i}: expected a Layer, got {type(layer).__name__}")
        entry = types.get(layer.type)
        if entry is None:
            raise ValueError(
                f"layer {i}: unknown layer type {layer.type!r} for {spec.task}/{spec.granularity}; "
                f"choose one of {tuple(types)}"
            )
        for name in entry.fields:
            if name not in layer.features:
                raise ValueError(f"layer {i} ({layer.type}): missing field {name!r}")
        for name in sorted(set(layer.features) - set(entry.fields)):
            raise ValueError(f"layer {i} ({layer.type}): unexpected field {name!r} (fields: {entry.fields})")
        for name, v in layer.features.items():
            _check_value(i, entry, name, v)
    return gran


def _check_value(i: int, entry: registry.LayerType, name: str, v: Any) -> None:
    where = f"layer {i} ({entry.name}): {name}={v!r}"
    if name in registry.SOURCE_FIELDS:
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < i:
            raise ValueError(f"{where} must point to the input (0) or an earlier layer (1..{i - 1})")
        return
    check = entry.checks.get(name)
    problem = check(v) if check is not None else None
    if problem:
        raise ValueError(f"{where} {problem}")


def _entry(spec: Spec, layer: Layer) -> registry.LayerType:
    entry = registry.layer_type(granularity_of(spec).family, layer.type)
    if entry is None:
        raise ValueError(f"unknown layer type {layer.type!r} for {spec.task}/{spec.granularity}")
    return entry


def reads(spec: Spec, layer: Layer) -> list[int]:
    """The sources a layer (branch) actually reads (its type's ``reads``: src1, src2 for joins)."""
    return [layer.features[f] for f in _entry(spec, layer).reads]


def live_layers(spec: Spec) -> list[int]:
    """1-based indices of the layers (branches) that reach the output, in order."""
    roots = module_outputs(spec) if spec.granularity == "module" else [len(spec.layers)]
    live: set[int] = set()
    todo = list(roots)
    while todo:
        i = todo.pop()
        if i == 0 or i in live:
            continue
        live.add(i)
        todo.extend(reads(spec, spec.layers[i - 1]))
    return sorted(live)


def reaching_output(graph: Graph) -> set[str]:
    """Names of the ops the graph's output depends on (an op nothing downstream reads is left out)."""
    inputs = {o.name: o.inputs for o in graph.ops}
    live, todo = set(), [graph.ops[-1].name]
    while todo:
        name = todo.pop()
        if name not in live:
            live.add(name)
            todo.extend(inputs[name])
    return live


def module_outputs(spec: Spec) -> list[int]:
    """Branches whose outputs form the module output (propagate = 1; the last branch if none)."""
    out = [i for i, b in enumerate(spec.layers, start=1) if b["propagate"] == 1]
    return out or [len(spec.layers)]


# --------------------------------------------------------------------------------------------------
# lowering with shape inference
# --------------------------------------------------------------------------------------------------
class GraphBuilder:
    """Adds ops with shapes to a graph under construction (what a layer type's lowering writes to)."""

    def __init__(self, input_shape: tuple[int, ...], classes: int):
        self.ops: list[Op] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.input_shape = input_shape
        self.classes = classes
        self.state: dict[str, Any] = {}  # what a task's lowering shares across layers (e.g. GRU outputs)
        self.add("input", [], input_shape, 0)

    def add(self, kind: str, inputs: list[str], out_shape: tuple[int, ...], layer: int, **config: Any) -> str:
        """Append an op of that kind reading inputs (op names); returns its name."""
        name = f"{kind}_{len(self.ops)}" if layer == 0 else f"L{layer}_{kind}_{len(self.ops)}"
        if kind == "input":
            name = "input"
        self.ops.append(Op(name, kind, inputs, [self.shapes[x] for x in inputs], out_shape, config, layer))
        self.shapes[name] = out_shape
        return name

    # --- rank adapters (free reshapes) ---
    def as_map(self, x: str, layer: int) -> str:
        s = self.shapes[x]
        if len(s) == 3:
            return x
        target = (s[0], s[1], 1) if len(s) == 2 else (1, s[0], 1)
        return self.add("reshape", [x], target, layer, target_shape=target)

    def as_seq(self, x: str, layer: int) -> str:
        s = self.shapes[x]
        if len(s) == 2:
            return x
        target = (s[0], s[1] * s[2]) if len(s) == 3 else (1, s[0])
        return self.add("reshape", [x], target, layer, target_shape=target)

    def as_vector(self, x: str, layer: int) -> str:
        s = self.shapes[x]
        if len(s) == 1:
            return x
        return self.add("flatten", [x], (math.prod(s),), layer)

    # --- common blocks ---
    def conv(self, x: str, layer: int, filters: int, kernel: tuple[int, int], strides=(1, 1), dilation=(1, 1),
             use_bias=True, activation: str | None = None, **train: Any) -> str:  # fmt: skip
        t, f, _ = self.shapes[x]
        out = (math.ceil(t / strides[0]), math.ceil(f / strides[1]), filters)
        return self.add("conv2d", [x], out, layer, filters=filters, kernel=tuple(kernel), strides=tuple(strides),
                        dilation=tuple(dilation), padding="same", use_bias=use_bias, activation=activation,
                        groups=1, **train)  # fmt: skip

    def depthwise(self, x: str, layer: int, kernel, strides=(1, 1), use_bias=True, activation=None,
                  **train: Any) -> str:  # fmt: skip
        t, f, c = self.shapes[x]
        out = (math.ceil(t / strides[0]), math.ceil(f / strides[1]), c)
        return self.add("depthwise_conv2d", [x], out, layer, kernel=tuple(kernel), strides=tuple(strides),
                        padding="same", use_bias=use_bias, activation=activation, **train)  # fmt: skip

    def pool(self, kind: str, x: str, layer: int, pool, strides, padding: str, field_name: str = "") -> str:
        t, f, c = self.shapes[x]
        if padding == "same":
            out = (math.ceil(t / strides[0]), math.ceil(f / strides[1]), c)
        else:
            out = ((t - pool[0]) // strides[0] + 1, (f - pool[1]) // strides[1] + 1, c)
            if t < pool[0] or f < pool[1]:
                raise ValueError(
                    f"layer {layer} ({field_name or kind}): a {pool[0]}x{pool[1]} pooling window does not fit "
                    f"its {t}x{f} input: it shrinks the input to nothing (reduce kernel_t/kernel_f or earlier strides)"
                )
        return self.add(kind, [x], out, layer, pool=tuple(pool), strides=tuple(strides), padding=padding)

    def bn_act(self, x: str, layer: int, activation: str) -> str:
        x = self.add("batchnorm", [x], self.shapes[x], layer)
        s = self.shapes[x]
        out = (*s[:-1], 2 * s[-1]) if activation == "crelu" else s
        return self.add("activation", [x], out, layer, activation=activation)

    def dropout(self, x: str, layer: int, keep_prob: float) -> str:
        if keep_prob >= 1.0:
            return x
        return self.add("dropout", [x], self.shapes[x], layer, rate=round(1.0 - keep_prob, 6))

    def reconcile(self, a: str, b: str, layer: int, merge: str) -> tuple[str, str]:
        """Make two maps joinable: pool+crop the larger spatially; project b's channels for 'add'."""
        a, b = self.as_map(a, layer), self.as_map(b, layer)
        sa, sb = self.shapes[a], self.shapes[b]
        target = (min(sa[0], sb[0]), min(sa[1], sb[1]))
        a, b = self._fit(a, target, layer), self._fit(b, target, layer)
        if merge == "add" and self.shapes[a][2] != self.shapes[b][2]:
            b = self.conv(b, layer, self.shapes[a][2], (1, 1), use_bias=False)
        return a, b

    def _fit(self, x: str, target: tuple[int, int], layer: int) -> str:
        t, f, _ = self.shapes[x]
        if (t, f) == target:
            return x
        r = (max(1, t // target[0]), max(1, f // target[1]))
        if r != (1, 1):
            x = self.pool("avgpool2d", x, layer, r, r, "same")
            t, f, _ = self.shapes[x]
        if (t, f) != target:
            dt, df = t - target[0], f - target[1]
            crop = ((dt // 2, dt - dt // 2), (df // 2, df - df // 2))
            x = self.add("cropping2d", [x], (*target, self.shapes[x][2]), layer, cropping=crop)
        return x


_Builder = GraphBuilder  # the old private name


def lower_layers(
    spec: Spec,
    b: GraphBuilder,
    outs: dict[int, str] | None = None,
    transform: Callable[[Layer], Layer] | None = None,
) -> dict[int, str]:
    """Lower the spec's live layers in order with their types' lowerings; returns layer -> output op.

    outs maps 0 to the op the layers read as their input (default: the network input); transform maps a
    layer before it is lowered (module search: channels x the stage multiplier).
    """
    outs = {0: "input"} if outs is None else outs
    for i in live_layers(spec):
        layer = spec.layers[i - 1]
        entry = _entry(spec, layer)
        if transform is not None:
            layer = transform(layer)
        outs[i] = entry.lower(b, layer, i, [outs[layer.features[f]] for f in entry.reads])
    return outs


def lower(spec: Spec) -> Graph:
    """Validate a spec and lower it to ops with shapes; raises ValueError naming the layer and field."""
    gran = _check_structure(spec)
    task = registry.get_task(spec.task)
    b = GraphBuilder(task.input_shape, task.classes)
    gran.lower(spec, b)
    return Graph(b.ops, task.input_shape, task.classes)


def validate(spec: Spec) -> None:
    """Raise ValueError (naming the layer and field) if the spec cannot be built; no Keras code runs."""
    lower(spec)
