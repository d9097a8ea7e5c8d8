"""Scale, insert and remove edits of a spec (section 4.1, Fig. 2) and the decision structure behind them.

One *step* of a search transforms a network by a scale action (new values for every scalable feature of
every layer), then an insert, keep or remove action on top of it. :func:`decide` walks the categorical
decisions of one step in a fixed order and asks a *chooser* for each: the policy network (RENA) or a
uniform chooser (random search, footnote 4) answer the same questions, so both proposers make the same
kind of edits under the same validity masks. A step's edits are plain action dicts:

* ``{"op": "scale", "changes": [[layer, feature, value], ...]}`` (only features whose value changed),
* ``{"op": "insert", "position": p, "layer": {"type": ..., **features}}``,
* ``{"op": "remove", "index": k}``, or ``{"op": "keep"}``,

and :func:`replay` applies a list of them to a baseline, so the edit history of a child reproduces it.

Insert (layer-by-layer search, Fig. 2a): the new layer goes right after its Src1 (position Src1 + 1) and
reads it; the layer that followed, if its src1 read the same layer, now reads the new layer; every
later source is renumbered, so every old connection still points to the same layer. Module search
(Fig. 2b): the new branch is appended; every earlier branch it reads stops feeding the module output
(propagate = 0). Remove: layers (branches) that read the removed one read its Src1 instead; later
sources are renumbered; in module search a branch left unread by the removal propagates again.
Edits keep sources in range; whether the result builds (shapes) is left to ``arch.validate``: the search
loop records an invalid child as failed.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from rena_lib.arch.graph import reads
from rena_lib.arch.spec import Layer, Spec
from rena_lib.spaces import SOURCE_FEATURES, SearchSpace

__all__ = [
    "ACTION_CHOICES",
    "Choice",
    "Chooser",
    "Proposal",
    "UniformChooser",
    "apply",
    "decide",
    "insert",
    "random_action",
    "remove",
    "replay",
    "scale",
    "scale_choices",
    "walk",
]

#: the options of the insert-remove controller's extra first state
ACTION_CHOICES = ("insert", "keep", "remove")


# --------------------------------------------------------------------------------------------------
# edits
# --------------------------------------------------------------------------------------------------
def scale(spec: Spec, changes: Sequence[Sequence[Any]]) -> Spec:
    """A copy of spec with feature values changed: changes = [[layer (1-based), feature, value], ...]."""
    out = spec.copy()
    for layer, feature, value in changes:
        if not 1 <= layer <= len(out.layers):
            raise ValueError(f"scale: layer {layer} does not exist (spec has {len(out.layers)})")
        target = out.layers[layer - 1]
        if feature not in target.features or feature in SOURCE_FEATURES:
            raise ValueError(f"scale: layer {layer} ({target.type}) has no scalable feature {feature!r}")
        target.features[feature] = value
    return out


def insert(spec: Spec, layer: Layer | dict[str, Any], position: int) -> Spec:
    """A copy of spec with a new layer (branch) at 1-based position, wired as the module docstring says."""
    new = layer if isinstance(layer, Layer) else Layer.from_dict(layer)
    new = Layer(new.type, dict(new.features))
    n = len(spec.layers)
    if spec.granularity == "module":
        if position != n + 1:
            raise ValueError(f"insert: module search appends branches (position {n + 1}), got {position}")
    elif not 1 <= position <= n + 1:
        raise ValueError(f"insert: position {position} is outside 1..{n + 1}")
    out = spec.copy()
    if spec.granularity == "module":
        for j in reads(out, new):
            if j >= 1:
                out.layers[j - 1].features["propagate"] = 0
        out.layers.append(new)
        return out
    for later in out.layers[position - 1 :]:
        for f in SOURCE_FEATURES:
            if f in later.features and later.features[f] >= position:
                later.features[f] += 1
    if position <= n and out.layers[position - 1].features.get("src1") == new.get("src1"):
        out.layers[position - 1].features["src1"] = position  # the next layer now reads the new one
    out.layers.insert(position - 1, new)
    return out


def remove(spec: Spec, index: int) -> Spec:
    """A copy of spec without layer (branch) index; its readers read its Src1 instead."""
    n = len(spec.layers)
    if n <= 1:
        raise ValueError("remove: cannot remove the only layer")
    if not 1 <= index <= n:
        raise ValueError(f"remove: layer {index} does not exist (spec has {n})")
    out = spec.copy()
    gone = out.layers.pop(index - 1)
    gone_reads = reads(spec, gone)
    for later in out.layers[index - 1 :]:
        for f in SOURCE_FEATURES:
            if f not in later.features:
                continue
            s = later.features[f]
            later.features[f] = gone["src1"] if s == index else s - 1 if s > index else s
    if spec.granularity == "module":
        still_read = {s for b in out.layers for s in reads(out, b)}
        for j in gone_reads:
            if j >= 1 and j not in still_read:
                out.layers[j - 1].features["propagate"] = 1
    return out


def apply(spec: Spec, action: dict[str, Any]) -> Spec:
    """Apply one action dict (scale / insert / remove / keep) to spec."""
    op = action.get("op") if isinstance(action, dict) else None
    if op == "scale":
        return scale(spec, action["changes"])
    if op == "insert":
        return insert(spec, action["layer"], action["position"])
    if op == "remove":
        return remove(spec, action["index"])
    if op == "keep":
        return spec.copy()
    raise ValueError(f"unknown action {action!r}; 'op' must be scale, insert, remove or keep")


def replay(baseline: Spec, actions: Sequence[dict[str, Any]]) -> Spec:
    """The spec reached by applying an edit history (a list of action dicts) to the baseline."""
    spec = baseline.copy()
    for action in actions:
        spec = apply(spec, action)
    return spec


# --------------------------------------------------------------------------------------------------
# the decision structure of one step
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Choice:
    """One categorical decision: its kind, the head (feature) it picks, the options and which are allowed.

    kind is "scale" (a scalable feature of an existing layer), "action" (insert / keep / remove),
    "new" (the new layer's type, features and sources) or "remove" (which layer).
    """

    kind: str
    head: str
    options: tuple[Any, ...]
    mask: tuple[bool, ...] | None = None
    layer: int | None = None

    def allowed(self) -> np.ndarray:
        """Boolean mask of the allowed options (all when mask is None)."""
        if self.mask is None:
            return np.ones(len(self.options), dtype=bool)
        return np.asarray(self.mask, dtype=bool)


class Chooser(Protocol):
    """Answers the decisions of a step: the scale decisions at once, then the others one by one."""

    def choose_many(self, choices: list[Choice]) -> list[int]:
        """Indices (into each choice's options) for independent decisions (the scale action)."""
        ...

    def choose(self, choice: Choice) -> int:
        """Index into choice.options for one decision; the structure may depend on earlier answers."""
        ...


@dataclass
class Proposal:
    """One proposed step: the edits, the recorded decisions, their total log-probability and entropies."""

    actions: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    log_prob: float
    entropy: dict[str, float] = field(default_factory=dict)  # mean entropy (nats) per decision kind


class UniformChooser:
    """Uniformly random answers among the allowed options (random search, footnote 4)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.log_prob = 0.0
        self.entropies: dict[str, list[float]] = {}

    def choose_many(self, choices: list[Choice]) -> list[int]:
        """One uniform pick per choice."""
        return [self.choose(c) for c in choices]

    def choose(self, choice: Choice) -> int:
        """A uniform pick among the allowed options (its log-probability and entropy are kept)."""
        allowed = np.flatnonzero(choice.allowed())
        self.log_prob -= math.log(len(allowed))
        self.entropies.setdefault(choice.kind, []).append(math.log(len(allowed)))
        return int(allowed[self.rng.integers(len(allowed))])

    def propose(self, space: SearchSpace, spec: Spec) -> Proposal:
        """Walk one step's decisions uniformly at random."""
        decisions, actions = decide(space, spec, self)
        entropy = {k: float(np.mean(v)) for k, v in self.entropies.items()}
        return Proposal(actions, decisions, self.log_prob, entropy)


def scale_choices(space: SearchSpace, spec: Spec) -> list[Choice]:
    """The scale decisions of a spec: one per (layer, scalable feature), layers in order."""
    return [
        Choice("scale", f, space.features[f], None, i)
        for i, layer in enumerate(spec.layers, start=1)
        for f in space.scalable_features(layer.type)
    ]


def _source_mask(space: SearchSpace, n: int, feature: str, chosen: dict[str, Any]) -> tuple[bool, ...]:
    """Allowed sources of a new layer: earlier layers; in layer search Src2 may not follow Src1."""
    limit = n
    if space.granularity == "layer" and feature == "src2":
        limit = chosen["src1"]
    return tuple(v <= limit for v in space.features[feature])


def walk(
    space: SearchSpace, spec: Spec
) -> Generator[Any, Any, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """The decisions of one step as a generator: first it yields the list of scale choices and is sent
    the list of picks, then it yields one Choice at a time and is sent each pick; it returns
    (decisions, actions). Order: every scale decision; then insert / keep / remove (insert masked at
    MAX_LAYERS, remove when one layer is left); for insert the type, then every feature of that type in
    the space's order (Src1, and Src2 / merge or propagate where the type has them); for remove, which
    layer. Each decision is {"kind", "head", "choice" (index into the options), "value"} (+ "layer").
    """
    decisions: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []

    def record(c: Choice, k: Any) -> Any:
        if (
            isinstance(k, bool)
            or not isinstance(k, int | np.integer)
            or not 0 <= k < len(c.options)
            or not c.allowed()[k]
        ):
            raise ValueError(f"pick {k!r} is not an allowed option of {c.kind}/{c.head}")
        d = {"kind": c.kind, "head": c.head, "choice": int(k), "value": c.options[k]}
        if c.layer is not None:
            d["layer"] = c.layer
        decisions.append(d)
        return c.options[k]

    steps = scale_choices(space, spec)
    picks = yield steps
    if len(picks) != len(steps):
        raise ValueError(f"{len(picks)} picks for {len(steps)} scale decisions")
    changes = []
    for c, k in zip(steps, picks, strict=True):
        value = record(c, k)
        if value != spec.layers[c.layer - 1][c.head]:
            changes.append([c.layer, c.head, value])
    if changes:
        actions.append({"op": "scale", "changes": changes})

    n = len(spec.layers)
    c = Choice("action", "action", ACTION_CHOICES, (n < space.max_layers, True, n > 1))
    what = record(c, (yield c))
    if what == "insert":
        c = Choice("new", "type", space.layer_types)
        layer_type = record(c, (yield c))
        feats: dict[str, Any] = {}
        for f in space.type_features[layer_type]:
            mask = _source_mask(space, n, f, feats) if f in SOURCE_FEATURES else None
            c = Choice("new", f, space.features[f], mask)
            feats[f] = record(c, (yield c))
        position = n + 1 if space.granularity == "module" else feats["src1"] + 1
        actions.append({"op": "insert", "position": position, "layer": {"type": layer_type, **feats}})
    elif what == "remove":
        options = tuple(range(1, space.max_layers + 1))
        c = Choice("remove", "remove", options, tuple(k <= n for k in options))
        actions.append({"op": "remove", "index": record(c, (yield c))})
    else:
        actions.append({"op": "keep"})
    return decisions, actions


def decide(
    space: SearchSpace, spec: Spec, chooser: Chooser
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Answer one step's decisions (see :func:`walk`) with chooser; return (decisions, actions)."""
    gen = walk(space, spec)
    pick: Any = chooser.choose_many(next(gen))
    while True:
        try:
            choice = gen.send(pick)
        except StopIteration as stop:
            return stop.value
        pick = chooser.choose(choice)


def random_action(space: SearchSpace, spec: Spec, rng: np.random.Generator) -> list[dict[str, Any]]:
    """One random search step (footnote 4): uniform scale values, uniform insert / keep / remove and
    uniform features for a new layer, under the same masks as the policy; returns the action dicts."""
    return UniformChooser(rng).propose(space, spec).actions
