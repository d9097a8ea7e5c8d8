"""Folding batch norms into convolutions: the trained conv-BN-ReLU child -> the inference graph metrics count.

For an op trained as conv (no bias) -> BatchNormalization(gamma, beta, moving mean m, moving variance v,
epsilon e) -> activation, inference computes act(conv(x, W) * s + (beta - m * s)) with s = gamma /
sqrt(v + e) per output channel, which is one conv with kernel W * s and bias beta - m * s: what TensorFlow
Lite's converter does, and why the KWS parameter counts of Table 2 are those of convs with a bias.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rena_lib.arch.builder import BN_SUFFIX, build
from rena_lib.arch.graph import lower
from rena_lib.arch.spec import Spec

__all__ = ["fold_batchnorm", "folded_weights"]


def folded_weights(kernel: np.ndarray, bn: Any, depthwise: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, bias) of a bias-free conv followed by the Keras BatchNormalization layer bn, folded."""
    mean, var = (np.asarray(w, np.float64) for w in (bn.moving_mean, bn.moving_variance))
    gamma = np.asarray(bn.gamma, np.float64) if bn.scale else np.ones_like(mean)
    beta = np.asarray(bn.beta, np.float64) if bn.center else np.zeros_like(mean)
    s = gamma / np.sqrt(var + bn.epsilon)
    k = np.asarray(kernel, np.float64)
    # depthwise kernels are (kh, kw, in, multiplier), output channel c * multiplier + m; others (..., out)
    k = k * (s.reshape(k.shape[2], k.shape[3]) if depthwise else s)
    return k.astype(np.float32), (beta - mean * s).astype(np.float32)


def fold_batchnorm(model: Any, spec: Spec) -> Any:
    """The inference keras.Model of spec carrying model's trained weights, every batch norm folded."""
    graph = lower(spec)
    folded = build(graph, name=f"{model.name}_folded", inference=True)
    trained = {layer.name: layer for layer in model.layers}
    for op in graph.ops:
        if op.kind == "input":
            continue
        target = folded.get_layer(op.name)
        if op.name not in trained:
            raise ValueError(f"the trained model has no layer {op.name!r}: was it built from this spec?")
        source = trained[op.name]
        if op.config.get("batchnorm"):
            bn = trained.get(op.name + BN_SUFFIX)
            if bn is None:
                raise ValueError(
                    f"the trained model has no batch norm {op.name + BN_SUFFIX!r} after {op.name!r}"
                )
            kernel = source.get_weights()[0]
            target.set_weights(list(folded_weights(kernel, bn, depthwise=op.kind == "depthwise_conv2d")))
        elif source.weights:
            target.set_weights(source.get_weights())
    return folded
