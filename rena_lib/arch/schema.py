"""Layer types and their fields, per task and granularity: the one table that specs, validation and the
search spaces (Tables 3-5) share."""

from __future__ import annotations

__all__ = ["ACTIVATIONS", "BRANCH_OPS", "CIFAR_TYPES", "DEFAULT_MODULE_STACK", "KWS_TYPES", "MODULE_TYPES"]

#: default stacking of the module (module search): stem conv, `stages` stages of `repeats` modules,
#: a 2x2 max-pool between stages, branch channels x `stage_multiplier`**stage, then GAP + Dense(10).
DEFAULT_MODULE_STACK = {"stem_channels": 32, "stages": 3, "repeats": 2, "stage_multiplier": 2}

ACTIVATIONS = ("relu", "crelu", "elu", "selu", "swish")

_KWS_CONV = ("num_layers", "channels", "kernel_t", "kernel_f", "stride_t", "stride_f", "keep_prob", "src1")

#: keyword spotting (Table 4, plus the global average pooling the paper's notation uses)
KWS_TYPES: dict[str, tuple[str, ...]] = {
    "conv2d": _KWS_CONV,
    "ds_conv2d": _KWS_CONV,
    "dilated_conv2d": ("num_layers", "channels", "kernel_t", "kernel_f", "stride_f", "keep_prob", "src1"),
    "gru": ("num_layers", "channels", "directions", "keep_prob", "src1"),
    "avgpool2d": ("kernel_t", "kernel_f", "src1"),
    "global_avgpool2d": ("src1",),
    "fc": ("num_layers", "channels", "keep_prob", "src1"),
}

#: CIFAR-10 layer-by-layer search (Table 3; "add" joins Src1 and Src2 by addition or concatenation)
CIFAR_TYPES: dict[str, tuple[str, ...]] = {
    "conv2d": ("filter_width", "channels", "activation", "src1"),
    "ds_conv2d": ("filter_width", "channels", "activation", "src1"),
    "maxpool2d": ("pool_width", "src1"),
    "add": ("merge", "src1", "src2"),
}

#: module search branch types (Table 5): op 1 reads Src1, op 2 (None: none) reads Src2
BRANCH_OPS: dict[str, tuple[str, str | None]] = {
    "conv-conv": ("conv", "conv"),
    "conv-maxpool": ("conv", "maxpool"),
    "conv-avgpool": ("conv", "avgpool"),
    "conv-none": ("conv", None),
    "maxpool-none": ("maxpool", None),
    "avgpool-none": ("avgpool", None),
    "1x7-7x1-none": ("1x7-7x1", None),
}
MODULE_TYPES: dict[str, tuple[str, ...]] = {
    t: ("filter_width", "pool_width", "channels", "propagate", "src1", "src2") for t in BRANCH_OPS
}
