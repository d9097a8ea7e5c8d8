"""The paper's architecture notation (Table 2) <-> specs.

KWS (Table 2): ``Conv2d (layers,channels,kernel_t,kernel_f,stride_t,stride_f)``, ``DS-Conv2d (...)`` alike,
``Dilated-Conv2d (layers,channels,kernel_t,kernel_f,dilation)``, ``GRU (layers,units,directions)``,
``FC (layers,units)``, ``AvgPool2d (pool_t,pool_f)`` and ``AvgPool2d`` (global average).
CIFAR layer search: ``Conv2d (width,channels,activation)``, ``DS-Conv2d (width,channels,activation)``,
``MaxPool2d (width)``, ``Add (src1,src2,add|concat)``. Module search: one
``Branch (type,filter_width,pool_width,channels,src1,src2,propagate)`` per branch.
Extensions beyond the paper, written only when they differ from the default: ``keep=p`` inside the
brackets (dropout keep probability) and ``@k`` after a layer whose Src1 is not the previous layer.
"""

from __future__ import annotations

import re
from typing import Any

import rena_lib.arch.spec as spec_module
from rena_lib.arch.spec import TASKS, Layer, Spec

__all__ = ["from_paper_notation", "to_paper_notation"]

_TOKEN = re.compile(r"\s*([A-Za-z][A-Za-z0-9\-]*)\s*(?:\(([^()]*)\))?\s*(?:@\s*(\d+))?\s*")

_KWS_FIELDS = {
    "conv2d": ("num_layers", "channels", "kernel_t", "kernel_f", "stride_t", "stride_f"),
    "ds_conv2d": ("num_layers", "channels", "kernel_t", "kernel_f", "stride_t", "stride_f"),
    "dilated_conv2d": ("num_layers", "channels", "kernel_t", "kernel_f", "stride_f"),
    "gru": ("num_layers", "channels", "directions"),
    "fc": ("num_layers", "channels"),
    "avgpool2d": ("kernel_t", "kernel_f"),
    "global_avgpool2d": (),
}
_CIFAR_FIELDS = {
    "conv2d": ("filter_width", "channels", "activation"),
    "ds_conv2d": ("filter_width", "channels", "activation"),
    "maxpool2d": ("pool_width",),
    "add": ("src1", "src2", "merge"),
}
_MODULE_FIELDS = ("filter_width", "pool_width", "channels", "src1", "src2", "propagate")
_NAMES = {
    "conv2d": "Conv2d",
    "ds_conv2d": "DS-Conv2d",
    "dilated_conv2d": "Dilated-Conv2d",
    "gru": "GRU",
    "fc": "FC",
    "avgpool2d": "AvgPool2d",
    "global_avgpool2d": "AvgPool2d",
    "maxpool2d": "MaxPool2d",
    "add": "Add",
}
_ALIASES = {
    "conv2d": "conv2d",
    "ds-conv2d": "ds_conv2d",
    "dep-sep-conv2d": "ds_conv2d",
    "dilated-conv2d": "dilated_conv2d",
    "gru": "gru",
    "fc": "fc",
    "avgpool2d": "avgpool2d",
    "maxpool2d": "maxpool2d",
    "add": "add",
    "branch": "branch",
}
_HAS_KEEP = ("conv2d", "ds_conv2d", "dilated_conv2d", "gru", "fc")


def _value(text: str) -> Any:
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d*\.\d+", text):
        return float(text)
    return text


def from_paper_notation(text: str, task: str, granularity: str = "layer", stack: dict | None = None) -> Spec:
    """Parse the paper's notation (e.g. ``"GRU (2,64,1) FC (1,32)"``) into a validated spec of the task."""
    from rena_lib.arch.graph import validate
    from rena_lib.arch.schema import DEFAULT_MODULE_STACK

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {tuple(TASKS)}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty architecture notation")
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"malformed notation at character {pos}: {text[pos : pos + 20]!r}")
        tokens.append(m.groups())
        pos = m.end()
    layers: list[Layer] = []
    for index, (name, args, at) in enumerate(tokens, start=1):
        kind = _ALIASES.get(name.lower())
        if kind is None:
            raise ValueError(f"layer {index}: unknown layer name {name!r} in notation")
        values = [_value(a) for a in args.split(",")] if args and args.strip() else []
        keep = 1.0
        if values and isinstance(values[-1], str) and values[-1].startswith("keep="):
            text_keep = values.pop()
            try:
                keep = float(text_keep[5:])
            except ValueError:
                raise ValueError(
                    f"layer {index} ({name} ({args})): {text_keep!r} is not a keep probability; "
                    "write keep=<number in (0, 1]>, e.g. keep=0.8"
                ) from None
        if granularity == "module":
            layer = _module_layer(index, kind, name, values)
        elif task == "kws":
            layer = _kws_layer(index, kind, name, values, keep)
        else:
            layer = _cifar_layer(index, kind, name, values)
        if "src1" not in layer.features:
            raise ValueError(f"layer {index} ({name}): internal error, no src1")
        if at is not None:
            layer.features["src1"] = int(at)
        layers.append(layer)
    st = {**DEFAULT_MODULE_STACK, **(stack or {})} if granularity == "module" else None
    spec = Spec(task, layers, granularity, st)
    validate(spec)
    return spec


def _expect(index: int, name: str, fields: tuple[str, ...], values: list[Any]) -> dict[str, Any]:
    if len(values) != len(fields):
        raise ValueError(
            f"layer {index} ({name}): expected {len(fields)} values ({', '.join(fields)}), got {len(values)}"
        )
    return dict(zip(fields, values, strict=True))


def _kws_layer(index: int, kind: str, name: str, values: list[Any], keep: float) -> Layer:
    if kind == "avgpool2d" and not values:
        kind = "global_avgpool2d"
    if kind not in _KWS_FIELDS:
        raise ValueError(f"layer {index}: {name!r} is not a keyword-spotting layer")
    feats = _expect(index, name, _KWS_FIELDS[kind], values)
    if kind in _HAS_KEEP:
        feats["keep_prob"] = keep
    feats["src1"] = index - 1
    return Layer(kind, feats)


def _cifar_layer(index: int, kind: str, name: str, values: list[Any]) -> Layer:
    if kind not in _CIFAR_FIELDS:
        raise ValueError(f"layer {index}: {name!r} is not a CIFAR layer-search layer")
    feats = _expect(index, name, _CIFAR_FIELDS[kind], values)
    if kind != "add":
        feats["src1"] = index - 1
    return Layer(kind, feats)


def _module_layer(index: int, kind: str, name: str, values: list[Any]) -> Layer:
    if kind != "branch" or not values:
        raise ValueError(f"layer {index}: module search notation is 'Branch (type,...)', got {name!r}")
    btype = values[0]
    return Layer(str(btype), _expect(index, name, _MODULE_FIELDS, values[1:]))


def to_paper_notation(spec: Spec) -> str:
    """The spec in the paper's notation (inverse of from_paper_notation)."""
    parts = []
    for i, layer in enumerate(spec.layers, start=1):
        f = layer.features
        if spec.granularity == "module":
            vals = [layer.type, *(f[k] for k in _MODULE_FIELDS)]
            parts.append(f"Branch ({','.join(str(v) for v in vals)})")
            continue
        fields = (_KWS_FIELDS if spec.task == "kws" else _CIFAR_FIELDS).get(layer.type, ())
        vals = [str(f[k]) for k in fields if k in f]
        if f.get("keep_prob", 1.0) != 1.0:
            vals.append(f"keep={f['keep_prob']}")
        text = _NAMES.get(layer.type, layer.type) + (f" ({','.join(vals)})" if vals else "")
        if layer.type != "add" and "src1" in f and f["src1"] != i - 1:
            text += f"@{f['src1']}"
        parts.append(text)
    return " ".join(parts)


spec_module._FORMATTER = to_paper_notation  # str(spec) prints the paper's notation
