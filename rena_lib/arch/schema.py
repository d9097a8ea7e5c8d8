"""Layer types and their fields, per task and granularity, as the tables the older code read.

Views of the layer-type registry (rena_lib.arch.registry): the entries live in rena_lib.arch.kws and
rena_lib.arch.cifar; these names stay importable for notebooks and older modules.
"""

from __future__ import annotations

import rena_lib.arch.registry as registry
from rena_lib.arch.cifar import ACTIVATIONS, BRANCH_OPS, DEFAULT_MODULE_STACK
from rena_lib.arch.kws import KWS  # noqa: F401  (registers the KWS layer types)

__all__ = ["ACTIVATIONS", "BRANCH_OPS", "CIFAR_TYPES", "DEFAULT_MODULE_STACK", "KWS_TYPES", "MODULE_TYPES"]


def _fields(family: str) -> dict[str, tuple[str, ...]]:
    return {name: e.fields for name, e in registry.family_types(family).items()}


#: keyword spotting (Table 4, plus the global average pooling the paper's notation uses)
KWS_TYPES: dict[str, tuple[str, ...]] = _fields("kws")
#: CIFAR-10 layer-by-layer search (Table 3; "add" joins Src1 and Src2 by addition or concatenation)
CIFAR_TYPES: dict[str, tuple[str, ...]] = _fields("cifar")
#: module search branch types (Table 5)
MODULE_TYPES: dict[str, tuple[str, ...]] = _fields("cifar_module")
