"""Reading a functional or Sequential keras.Model as primitive ops: every Keras layer is mapped to the op
kinds (and configs) of rena_lib.costs, so a model and a spec are measured by the same formulas."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import rena_lib.arch.registry as registry
from rena_lib.arch.graph import Graph, Op
from rena_lib.costs import OpCost, Shape, op_cost

__all__ = ["is_keras_model", "keras_costs", "keras_graph", "keras_ops"]


def is_keras_model(x: Any) -> bool:
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


def keras_costs(model: Any, prefix: str = "") -> list[OpCost]:
    """The per-op costs of a functional or Sequential model, nested models included."""
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
                rows.extend(keras_costs(layer, prefix=name + "/"))
                continue
            pieces = keras_ops(layer, name, ins, outs[0])
            costs = [op_cost(n, kind, i, o, cfg) for n, kind, i, o, cfg in pieces]
            rows.extend(_trainability(layer, name, costs))
    return rows


def keras_graph(model: Any) -> Graph | None:
    """The model's layers as an arch Graph in the model's layer order (for the memory metrics); None for
    a nested or Sequential model."""
    import keras

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
        for name, kind, in_shapes, out, cfg in keras_ops(
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


def keras_ops(layer: Any, name: str, ins: list[Shape], out: Shape) -> list[tuple]:
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
    for kind in registry.extension_op_kinds():  # op kinds registered layer types bring
        if kind.keras_class is not None and isinstance(layer, kind.keras_class):
            return one(kind.name, **(kind.keras_config(layer) if kind.keras_config else {}))
    raise ValueError(f"layer {name}: no cost model for Keras layer {type(layer).__name__}")
