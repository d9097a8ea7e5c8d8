"""The search spaces of the paper's Tables 3, 4 and 5, and sampling random specs from them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

import rena_lib.arch.registry as registry
from rena_lib.arch.schema import BRANCH_OPS, DEFAULT_MODULE_STACK  # noqa: F401  (re-exported here)
from rena_lib.arch.spec import Layer, Spec

__all__ = [
    "BASELINES",
    "SPACE_NAMES",
    "SearchSpace",
    "baseline",
    "get",
    "register_space",
    "registered_name",
    "space_names",
]

#: the paper's three spaces (Tables 3, 4, 5); space_names() lists every registered one
SPACE_NAMES = ("cifar_layer", "kws_layer", "cifar_module")

SOURCE_FEATURES = registry.SOURCE_FIELDS


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

    def __post_init__(self) -> None:
        if isinstance(self.task, registry.Task):  # a Task object is registered and named
            object.__setattr__(self, "task", registry.register_task(self.task).name)

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def from_layer_types(
        cls,
        name: str,
        task: str | registry.Task,
        layer_types: tuple[str, ...] | None = None,
        *,
        granularity: str = "layer",
        max_layers: int = 8,
        values: dict[str, tuple[Any, ...]] | None = None,
        feature_order: tuple[str, ...] = (),
        stack: dict[str, Any] | None = None,
    ) -> SearchSpace:
        """A space of registered layer types, with their entries' values unless values overrides them.

        layer_types: names in the task granularity's family (None: all of them); feature_order: the
        features listed first (the policy's token order); module search takes the task's default stack.
        """
        t = registry.get_task(task)
        if granularity not in t.granularities:
            raise ValueError(
                f"task {t.name!r} has no {granularity!r} search; it has {tuple(t.granularities)}"
            )
        gran = t.granularities[granularity]
        family = registry.family_types(gran.family)
        names = tuple(family) if layer_types is None else tuple(layer_types)
        unknown = [n for n in names if n not in family]
        if unknown:
            raise ValueError(
                f"layer types {unknown} are not registered for {t.name}/{granularity}; registered: {tuple(family)}"
            )
        features: dict[str, tuple[Any, ...]] = {f: () for f in feature_order}
        for n in names:
            for f, vals in family[n].values.items():
                old = features.get(f, ())
                features[f] = old + tuple(v for v in vals if v not in old)
        features.update(values or {})
        features = {f: tuple(v) for f, v in features.items() if f not in SOURCE_FEATURES}
        st = {**gran.default_stack, **(stack or {})} if gran.default_stack is not None else None
        space = cls(name, t.name, granularity, names, features, {n: family[n].fields for n in names}, 1, st)
        return space.with_limits(max_layers)

    def with_limits(self, max_layers: int | None = None, stack: dict[str, Any] | None = None) -> SearchSpace:
        """This space with another MAX_LAYERS (sources: range(n), module search range(n + 1)) or stack."""
        n = max_layers or self.max_layers
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"max_layers must be a positive int, got {max_layers!r}")
        n_src = n if self.granularity == "layer" else n + 1
        features = {k: v for k, v in self.features.items() if k not in SOURCE_FEATURES}
        features.update(src1=tuple(range(n_src)), src2=tuple(range(n_src)))
        st = {**self.stack, **(stack or {})} if self.stack is not None else None
        return replace(self, features=features, max_layers=n, stack=st)

    def check_registry(self) -> None:
        """Raise ValueError unless the task, the granularity and every layer type (with its fields) are
        registered and every field has allowed values: before a search of this space starts."""
        task = registry.get_task(self.task)
        if self.granularity not in task.granularities:
            raise ValueError(
                f"space {self.name!r}: task {self.task!r} has no {self.granularity!r} search "
                f"(it has {tuple(task.granularities)})"
            )
        family = registry.family_types(task.granularities[self.granularity].family)
        for t in self.layer_types:
            if t not in family:
                raise ValueError(
                    f"space {self.name!r}: layer type {t!r} is not registered for {self.task}/{self.granularity} "
                    f"(registered: {tuple(family)}); register it with rena_lib.arch.register_layer_type"
                )
            fields = self.type_features.get(t)
            if fields is None or set(fields) != set(family[t].fields):
                raise ValueError(
                    f"space {self.name!r}: layer type {t!r} has fields {fields}, its entry {family[t].fields}"
                )
            for f in fields:
                if not self.features.get(f):
                    raise ValueError(f"space {self.name!r}: field {f!r} of {t!r} has no allowed values")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SearchSpace:
        """Inverse of to_dict."""
        return cls(
            name=d["name"],
            task=d["task"],
            granularity=d["granularity"],
            layer_types=tuple(d["layer_types"]),
            features={k: tuple(v) for k, v in d["features"].items()},
            type_features={k: tuple(v) for k, v in d["type_features"].items()},
            max_layers=d["max_layers"],
            stack=dict(d["stack"]) if d.get("stack") is not None else None,
        )

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


# The paper's spaces: Table 3 (layer-by-layer, CIFAR-10), Table 4 (keyword spotting; the notation's global
# pooling is no search choice), Table 5 (module search; "propagate" = the branch joins the module output).
# Their values are the layer types' entries (rena_lib.arch.kws / cifar); feature_order is the tables' order.
BRANCH_TYPES = tuple(BRANCH_OPS)
_SPACES: dict[str, SearchSpace] = {}

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


def register_space(space: SearchSpace, baseline: str | None = None, *, replace: bool = False) -> SearchSpace:
    """Register a space under its name (with the baseline notation searches of it start from)."""
    if not isinstance(space, SearchSpace):
        raise ValueError(f"expected a SearchSpace, got {type(space).__name__}")
    space.check_registry()
    old = _SPACES.get(space.name)
    if old is not None and old != space and not replace:
        raise ValueError(f"a different search space {space.name!r} is already registered (pass replace=True)")
    _SPACES[space.name] = space
    if baseline is not None:
        BASELINES[space.name] = baseline
    return space


def space_names() -> tuple[str, ...]:
    """Names of the registered search spaces."""
    return tuple(_SPACES)


def get(
    name: str | SearchSpace, max_layers: int | None = None, stack: dict[str, Any] | None = None
) -> SearchSpace:
    """The named (registered) search space, or a SearchSpace itself, with MAX_LAYERS/MAX_BRANCHES and
    the module stack settable; its layer types must be registered."""
    if isinstance(name, SearchSpace):
        name.check_registry()
        return name if max_layers is None and stack is None else name.with_limits(max_layers, stack)
    if name not in _SPACES:
        raise ValueError(f"unknown search space {name!r}; choose one of {space_names()}")
    return _SPACES[name].with_limits(max_layers, stack)


def registered_name(space: SearchSpace) -> str | None:
    """The space's name if it is a registered space (at some max_layers and stack), else None."""
    if space.name not in _SPACES:
        return None
    same = _SPACES[space.name].with_limits(space.max_layers, space.stack)
    return space.name if same == space else None


def baseline(
    name: str | SearchSpace, max_layers: int | None = None, stack: dict[str, Any] | None = None
) -> Spec:
    """The baseline spec a search of the space starts from (a member of the space)."""
    from rena_lib.arch.notation import from_paper_notation

    space = get(name, max_layers, stack)
    if space.name not in BASELINES:
        raise ValueError(
            f"space {space.name!r} has no registered baseline: register_space(space, baseline=...) or "
            "give the search a baseline"
        )
    spec = from_paper_notation(BASELINES[space.name], space.task, space.granularity, space.stack)
    space.check(spec)
    return spec


register_space(
    SearchSpace.from_layer_types(
        "cifar_layer", "cifar10", max_layers=16,
        feature_order=("filter_width", "pool_width", "channels", "activation", "merge"),
    )
)  # fmt: skip
register_space(
    SearchSpace.from_layer_types(
        "kws_layer", "kws", ("conv2d", "ds_conv2d", "dilated_conv2d", "gru", "avgpool2d", "fc"), max_layers=8,
        feature_order=("num_layers", "kernel_t", "kernel_f", "channels", "stride_t", "stride_f", "directions",
                       "keep_prob"),
    )
)  # fmt: skip
register_space(
    SearchSpace.from_layer_types(
        "cifar_module", "cifar10", granularity="module", max_layers=5,
        feature_order=("filter_width", "pool_width", "channels", "propagate"),
    )
)  # fmt: skip
