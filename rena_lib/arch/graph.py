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
from dataclasses import dataclass, field
from typing import Any

from rena_lib.arch.schema import ACTIVATIONS, BRANCH_OPS, CIFAR_TYPES, KWS_TYPES, MODULE_TYPES
from rena_lib.arch.spec import TASKS, Layer, Spec

__all__ = [
    "ACTIVATIONS",
    "Graph",
    "Op",
    "live_layers",
    "lower",
    "module_outputs",
    "reaching_output",
    "reads",
    "validate",
]

_POSITIVE_INTS = {
    "num_layers", "kernel_t", "kernel_f", "channels", "stride_t", "stride_f", "directions",
    "filter_width", "pool_width",
}  # fmt: skip
_STACK_FIELDS = ("stem_channels", "stages", "repeats", "stage_multiplier")


def layer_schema(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Layer types allowed for the spec's task and granularity, with their required fields."""
    if spec.granularity == "module":
        return MODULE_TYPES
    return KWS_TYPES if spec.task == "kws" else CIFAR_TYPES


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
# structural validation (no shapes)
# --------------------------------------------------------------------------------------------------
def _check_structure(spec: Spec) -> None:
    if not isinstance(spec, Spec):
        raise ValueError(f"expected a Spec, got {type(spec).__name__}")
    if spec.task not in TASKS:
        raise ValueError(f"unknown task {spec.task!r}; choose one of {tuple(TASKS)}")
    if spec.granularity not in ("layer", "module"):
        raise ValueError(f"unknown granularity {spec.granularity!r}; choose 'layer' or 'module'")
    if spec.granularity == "module" and spec.task != "cifar10":
        raise ValueError("module search is defined for the cifar10 task only")
    if not spec.layers:
        raise ValueError("spec has no layers")
    if spec.granularity == "module":
        stack = spec.stack or {}
        for k in _STACK_FIELDS:
            v = stack.get(k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"module stack: {k}={v!r} must be a positive int")
    schema = layer_schema(spec)
    for i, layer in enumerate(spec.layers, start=1):
        if not isinstance(layer, Layer):
            raise ValueError(f"layer {i}: expected a Layer, got {type(layer).__name__}")
        if layer.type not in schema:
            raise ValueError(
                f"layer {i}: unknown layer type {layer.type!r} for {spec.task}/{spec.granularity}; "
                f"choose one of {tuple(schema)}"
            )
        required = schema[layer.type]
        for name in required:
            if name not in layer.features:
                raise ValueError(f"layer {i} ({layer.type}): missing field {name!r}")
        for name in sorted(set(layer.features) - set(required)):
            raise ValueError(f"layer {i} ({layer.type}): unexpected field {name!r} (fields: {required})")
        for name, v in layer.features.items():
            _check_value(i, layer.type, name, v)


def _check_value(i: int, ltype: str, name: str, v: Any) -> None:
    where = f"layer {i} ({ltype}): {name}={v!r}"
    is_int = isinstance(v, int) and not isinstance(v, bool)
    if name in ("src1", "src2"):
        if not is_int or not 0 <= v < i:
            raise ValueError(f"{where} must point to the input (0) or an earlier layer (1..{i - 1})")
    elif name in _POSITIVE_INTS:
        if not is_int or v < 1:
            raise ValueError(f"{where} must be a positive int")
    elif name == "keep_prob":
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0.0 < v <= 1.0:
            raise ValueError(f"{where} must be a keep probability in (0, 1]")
    elif name == "activation":
        if v not in ACTIVATIONS:
            raise ValueError(f"{where} is not one of {ACTIVATIONS}")
    elif name == "merge":
        if v not in ("add", "concat"):
            raise ValueError(f"{where} must be 'add' or 'concat'")
    elif name == "propagate" and v not in (0, 1):
        raise ValueError(f"{where} must be 0 or 1")


def reads(spec: Spec, layer: Layer) -> list[int]:
    """The sources a layer (branch) actually reads: src1, plus src2 for 'add' layers and two-op branches."""
    srcs = [layer.features["src1"]]
    if layer.type == "add" or (spec.granularity == "module" and BRANCH_OPS[layer.type][1] is not None):
        srcs.append(layer.features["src2"])
    return srcs


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
class _Builder:
    def __init__(self, input_shape: tuple[int, ...], classes: int):
        self.ops: list[Op] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.input_shape = input_shape
        self.classes = classes
        self.add("input", [], input_shape, 0)

    def add(self, kind: str, inputs: list[str], out_shape: tuple[int, ...], layer: int, **config: Any) -> str:
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


def lower(spec: Spec) -> Graph:
    """Validate a spec and lower it to ops with shapes; raises ValueError naming the layer and field."""
    _check_structure(spec)
    input_shape, classes = TASKS[spec.task]
    b = _Builder(input_shape, classes)
    if spec.granularity == "module":
        _lower_module(spec, b)
    elif spec.task == "kws":
        _lower_kws(spec, b)
    else:
        _lower_cifar(spec, b)
    return Graph(b.ops, input_shape, classes)


def validate(spec: Spec) -> None:
    """Raise ValueError (naming the layer and field) if the spec cannot be built; no Keras code runs."""
    lower(spec)


# A KWS convolution as the inference graph has it (bias + ReLU: what metrics count), and how it trains:
# conv (no bias) -> BatchNormalization -> ReLU, with the BN folded back into the conv for inference.
_KWS_CONV = {"activation": "relu", "batchnorm": True}


def _lower_kws(spec: Spec, b: _Builder) -> None:
    outs: dict[int, str] = {0: "input"}
    gru_seqs: list[tuple[str, int, bool]] = []
    live = live_layers(spec)
    for i in live:
        layer = spec.layers[i - 1]
        f = layer.features
        x = outs[f["src1"]]
        t = layer.type
        if t in ("conv2d", "ds_conv2d", "dilated_conv2d"):
            x = b.as_map(x, i)
            for _ in range(f["num_layers"]):
                k = (f["kernel_t"], f["kernel_f"])
                if t == "conv2d":
                    x = b.conv(x, i, f["channels"], k, (f["stride_t"], f["stride_f"]), **_KWS_CONV)
                elif t == "ds_conv2d":
                    # TensorFlow's depthwise kernel takes equal strides only: unequal strides move to the 1x1
                    s = (f["stride_t"], f["stride_f"])
                    s_dw, s_pw = (s, (1, 1)) if s[0] == s[1] else ((1, 1), s)
                    x = b.depthwise(x, i, k, s_dw, **_KWS_CONV)
                    x = b.conv(x, i, f["channels"], (1, 1), s_pw, **_KWS_CONV)
                else:
                    d = (f["stride_f"], f["stride_f"])
                    x = b.conv(x, i, f["channels"], k, dilation=d, **_KWS_CONV)
            x = b.dropout(x, i, f["keep_prob"])
        elif t == "gru":
            x = b.as_seq(x, i)
            bidir = f["directions"] == 2
            for _ in range(f["num_layers"]):
                steps = b.shapes[x][0]
                x = b.add("gru", [x], (steps, f["channels"] * f["directions"]), i, units=f["channels"],
                          bidirectional=bidir, reset_after=True, return_sequences=True)  # fmt: skip
                gru_seqs.append((x, f["channels"], bidir))
            x = b.dropout(x, i, f["keep_prob"])
        elif t == "avgpool2d":
            x = b.pool("avgpool2d", b.as_map(x, i), i, (f["kernel_t"], f["kernel_f"]), (1, 1), "valid")
        elif t == "global_avgpool2d":
            x = b.as_map(x, i)
            x = b.add("global_avgpool2d", [x], (1, 1, b.shapes[x][2]), i, keepdims=True)
        elif t == "fc":
            x = b.as_vector(x, i)
            for _ in range(f["num_layers"]):
                x = b.add(
                    "dense", [x], (f["channels"],), i, units=f["channels"], use_bias=True, activation="relu"
                )
            x = b.dropout(x, i, f["keep_prob"])
        outs[i] = x
    x = outs[live[-1]]
    if all(spec.layers[i - 1].type == "gru" for i in live):
        states = [
            b.add("final_state", [seq], (units * (2 if bidir else 1),), 0, units=units, bidirectional=bidir)
            for seq, units, bidir in gru_seqs
        ]
        total = sum(b.shapes[s][0] for s in states)
        x = states[0] if len(states) == 1 else b.add("concat", states, (total,), 0, axis=-1)
    else:
        x = b.as_vector(x, 0)
    b.add("dense", [x], (b.classes,), 0, units=b.classes, use_bias=True, activation=None)


def _lower_cifar(spec: Spec, b: _Builder) -> None:
    outs: dict[int, str] = {0: "input"}
    for i in live_layers(spec):
        layer = spec.layers[i - 1]
        f = layer.features
        x = outs[f["src1"]]
        t = layer.type
        if t == "conv2d":
            w = f["filter_width"]
            x = b.conv(x, i, f["channels"], (w, w), use_bias=False)
            x = b.bn_act(x, i, f["activation"])
        elif t == "ds_conv2d":
            w = f["filter_width"]
            x = b.depthwise(x, i, (w, w), use_bias=False)
            x = b.conv(x, i, f["channels"], (1, 1), use_bias=False)
            x = b.bn_act(x, i, f["activation"])
        elif t == "maxpool2d":
            w = f["pool_width"]
            x = b.pool("maxpool2d", x, i, (w, w), (2, 2), "same")
        elif t == "add":
            x1, x2 = b.reconcile(x, outs[f["src2"]], i, f["merge"])
            s1, s2 = b.shapes[x1], b.shapes[x2]
            if f["merge"] == "add":
                x = b.add("add", [x1, x2], s1, i)
            else:
                x = b.add("concat", [x1, x2], (*s1[:2], s1[2] + s2[2]), i, axis=-1)
        outs[i] = x
    _cifar_head(b, outs[live_layers(spec)[-1]])


def _cifar_head(b: _Builder, x: str) -> None:
    x = b.add("global_avgpool2d", [x], (b.shapes[x][2],), 0, keepdims=False)
    b.add("dense", [x], (b.classes,), 0, units=b.classes, use_bias=True, activation=None)


def _branch_op(b: _Builder, kind: str, x: str, i: int, f: dict[str, Any], channels: int) -> str:
    if kind == "conv":
        w = f["filter_width"]
        return b.bn_act(b.conv(x, i, channels, (w, w), use_bias=False), i, "relu")
    if kind in ("maxpool", "avgpool"):
        w = f["pool_width"]
        return b.pool(f"{kind}2d", x, i, (w, w), (1, 1), "same")
    # "1x7-7x1": factorised 7x7 convolution
    x = b.bn_act(b.conv(x, i, channels, (1, 7), use_bias=False), i, "relu")
    return b.bn_act(b.conv(x, i, channels, (7, 1), use_bias=False), i, "relu")


def _lower_module(spec: Spec, b: _Builder) -> None:
    st = spec.stack
    x = b.bn_act(b.conv("input", 0, st["stem_channels"], (3, 3), use_bias=False), 0, "relu")
    live = live_layers(spec)
    out_branches = module_outputs(spec)
    for stage in range(st["stages"]):
        mult = st["stage_multiplier"] ** stage
        if stage > 0:
            x = b.pool("maxpool2d", x, 0, (2, 2), (2, 2), "same")
        for _ in range(st["repeats"]):
            outs: dict[int, str] = {0: x}
            for i in live:
                f = spec.layers[i - 1].features
                op1, op2 = BRANCH_OPS[spec.layers[i - 1].type]
                y = _branch_op(b, op1, outs[f["src1"]], i, f, f["channels"] * mult)
                if op2 is not None:
                    z = _branch_op(b, op2, outs[f["src2"]], i, f, f["channels"] * mult)
                    sy, sz = b.shapes[y], b.shapes[z]
                    y = b.add("concat", [y, z], (*sy[:2], sy[2] + sz[2]), i, axis=-1)
                outs[i] = y
            parts = [outs[i] for i in out_branches]
            if len(parts) > 1:
                s = b.shapes[parts[0]]
                parts = [b.add("concat", parts, (*s[:2], sum(b.shapes[p][2] for p in parts)), 0, axis=-1)]
            # project the module output to the stage width so that stacking does not grow the channels
            x = b.bn_act(b.conv(parts[0], 0, st["stem_channels"] * mult, (1, 1), use_bias=False), 0, "relu")
    _cifar_head(b, x)
