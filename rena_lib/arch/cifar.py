"""The CIFAR-10 task: its layer-by-layer types (Table 3), its module-search branch types (Table 5) and
the stacking of the module."""

from __future__ import annotations

from typing import Any

import rena_lib.arch.registry as registry
from rena_lib.arch.graph import GraphBuilder, live_layers, lower_layers, module_outputs, one_of, positive_int
from rena_lib.arch.spec import Layer, Spec

__all__ = ["ACTIVATIONS", "BRANCH_OPS", "CIFAR10", "CIFAR_VALUES", "DEFAULT_MODULE_STACK", "MODULE_VALUES"]

ACTIVATIONS = ("relu", "crelu", "elu", "selu", "swish")

#: default stacking of the module (module search): stem conv, `stages` stages of `repeats` modules,
#: a 2x2 max-pool between stages, branch channels x `stage_multiplier`**stage, then GAP + Dense(10).
DEFAULT_MODULE_STACK = {"stem_channels": 32, "stages": 3, "repeats": 2, "stage_multiplier": 2}

#: Table 3 ("add" joins Src1 and Src2 by addition or concatenation)
CIFAR_VALUES: dict[str, tuple[Any, ...]] = {
    "filter_width": (3, 5, 7),
    "pool_width": (2, 3),
    "channels": (16, 32, 64, 96, 128, 256),
    "activation": ACTIVATIONS,
    "merge": ("add", "concat"),
}
#: Table 5
MODULE_VALUES: dict[str, tuple[Any, ...]] = {
    "filter_width": (3, 5, 7),
    "pool_width": (2, 3),
    "channels": (8, 12, 16, 24, 32),
    "propagate": (0, 1),
}
_CHECKS = {
    "filter_width": positive_int,
    "pool_width": positive_int,
    "channels": positive_int,
    "activation": one_of(ACTIVATIONS),
    "merge": one_of(("add", "concat"), "must be 'add' or 'concat'"),
    "propagate": one_of((0, 1), "must be 0 or 1"),
}

#: module search branch types (Table 5): op 1 reads Src1, op 2 (None: none) reads Src2
BRANCH_OPS: dict[str, tuple[str, str | None]] = {
    "conv-conv": ("conv", "conv"),
    "conv-maxpool": ("conv", "maxpool"),
    "conv-avgpool": ("conv", "avgpool"),
    "conv-none": ("conv", None),
    "maxpool-none": ("maxpool", None),
    "avgpool-none": ("avgpool", None),
    "1x7-7x1-none": ("1x7-7x1", None),
}
_BRANCH_WEIGHTS = {
    "conv-conv": 0.3,
    "conv-maxpool": 0.25,
    "conv-avgpool": 0.25,
    "conv-none": 0.2,
    "maxpool-none": 0.05,
    "avgpool-none": 0.05,
    "1x7-7x1-none": 0.25,
}


# ---- layer-by-layer search (Table 3) ------------------------------------------------------------------
def _conv2d(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    w = layer["filter_width"]
    return b.bn_act(b.conv(inputs[0], i, layer["channels"], (w, w), use_bias=False), i, layer["activation"])


def _ds_conv2d(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    w = layer["filter_width"]
    x = b.depthwise(inputs[0], i, (w, w), use_bias=False)
    x = b.conv(x, i, layer["channels"], (1, 1), use_bias=False)
    return b.bn_act(x, i, layer["activation"])


def _maxpool2d(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    w = layer["pool_width"]
    return b.pool("maxpool2d", inputs[0], i, (w, w), (2, 2), "same")


def _add(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    x1, x2 = b.reconcile(inputs[0], inputs[1], i, layer["merge"])
    s1, s2 = b.shapes[x1], b.shapes[x2]
    if layer["merge"] == "add":
        return b.add("add", [x1, x2], s1, i)
    return b.add("concat", [x1, x2], (*s1[:2], s1[2] + s2[2]), i, axis=-1)


def cifar_head(b: GraphBuilder, x: str) -> None:
    """Global average pooling + Dense(classes) logits."""
    x = b.add("global_avgpool2d", [x], (b.shapes[x][2],), 0, keepdims=False)
    b.add("dense", [x], (b.classes,), 0, units=b.classes, use_bias=True, activation=None)


def lower_cifar(spec: Spec, b: GraphBuilder) -> None:
    """The whole CIFAR layer-search network: the layers, then the head."""
    outs = lower_layers(spec, b)
    cifar_head(b, outs[live_layers(spec)[-1]])


# ---- module search (Table 5) --------------------------------------------------------------------------
def _branch_op(b: GraphBuilder, kind: str, x: str, i: int, f: dict[str, Any]) -> str:
    channels = f["channels"]
    if kind == "conv":
        w = f["filter_width"]
        return b.bn_act(b.conv(x, i, channels, (w, w), use_bias=False), i, "relu")
    if kind in ("maxpool", "avgpool"):
        w = f["pool_width"]
        return b.pool(f"{kind}2d", x, i, (w, w), (1, 1), "same")
    # "1x7-7x1": factorised 7x7 convolution
    x = b.bn_act(b.conv(x, i, channels, (1, 7), use_bias=False), i, "relu")
    return b.bn_act(b.conv(x, i, channels, (7, 1), use_bias=False), i, "relu")


def _branch(op1: str, op2: str | None) -> Any:
    def lower(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
        y = _branch_op(b, op1, inputs[0], i, layer.features)
        if op2 is None:
            return y
        z = _branch_op(b, op2, inputs[1], i, layer.features)
        sy, sz = b.shapes[y], b.shapes[z]
        return b.add("concat", [y, z], (*sy[:2], sy[2] + sz[2]), i, axis=-1)

    return lower


def lower_module(spec: Spec, b: GraphBuilder) -> None:
    """The module-search network: stem, stages of stacked modules (each projected), the head."""
    st = spec.stack
    x = b.bn_act(b.conv("input", 0, st["stem_channels"], (3, 3), use_bias=False), 0, "relu")
    out_branches = module_outputs(spec)
    for stage in range(st["stages"]):
        mult = st["stage_multiplier"] ** stage
        if stage > 0:
            x = b.pool("maxpool2d", x, 0, (2, 2), (2, 2), "same")
        for _ in range(st["repeats"]):
            outs = lower_layers(
                spec, b, {0: x}, lambda layer, m=mult: layer.replace(channels=layer["channels"] * m)
            )
            parts = [outs[i] for i in out_branches]
            if len(parts) > 1:
                s = b.shapes[parts[0]]
                parts = [b.add("concat", parts, (*s[:2], sum(b.shapes[p][2] for p in parts)), 0, axis=-1)]
            # project the module output to the stage width so that stacking does not grow the channels
            x = b.bn_act(b.conv(parts[0], 0, st["stem_channels"] * mult, (1, 1), use_bias=False), 0, "relu")
    cifar_head(b, x)


def _register() -> None:
    layer_types = {
        "conv2d": (("filter_width", "channels", "activation", "src1"), _conv2d, "Conv2d", 0.35, ()),
        "ds_conv2d": (("filter_width", "channels", "activation", "src1"), _ds_conv2d, "DS-Conv2d", 0.3,
                      ("Dep-Sep-Conv2d",)),
        "maxpool2d": (("pool_width", "src1"), _maxpool2d, "MaxPool2d", 0.1, ()),
    }  # fmt: skip
    for name, (fields, lower, notation, weight, aliases) in layer_types.items():
        registry.register_layer_type(
            registry.LayerType(
                name, "cifar", fields, lower, {k: CIFAR_VALUES[k] for k in fields if k in CIFAR_VALUES},
                notation=notation, aliases=aliases, checks={k: _CHECKS[k] for k in fields if k in _CHECKS},
                proxy_weight=weight,
            )
        )  # fmt: skip
    registry.register_layer_type(
        registry.LayerType(
            "add", "cifar", ("merge", "src1", "src2"), _add, {"merge": CIFAR_VALUES["merge"]},
            reads=("src1", "src2"), notation="Add", notation_fields=("src1", "src2", "merge"),
            checks={"merge": _CHECKS["merge"]}, proxy_weight=0.15,
        )
    )  # fmt: skip
    fields = ("filter_width", "pool_width", "channels", "propagate", "src1", "src2")
    for name, (op1, op2) in BRANCH_OPS.items():
        registry.register_layer_type(
            registry.LayerType(
                name, "cifar_module", fields, _branch(op1, op2), dict(MODULE_VALUES),
                reads=("src1",) if op2 is None else ("src1", "src2"), notation="Branch",
                notation_fields=("filter_width", "pool_width", "channels", "src1", "src2", "propagate"),
                checks={k: _CHECKS[k] for k in fields if k in _CHECKS}, proxy_weight=_BRANCH_WEIGHTS[name],
            )
        )  # fmt: skip


_register()

#: CIFAR-10: 32 x 32 RGB images, 10 classes; layer-by-layer and module search
CIFAR10 = registry.register_task(
    registry.Task(
        "cifar10",
        (32, 32, 3),
        10,
        {
            "layer": registry.Granularity(
                "cifar", lower_cifar, title="CIFAR layer-search", proxy={"p0": 60000.0, "ceiling": 0.96}
            ),
            "module": registry.Granularity(
                "cifar_module", lower_module, title="module-search",
                stack_fields=("stem_channels", "stages", "repeats", "stage_multiplier"),
                default_stack=DEFAULT_MODULE_STACK, notation="branches", proxy={"p0": 30000.0, "ceiling": 0.96},
            ),
        },
    )
)  # fmt: skip
