"""Architecture specs: plain data, the paper's notation, validation, lowering and the Keras builder.

Tasks and layer types are registry entries (rena_lib.arch.registry); the paper's two tasks and their
layer types are registered by rena_lib.arch.kws and rena_lib.arch.cifar, imported here.
"""

import rena_lib.arch.cifar
import rena_lib.arch.kws  # noqa: F401  (register the paper's tasks and layer types)
from rena_lib.arch.graph import Graph, GraphBuilder, Op, live_layers, lower, validate
from rena_lib.arch.notation import from_paper_notation, to_paper_notation
from rena_lib.arch.registry import (
    Granularity,
    LayerType,
    OpKind,
    Task,
    get_task,
    register_layer_type,
    register_task,
)
from rena_lib.arch.spec import TASKS, Layer, Spec


def build(spec, name: str = "child", *, inference: bool = False):
    """A functional keras.Model (uncompiled, logits out) for the spec; validates before any Keras code.

    KWS convolutions train as conv-BN-ReLU; inference=True builds the folded graph that metrics count.
    """
    from rena_lib.arch.builder import build as _build  # imports Keras only when a model is built

    return _build(spec, name=name, inference=inference)


def fold_batchnorm(model, spec):
    """The inference model of spec with every batch norm of the trained model folded into its conv."""
    from rena_lib.arch.fold import fold_batchnorm as _fold

    return _fold(model, spec)


__all__ = [
    "TASKS",
    "Granularity",
    "Graph",
    "GraphBuilder",
    "Layer",
    "LayerType",
    "Op",
    "OpKind",
    "Spec",
    "Task",
    "build",
    "fold_batchnorm",
    "from_paper_notation",
    "get_task",
    "live_layers",
    "lower",
    "register_layer_type",
    "register_task",
    "to_paper_notation",
    "validate",
]
