"""Architecture specs: plain data, the paper's notation, validation, lowering and the Keras builder."""

from rena_lib.arch.graph import Graph, Op, live_layers, lower, validate
from rena_lib.arch.notation import from_paper_notation, to_paper_notation
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
    "Graph",
    "Layer",
    "Op",
    "Spec",
    "build",
    "fold_batchnorm",
    "from_paper_notation",
    "live_layers",
    "lower",
    "to_paper_notation",
    "validate",
]
