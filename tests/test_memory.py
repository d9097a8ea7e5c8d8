"""Peak RAM and flash of a spec (rena_lib.memory): hand-computed cases, and the exported model agrees."""

from __future__ import annotations

import pandas as pd
import pytest

from rena_lib import dashboard, memory
from rena_lib.arch import Layer, Spec, from_paper_notation
from rena_lib.metrics import METRIC_NAMES, measure
from rena_lib.reference import TABLE2
from rena_lib.reward import Constraint, is_feasible, reward


def kws(notation: str) -> Spec:
    return from_paper_notation(notation, "kws")


def cifar(*layers: tuple[str, dict]) -> Spec:
    return Spec("cifar10", [Layer(t, f) for t, f in layers])


CHAIN = "Conv2d (1,4,1,1,1,1) Conv2d (1,8,1,1,2,2)"
SKIP = cifar(
    ("conv2d", dict(filter_width=3, channels=16, activation="relu", src1=0)),
    ("conv2d", dict(filter_width=3, channels=16, activation="relu", src1=1)),
    ("add", dict(merge="add", src1=1, src2=2)),
)
CONCAT = cifar(
    ("conv2d", dict(filter_width=3, channels=16, activation="relu", src1=0)),
    ("maxpool2d", dict(pool_width=2, src1=1)),
    ("add", dict(merge="concat", src1=1, src2=2)),
)


# --------------------------------------------------------------------------------------------------
# hand-computed cases
# --------------------------------------------------------------------------------------------------
def test_two_layer_chain_exact():
    # input 49x40x1 = 1960; conv1 49x40x4 = 7840; conv2 (stride 2) 25x20x8 = 4000; flatten 4000; logits 12
    p = memory.peak_ram(kws(CHAIN), "int8")
    assert [r[2] for r in p.schedule] == [1960 + 7840, 7840 + 4000, 4000 + 4000, 4000 + 12]
    assert p.peak_bytes == 11_840 and p.op == "L2_conv2d_2" and p.layer == 2
    assert set(p.live) == {"L1_conv2d_1", "L2_conv2d_2"}
    assert memory.peak_ram(kws(CHAIN), "float32").peak_bytes == 4 * 11_840
    # flash: conv1 4 weights + 4 biases, conv2 32 + 8, head 4000 x 12 + 12; 12 bytes per quantised channel
    f = memory.flash_bytes(kws(CHAIN))
    assert (f.weights, f.biases, f.channels) == (4 + 32 + 48_000, 4 + 8 + 12, 8 + 16 + 24)
    assert f.total == 48_036 + 4 * 24 + 12 * 48 == 48_708


def test_skip_connection_keeps_its_source_alive_exact():
    # conv1 32x32x16 = 16384 stays live until the add reads it; BN and ReLU fold into the convolutions
    p = memory.peak_ram(SKIP, "int8")
    assert [r[2] for r in p.schedule] == [3072 + 16384, 2 * 16384, 3 * 16384, 16384 + 16, 16 + 10]
    assert p.peak_bytes == 49_152 and p.kind == "add" and p.layer == 3


def test_concatenation_exact():
    # conv1 16384; maxpool 16x16x16 = 4096; the concat's reconcile avg-pools conv1 to 16x16x16 (4096) while
    # the maxpool output waits; then concat 16x16x32 = 8192
    p = memory.peak_ram(CONCAT, "int8")
    rows = [r[2] for r in p.schedule]
    assert rows == [3072 + 16384, 16384 + 4096, 16384 + 4096 + 4096, 4096 + 4096 + 8192, 8192 + 32, 32 + 10]
    assert p.peak_bytes == 24_576 and p.kind == "avgpool2d" and p.layer == 3


def test_gru_exact():
    # GRU (1,16,1): reshape 49x40 (1960 + 1960); the GRU entering: its input's time-major copy and step
    # slices (2 x 1960) + the hoisted first step (4 x 16); leaving: 49 x 16 outputs + packed (1568)
    p = memory.peak_ram(kws("GRU (1,16,1)"), "int8")
    assert [r[2] for r in p.schedule] == [3920, 2 * 1960 + 64, 784 + 16, 16 + 12]
    assert p.peak_bytes == 3984 and p.kind == "gru"
    assert memory.peak_ram(kws("GRU (1,16,1)"), "float32").peak_bytes == 4 * 3984
    # the unrolled export: input kernel 48x40 once, recurrent 48x16 twice, a 48-bias per FC per step (2 x 49)
    f = memory.flash_bytes(kws("GRU (1,16,1)"))
    assert (f.weights, f.biases) == (1920 + 2 * 768 + 192, 2 * 49 * 48 + 12)
    assert f.channels == 48 + 96 + 2 * 49 * 48 + 24 and f.total == 80_976


def test_gru_recurrence_exact():
    # GRU (1,154,1): 49 steps named gru_cell_1, _3, ..., _97; the converter orders independent ops by
    # name, so before step 4 (gru_cell_9) projects its own input it has projected every step whose name
    # sorts before "gru_cell_9/": steps 0-4 and gru_cell_11 .. gru_cell_89 (steps 5-44), 45 in all. At
    # step 4's SPLIT: its recurrent projection's 3 slices (3u = 462) + its own projection and its 3
    # slices (6u = 924) + 40 hoisted projections (40 x 3u = 18,480) + 4 unprojected input slices
    # (steps 45-48, 4 x 40 = 160) + 4 step outputs (h0..h3, 4 x 154 = 616) = 20,642
    assert memory.gru_recurrence_peak(49, 40, 154) == 1386 + 18_480 + 160 + 616 == 20_642
    p = memory.peak_ram(kws("GRU (1,154,1)"), "int8")
    assert p.peak_bytes == 20_642 and p.kind == "gru"  # above the entry: 2 x 1960 + 4 x 154 = 4,536
    assert memory.peak_ram(kws("GRU (1,154,1)"), "float32").peak_bytes == 4 * 20_642
    # GRU (1,16,1): the same step is 144 + 40 x 48 + 160 + 64 = 2,288, below the entry (3,984)
    assert memory.gru_recurrence_peak(49, 40, 16) == 9 * 16 + 40 * 48 + 4 * 40 + 4 * 16 == 2288
    # bidirectional GRU (1,32,2): the first direction keeps all 49 input slices (1,960) and the zero state
    # (32) for the second: 9 x 32 + 40 x 96 + 1960 + 4 x 32 + 32 = 6,248; the second direction holds the
    # first one's 49 x 32 outputs instead: 288 + 3840 + 160 + 128 + 1568 = 5,984
    assert memory.gru_recurrence_peak(49, 40, 32, bidirectional=True) == 6248


def test_dilated_convolution_is_four_ops_exact():
    # rate 2, kernel 4x4 on 49x40x1: SPACE_TO_BATCH_ND pads to 56x46 (the reach 3 x 2, rounded up to even),
    # CONV_2D on the 2x2 sub-grids writes 4 x 25 x 20 x 12 = 24,000, BATCH_TO_SPACE_ND and ADD 49x40x12
    spec = kws("Dilated-Conv2d (1,12,4,4,2)")
    p = memory.peak_ram(spec, "int8")
    assert [r[1] for r in p.schedule[:4]] == ["space_to_batch", "conv2d", "batch_to_space", "add"]
    assert [r[2] for r in p.schedule] == [
        1960 + 2576,
        2576 + 24_000,
        24_000 + 23_520,
        2 * 23_520,
        2 * 23_520,
        23_532,
    ]
    assert p.peak_bytes == 47_520 and p.op == "L1_conv2d_1:batch_to_space"
    # flash: the bias is stored twice, int32 (per-channel scales) and int8 for the ADD (one scale)
    f = memory.flash_bytes(spec)
    assert (f.weights, f.biases, f.channels) == (192 + 12 + 23_520 * 12, 12 + 12, 24 + 1 + 24)
    assert f.total == 283_128


def test_dropout_is_free_and_bypassed_layers_are_not_counted():
    with_dropout, without = (memory.peak_ram(kws(n), "int8") for n in ("FC (1,12,keep=0.8)", "FC (1,12)"))
    assert [r[2] for r in with_dropout.schedule] == [r[2] for r in without.schedule] == [3920, 1972, 24]
    # layer 2 reads the input: layer 1 (49x40x64 = 125,440) is not built; layer 2 writes 49x40x4 = 7840,
    # and the head's flatten copies it
    skip = kws("Conv2d (1,64,4,4,1,1) Conv2d (1,4,1,1,1,1)@0")
    p = memory.peak_ram(skip, "int8")
    assert [r[2] for r in p.schedule] == [1960 + 7840, 2 * 7840, 7840 + 12] and p.kind == "flatten"
    assert memory.has_skip(skip) and not memory.has_skip(kws(CHAIN))


# --------------------------------------------------------------------------------------------------
# metrics, constraints, dashboard; bad input
# --------------------------------------------------------------------------------------------------
def test_measure_reports_memory_metrics_that_constraints_and_pareto_views_use():
    m = measure(kws(CHAIN))
    assert {"ram_bytes_int8", "ram_bytes_float32", "flash_bytes"} <= set(METRIC_NAMES)
    assert (m["ram_bytes_int8"], m["ram_bytes_float32"], m["flash_bytes"]) == (11_840, 47_360, 48_708)
    assert dict(m)["ram_bytes_int8"] == 11_840
    cons = [Constraint.parse("ram_bytes_int8 < 10k"), Constraint.parse("flash_bytes < 64k")]
    assert not is_feasible(m, cons) and is_feasible(m, cons[1:])
    assert reward(0.9, m, cons) == pytest.approx(0.9 * 0.9 ** ((11_840 - 10_000) / 10_000))
    df = pd.DataFrame(
        [
            {"performance": 0.5 + 0.01 * i, "failed": False, "feasible": True, **dict(measure(kws(n)))}
            for i, n in enumerate(["FC (1,12)", CHAIN, "GRU (1,16,1)"])
        ]
    )
    fig = dashboard.pareto_figure(df, ["ram_bytes_int8 < 32k", "flash_bytes < 64k"])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[-2:] == ["peak RAM, int8 activations (bytes)", "flash, int8 weights (bytes)"]


def test_bad_input_names_the_field_or_layer():
    with pytest.raises(ValueError, match="precision='int16'"):
        memory.peak_ram(kws(CHAIN), "int16")
    with pytest.raises(ValueError, match=r"needs an activation precision.*'ram_bytes_int8'"):
        Constraint.parse("ram_bytes < 32k")
    with pytest.raises(ValueError, match="got 'uint8'"):
        Constraint("ram_bytes_uint8", "<", 1000)
    elu = cifar(("conv2d", dict(filter_width=3, channels=16, activation="elu", src1=0)))
    with pytest.raises(
        memory.NoInt8ExportError, match=r"layer 1 \(activation.*'elu' cannot be exported to int8"
    ):
        memory.peak_ram(elu, "int8")
    with pytest.raises(memory.NoInt8ExportError, match="layer 1"):
        memory.flash_bytes(elu)
    m = measure(elu)
    assert m["ram_bytes_int8"] is None and m["flash_bytes"] is None and m["ram_bytes_float32"] > 0
    with pytest.raises(ValueError, match="ram_bytes_int8 is not defined"):
        reward(0.9, m, "ram_bytes_int8 < 32k")
    with pytest.raises(ValueError, match="Spec or an arch Graph"):
        memory.peak_ram("FC (1,12)")


# --------------------------------------------------------------------------------------------------
# checked against the exported int8 TFLite model's own tensors and operator order
# --------------------------------------------------------------------------------------------------
def _agrees(spec: Spec) -> dict:
    row = memory.compare_with_export(spec)
    assert row["flash_analytic"] == row["flash_tflite_weights"], row
    assert row["ram_int8_analytic"] == row["ram_int8_tflite"], row
    if "ram_float32_tflite" in row:
        assert row["ram_float32_analytic"] == row["ram_float32_tflite"], row
    return row


@pytest.mark.parametrize(
    "spec",
    [kws(CHAIN), TABLE2[2].spec(), SKIP, CONCAT, kws("FC (1,12) Dilated-Conv2d (2,12,20,1,5)")],
    ids=["chain", "ds-cnn", "skip", "concat", "dilated-after-fc"],
)
def test_analytic_equals_the_exported_model(spec):
    row = _agrees(spec)
    assert row["file_bytes"] > row["flash_analytic"] and row["shape_tensor_bytes"] <= 64
    # with the export's float32 input kept, its QUANTIZE (4 + 1 bytes per input value) can be the peak
    assert row["ram_int8_tflite_float_io"] == max(
        row["ram_int8_tflite"], 5 * 3072 if spec.task == "cifar10" else 5 * 1960
    )


def test_gru_equals_the_unrolled_export():
    row = _agrees(kws("GRU (1,16,1)"))
    assert row["ram_int8_tflite"] == row["ram_int8_analytic"] == 3984


@pytest.mark.slow
def test_gru_recurrence_equals_the_unrolled_export():
    # the peak inside the recurrence (hoisted input projections), one and two directions
    for notation, peak in [("GRU (1,154,1)", 20_642), ("GRU (2,32,2)", 10_560)]:
        row = memory.compare_with_export(kws(notation), float32=False)
        assert row["ram_int8_tflite"] == row["ram_int8_analytic"] == peak, row


@pytest.mark.slow
@pytest.mark.parametrize("arch", TABLE2, ids=[a.name for a in TABLE2])
def test_table2_agrees_with_its_export(arch):
    _agrees(arch.spec())


@pytest.mark.slow
@pytest.mark.parametrize("i", range(50))
def test_random_skip_specs_agree_with_their_export(i):
    _agrees(memory.skip_specs(50, seed=0)[i])
