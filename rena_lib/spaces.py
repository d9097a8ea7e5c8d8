"""The search spaces of the paper's Tables 3, 4 and 5, and sampling random specs from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rena_lib.arch.schema import (
    ACTIVATIONS,
    BRANCH_OPS,
    CIFAR_TYPES,
    DEFAULT_MODULE_STACK,  # re-exported as spaces.DEFAULT_MODULE_STACK
    KWS_TYPES,
    MODULE_TYPES,
)
from rena_lib.arch.spec import Layer, Spec

__all__ = ["BASELINES", "SPACE_NAMES", "SearchSpace", "baseline", "get"]

SPACE_NAMES = ("cifar_layer", "kws_layer", "cifar_module")

SOURCE_FEATURES = ("src1", "src2")


@dataclass(frozen=True)
class SearchSpace:
    """Allowed layer types, features and values of one search space (plain data)."""

    name: str
    task: str
    granularity: str
    layer_types: tuple[str, ...]
    features: dict[str, tuple[Any, ...]]
    type_features: dict[str, tuple[str, ...]]
    max_layers: int
    stack: dict[str, Any] | None = field(default=None)

    # ---- structure -------------------------------------------------------------------------------
    def scalable_features(self, layer_type: str) -> tuple[str, ...]:
        """Features of a layer type that the scale action edits (everything but its sources)."""
        return tuple(f for f in self.type_features[layer_type] if f not in SOURCE_FEATURES)

    def source_features(self, layer_type: str) -> tuple[str, ...]:
        """Source features (src1, src2) of a layer type."""
        return tuple(f for f in self.type_features[layer_type] if f in SOURCE_FEATURES)

    @property
    def source_values(self) -> tuple[int, ...]:
        """Allowed source indices: 0 (the input) .. max index (Tables 3-5)."""
        return self.features["src1"]

    def check(self, spec: Spec) -> None:
        """Raise ValueError naming the layer and field if spec is not a member of this space."""
        if spec.task != self.task:
            raise ValueError(f"spec task {spec.task!r} does not match space {self.name!r} ({self.task})")
        if spec.granularity != self.granularity:
            raise ValueError(
                f"spec granularity {spec.granularity!r} does not match space {self.name!r} ({self.granularity})"
            )
        if not 1 <= len(spec.layers) <= self.max_layers:
            unit = "branches" if self.granularity == "module" else "layers"
            raise ValueError(
                f"spec has {len(spec.layers)} {unit}; space {self.name!r} allows 1..{self.max_layers}"
            )
        for i, layer in enumerate(spec.layers, start=1):
            if layer.type not in self.layer_types:
                raise ValueError(
                    f"layer {i}: type {layer.type!r} is not in space {self.name!r} (allowed: {self.layer_types})"
                )
            wanted = set(self.type_features[layer.type])
            for name in sorted(set(layer.features) - wanted):
                raise ValueError(f"layer {i} ({layer.type}): unexpected field {name!r}")
            for name in self.type_features[layer.type]:
                if name not in layer.features:
                    raise ValueError(f"layer {i} ({layer.type}): missing field {name!r}")
                value = layer.features[name]
                if name in SOURCE_FEATURES:
                    if not isinstance(value, int) or not 0 <= value < i:
                        raise ValueError(
                            f"layer {i} ({layer.type}): {name}={value!r} must point to an earlier layer (0..{i - 1})"
                        )
                elif value not in self.features[name]:
                    raise ValueError(
                        f"layer {i} ({layer.type}): {name}={value!r} is outside the space {self.features[name]}"
                    )

    # ---- sampling --------------------------------------------------------------------------------
    def sample_layer(self, rng: np.random.Generator, index: int, layer_type: str | None = None) -> Layer:
        """A uniformly random layer (or branch) at 1-based position index."""
        if layer_type is None:
            layer_type = self.layer_types[rng.integers(len(self.layer_types))]
        feats: dict[str, Any] = {}
        for name in self.type_features[layer_type]:
            if name == "src1":
                feats[name] = index - 1 if rng.random() < 0.7 else int(rng.integers(index))
            elif name == "src2":
                feats[name] = int(rng.integers(index))
            else:
                values = self.features[name]
                feats[name] = values[rng.integers(len(values))]
        return Layer(layer_type, _plain(feats))

    def sample(self, rng: np.random.Generator, n_layers: int | None = None, max_tries: int = 200) -> Spec:
        """A random valid spec of this space (rejection sampling until it builds)."""
        from rena_lib.arch.graph import validate

        last_error: Exception | None = None
        for _ in range(max_tries):
            n = n_layers or int(rng.integers(1, min(self.max_layers, 6) + 1))
            layers = [self.sample_layer(rng, i) for i in range(1, n + 1)]
            spec = Spec(self.task, layers, self.granularity, dict(self.stack) if self.stack else None)
            try:
                validate(spec)
            except ValueError as exc:
                last_error = exc
                continue
            return spec
        raise RuntimeError(f"no valid spec of {self.name} in {max_tries} tries; last error: {last_error}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "name": self.name,
            "task": self.task,
            "granularity": self.granularity,
            "layer_types": list(self.layer_types),
            "features": {k: list(v) for k, v in self.features.items()},
            "type_features": {k: list(v) for k, v in self.type_features.items()},
            "max_layers": self.max_layers,
            "stack": self.stack,
        }


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars -> Python scalars, so specs stay JSON-able."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}


# Table 3: layer-by-layer search for image classification
_CIFAR_LAYER = {
    "features": {
        "filter_width": (3, 5, 7),
        "pool_width": (2, 3),
        "channels": (16, 32, 64, 96, 128, 256),
        "activation": ACTIVATIONS,
        "merge": ("add", "concat"),  # the "add" layer joins Src1 and Src2 by addition or concatenation
    },
    "type_features": CIFAR_TYPES,
}

# Table 4: layer-by-layer search for keyword spotting. "Dropout rate" [0.8, 0.9, 1.0] is read as the keep
# probability (1.0 = no dropout). "Stride in frequency (or dilation rate)": dilated-conv2d reads it as
# its dilation rate (in time and frequency) and runs with stride 1.
_KWS_LAYER = {
    "features": {
        "num_layers": (1, 2, 3, 4, 5),
        "kernel_t": (1, 4, 8, 16, 20),
        "kernel_f": (1, 2, 4, 8, 10),
        "channels": (4, 12, 16, 32, 64, 128, 192, 256),
        "stride_t": (1, 2, 4, 8, 10),
        "stride_f": (1, 2, 3, 4, 5),
        "directions": (1, 2),
        "keep_prob": (0.8, 0.9, 1.0),
    },
    # the search space has no global pooling (the paper's notation does): see arch.schema
    "type_features": {t: f for t, f in KWS_TYPES.items() if t != "global_avgpool2d"},
}

# Table 5: module search for image classification. Each branch is two operations whose outputs are
# concatenated; op 1 reads Src1, op 2 reads Src2 ("none": no second op; "1x7-7x1-none": a 1x7 then 7x1
# factorised convolution as op 1). "propagate" = the branch output joins the module output.
BRANCH_TYPES = tuple(BRANCH_OPS)
_CIFAR_MODULE = {
    "features": {
        "filter_width": (3, 5, 7),
        "pool_width": (2, 3),
        "channels": (8, 12, 16, 24, 32),
        "propagate": (0, 1),
    },
    "type_features": MODULE_TYPES,
}


def get(name: str, max_layers: int | None = None, stack: dict[str, Any] | None = None) -> SearchSpace:
    """The named search space ("cifar_layer", "kws_layer", "cifar_module"); MAX_LAYERS/MAX_BRANCHES settable."""
    if name == "cifar_layer":
        n = max_layers or 16
        table, task, gran, st = _CIFAR_LAYER, "cifar10", "layer", None
    elif name == "kws_layer":
        n = max_layers or 8
        table, task, gran, st = _KWS_LAYER, "kws", "layer", None
    elif name == "cifar_module":
        n = max_layers or 5
        table, task, gran = _CIFAR_MODULE, "cifar10", "module"
        st = {**DEFAULT_MODULE_STACK, **(stack or {})}
    else:
        raise ValueError(f"unknown search space {name!r}; choose one of {SPACE_NAMES}")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"max_layers must be a positive int, got {max_layers!r}")
    # Src ranges: range(MAX_LAYERS) for layer search, range(MAX_BRANCHES + 1) for module search
    n_src = n if gran == "layer" else n + 1
    features = {**table["features"], "src1": tuple(range(n_src)), "src2": tuple(range(n_src))}
    return SearchSpace(
        name=name,
        task=task,
        granularity=gran,
        layer_types=tuple(table["type_features"]),
        features=features,
        type_features=dict(table["type_features"]),
        max_layers=n,
        stack=st,
    )


#: baseline architectures the searches start from, in the paper's notation
BASELINES = {
    # section 5.2.1: "a single fully connected layer with 12 hidden units"
    "kws_layer": "FC (1,12)",
    # a plain VGG-like CIFAR network for layer-by-layer search (the paper's ~91% baseline is unspecified)
    "cifar_layer": "Conv2d (3,64,relu) Conv2d (3,64,relu) MaxPool2d (2) Conv2d (3,128,relu) "
    "Conv2d (3,128,relu) MaxPool2d (2) Conv2d (3,256,relu)",
    # section 5.1.1: "the baseline model with only one branch"
    "cifar_module": "Branch (conv-none,3,2,32,0,0,1)",
}


def baseline(name: str, max_layers: int | None = None, stack: dict[str, Any] | None = None) -> Spec:
    """The baseline spec a search of the named space starts from (a member of the space)."""
    from rena_lib.arch.notation import from_paper_notation

    space = get(name, max_layers, stack)
    spec = from_paper_notation(BASELINES[name], space.task, space.granularity, space.stack)
    space.check(spec)
    return spec
