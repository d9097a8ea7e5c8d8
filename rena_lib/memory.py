"""Microcontroller resources: peak RAM (the activation arena) and flash (the int8 model) of a spec.

``peak_ram(spec, "int8")`` walks the lowered graph (:func:`rena_lib.arch.graph.lower`) in its execution
order, as TensorFlow Lite Micro's arena planner sees a sequential schedule: every activation tensor is
live from the op that writes it to the last op that reads it (the network input from the first op, the
logits to the end), skip connections and concatenations included; at each op the live tensors' bytes are
summed, and the peak is the largest sum, reported with the op where it occurs. Weights are not in RAM
(they live in flash). One value is 1 byte (int8) or 4 bytes (float32). The peak is the sum of the live
buffers, the bound a planner reaches without fragmentation; TFLM's greedy planner also aligns buffers to
16 bytes, which this count leaves out.

How the ops map onto the exported TFLite graph (checked in tests/test_memory.py and
benchmarks/mcu_memory.py against the int8 model that :func:`rena_lib.export.to_tflite` writes):

* **reshape and flatten are copies**: TFLite keeps them as RESHAPE ops with an output tensor of their
  own, and TFLM's reference RESHAPE kernel copies unless the planner happened to place both at the same
  address; so at a reshape its input and output are both live.
* **a dilated convolution is four ops**: SPACE_TO_BATCH_ND, CONV_2D, BATCH_TO_SPACE_ND and the bias ADD
  (see ``_atrous``), each with its own output tensor; its bias is stored twice (int32 and int8).
* **dropout is the identity** at inference (the converter removes it): its output is its input's buffer.
* **fused ops**: an activation folded into its producer (KWS convolutions and FC layers carry their
  ReLU) writes no tensor of its own; a batch norm or a ReLU that is the only reader of a convolution's
  output is folded or fused into it by the converter, so it aliases that output. Other activations are
  one op each; the export runs swish and selu as several (LOGISTIC and MUL; six ops for selu), so CIFAR
  specs with them are counted but not checked, and crelu and elu have no int8 kernel
  (:class:`NoInt8ExportError`).
* **the input and output are int8** (as an MCU model takes them); the exported file has float32 I/O
  with a QUANTIZE first and a DEQUANTIZE last, which :func:`tflite_ram` leaves out by default
  (``int8_io=False`` keeps them). The int32 shape tensors the converter adds for the dynamic batch
  (a few bytes) are not activations and are reported apart.
* **a GRU follows the unrolled export: its two ends and its recurrence.** The exporter unrolls the
  recurrence into ~17 ops per time step. Entering, the input sequence, its time-major copy (TRANSPOSE)
  and that copy's step slices (UNPACK) are live (the input is freed after the copy unless a later op
  reads it), with the zero state and its recurrent projection's three slices (4u), which the converter
  computes first; leaving, the step outputs and their packed sequence (PACK, 2 x the output). Inside,
  the converter orders independent ops by name, so the input projections of later steps whose cell
  names sort first (gru_cell_11 .. gru_cell_29 before gru_cell_3) are computed ahead of their steps and
  wait, 3u each, while the step outputs accumulate (:func:`gru_recurrence_peak`; a bidirectional GRU
  runs its directions one after the other and keeps the step slices for the second). This follows the
  converter's naming and ordering (TF 2.21, Keras 3): it is checked in benchmarks/mcu_memory.py.

Flash (``flash_bytes``): what the int8 export stores per weight tensor: int8 weights, an int32 bias per
output channel, and for both a float32 scale and an int64 zero point per output channel (per-channel
quantisation, TFLite's schema). An unrolled GRU stores its recurrent kernel twice (once for a single
step) and a bias for each of
its two fully connected ops at every time step (2 x steps x 3u int32 values per direction): a GRU's
flash grows with the sequence length. The file adds the flatbuffer's own structure (op codes, tensor shapes,
names and the per-tensor quantisation of every activation); benchmarks/mcu_memory.py reports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rena_lib.arch.graph import Graph, Op, lower, reaching_output
from rena_lib.arch.spec import Spec

__all__ = [
    "BYTES_PER_VALUE",
    "PRECISIONS",
    "FlashBreakdown",
    "NoInt8ExportError",
    "RamPeak",
    "check_precision",
    "flash_bytes",
    "gru_recurrence_peak",
    "peak_ram",
    "tflite_flash",
    "tflite_ram",
]

#: activation precisions and their bytes per value
BYTES_PER_VALUE: dict[str, int] = {"float32": 4, "int8": 1}
PRECISIONS = tuple(BYTES_PER_VALUE)

#: activations the int8 export runs as int8 (fused into their producer or as an int8 kernel)
_INT8_ACTIVATIONS = {None, "linear", "relu", "swish", "selu"}
#: op kinds that become no tensor of their own when they are the only reader of a convolution's output
_FOLDABLE = {"batchnorm"}
_FUSABLE_ACT = {"relu"}
_PRODUCERS = {"conv2d", "depthwise_conv2d", "dense", "add"}
#: values of a GRU's first step the export computes before its time-major copy, in units of u: the zero
#: state (u) and the three slices of its recurrent projection (3u)
GRU_HOISTED_UNITS = 4


def check_precision(precision: Any) -> str:
    """The precision if it is "float32" or "int8"; ValueError naming the field otherwise."""
    if precision not in BYTES_PER_VALUE:
        raise ValueError(f"precision={precision!r}: RAM is counted for activations in one of {PRECISIONS}")
    return precision


@dataclass(frozen=True)
class RamPeak:
    """Peak RAM of a schedule: the peak, the op where it occurs, the tensors live there and the timeline."""

    precision: str
    peak_bytes: int
    op: str  # name of the op at the peak (the first one if several tie)
    kind: str  # its kind (analytic op kind, or TFLite builtin operator)
    layer: int  # its 1-based spec layer (0: input, head; -1: a TFLite op)
    live: tuple[str, ...]  # tensors live at the peak
    schedule: tuple[tuple[str, str, int], ...]  # (op, kind, live bytes) for every scheduled op, in order
    extra: tuple[tuple[str, int], ...] = ()  # other figures (e.g. TFLite shape tensors), as (name, bytes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the schedule as lists)."""
        return {
            "precision": self.precision,
            "peak_bytes": self.peak_bytes,
            "op": self.op,
            "kind": self.kind,
            "layer": self.layer,
            "live": list(self.live),
            "schedule": [list(s) for s in self.schedule],
            **dict(self.extra),
        }


def _graph(x: Spec | Graph) -> Graph:
    if isinstance(x, Spec):
        return lower(x)
    if isinstance(x, Graph):
        return x
    raise ValueError(f"expected a Spec or an arch Graph, got {type(x).__name__}")


def _reaching(graph: Graph) -> list[Op]:
    live = reaching_output(graph)
    return [o for o in graph.ops if o.name in live]


def _where(op: Op) -> str:
    return f"layer {op.layer} ({op.kind}, op {op.name})" if op.layer else f"op {op.name} ({op.kind})"


class NoInt8ExportError(ValueError):
    """The spec has a layer that the int8 TFLite export cannot run in int8."""


def _check_int8(op: Op) -> None:
    act = op.config.get("activation")
    if op.kind == "activation" and act not in _INT8_ACTIVATIONS:
        raise NoInt8ExportError(
            f"{_where(op)}: activation {act!r} cannot be exported to int8: the converter keeps it in float "
            "(DEQUANTIZE, float kernel, QUANTIZE), so int8 RAM and flash are not defined for this spec"
        )


def _buffers(ops: list[Op]) -> dict[str, str]:
    """op name -> the buffer (op name) its output lives in: itself, or the producer it aliases."""
    readers: dict[str, list[str]] = {}
    for o in ops:
        for i in o.inputs:
            readers.setdefault(i, []).append(o.name)
    kind = {o.name: o.kind for o in ops}
    buf: dict[str, str] = {}
    for o in ops:
        src = o.inputs[0] if o.inputs else None
        alias = o.kind == "dropout"
        if src is not None and readers.get(src) == [o.name]:
            root = kind[buf[src]]
            folds = o.kind in _FOLDABLE and root in ("conv2d", "depthwise_conv2d")
            fuses = (
                o.kind == "activation" and o.config.get("activation") in _FUSABLE_ACT and root in _PRODUCERS
            )
            alias = alias or folds or fuses
        buf[o.name] = buf[src] if alias else o.name
    return buf


def _gru_step_keys(steps: int) -> list[str]:
    """The name the unrolled export gives each time step's cell: gru_cell_1, gru_cell_3, ... (+ "/")."""
    return [f"gru_cell_{2 * t + 1}/" for t in range(steps)]


def gru_recurrence_peak(steps: int, n: int, units: int, *, bidirectional: bool = False) -> int:
    """Values live at once inside an unrolled GRU's recurrence (input and output buffers outside it excluded).

    The converter orders the unrolled graph's independent ops by name: just before step t computes its
    own input projection (FULLY_CONNECTED, 3u, and its SPLIT into three u slices), it computes the
    projections of every later step whose cell name sorts before step t's (gru_cell_11 .. gru_cell_29
    before gru_cell_3), and they stay live until their steps read them. At that SPLIT the live values are:
    the step's recurrent projection sliced in three (3u), its own projection and its three slices (6u),
    the hoisted projections of later steps (3u each), the step slices of the input not yet projected (n
    each), and the step outputs so far (u each; all stay live until the sequence is packed). A
    bidirectional GRU runs one direction after the other: during the first, every input step slice stays
    live (the second reads them too), and so does the zero state (u); during the second, the first
    direction's output sequence (steps x u).
    """
    keys = _gru_step_keys(steps)
    u, best = units, 0
    for second in (False, True) if bidirectional else (False,):
        top = ""
        for t, key in enumerate(keys):
            if key <= top:  # its projection was hoisted into an earlier step's run
                continue
            top = key
            computed = sum(k <= top for k in keys)
            pending = computed - (t + 1)  # hoisted projections of later steps
            slices = steps if bidirectional and not second else steps - computed
            live = 9 * u + 3 * u * pending + n * slices + u * t
            if bidirectional:
                live += steps * u if second else u
            elif t == 0:
                live += u  # the zero state, read by the first step's gates
            best = max(best, live)
    return best


def _gru_peak(o: Op, k: int, live: list[str], size: dict[str, int], first: dict[str, int],
              last: dict[str, int], buf: dict[str, str], width: int) -> int:  # fmt: skip
    """Live bytes of a GRU in the unrolled export: its two ends and its recurrence (module docstring)."""
    src, out = buf[o.inputs[0]], o.name
    others = sum(size[b] for b in live if b not in (src, out))
    copies = 3 if last[src] > k else 2  # input (if still read later), time-major copy, its step slices
    entry = others + copies * size[src] + GRU_HOISTED_UNITS * o.config["units"] * width
    leaving = sum(size[b] for b in live if b != src or last[src] > k) + size[out]  # + the packed steps
    steps, n = o.in_shapes[0]
    inside = gru_recurrence_peak(
        steps, n, o.config["units"], bidirectional=bool(o.config.get("bidirectional"))
    )
    recurrence = others + (size[src] if last[src] > k else 0) + inside * width
    return max(entry, leaving, recurrence)


def peak_ram(x: Spec | Graph, precision: str = "int8") -> RamPeak:
    """Peak activation RAM of a spec's sequential schedule, for float32 or int8 activations."""
    check_precision(precision)
    graph = _graph(x)
    ops = _reaching(graph)
    if precision == "int8":
        for o in ops:
            _check_int8(o)
    width = BYTES_PER_VALUE[precision]
    buf = _buffers(ops)
    size = {o.name: math.prod(o.out_shape) * width for o in ops if buf[o.name] == o.name}
    steps: list[tuple[str, str, Op, list[str]]] = []  # (buffer written, kind, op, buffers read)
    for o in ops:
        if o.kind == "input" or buf[o.name] != o.name:
            continue
        reads = [buf[i] for i in o.inputs]
        for suffix, kind, values in _atrous(o):
            name = f"{o.name}:{suffix}" if suffix else o.name
            size[name] = values * width
            steps.append((name, kind, o, reads))
            reads = [name]
        if not _atrous(o):
            steps.append((o.name, o.kind, o, reads))
    first = {b: 0 for b in size}
    first.update({name: k for k, (name, _, _, _) in enumerate(steps)})
    last = dict(first)
    for k, (_, _, _, reads) in enumerate(steps):
        for r in reads:
            last[r] = max(last[r], k)
    last[buf[ops[-1].name]] = len(steps) - 1
    rows, best = [], None
    for k, (name, kind, o, _) in enumerate(steps):
        live = [b for b in size if first[b] <= k <= last[b]]
        total = sum(size[b] for b in live)
        if kind == "gru":
            total = _gru_peak(o, k, live, size, first, last, buf, width)
        rows.append((name, kind, total))
        if best is None or total > best[0]:
            best = (total, (name, kind, o), tuple(live))
    if best is None:
        raise ValueError("the graph has no ops to schedule")
    total, (name, kind, op), live = best
    return RamPeak(precision, total, name, kind, op.layer, live, tuple(rows))


def _atrous(o: Op) -> list[tuple[str, str, int]]:
    """A dilated convolution as the export runs it: (suffix, kind, output values) of its four ops; [] if
    the op is not one.

    TensorFlow lowers a dilated 'same' convolution to SPACE_TO_BATCH_ND (the input padded by the dilated
    kernel's reach, rounded up to a multiple of the rate), a 'valid' CONV_2D on the rate x rate
    sub-grids, BATCH_TO_SPACE_ND (cropped back to the output) and an ADD of the bias; the converter keeps
    all four.
    """
    rate = max(o.config.get("dilation", (1, 1))) if o.kind == "conv2d" else 1
    if rate == 1:
        return []
    (t, f, cin), cout, kernel = o.in_shapes[0], o.out_shape[-1], o.config["kernel"]
    padded, sub = [], []
    for size, k in zip((t, f), kernel, strict=True):
        full = size + (k - 1) * rate
        full += (-full) % rate
        padded.append(full)
        sub.append(full // rate - k + 1)
    return [
        ("space_to_batch", "space_to_batch", padded[0] * padded[1] * cin),
        ("conv", "conv2d", rate * rate * sub[0] * sub[1] * cout),
        ("batch_to_space", "batch_to_space", math.prod(o.out_shape)),
        ("", "add", math.prod(o.out_shape)),
    ]


# --------------------------------------------------------------------------------------------------
# flash
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlashBreakdown:
    """Flash of the int8 model's weights: int8 weights, int32 biases, per-channel scales and zero points."""

    weights: int  # int8 weight values (1 byte each)
    biases: int  # int32 bias values (4 bytes each)
    channels: int  # quantised channels of weight and bias tensors: a float32 scale + an int64 zero point each
    by_op: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        """Bytes: weights + 4 x biases + 12 x quantised channels."""
        return self.weights + 4 * self.biases + 12 * self.channels


def _weights(o: Op) -> tuple[int, int, int]:
    """(int8 weight values, int32 bias values, quantised channels) one op stores in the int8 export."""
    c, ins = o.config, o.in_shapes
    if o.kind == "conv2d":
        cin, cout = ins[0][-1] // c.get("groups", 1), c["filters"]
        if _atrous(o):  # the bias is also an int8 tensor (per-tensor scale) of the separate ADD
            return math.prod(c["kernel"]) * cin * cout + cout, cout, 2 * cout + 1
        return math.prod(c["kernel"]) * cin * cout, cout, 2 * cout
    if o.kind == "depthwise_conv2d":
        ch = o.out_shape[-1]
        return math.prod(c["kernel"]) * ch, ch, 2 * ch
    if o.kind == "dense":
        return ins[0][-1] * c["units"], c["units"], 2 * c["units"]
    if o.kind == "gru":
        # the unrolled export, per direction: the input kernel (3u x n) once, the recurrent kernel (3u x u)
        # twice when there is more than one step (the first step's product of the zero state has its own
        # copy), and a 3u bias for each of the two fully connected ops of every step (each step's input
        # has its own scale, so its bias does too)
        steps, n = ins[0]
        u, dirs = c["units"], 2 if c.get("bidirectional") else 1
        recurrent = 2 if steps > 1 else 1
        weights = 3 * u * n + recurrent * 3 * u * u
        biases = 2 * steps * 3 * u
        return dirs * weights, dirs * biases, dirs * (3 * u + recurrent * 3 * u + biases)
    return 0, 0, 0


def flash_bytes(x: Spec | Graph) -> FlashBreakdown:
    """Flash of a spec's int8 export: weights, biases and per-channel quantisation of every weighted op."""
    ops = _reaching(_graph(x))
    for o in ops:
        _check_int8(o)
    w = b = ch = 0
    rows = []
    for o in ops:
        ow, ob, oc = _weights(o)
        if ow:
            w, b, ch = w + ow, b + ob, ch + oc
            rows.append((o.name, ow + 4 * ob + 12 * oc))
    return FlashBreakdown(w, b, ch, tuple(rows))


# --------------------------------------------------------------------------------------------------
# the exported model's own tensors and operator order (the flatbuffer)
# --------------------------------------------------------------------------------------------------
_TYPE_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8}  # TensorType -> bytes per value
_SHAPE_TYPES = {2, 4, 6}  # INT32, INT64, BOOL: shape arithmetic, not activations


def _fb_model(content: bytes):
    from tensorflow.lite.python import schema_py_generated as fb

    return fb, fb.ModelT.InitFromPackedBuf(bytearray(content), 0)


def _op_names(fb, model) -> list[str]:
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for code in model.operatorCodes:
        c = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        out.append(names.get(c, str(c)))
    return out


def _nbytes(t) -> int:
    shape = [] if t.shape is None else [int(d) for d in t.shape]
    return math.prod(shape) * _TYPE_BYTES.get(int(t.type), 4)


def _is_const(model, t) -> bool:
    buf = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
    return buf is not None and ((buf.data is not None and len(buf.data) > 0) or getattr(buf, "size", 0) > 0)


def _allocated(content: bytes):
    """A TFLite interpreter without delegates (XNNPACK rejects some models), allocated and invoked once."""
    import numpy as np

    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:  # the optional [tflite] extra is not installed
        import tensorflow as tf

        Interpreter, OpResolverType = tf.lite.Interpreter, tf.lite.experimental.OpResolverType
    interp = Interpreter(
        model_content=bytes(content),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interp.allocate_tensors()
    for d in interp.get_input_details():  # tensors after a runtime-shaped RESHAPE get their size on invoke
        interp.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    interp.invoke()
    return interp


def tflite_ram(content: bytes, *, int8_io: bool = True) -> RamPeak:
    """Peak activation RAM of a .tflite model's own tensors in its own operator order (lifetime analysis).

    Tensors and operator order come from the flatbuffer, sizes from the interpreter's allocation.

    Every non-constant tensor lives from the op that writes it (graph inputs: the first op) to the last
    op that reads it (graph outputs: the last op). int8_io drops a leading QUANTIZE of a float input and a
    trailing DEQUANTIZE to a float output (the int8 tensors become the model's input and output). int32,
    int64 and bool tensors (shape arithmetic) are left out and their peak reported as "shape_bytes".
    """
    fb, model = _fb_model(content)
    sg = model.subgraphs[0]
    names = _op_names(fb, model)
    tensors = sg.tensors
    # sizes as run for a batch of 1: the flatbuffer's static shapes say batch 1 even where an op multiplies
    # it (SPACE_TO_BATCH_ND: rate x rate); the interpreter's tensors after one invoke do not
    shapes = {d["index"]: tuple(int(v) for v in d["shape"]) for d in _allocated(content).get_tensor_details()}

    def nbytes(t: int) -> int:
        return math.prod(shapes[t]) * _TYPE_BYTES.get(int(tensors[t].type), 4)

    ops = [(names[op.opcodeIndex], [i for i in op.inputs if i >= 0], list(op.outputs)) for op in sg.operators]
    graph_in, graph_out = list(sg.inputs), list(sg.outputs)
    if int8_io:
        if ops and ops[0][0] == "QUANTIZE" and ops[0][1] and ops[0][1][0] in graph_in:
            graph_in = [ops[0][2][0] if i == ops[0][1][0] else i for i in graph_in]
            ops = ops[1:]
        if ops and ops[-1][0] == "DEQUANTIZE" and ops[-1][2][0] in graph_out:
            graph_out = [ops[-1][1][0] if o == ops[-1][2][0] else o for o in graph_out]
            ops = ops[:-1]
    first = {t: 0 for t in graph_in}
    last = dict(first)
    for k, (_, ins, outs) in enumerate(ops):
        for t in outs:
            first.setdefault(t, k)
            last.setdefault(t, k)
        for t in ins:
            if t in first:
                last[t] = max(last[t], k)
    for t in graph_out:
        last[t] = len(ops) - 1
    act = [t for t in first if int(tensors[t].type) not in _SHAPE_TYPES and not _is_const(model, tensors[t])]
    shape = [t for t in first if int(tensors[t].type) in _SHAPE_TYPES and not _is_const(model, tensors[t])]
    precision = "int8" if any(int(tensors[t].type) == 9 for t in act) else "float32"
    rows, best, shape_peak = [], None, 0
    for k, (name, _, _) in enumerate(ops):
        live = [t for t in act if first[t] <= k <= last[t]]
        total = sum(nbytes(t) for t in live)
        shape_peak = max(shape_peak, sum(nbytes(t) for t in shape if first[t] <= k <= last[t]))
        rows.append((f"{k}", name, total))
        if best is None or total > best[0]:
            best = (total, k, name, live)
    if best is None:
        raise ValueError("the TFLite model has no operators")
    total, k, name, live = best
    live_names = tuple(_tensor_name(tensors[t]) for t in live)
    return RamPeak(
        precision, total, f"{k}", name, -1, live_names, tuple(rows),
        (("shape_bytes", shape_peak), ("num_ops", len(ops))),
    )  # fmt: skip


def _tensor_name(t) -> str:
    n = t.name
    return n.decode() if isinstance(n, bytes) else str(n)


def tflite_flash(content: bytes) -> dict[str, int]:
    """Bytes of a .tflite file: the file, its constant tensors' data and their quantisation parameters."""
    _, model = _fb_model(content)
    data = quant = small = 0
    for sg in model.subgraphs:
        for t in sg.tensors:
            if not _is_const(model, t):
                continue
            q = t.quantization
            scales = [] if q is None or q.scale is None else list(q.scale)
            zps = [] if q is None or q.zeroPoint is None else list(q.zeroPoint)
            values = math.prod(int(d) for d in (t.shape if t.shape is not None else []))
            if scales and (values > 1 or int(t.type) == 2):  # a quantised weight or (int32) bias tensor
                data += _nbytes(t)
                quant += 4 * len(scales) + 8 * len(zps)
            else:  # shape, axis, slice bounds, scalar constants (not weights)
                small += _nbytes(t) + 4 * len(scales) + 8 * len(zps)
    return {
        "file_bytes": len(content),
        "weight_bytes": data,
        "quant_bytes": quant,
        "other_const_bytes": small,
    }


# --------------------------------------------------------------------------------------------------
# the check: analytic numbers beside the exported model's
# --------------------------------------------------------------------------------------------------
def has_skip(spec: Spec) -> bool:
    """True when a layer that reaches the output reads something other than the layer before it."""
    from rena_lib.arch.graph import live_layers, reads

    return any(reads(spec, spec.layers[i - 1]) != [i - 1] for i in live_layers(spec))


def skip_specs(
    n: int, seed: int = 0, *, space: str = "kws_layer", max_gru_layers: int = 2, relu_only: bool = True
) -> list[Spec]:
    """n random specs of a search space that have a skip connection (has_skip), sampled with a seed.

    max_gru_layers caps the GRU layers of a spec (the unrolled export of each takes seconds to convert);
    relu_only (CIFAR) keeps to the activation the analytic model fuses as the converter does.
    """
    import numpy as np

    from rena_lib import spaces

    sp = spaces.get(space)
    rng = np.random.default_rng(seed)
    out: list[Spec] = []
    while len(out) < n:
        spec = sp.sample(rng, n_layers=int(rng.integers(2, 7)))
        if relu_only and space != "kws_layer":
            spec = Spec(spec.task, [_relu(layer) for layer in spec.layers], spec.granularity, spec.stack)
        grus = sum(layer.get("num_layers", 1) for layer in spec.layers if layer.type == "gru")
        if has_skip(spec) and grus <= max_gru_layers:
            out.append(spec)
    return out


def _relu(layer):
    return layer.replace(activation="relu") if "activation" in layer.features else layer


def randomize_weights(model: Any, seed: int = 0, scale: float = 0.1) -> Any:
    """Set every weight of a Keras model to N(0, scale), batch-norm variances to 1 + |N(0, scale)|.

    A trained model has non-zero biases; the converter drops all-zero dense biases, which would change
    the flash count of an untrained one.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    for w in model.weights:
        value = rng.normal(scale=scale, size=tuple(w.shape))
        if "variance" in w.path:  # a batch norm's moving variance must stay positive
            value = 1.0 + np.abs(value)
        w.assign(value.astype(np.float32))
    return model


def compare_with_export(spec: Spec, *, seed: int = 0, float32: bool = True, calibration: int = 8) -> dict:
    """Export a spec (random weights) to int8 (and float) TFLite and put the analytic numbers beside it."""
    import numpy as np

    from rena_lib.arch.builder import build
    from rena_lib.arch.notation import to_paper_notation
    from rena_lib.tflite import to_tflite

    graph = lower(spec)
    model = randomize_weights(build(graph, inference=True), seed)  # what export_child converts: BN folded
    rng = np.random.default_rng(seed)
    sample = rng.normal(size=(calibration, *graph.input_shape)).astype(np.float32)
    content = to_tflite(model, "int8", sample)
    ram, ram_io = tflite_ram(content), tflite_ram(content, int8_io=False)
    analytic = peak_ram(graph, "int8")
    flash, stored = flash_bytes(graph), tflite_flash(content)
    row = {
        "notation": to_paper_notation(spec),
        "task": spec.task,
        "gru": any(o.kind == "gru" for o in graph.ops),
        "ram_int8_analytic": analytic.peak_bytes,
        "ram_int8_analytic_op": analytic.op,
        "ram_int8_tflite": ram.peak_bytes,
        "ram_int8_tflite_op": f"{ram.op}:{ram.kind}",
        "ram_int8_tflite_float_io": ram_io.peak_bytes,
        "shape_tensor_bytes": dict(ram.extra)["shape_bytes"],
        "tflite_ops": dict(ram.extra)["num_ops"],
        "flash_analytic": flash.total,
        "flash_tflite_weights": stored["weight_bytes"] + stored["quant_bytes"],
        "flash_tflite_other_consts": stored["other_const_bytes"],
        "file_bytes": stored["file_bytes"],
    }
    if float32:
        fram = tflite_ram(to_tflite(model, "float"))
        row["ram_float32_analytic"] = peak_ram(graph, "float32").peak_bytes
        row["ram_float32_tflite"] = fram.peak_bytes
    return row
