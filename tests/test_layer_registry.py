"""A layer type is one registry entry: registered in one call, it validates, lowers, builds, is measured,
prints in the paper's notation and is searched; unknown names and unregistered types are clear errors."""

import numpy as np
import pytest

from rena_lib import spaces
from rena_lib.arch import (
    LayerType,
    OpKind,
    Spec,
    from_paper_notation,
    lower,
    registry,
    to_paper_notation,
    validate,
)
from rena_lib.costs import Cost
from rena_lib.metrics import measure
from rena_lib.proxy import ProxyEvaluator
from rena_lib.search import SearchConfig, run_search


def _scale_layer():
    import keras

    class ChannelScale(keras.layers.Layer):
        """y = x * s, one learnable scale per channel."""

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

        def call(self, x):
            return x * self.scale

    return ChannelScale


def _lower_scaled_fc(b, layer, i, inputs):
    x = b.as_vector(inputs[0], i)
    x = b.add(
        "dense", [x], (layer["channels"],), i, units=layer["channels"], use_bias=True, activation="relu"
    )
    return b.add("channel_scale", [x], (layer["channels"],), i)


def _scale_cost(ins, out, config):
    n = int(np.prod(out))
    return Cost(params=out[-1], flops=n, moved=2 * n)


@pytest.fixture
def scaled_fc():
    """A new KWS layer type with a new primitive op (a Keras layer and a cost), in one registration call."""
    cls = _scale_layer()
    registry.register_layer_type(
        LayerType(
            "scaled_fc", "kws", ("channels", "src1"), _lower_scaled_fc, {"channels": (8, 16, 32)},
            notation="ScaledFC", proxy_weight=0.4,
            ops=(OpKind("channel_scale", lambda op: cls(name=op.name), _scale_cost, cls, lambda layer: {}),),
        )
    )  # fmt: skip
    yield
    registry.unregister_layer_type("kws", "scaled_fc")


def test_a_layer_type_registered_in_one_call_works_everywhere(scaled_fc, tmp_path):
    spec = from_paper_notation("ScaledFC (16) FC (1,12)", "kws")  # parses and validates
    validate(spec)
    assert to_paper_notation(spec) == "ScaledFC (16) FC (1,12)" and str(spec) == "ScaledFC (16) FC (1,12)"
    graph = lower(spec)
    assert [o.kind for o in graph.ops if o.layer == 1] == ["flatten", "dense", "channel_scale"]
    m = measure(spec)
    from rena_lib.arch import build

    model = build(spec)
    assert m.params + m.non_trainable_params == model.count_params()
    assert measure(model).params == m.params  # the Keras path reads the new layer back too
    space = spaces.SearchSpace.from_layer_types("kws_scaled", "kws", ("fc", "scaled_fc"), max_layers=3)
    assert space.layer_types == ("fc", "scaled_fc") and {8, 16, 32} <= set(space.features["channels"])
    cfg = SearchConfig(
        space=space,
        proposer="random",
        baseline="ScaledFC (16)",
        episodes=2,
        episode_size=2,
        batch_size=2,
        top_k=2,
    )
    cfg.validate()
    log = run_search(cfg, ProxyEvaluator(), tmp_path / "s", progress=False)
    types = {layer["type"] for r in log.records if not r["failed"] for layer in r["spec"]["layers"]}
    assert len(log) == 8 and "scaled_fc" in types
    back = SearchConfig.from_json(cfg.to_json())
    assert back.search_space() == space  # an unregistered space round-trips as plain data


def test_existing_types_are_entries_and_spaces_come_from_them():
    kws = registry.family_types("kws")
    assert tuple(kws) == (
        "conv2d",
        "ds_conv2d",
        "dilated_conv2d",
        "gru",
        "avgpool2d",
        "global_avgpool2d",
        "fc",
    )
    assert kws["gru"].paper_name == "GRU" and kws["gru"].written_fields == (
        "num_layers",
        "channels",
        "directions",
    )
    assert spaces.get("kws_layer").features["channels"] == kws["conv2d"].values["channels"]
    assert set(spaces.space_names()) >= set(spaces.SPACE_NAMES)
    assert registry.TASKS["kws"] == ((49, 40, 1), 12)


def test_unknown_names_and_unregistered_types_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown task 'mnist'; choose one of \('cifar10', 'kws'\)"):
        registry.get_task("mnist")
    with pytest.raises(ValueError, match=r"unknown search space 'imagenet'; choose one of .*kws_layer"):
        SearchConfig(space="imagenet").validate()
    ghost = spaces.SearchSpace(
        "ghost", "kws", "layer", ("lstm",), {"channels": (4,)}, {"lstm": ("channels",)}, 2
    )
    with pytest.raises(ValueError, match=r"layer type 'lstm' is not registered for kws/layer"):
        SearchConfig(space=ghost, baseline="FC (1,12)").validate()
    with pytest.raises(ValueError, match=r"not registered for kws/layer"):
        spaces.SearchSpace.from_layer_types("x", "kws", ("lstm",))
    cifar = from_paper_notation("Conv2d (3,16,relu)", "cifar10")
    with pytest.raises(ValueError, match=r"spec task 'cifar10' does not match space 'kws_layer'"):
        spaces.get("kws_layer").check(cifar)
    with pytest.raises(ValueError, match=r"is not a member of space"):
        SearchConfig(space="kws_layer", baseline="Conv2d (3,16,relu)").validate()


def test_registered_space_objects_are_stored_by_name():
    cfg = SearchConfig(space=spaces.get("kws_layer", max_layers=3))
    assert cfg.space == "kws_layer" and cfg.max_layers == 3
    assert cfg.to_dict()["space"] == "kws_layer"
    assert cfg.search_space() == spaces.get("kws_layer", 3)
    assert Spec.from_json(cfg.baseline_spec().to_json()).key() == spaces.baseline("kws_layer").key()


def test_a_rena_search_of_a_user_built_space_runs_and_resumes_from_its_json(tmp_path):
    pytest.importorskip("tensorflow")
    space = spaces.SearchSpace.from_layer_types("kws_small", "kws", ("fc", "gru"), max_layers=3)
    cfg = SearchConfig(space=space, baseline="FC (1,12)", episodes=2, episode_size=2, batch_size=2, top_k=2)
    assert (
        cfg.to_dict()["space"]["layer_types"] == ["fc", "gru"]
        or cfg.to_dict()["space"]["name"] == "kws_small"
    )
    run_search(cfg, ProxyEvaluator(), tmp_path / "s", progress=False)
    log = run_search(
        SearchConfig.from_json(cfg.to_json()), ProxyEvaluator(), tmp_path / "s", resume=True, progress=False
    )
    assert len(log) == 8 and log.config.search_space() == space
