"""The keyword-spotting task and its layer types (Table 4, plus the global pooling of the notation)."""

from __future__ import annotations

from typing import Any

import rena_lib.arch.registry as registry
from rena_lib.arch.graph import GraphBuilder, keep_probability, live_layers, lower_layers, positive_int
from rena_lib.arch.spec import Layer, Spec

__all__ = ["KWS", "KWS_VALUES"]

#: Table 4. "Dropout rate" [0.8, 0.9, 1.0] is read as the keep probability (1.0 = no dropout). "Stride in
#: frequency (or dilation rate)": dilated-conv2d reads it as its dilation rate (time and frequency).
KWS_VALUES: dict[str, tuple[Any, ...]] = {
    "num_layers": (1, 2, 3, 4, 5),
    "kernel_t": (1, 4, 8, 16, 20),
    "kernel_f": (1, 2, 4, 8, 10),
    "channels": (4, 12, 16, 32, 64, 128, 192, 256),
    "stride_t": (1, 2, 4, 8, 10),
    "stride_f": (1, 2, 3, 4, 5),
    "directions": (1, 2),
    "keep_prob": (0.8, 0.9, 1.0),
}
_CHECKS = {k: positive_int for k in KWS_VALUES if k != "keep_prob"} | {"keep_prob": keep_probability}
_CONV = ("num_layers", "channels", "kernel_t", "kernel_f", "stride_t", "stride_f", "keep_prob", "src1")

# A KWS convolution as the inference graph has it (bias + ReLU: what metrics count), and how it trains:
# conv (no bias) -> BatchNormalization -> ReLU, with the BN folded back into the conv for inference.
_KWS_CONV = {"activation": "relu", "batchnorm": True}


def _conv2d(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    f, x = layer.features, b.as_map(inputs[0], i)
    for _ in range(f["num_layers"]):
        x = b.conv(
            x, i, f["channels"], (f["kernel_t"], f["kernel_f"]), (f["stride_t"], f["stride_f"]), **_KWS_CONV
        )
    return b.dropout(x, i, f["keep_prob"])


def _ds_conv2d(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    f, x = layer.features, b.as_map(inputs[0], i)
    for _ in range(f["num_layers"]):
        # TensorFlow's depthwise kernel takes equal strides only: unequal strides move to the 1x1
        s = (f["stride_t"], f["stride_f"])
        s_dw, s_pw = (s, (1, 1)) if s[0] == s[1] else ((1, 1), s)
        x = b.depthwise(x, i, (f["kernel_t"], f["kernel_f"]), s_dw, **_KWS_CONV)
        x = b.conv(x, i, f["channels"], (1, 1), s_pw, **_KWS_CONV)
    return b.dropout(x, i, f["keep_prob"])


def _dilated_conv2d(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    f, x = layer.features, b.as_map(inputs[0], i)
    for _ in range(f["num_layers"]):
        d = (f["stride_f"], f["stride_f"])
        x = b.conv(x, i, f["channels"], (f["kernel_t"], f["kernel_f"]), dilation=d, **_KWS_CONV)
    return b.dropout(x, i, f["keep_prob"])


def _gru(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    f, x = layer.features, b.as_seq(inputs[0], i)
    bidir = f["directions"] == 2
    for _ in range(f["num_layers"]):
        steps = b.shapes[x][0]
        x = b.add("gru", [x], (steps, f["channels"] * f["directions"]), i, units=f["channels"],
                  bidirectional=bidir, reset_after=True, return_sequences=True)  # fmt: skip
        b.state.setdefault("gru_seqs", []).append((x, f["channels"], bidir))
    return b.dropout(x, i, f["keep_prob"])


def _avgpool2d(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    f = layer.features
    return b.pool("avgpool2d", b.as_map(inputs[0], i), i, (f["kernel_t"], f["kernel_f"]), (1, 1), "valid")


def _global_avgpool2d(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    x = b.as_map(inputs[0], i)
    return b.add("global_avgpool2d", [x], (1, 1, b.shapes[x][2]), i, keepdims=True)


def _fc(b: GraphBuilder, layer: Layer, i: int, inputs: list[str]) -> str:
    f, x = layer.features, b.as_vector(inputs[0], i)
    for _ in range(f["num_layers"]):
        x = b.add("dense", [x], (f["channels"],), i, units=f["channels"], use_bias=True, activation="relu")
    return b.dropout(x, i, f["keep_prob"])


def lower_kws(spec: Spec, b: GraphBuilder) -> None:
    """The whole KWS network: the layers, then Flatten + Dense (or the GRUs' final states + Dense)."""
    outs = lower_layers(spec, b)
    live = live_layers(spec)
    x = outs[live[-1]]
    if all(spec.layers[i - 1].type == "gru" for i in live):
        states = [
            b.add("final_state", [seq], (units * (2 if bidir else 1),), 0, units=units, bidirectional=bidir)
            for seq, units, bidir in b.state.get("gru_seqs", [])
        ]
        total = sum(b.shapes[s][0] for s in states)
        x = states[0] if len(states) == 1 else b.add("concat", states, (total,), 0, axis=-1)
    else:
        x = b.as_vector(x, 0)
    b.add("dense", [x], (b.classes,), 0, units=b.classes, use_bias=True, activation=None)


def _kws(
    name: str, fields: tuple[str, ...], lower: Any, notation: str, weight: float = 0.0, **kw: Any
) -> None:
    values = {k: KWS_VALUES[k] for k in fields if k in KWS_VALUES}
    checks = {k: _CHECKS[k] for k in fields if k in _CHECKS}
    registry.register_layer_type(
        registry.LayerType(name, "kws", fields, lower, values, notation=notation, checks=checks,
                           proxy_weight=weight, **kw)
    )  # fmt: skip


_kws("conv2d", _CONV, _conv2d, "Conv2d", 0.6)
_kws("ds_conv2d", _CONV, _ds_conv2d, "DS-Conv2d", 0.55, aliases=("Dep-Sep-Conv2d",))
_kws("dilated_conv2d", tuple(f for f in _CONV if f != "stride_t"), _dilated_conv2d, "Dilated-Conv2d", 0.55)
_kws("gru", ("num_layers", "channels", "directions", "keep_prob", "src1"), _gru, "GRU", 0.7)
_kws("avgpool2d", ("kernel_t", "kernel_f", "src1"), _avgpool2d, "AvgPool2d")
_kws("global_avgpool2d", ("src1",), _global_avgpool2d, "AvgPool2d")
_kws("fc", ("num_layers", "channels", "keep_prob", "src1"), _fc, "FC", 0.25)

#: keyword spotting: 49 x 40 MFCC frames, 12 classes
KWS = registry.register_task(
    registry.Task(
        "kws",
        (49, 40, 1),
        12,
        {
            "layer": registry.Granularity(
                "kws", lower_kws, title="keyword-spotting", proxy={"p0": 4250.0, "ceiling": 0.97}
            )
        },
    )
)
