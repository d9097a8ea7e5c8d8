"""Architecture specs: plain data for a network, lossless through JSON.

A spec is a list of *layers* (layer-by-layer search, Fig. 2a) or of *branches* (module search, Fig. 2b).
Every layer is a type plus a dict of features. Sources are 1-based: ``src1 = 0`` is the network (or
module) input, ``src1 = k`` the output of layer (branch) k; a layer may only read earlier layers.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rena_lib.arch.registry import TASKS  # task name -> (input shape, classes), every registered task

__all__ = ["TASKS", "Layer", "Spec"]


@dataclass
class Layer:
    """One layer (or module branch): its type and its feature values (src1/src2 included)."""

    type: str
    features: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.features[name]

    def get(self, name: str, default: Any = None) -> Any:
        """Feature value or default."""
        return self.features.get(name, default)

    def replace(self, **changes: Any) -> Layer:
        """A copy with some features changed."""
        return Layer(self.type, {**self.features, **changes})

    def to_dict(self) -> dict[str, Any]:
        """Plain dict {"type": ..., **features}."""
        return {"type": self.type, **copy.deepcopy(self.features)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Layer:
        """Inverse of to_dict."""
        if not isinstance(d, dict) or "type" not in d:
            raise ValueError(f"a layer must be a dict with a 'type' key, got {d!r}")
        feats = {k: v for k, v in d.items() if k != "type"}
        return cls(str(d["type"]), feats)


@dataclass
class Spec:
    """A whole network: the task, its layers (or module branches) and, for module search, the stacking."""

    task: str
    layers: list[Layer]
    granularity: str = "layer"
    stack: dict[str, Any] | None = None

    @property
    def branches(self) -> list[Layer]:
        """The module's branches (module search): the same list as layers."""
        return self.layers

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        d: dict[str, Any] = {
            "task": self.task,
            "granularity": self.granularity,
            "layers": [layer.to_dict() for layer in self.layers],
        }
        if self.stack is not None:
            d["stack"] = copy.deepcopy(self.stack)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Spec:
        """Inverse of to_dict."""
        if not isinstance(d, dict):
            raise ValueError(f"a spec must be a dict, got {type(d).__name__}")
        missing = [k for k in ("task", "layers") if k not in d]
        if missing:
            raise ValueError(f"spec is missing {missing}")
        return cls(
            task=d["task"],
            layers=[Layer.from_dict(x) for x in d["layers"]],
            granularity=d.get("granularity", "layer"),
            stack=copy.deepcopy(d.get("stack")),
        )

    def to_json(self, **kwargs: Any) -> str:
        """JSON text (canonical: sorted keys) of the spec."""
        return json.dumps(self.to_dict(), sort_keys=True, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        """Inverse of to_json."""
        return cls.from_dict(json.loads(text))

    def key(self) -> str:
        """A short stable hash of the spec, equal for equal specs (used to cache evaluations)."""
        return hashlib.sha1(self.to_json().encode()).hexdigest()[:16]

    def copy(self) -> Spec:
        """A deep copy."""
        return Spec.from_dict(self.to_dict())

    def __len__(self) -> int:
        return len(self.layers)

    def __str__(self) -> str:
        # the paper's notation, when rena_lib.arch.notation (which imports this module) has registered it
        return _FORMATTER(self) if _FORMATTER is not None else repr(self)


#: Spec -> text, set by rena_lib.arch.notation (to_paper_notation): arch.spec stays below arch.notation
_FORMATTER: Callable[[Spec], str] | None = None
