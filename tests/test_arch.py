"""Specs, notation, validation and the Keras builder."""

import json

import numpy as np
import pytest

from rena_lib import spaces
from rena_lib.arch import (
    Layer,
    Spec,
    build,
    from_paper_notation,
    live_layers,
    lower,
    to_paper_notation,
    validate,
)

# Table 2 rows with the parameter counts of the conventions in the paper-tables reference notes
TABLE2 = {
    "DS-Conv2d (1,4,4,1,1,1) GRU (1,64,1) GRU (1,128,1) Conv2d (1,12,16,2,4,4) Conv2d (1,4,16,4,4,4) "
    "Conv2d (1,64,16,4,4,4) FC (1,32)": (0.143e6, 142_345),
    "GRU (2,64,1)": (0.047e6, 46_860),
    "Conv2d(1,64,10,4,2,2) DS-Conv2d (4,64,3,3,1,1) AvgPool2d": (0.023e6, 22_604),
    "Conv2d (3,32,4,8,1,3) AvgPool2d": (0.067e6, 67_052),
    "GRU (3,32,1) FC (1,256)": (0.425e6, 424_524),
    "GRU (1,154,1)": (0.093e6, 92_412),
    "GRU (5,64,1) FC (2,16)": (0.171e6, 170_860),
    "GRU (3,128,2)": (0.733e6, 732_684),
    "Conv2d (1,100,10,4,2,1) GRU (2,136,1) FC (1,188)": (2.447e6, 2_445_852),
    "Conv2d (3,192,8,4,1,3) AvgPool2d (8,1) FC (2,16)": (2.626e6, 2_624_556),
    "Conv2d (2,32,20,2,1,2) GRU (3,16,1) GRU (2,12,1) Conv2d (2,4,20,8,1,2)": (0.074e6, 74_084),
    "GRU (2,32,2)": (0.035e6, 34_572),
}


@pytest.mark.parametrize("text", list(TABLE2))
def test_table2_rows_parse_build_and_match_paper_params(text):
    paper, exact = TABLE2[text]
    spec = from_paper_notation(text, "kws")
    model = build(spec, inference=True)  # batch norms folded: the graph the paper counts
    assert model.count_params() == exact
    assert abs(model.count_params() - paper) / paper < 0.02
    # for training each conv drops its bias (-C) and gains a batch norm (+4C: gamma, beta, mean, variance)
    bn_channels = sum(op.out_shape[-1] for op in lower(spec).ops if op.config.get("batchnorm"))
    assert build(spec).count_params() == exact + 3 * bn_channels
    assert model.output_shape == (None, 12)
    # the notation round-trips
    assert from_paper_notation(to_paper_notation(spec), "kws") == spec


@pytest.mark.parametrize("name", spaces.SPACE_NAMES)
def test_random_specs_round_trip_json_and_run_forward(name):
    space = spaces.get(name)
    rng = np.random.default_rng(7)
    for _ in range(6):
        spec = space.sample(rng)
        space.check(spec)
        text = spec.to_json()
        assert Spec.from_json(text) == spec
        assert json.loads(text) == json.loads(Spec.from_json(text).to_json())
        model = build(spec)
        x = np.random.default_rng(0).normal(size=(2, *model.input_shape[1:])).astype("float32")
        y = np.asarray(model(x, training=False))
        assert y.shape == (2, 10 if spec.task == "cifar10" else 12)
        assert np.isfinite(y).all()


@pytest.mark.parametrize(
    "text, task",
    [
        (
            "Conv2d (3,64,crelu) DS-Conv2d (5,32,swish) MaxPool2d (3) Add (1,3,add) Add (2,4,concat)",
            "cifar10",
        ),
        ("Dilated-Conv2d (2,16,4,4,3,keep=0.8) GRU (1,32,2) AvgPool2d (4,2) FC (1,16,keep=0.9)", "kws"),
    ],
)
def test_every_layer_type_trains_one_step_and_predicts(text, task):
    spec = from_paper_notation(text, task)
    model = build(spec)
    import keras

    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).normal(size=(4, *model.input_shape[1:])).astype("float32")
    y = np.arange(4) % model.output_shape[-1]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert model.predict(x, verbose=0).shape == (4, model.output_shape[-1])


def test_module_branch_types_all_build():
    types = spaces.BRANCH_TYPES
    text = " ".join(f"Branch ({t},3,2,8,{i},{max(i - 1, 0)},{i % 2})" for i, t in enumerate(types[:5]))
    spec = from_paper_notation(text, "cifar10", "module", {"stem_channels": 8, "repeats": 1})
    model = build(spec)
    assert model.output_shape == (None, 10)
    text2 = " ".join(f"Branch ({t},5,3,12,0,0,1)" for t in types[5:])
    assert build(from_paper_notation(text2, "cifar10", "module")).output_shape == (None, 10)


def test_skip_connection_shapes_are_reconciled():
    # layer 4 adds a 32x32x64 map to a 16x16x128 map: pooled + projected by the documented rule
    spec = from_paper_notation(
        "Conv2d (3,64,relu) MaxPool2d (2) Conv2d (3,128,relu) Add (3,1,add)", "cifar10"
    )
    kinds = [op.kind for op in lower(spec).ops if op.layer == 4]
    assert kinds == ["avgpool2d", "conv2d", "add"]
    assert build(spec).count_params() > 0


def test_dead_layers_are_not_built():
    spec = from_paper_notation("FC (1,64) FC (1,32)@0", "kws")  # layer 2 reads the input: layer 1 is dead
    assert live_layers(spec) == [2]
    assert build(spec).count_params() == 49 * 40 * 32 + 32 + 32 * 12 + 12


def test_baselines_are_members_of_their_spaces():
    assert to_paper_notation(spaces.baseline("kws_layer")) == "FC (1,12)"
    for name in spaces.SPACE_NAMES:
        spaces.get(name).check(spaces.baseline(name))


# ---- bad input -----------------------------------------------------------------------------------
def _kws(*layers):
    return Spec("kws", [Layer(t, f) for t, f in layers])


GOOD_FC = {"num_layers": 1, "channels": 12, "keep_prob": 1.0, "src1": 0}


@pytest.mark.parametrize(
    "spec, message",
    [
        (_kws(("lstm", {"src1": 0})), r"layer 1: unknown layer type 'lstm'"),
        (_kws(("fc", {**GOOD_FC, "channels": 0})), r"layer 1 \(fc\): channels=0 must be a positive int"),
        (_kws(("fc", {**GOOD_FC, "src1": 1})), r"layer 1 \(fc\): src1=1 must point to the input"),
        (_kws(("fc", GOOD_FC), ("fc", {**GOOD_FC, "src1": 5})), r"layer 2 \(fc\): src1=5"),
        (_kws(("fc", {**GOOD_FC, "keep_prob": 1.5})), r"layer 1 \(fc\): keep_prob=1.5"),
        (
            _kws(("fc", {"num_layers": 1, "src1": 0, "keep_prob": 1.0})),
            r"layer 1 \(fc\): missing field 'channels'",
        ),
        (_kws(("fc", {**GOOD_FC, "colour": 3})), r"layer 1 \(fc\): unexpected field 'colour'"),
        (
            _kws(
                (
                    "conv2d",
                    {
                        "num_layers": 2,
                        "channels": 4,
                        "kernel_t": 4,
                        "kernel_f": 4,
                        "stride_t": 10,
                        "stride_f": 5,
                        "keep_prob": 1.0,
                        "src1": 0,
                    },
                ),
                ("avgpool2d", {"kernel_t": 8, "kernel_f": 2, "src1": 1}),
            ),
            r"layer 2 \(avgpool2d\): a 8x2 pooling window does not fit its 1x2 input: it shrinks the input to nothing",
        ),
        (Spec("mnist", []), r"unknown task 'mnist'"),
    ],
)
def test_invalid_specs_raise_value_errors_naming_layer_and_field(spec, message):
    with pytest.raises(ValueError, match=message):
        validate(spec)


@pytest.mark.parametrize(
    "text, message",
    [
        ("GRU (2,64", r"malformed notation at character 4"),
        ("GRU (2,64,1) LSTM (1,2)", r"layer 2: unknown layer name 'LSTM'"),
        ("GRU (2,64)", r"layer 1 \(GRU\): expected 3 values"),
        ("MaxPool2d (2)", r"layer 1: 'MaxPool2d' is not a keyword-spotting layer"),
        ("", r"empty architecture notation"),
    ],
)
def test_malformed_notation_raises(text, message):
    with pytest.raises(ValueError, match=message):
        from_paper_notation(text, "kws")


def test_values_outside_the_space_are_named():
    space = spaces.get("kws_layer")
    spec = from_paper_notation("Conv2d (1,64,10,4,2,2)", "kws")  # kernel_t 10 is not in Table 4
    with pytest.raises(ValueError, match=r"layer 1 \(conv2d\): kernel_t=10 is outside the space"):
        space.check(spec)
    with pytest.raises(ValueError, match=r"unknown search space 'imagenet'"):
        spaces.get("imagenet")
