"""The Keras builder: a spec (or its lowered graph) -> a functional keras.Model that outputs logits.

Ops whose config says batchnorm=True (the KWS convolutions) are built for training as conv (no bias) ->
BatchNormalization -> activation; with inference=True they are built as the graph states them (conv with
bias and activation), the form that rena_lib.arch.fold.fold_batchnorm fills with the folded weights.
"""

from __future__ import annotations

import keras

import rena_lib.arch.registry as registry
from rena_lib.arch.graph import Graph, Op, lower
from rena_lib.arch.layers import CReLU, FinalState
from rena_lib.arch.spec import Spec

__all__ = ["BN_SUFFIX", "build"]

_ACT = {"relu": "relu", "elu": "elu", "selu": "selu", "swish": "silu"}
BN_SUFFIX = "_bn"  # a folded op's BatchNormalization layer is named <op name>_bn, its activation <op>_act
# Moving-statistics momentum of those batch norms: 0.9 (PyTorch's default), not Keras's 0.99, whose moving
# variance is still half its initial 1.0 after 70 steps: short (smoke-budget) children evaluated at chance.
BN_MOMENTUM = 0.9


def _keras_layer(
    op: Op, *, use_bias: bool | None = None, activation: str | None = "graph"
) -> keras.layers.Layer:
    c, k, name = op.config, op.kind, op.name
    bias = c.get("use_bias") if use_bias is None else use_bias
    act = c.get("activation") if activation == "graph" else activation
    if k == "conv2d":
        return keras.layers.Conv2D(
            c["filters"], c["kernel"], strides=c["strides"], padding=c["padding"], dilation_rate=c["dilation"],
            use_bias=bias, activation=act, groups=c.get("groups", 1), name=name,
        )  # fmt: skip
    if k == "depthwise_conv2d":
        return keras.layers.DepthwiseConv2D(
            c["kernel"], strides=c["strides"], padding=c["padding"], use_bias=bias, activation=act, name=name
        )
    if k == "dense":
        return keras.layers.Dense(c["units"], use_bias=c["use_bias"], activation=c["activation"], name=name)
    if k == "gru":
        if c["bidirectional"]:
            gru = keras.layers.GRU(c["units"], return_sequences=True, reset_after=c["reset_after"])
            return keras.layers.Bidirectional(gru, name=name)
        return keras.layers.GRU(c["units"], return_sequences=True, reset_after=c["reset_after"], name=name)
    if k == "batchnorm":
        return keras.layers.BatchNormalization(name=name)
    if k == "activation":
        if c["activation"] == "crelu":
            return CReLU(name=name)
        return keras.layers.Activation(_ACT[c["activation"]], name=name)
    if k == "maxpool2d":
        return keras.layers.MaxPooling2D(c["pool"], strides=c["strides"], padding=c["padding"], name=name)
    if k == "avgpool2d":
        return keras.layers.AveragePooling2D(c["pool"], strides=c["strides"], padding=c["padding"], name=name)
    if k == "global_avgpool2d":
        return keras.layers.GlobalAveragePooling2D(keepdims=c["keepdims"], name=name)
    if k == "add":
        return keras.layers.Add(name=name)
    if k == "concat":
        return keras.layers.Concatenate(axis=c["axis"], name=name)
    if k == "flatten":
        return keras.layers.Flatten(name=name)
    if k == "reshape":
        return keras.layers.Reshape(c["target_shape"], name=name)
    if k == "dropout":
        return keras.layers.Dropout(c["rate"], name=name)
    if k == "cropping2d":
        return keras.layers.Cropping2D(c["cropping"], name=name)
    if k == "final_state":
        return FinalState(c["units"], c["bidirectional"], name=name)
    extension = registry.op_kind(k)  # an op kind a registered layer type brings
    if extension is not None:
        return extension.keras(op)
    raise ValueError(f"op {op.name}: no Keras layer for kind {k!r}")


def _apply(op: Op, x, inference: bool):
    """Run one op on its Keras input(s); a batchnorm op trains as conv -> BN -> activation."""
    if not op.config.get("batchnorm") or inference:
        return _keras_layer(op)(x)
    y = _keras_layer(op, use_bias=False, activation=None)(x)
    y = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=op.name + BN_SUFFIX)(y)
    act = op.config.get("activation")
    return y if act is None else keras.layers.Activation(_ACT[act], name=op.name + "_act")(y)


def build(spec: Spec | Graph, name: str = "child", *, inference: bool = False) -> keras.Model:
    """A functional keras.Model (uncompiled, logits out) for the spec's task; validates first.

    inference=True builds the inference graph (batch norms folded away) that metrics count.
    """
    graph = spec if isinstance(spec, Graph) else lower(spec)
    tensors = {}
    for op in graph.ops:
        if op.kind == "input":
            tensors[op.name] = keras.Input(shape=op.out_shape, name="input")
            continue
        args = [tensors[x] for x in op.inputs]
        tensors[op.name] = _apply(op, args if op.kind in ("add", "concat") else args[0], inference)
    return keras.Model(tensors["input"], tensors[graph.ops[-1].name], name=name)
