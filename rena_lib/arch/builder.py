"""The Keras builder: a spec (or its lowered graph) -> a functional keras.Model that outputs logits."""

from __future__ import annotations

import keras

from rena_lib.arch.graph import Graph, Op, lower
from rena_lib.arch.layers import CReLU, FinalState
from rena_lib.arch.spec import Spec

__all__ = ["build"]

_ACT = {"relu": "relu", "elu": "elu", "selu": "selu", "swish": "silu"}


def _keras_layer(op: Op) -> keras.layers.Layer:
    c, k, name = op.config, op.kind, op.name
    if k == "conv2d":
        return keras.layers.Conv2D(
            c["filters"], c["kernel"], strides=c["strides"], padding=c["padding"], dilation_rate=c["dilation"],
            use_bias=c["use_bias"], activation=c["activation"], groups=c.get("groups", 1), name=name,
        )  # fmt: skip
    if k == "depthwise_conv2d":
        return keras.layers.DepthwiseConv2D(
            c["kernel"], strides=c["strides"], padding=c["padding"], use_bias=c["use_bias"],
            activation=c["activation"], name=name,
        )  # fmt: skip
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
    raise ValueError(f"op {op.name}: no Keras layer for kind {k!r}")


def build(spec: Spec | Graph, name: str = "child") -> keras.Model:
    """A functional keras.Model (uncompiled, logits out) for the spec's task; validates first."""
    graph = spec if isinstance(spec, Graph) else lower(spec)
    tensors = {}
    for op in graph.ops:
        if op.kind == "input":
            tensors[op.name] = keras.Input(shape=op.out_shape, name="input")
            continue
        layer = _keras_layer(op)
        args = [tensors[x] for x in op.inputs]
        tensors[op.name] = layer(args if op.kind in ("add", "concat") else args[0])
    return keras.Model(tensors["input"], tensors[graph.ops[-1].name], name=name)
