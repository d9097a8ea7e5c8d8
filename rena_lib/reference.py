"""The paper's published architectures as data, and our metrics beside the paper's values.

Table 2 (keyword spotting): 12 rows in the paper's notation, measured from specs (analytic, no
TensorFlow). Table 1 (CIFAR-10): the three hand-designed baselines, too irregular for the spec format, as
Keras builders following the conventions of the paper-tables reference notes (trainable params 1,019,722 / 15,324,406 /
34,426,698). ``comparison_table()`` puts params, FLOPs per example, FLOPs x 256 in GFLOPs (the scale the
paper's Table 2 "GFLOPs" column appears to use) and compute intensity beside the paper's numbers.

Paper constraints are translated into our units: "Comp. complexity < 1 GFLOPs" becomes
flops < 1e9 / 256 per example (the x256 reading of the column); sizes and intensities map directly.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

from rena_lib.metrics import DEFAULT_BATCH_SIZE, DEFAULT_CONVENTION, Metrics, OpCost, measure

__all__ = [
    "ARCHITECTURES",
    "CIFAR_BASELINES",
    "TABLE1",
    "TABLE2",
    "Architecture",
    "comparison_table",
    "densenet",
    "densenet_bc",
    "intensity_rank_correlation",
    "resnext29",
]

#: the factor between our FLOPs per example and the paper's Table 2 "GFLOPs" (a batch of 256), in GFLOPs
PAPER_FLOPS_SCALE = 256 / 1e9


@dataclass(frozen=True)
class Architecture:
    """One published architecture with the paper's reported values (None where the paper gives none)."""

    name: str
    table: int  # 1 (CIFAR-10) or 2 (KWS)
    architecture: str  # the paper's notation (Table 2) or a description (Table 1)
    constraint: str  # as printed in the paper ("-" for none)
    paper_params: float
    paper_intensity: float
    params: int  # the exact trainable count of our reconstruction (paper-tables.md)
    paper_gflops: float | None = None
    paper_accuracy: float | None = None  # test accuracy in % (Table 2) or 100 - test error (Table 1)
    constraints: tuple[str, ...] = field(default=())  # the paper's constraint in our metric units

    def spec(self):
        """The Table 2 row as a Spec (ValueError for the Table 1 baselines, which are Keras builders)."""
        if self.table != 2:
            raise ValueError(f"{self.name} is a Table 1 baseline: use CIFAR_BASELINES[{self.name!r}]()")
        from rena_lib.arch import from_paper_notation

        return from_paper_notation(self.architecture, "kws")


_G = 1e9 / 256  # 1 paper "GFLOP" in FLOPs per example

TABLE2: tuple[Architecture, ...] = (
    Architecture(
        "RENA (no constraint)", 2,
        "DS-Conv2d (1,4,4,1,1,1) GRU (1,64,1) GRU (1,128,1) Conv2d (1,12,16,2,4,4) Conv2d (1,4,16,4,4,4) "
        "Conv2d (1,64,16,4,4,4) FC (1,32)",
        "-", 0.143e6, 3.58, 142_345, 3.39, 95.81,
    ),
    Architecture("RENA (size < 0.05M)", 2, "GRU (2,64,1)", "Model size < 0.05 M", 0.047e6, 3.69, 46_860,
                 1.40, 94.04, ("params < 50000",)),
    Architecture("DS-CNN [Zhang et al.]", 2, "Conv2d (1,64,10,4,2,2) DS-Conv2d (4,64,3,3,1,1) AvgPool2d", "-",
                 0.023e6, 1.76, 22_604, 6.07, 93.39),
    Architecture("RENA (size < 0.1M)", 2, "Conv2d (3,32,4,8,1,3) AvgPool2d", "Model size < 0.1 M", 0.067e6,
                 8.11, 67_052, 6.53, 94.82, ("params < 100000",)),
    Architecture("RENA (complexity < 1 GFLOPs)", 2, "GRU (3,32,1) FC (1,256)", "Comp. complexity < 1 GFLOPs",
                 0.425e6, 2.45, 424_524, 0.89, 93.16, (f"flops < {1 * _G:.0f}",)),
    Architecture("GRU [Zhang et al.]", 2, "GRU (1,154,1)", "-", 0.093e6, 5.03, 92_412, 0.68, 92.94),
    Architecture("RENA (complexity < 5 GFLOPs)", 2, "GRU (5,64,1) FC (2,16)", "Comp. complexity < 5 GFLOPs",
                 0.171e6, 6.38, 170_860, 3.30, 95.02, (f"flops < {5 * _G:.0f}",)),
    Architecture("RENA (intensity > 10)", 2, "GRU (3,128,2)", "Comp. intensity > 10 FLOPs/byte", 0.733e6,
                 21.83, 732_684, 13.59, 95.64, ("intensity > 10",)),
    Architecture("CRNN [Zhang et al.]", 2, "Conv2d (1,100,10,4,2,1) GRU (2,136,1) FC (1,188)", "-", 2.447e6,
                 15.76, 2_445_852, 46.21, 94.40),
    Architecture("RENA (intensity > 50)", 2, "Conv2d (3,192,8,4,1,3) AvgPool2d (8,1) FC (2,16)",
                 "Comp. intensity > 50 FLOPs/byte", 2.626e6, 58.70, 2_624_556, 210.13, 95.18,
                 ("intensity > 50",)),
    Architecture("RENA (size < 0.1M, intensity > 10)", 2,
                 "Conv2d (2,32,20,2,1,2) GRU (3,16,1) GRU (2,12,1) Conv2d (2,4,20,8,1,2)",
                 "Model size < 0.1 M, Comp. intensity > 10 FLOPs/byte", 0.074e6, 10.29, 74_084, 12.57, 93.65,
                 ("params < 100000", "intensity > 10")),
    Architecture("RENA (size < 0.1M, complexity < 1 GFLOPs)", 2, "GRU (2,32,2)",
                 "Model size < 0.1 M, Comp. complexity < 1 GFLOPs", 0.035e6, 2.77, 34_572, 1.00, 93.07,
                 ("params < 100000", f"flops < {1 * _G:.0f}")),
)  # fmt: skip

TABLE1: tuple[Architecture, ...] = (
    Architecture("DenseNet (L=40, k=12)", 1, "3 dense blocks x 12 BN-ReLU-Conv3x3(12), transitions 1x1 + avgpool",
                 "-", 1.02e6, 4.1, 1_019_722, None, 100 - 5.24),
    Architecture("DenseNet-BC (L=250, k=24)", 1, "3 dense blocks x 41 bottlenecks (1x1 96, 3x3 24), compression 0.5",
                 "-", 15.3e6, 7.1, 15_324_406, None, 100 - 3.62),
    Architecture("ResNeXt-29, 8x64d", 1, "3 stages x 3 bottlenecks, grouped 3x3 (8 groups), width 512-2048",
                 "-", 34.4e6, 17.3, 34_426_698, None, 100 - 3.65),
)  # fmt: skip

#: all 15 rows: the 12 of Table 2 then the 3 baselines of Table 1
ARCHITECTURES: tuple[Architecture, ...] = TABLE2 + TABLE1


# --------------------------------------------------------------------------------------------------
# Table 1 baselines as Keras models (CIFAR-10 input 32x32x3, 10 classes, logits out)
# --------------------------------------------------------------------------------------------------
def _bn_relu_conv(x, filters: int, kernel: int, name: str, strides: int = 1, groups: int = 1):
    import keras

    L = keras.layers
    x = L.BatchNormalization(name=f"{name}_bn")(x)
    x = L.Activation("relu", name=f"{name}_relu")(x)
    return L.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, groups=groups,
                    name=f"{name}_conv")(x)  # fmt: skip


def _densenet(layers_per_block: int, growth: int, stem: int, bottleneck: bool, compression: float, name: str):
    import keras

    L = keras.layers
    inputs = keras.Input((32, 32, 3), name="input")
    x = L.Conv2D(stem, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    for b in range(3):
        for i in range(layers_per_block):
            y = x
            if bottleneck:
                y = _bn_relu_conv(y, 4 * growth, 1, f"b{b}_l{i}_1x1")
            y = _bn_relu_conv(y, growth, 3, f"b{b}_l{i}_3x3")
            x = L.Concatenate(name=f"b{b}_l{i}_concat")([x, y])
        if b < 2:  # transition: BN-ReLU-Conv1x1 (compressed) + 2x2 average pooling
            x = _bn_relu_conv(x, math.floor(compression * x.shape[-1]), 1, f"t{b}")
            x = L.AveragePooling2D(2, name=f"t{b}_pool")(x)
    x = L.BatchNormalization(name="final_bn")(x)
    x = L.Activation("relu", name="final_relu")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, L.Dense(10, name="logits")(x), name=name)


def densenet(depth: int = 40, growth: int = 12):
    """DenseNet (Huang et al.) for CIFAR-10: 3 blocks of (depth - 4) / 3 BN-ReLU-Conv3x3 layers, no compression."""
    return _densenet((depth - 4) // 3, growth, 16, False, 1.0, f"densenet_{depth}_{growth}")


def densenet_bc(depth: int = 250, growth: int = 24):
    """DenseNet-BC for CIFAR-10: 3 blocks of (depth - 4) / 6 bottleneck layers, compression 0.5."""
    return _densenet((depth - 4) // 6, growth, 2 * growth, True, 0.5, f"densenet_bc_{depth}_{growth}")


def resnext29(cardinality: int = 8, group_width: int = 64):
    """ResNeXt-29 (Xie et al.) for CIFAR-10: 3 stages x 3 bottleneck blocks with grouped 3x3 convolutions."""
    import keras

    L = keras.layers

    def conv_bn(
        x, filters: int, kernel: int, name: str, strides: int = 1, groups: int = 1, relu: bool = True
    ):
        x = L.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, groups=groups,
                     name=f"{name}_conv")(x)  # fmt: skip
        x = L.BatchNormalization(name=f"{name}_bn")(x)
        return L.Activation("relu", name=f"{name}_relu")(x) if relu else x

    inputs = keras.Input((32, 32, 3), name="input")
    x = conv_bn(inputs, 64, 3, "stem")
    for s in range(3):
        width, out = cardinality * group_width * 2**s, 256 * 2**s
        for i in range(3):
            stride = 2 if (s > 0 and i == 0) else 1
            name = f"s{s}_b{i}"
            y = conv_bn(x, width, 1, f"{name}_a")
            y = conv_bn(y, width, 3, f"{name}_b", strides=stride, groups=cardinality)
            y = conv_bn(y, out, 1, f"{name}_c", relu=False)
            if x.shape[-1] != out or stride != 1:
                x = conv_bn(x, out, 1, f"{name}_proj", strides=stride, relu=False)
            x = L.Activation("relu", name=f"{name}_relu")(L.Add(name=f"{name}_add")([x, y]))
    x = L.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, L.Dense(10, name="logits")(x), name=f"resnext29_{cardinality}x{group_width}d")


#: Table 1 baseline name -> Keras builder
CIFAR_BASELINES = {
    "DenseNet (L=40, k=12)": densenet,
    "DenseNet-BC (L=250, k=24)": densenet_bc,
    "ResNeXt-29, 8x64d": resnext29,
}


@functools.cache
def _baseline_ops(name: str) -> tuple[OpCost, ...]:
    """Per-op costs of a Table 1 baseline (built once per process; the model itself is not kept)."""
    return measure(CIFAR_BASELINES[name]()).layers


def measure_architecture(
    arch: Architecture, batch_size: int = DEFAULT_BATCH_SIZE, convention: str = DEFAULT_CONVENTION
) -> Metrics:
    """Our metrics of one published architecture (Table 1 rows build a Keras model, once per process)."""
    if arch.table == 2:
        return measure(arch.spec(), batch_size, convention)
    return Metrics.from_ops(list(_baseline_ops(arch.name)), batch_size, convention)


def comparison_table(
    batch_size: int = DEFAULT_BATCH_SIZE,
    tables: tuple[int, ...] = (2, 1),
    convention: str = DEFAULT_CONVENTION,
) -> Any:
    """Paper vs ours for every architecture of the tables: params, FLOPs, FLOPs x 256 and intensity.

    The intensity is counted under `convention` at `batch_size` (both also given as columns).
    """
    import pandas as pd

    rows = []
    for a in ARCHITECTURES:
        if a.table not in tables:
            continue
        m = measure_architecture(a, batch_size, convention)
        gflops = m.flops * PAPER_FLOPS_SCALE
        rows.append(
            {
                "name": a.name,
                "table": a.table,
                "architecture": a.architecture,
                "constraint": a.constraint,
                "paper_params": a.paper_params,
                "params": m.params,
                "params_rel_diff": m.params / a.paper_params - 1,
                "flops": m.flops,
                "gflops_x256": gflops,
                "paper_gflops": math.nan if a.paper_gflops is None else a.paper_gflops,
                "gflops_ratio": math.nan if a.paper_gflops is None else a.paper_gflops / gflops,
                "intensity": m.intensity,
                "paper_intensity": a.paper_intensity,
                "convention": m.convention,
                "batch_size": m.batch_size,
            }
        )
    return pd.DataFrame(rows).set_index("name")


def intensity_rank_correlation(table: Any) -> float:
    """Spearman rank correlation between our intensities and the paper's over the table's rows."""
    from scipy.stats import spearmanr

    return float(spearmanr(table["intensity"], table["paper_intensity"]).statistic)
