"""The paper's architecture notation (Table 2) <-> specs.

KWS (Table 2): ``Conv2d (layers,channels,kernel_t,kernel_f,stride_t,stride_f)``, ``DS-Conv2d (...)`` alike,
``Dilated-Conv2d (layers,channels,kernel_t,kernel_f,dilation)``, ``GRU (layers,units,directions)``,
``FC (layers,units)``, ``AvgPool2d (pool_t,pool_f)`` and ``AvgPool2d`` (global average).
CIFAR layer search: ``Conv2d (width,channels,activation)``, ``DS-Conv2d (width,channels,activation)``,
``MaxPool2d (width)``, ``Add (src1,src2,add|concat)``. Module search: one
``Branch (type,filter_width,pool_width,channels,src1,src2,propagate)`` per branch.
Extensions beyond the paper, written only when they differ from the default: ``keep=p`` inside the
brackets (dropout keep probability) and ``@k`` after a layer whose Src1 is not the previous layer.
Every layer type's name and bracketed fields come from its registry entry (LayerType.notation,
notation_fields, aliases); a name written by several types of a family (AvgPool2d) is the one whose
field count matches the values.
"""

from __future__ import annotations

import re
from typing import Any

import rena_lib.arch.registry as registry
import rena_lib.arch.spec as spec_module
from rena_lib.arch.spec import Layer, Spec

__all__ = ["from_paper_notation", "to_paper_notation"]

_TOKEN = re.compile(r"\s*([A-Za-z][A-Za-z0-9\-]*)\s*(?:\(([^()]*)\))?\s*(?:@\s*(\d+))?\s*")


def _names(family: str) -> dict[str, list[registry.LayerType]]:
    """Lower-cased notation name (or alias) -> the family's layer types written so, in registration order."""
    out: dict[str, list[registry.LayerType]] = {}
    for e in registry.family_types(family).values():
        for n in (e.paper_name, *e.aliases):
            out.setdefault(n.lower(), []).append(e)
    return out


def _all_families() -> list[str]:
    return [g.family for t in registry.task_names() for g in registry.get_task(t).granularities.values()]


def _value(text: str) -> Any:
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d*\.\d+", text):
        return float(text)
    return text


def from_paper_notation(text: str, task: str, granularity: str = "layer", stack: dict | None = None) -> Spec:
    """Parse the paper's notation (e.g. ``"GRU (2,64,1) FC (1,32)"``) into a validated spec of the task."""
    from rena_lib.arch.graph import granularity_of, validate

    gran = granularity_of(Spec(task, [], granularity))
    names = _names(gran.family)
    known = {n for fam in _all_families() for n in _names(fam)} | {"branch"}
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
        if name.lower() not in known:
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
        if gran.notation == "branches":
            layer = _branch_layer(index, name, values, gran.family)
        else:
            layer = _layer(index, name, values, keep, names.get(name.lower()), gran.title)
        if "src1" not in layer.features:
            raise ValueError(f"layer {index} ({name}): internal error, no src1")
        if at is not None:
            layer.features["src1"] = int(at)
        layers.append(layer)
    st = {**gran.default_stack, **(stack or {})} if gran.default_stack is not None else None
    spec = Spec(task, layers, granularity, st)
    validate(spec)
    return spec


def _expect(index: int, name: str, fields: tuple[str, ...], values: list[Any]) -> dict[str, Any]:
    if len(values) != len(fields):
        raise ValueError(
            f"layer {index} ({name}): expected {len(fields)} values ({', '.join(fields)}), got {len(values)}"
        )
    return dict(zip(fields, values, strict=True))


def _layer(
    index: int,
    name: str,
    values: list[Any],
    keep: float,
    entries: list[registry.LayerType] | None,
    title: str,
) -> Layer:
    """A layer from its notation: the type written so whose bracketed fields match the values."""
    if not entries:
        raise ValueError(f"layer {index}: {name!r} is not a {title} layer")
    entry = next((e for e in entries if len(e.written_fields) == len(values)), entries[0])
    feats = _expect(index, name, entry.written_fields, values)
    if "keep_prob" in entry.fields and "keep_prob" not in entry.written_fields:
        feats["keep_prob"] = keep
    for src in registry.SOURCE_FIELDS:
        if src in entry.fields and src not in entry.written_fields:
            feats[src] = index - 1
    return Layer(entry.name, feats)


def _branch_layer(index: int, name: str, values: list[Any], family: str) -> Layer:
    if name.lower() != "branch" or not values:
        raise ValueError(f"layer {index}: module search notation is 'Branch (type,...)', got {name!r}")
    btype = str(values[0])
    types = registry.family_types(family)
    entry = types.get(btype) or next(iter(types.values()))
    return Layer(btype, _expect(index, name, entry.written_fields, values[1:]))


def to_paper_notation(spec: Spec) -> str:
    """The spec in the paper's notation (inverse of from_paper_notation)."""
    task = registry.get_task(spec.task) if spec.task in registry.TASKS else None
    gran = task.granularities.get(spec.granularity) if task is not None else None
    family = gran.family if gran is not None else ""
    parts = []
    for i, layer in enumerate(spec.layers, start=1):
        f = layer.features
        entry = registry.layer_type(family, layer.type)
        if gran is not None and gran.notation == "branches":
            entry = entry or next(iter(registry.family_types(family).values()))
            fields = entry.written_fields
            vals = [layer.type, *(f[k] for k in fields)]
            parts.append(f"Branch ({','.join(str(v) for v in vals)})")
            continue
        fields = entry.written_fields if entry is not None else ()
        vals = [str(f[k]) for k in fields if k in f]
        if f.get("keep_prob", 1.0) != 1.0:
            vals.append(f"keep={f['keep_prob']}")
        text = (entry.paper_name if entry is not None else layer.type) + (
            f" ({','.join(vals)})" if vals else ""
        )
        if (entry is None or "src1" not in entry.written_fields) and "src1" in f and f["src1"] != i - 1:
            text += f"@{f['src1']}"
        parts.append(text)
    return " ".join(parts)


spec_module._FORMATTER = to_paper_notation  # str(spec) prints the paper's notation
