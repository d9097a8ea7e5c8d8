"""Architecture specs: plain data, the paper's notation, validation, lowering and the Keras builder."""

from rena_lib.arch.graph import Graph, Op, live_layers, lower, validate
from rena_lib.arch.notation import from_paper_notation, to_paper_notation
from rena_lib.arch.spec import TASKS, Layer, Spec


def build(spec, name: str = "child"):
    """A functional keras.Model (uncompiled, logits out) for the spec; validates before any Keras code."""
    from rena_lib.arch.builder import build as _build  # imports Keras only when a model is built

    return _build(spec, name=name)


__all__ = [
    "TASKS",
    "Graph",
    "Layer",
    "Op",
    "Spec",
    "build",
    "from_paper_notation",
    "live_layers",
    "lower",
    "to_paper_notation",
    "validate",
]
