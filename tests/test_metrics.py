"""Resource metrics: exact params of the paper's rows, hand-computed FLOPs, spec path == Keras path."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rena_lib import spaces
from rena_lib.arch import build, from_paper_notation, lower
from rena_lib.metrics import COSTS, METRIC_NAMES, Metrics, measure
from rena_lib.reference import TABLE2

keras = pytest.importorskip("keras")
L = keras.layers


def _model(input_shape, *layers):
    x = inputs = keras.Input(input_shape)
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


def _layer_row(model, layer_name):
    (row,) = [r for r in measure(model).layers if r.name == layer_name]
    return row


# ---- the paper's Table 2 rows, analytic ---------------------------------------------------------------
@pytest.mark.parametrize("arch", TABLE2, ids=lambda a: a.name)
def test_table2_params_exact_and_within_2_percent_of_paper(arch):
    m = measure(arch.spec())
    assert m.params == arch.params  # the exact recomputation of paper-tables.md
    assert abs(m.params - arch.paper_params) / arch.paper_params < 0.02
    assert m.size_bytes == 4 * m.params  # no batch norm in these rows
    assert m.flops > 0 and m.bytes_accessed > 0 and m.intensity > 0


def test_conv_row_flops_match_paper_gflops_at_256_examples():
    # the Conv2d(3,192,...) row is almost all matrix work: its "GFLOPs" is FLOPs per example x 256
    arch = next(a for a in TABLE2 if a.architecture.startswith("Conv2d (3,192"))
    gflops = measure(arch.spec()).flops * 256 / 1e9
    assert gflops == pytest.approx(arch.paper_gflops, rel=0.005)


def test_analytic_path_does_not_import_tensorflow_or_keras():
    code = (
        "import sys\n"
        "from rena_lib.arch import from_paper_notation\n"
        "from rena_lib.metrics import measure\n"
        "from rena_lib.reference import comparison_table\n"
        "from rena_lib.reward import reward\n"
        "m = measure(from_paper_notation('GRU (2,64,1)', 'kws'))\n"
        "t = comparison_table(tables=(2,))\n"
        "assert m.params == 46860 and len(t) == 12\n"
        "bad = [k for k in ('tensorflow', 'keras') if k in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ---- hand-computed layers (Keras path; the spec path shares the formulas) ------------------------------
def test_dense_flops_and_bytes_by_hand():
    model = _model((20,), L.Dense(10, name="fc"))
    row = _layer_row(model, "fc")
    # 2 x 20 x 10 multiply-adds + 10 bias adds; 20 x 10 + 10 weights
    assert (row.params, row.flops) == (210, 2 * 20 * 10 + 10)
    # per layer: 4 x (210 weights + 20 inputs + 10 outputs) per example; weights once per batch
    assert row.bytes_accessed(1, "per_layer") == 4 * (210 + 30) == 960
    assert row.bytes_accessed(8, "per_layer") == 4 * (210 + 8 * 30) == 1800
    m1, m8 = measure(model, 1, "per_layer"), measure(model, batch_size=8, convention="per_layer")
    assert m1.intensity == pytest.approx(410 / 960)
    assert m8.intensity == pytest.approx(8 * 410 / 1800)
    # per op: the matmul (20 in, 10 out), then the bias add reads and writes the 10 outputs
    assert row.bytes_accessed(1, "per_op") == 4 * (210 + 30 + 20) == 1040
    assert row.bytes_accessed(64) == 4 * (210 + 64 * 50) == 13_640  # the defaults: per op, batch 64
    assert measure(model).intensity == pytest.approx(64 * 410 / 13_640)
    assert (measure(model).convention, measure(model).batch_size) == ("per_op", 64)
    relu = _layer_row(_model((20,), L.Dense(10, activation="relu", name="fc")), "fc")
    assert relu.flops == 410 + 10  # the nonlinearity: 1 FLOP per output
    assert relu.bytes_accessed(1) == 4 * (210 + 30 + 20 + 20)  # and one more read + write of the outputs
    assert relu.bytes_accessed(1, "per_layer") == 960  # per layer, bias and activation are free


def test_conv2d_flops_by_hand():
    model = _model((8, 8, 3), L.Conv2D(4, 3, padding="same", name="c"))
    row = _layer_row(model, "c")
    # 8 x 8 x 4 = 256 outputs, each 2 x 3 x 3 x 3 = 54 FLOPs + 1 bias add
    assert row.flops == 256 * 55 == 14_080
    assert row.params == 3 * 3 * 3 * 4 + 4 == 112
    # stride 2 'valid', no bias, relu: 3 x 3 x 4 = 36 outputs x (54 + 1 relu)
    row = _layer_row(_model((8, 8, 3), L.Conv2D(4, 3, 2, use_bias=False, activation="relu", name="c")), "c")
    assert row.flops == 36 * 55
    # dilation 2 changes the reach, not the count; groups 2 halves the input channels per output
    row = _layer_row(
        _model((8, 8, 4), L.Conv2D(6, 3, padding="same", dilation_rate=2, groups=2, name="c")), "c"
    )
    assert row.flops == 8 * 8 * 6 * (2 * 9 * 2 + 1) == 14_208
    assert row.params == 9 * 2 * 6 + 6 == 114


def test_depthwise_and_separable_flops_by_hand():
    row = _layer_row(_model((8, 8, 3), L.DepthwiseConv2D(3, padding="same", name="d")), "d")
    # 8 x 8 x 3 = 192 outputs, each 2 x 9 FLOPs + 1 bias
    assert (row.flops, row.params) == (192 * 19, 27 + 3) == (3648, 30)
    m = measure(_model((8, 8, 3), L.SeparableConv2D(5, 3, padding="same", name="s")))
    dw, pw = (r for r in m.layers if r.name.startswith("s:"))
    assert (dw.flops, pw.flops) == (192 * 18, 8 * 8 * 5 * (2 * 3 + 1))
    assert dw.params + pw.params == 27 + 15 + 5


def test_gru_step_flops_by_hand():
    # one step of a 4-unit GRU on 3 inputs (Keras reset_after=True):
    # matmuls 2 x 3u x (3 + u) = 168, bias adds 6u = 24, gates 11u = 44 -> 236
    row = _layer_row(_model((1, 3), L.GRU(4, name="g")), "g")
    assert row.flops == 236
    assert row.params == 3 * 4 * (3 + 4) + 6 * 4 == 108
    assert _layer_row(_model((5, 3), L.GRU(4, return_sequences=True, name="g")), "g").flops == 5 * 236
    row = _layer_row(_model((5, 3), L.Bidirectional(L.GRU(4, return_sequences=True), name="g")), "g")
    assert (row.flops, row.params) == (2 * 5 * 236, 2 * 108)
    # reset_after=False: one bias vector (3u), the same 11u gate operations
    assert _layer_row(_model((1, 3), L.GRU(4, reset_after=False, name="g")), "g").flops == 168 + 12 + 44


def test_gru_bytes_by_hand():
    # 5 steps of a 4-unit GRU on 3 inputs, 4 outputs per step (return_sequences)
    row = _layer_row(_model((5, 3), L.GRU(4, return_sequences=True, name="g")), "g")
    # per layer: weights once, the 15 inputs and 20 outputs once per example
    assert row.bytes_accessed(1, "per_layer") == 4 * (108 + 15 + 20)
    # per op and step: x W 3 + 12, h U 4 + 12, two bias adds 2 x (12 + 12), gates 29 x 4 = 116
    # -> 195 values per step; all 108 weights re-read at every one of the 5 steps
    assert (row.weight_reads, row.moved_op) == (5, 5 * 195)
    assert row.bytes_accessed(1) == 4 * (5 * 108 + 5 * 195)
    assert row.bytes_accessed(64, "per_op") == 4 * (5 * 108 + 64 * 5 * 195)
    bi = _layer_row(_model((5, 3), L.Bidirectional(L.GRU(4, return_sequences=True), name="g")), "g")
    assert (bi.weight_reads, bi.moved_op) == (5, 2 * 5 * 195)
    # reset_after=False: one bias add of 3u per step, 24 values fewer
    ra = _layer_row(_model((5, 3), L.GRU(4, reset_after=False, name="g")), "g")
    assert ra.moved_op == 5 * (195 - 24)


def test_unknown_convention_is_named():
    with pytest.raises(ValueError, match=r"convention 'per_batch'.*per_op"):
        measure(from_paper_notation("GRU (2,64,1)", "kws"), convention="per_batch")


def test_pointwise_pooling_add_concat_by_hand():
    inputs = keras.Input((4, 4, 2), name="x")
    a = L.BatchNormalization(name="bn")(inputs)
    b = L.Activation("swish", name="act")(a)
    c = L.Add(name="add")([a, b, inputs])
    d = L.Concatenate(name="cat")([c, a])
    e = L.AveragePooling2D(2, name="avg")(d)
    f = L.MaxPooling2D(3, 1, padding="same", name="max")(e)
    g = L.GlobalAveragePooling2D(name="gap")(f)
    rows = {r.name: r for r in measure(keras.Model(inputs, g)).layers}
    assert rows["bn"].flops == 2 * 32 and (rows["bn"].params, rows["bn"].non_trainable) == (4, 4)
    assert rows["act"].flops == 32  # any nonlinearity: 1 FLOP per element
    assert rows["add"].flops == 2 * 32  # three inputs: two adds per element
    assert rows["cat"].flops == 0 and rows["cat"].moved == 32 + 32 + 64  # a memory move
    assert all(r.moved_op == r.moved and r.weight_reads == 1 for r in rows.values())  # one op each
    assert rows["avg"].flops == 4 * (2 * 2 * 4)  # window area per output
    assert rows["max"].flops == 9 * (2 * 2 * 4)
    assert rows["gap"].flops == 2 * 2 * 4  # one per input element
    assert rows["x"].kind == "input" and rows["x"].moved == 0


def test_unknown_keras_layer_is_named():
    model = _model((5, 3), L.LSTM(4, name="my_lstm"))
    with pytest.raises(ValueError, match=r"my_lstm.*LSTM"):
        measure(model)
    with pytest.raises(ValueError, match=r"Spec, a Graph or a keras\.Model"):
        measure("GRU (2,64,1)")
    with pytest.raises(ValueError, match="batch_size"):
        measure(from_paper_notation("GRU (2,64,1)", "kws"), batch_size=0)


def test_frozen_layers_count_as_non_trainable():
    model = _model((20,), L.Dense(10, name="fc"), L.Dense(3, name="head"))
    model.get_layer("fc").trainable = False
    m = measure(model)
    assert (m.params, m.non_trainable_params) == (33, 210)
    assert m.params + m.non_trainable_params == model.count_params()


# ---- the two paths agree ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", spaces.SPACE_NAMES)
def test_spec_path_equals_keras_path_on_random_specs(name):
    space, rng = spaces.get(name), np.random.default_rng(3)
    for _ in range(10):
        spec = space.sample(rng)
        analytic, model = measure(spec), build(spec, inference=True)
        assert analytic.params + analytic.non_trainable_params == model.count_params()
        assert analytic.params == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        for batch in (1, 32):
            a, k = measure(spec, batch), measure(model, batch)
            assert dict(a) == dict(k), spec
        # and op by op
        ours = {r.name: (r.kind, r.params, r.non_trainable, r.flops, r.moved) for r in analytic.layers}
        theirs = {r.name: (r.kind, r.params, r.non_trainable, r.flops, r.moved) for r in k.layers}
        assert ours == theirs


def test_graph_input_and_every_kind_has_a_cost():
    spec = from_paper_notation("GRU (2,64,1)", "kws")
    assert measure(lower(spec)) == measure(spec)
    assert {"conv2d", "depthwise_conv2d", "gru", "dense", "final_state", "concat"} <= set(COSTS)


# ---- the Metrics value --------------------------------------------------------------------------------
def test_metrics_is_a_json_able_mapping_with_a_frame():
    m = measure(from_paper_notation("Conv2d (3,32,4,8,1,3) AvgPool2d", "kws"), batch_size=4)
    assert isinstance(m, Metrics)
    assert m["params"] == m.params == 67_052 and tuple(m) == METRIC_NAMES and "flops" in m
    assert m["bytes_accessed"] == sum(r.bytes_accessed(4) for r in m.layers)
    d = json.loads(json.dumps(m.to_dict()))
    assert d["params"] == 67_052 and d["batch_size"] == 4 and len(d["layers"]) == len(m.layers)
    df = m.frame()
    assert list(df["name"]) == [r.name for r in m.layers]
    assert df["flops"].sum() == m.flops and df["bytes"].sum() == m.bytes_accessed
    with pytest.raises(KeyError):
        m["layers"]
