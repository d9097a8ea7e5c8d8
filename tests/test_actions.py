"""Scale / insert / remove edits, the decision walk and its masks, random actions and replay."""

import numpy as np
import pytest

from rena_lib import actions, spaces
from rena_lib.actions import Choice, UniformChooser, apply, decide, insert, remove, replay, scale
from rena_lib.arch import from_paper_notation, to_paper_notation, validate


def kws(text):
    return from_paper_notation(text, "kws")


def cifar(text):
    return from_paper_notation(text, "cifar10")


def module(text):
    return from_paper_notation(text, "cifar10", "module")


def test_scale_changes_values_and_rejects_sources():
    spec = kws("GRU (1,64,1) FC (1,12)")
    out = scale(spec, [[1, "channels", 32], [2, "num_layers", 2]])
    assert to_paper_notation(out) == "GRU (1,32,1) FC (2,12)"
    assert to_paper_notation(spec) == "GRU (1,64,1) FC (1,12)"  # the input is not modified
    with pytest.raises(ValueError, match="src1"):
        scale(spec, [[1, "src1", 0]])
    with pytest.raises(ValueError, match="layer 3"):
        scale(spec, [[3, "channels", 4]])


def test_insert_in_a_chain_rewires_the_next_layer():
    spec = kws("GRU (1,64,1) FC (1,12)")
    new = {"type": "conv2d", "num_layers": 1, "channels": 4, "kernel_t": 4, "kernel_f": 4}
    new.update(stride_t=1, stride_f=1, keep_prob=1.0, src1=1)
    out = insert(spec, new, 2)
    assert to_paper_notation(out) == "GRU (1,64,1) Conv2d (1,4,4,4,1,1) FC (1,12)"
    assert [layer["src1"] for layer in out.layers] == [0, 1, 2]
    at_end = insert(spec, {**new, "src1": 2}, 3)
    assert to_paper_notation(at_end) == "GRU (1,64,1) FC (1,12) Conv2d (1,4,4,4,1,1)"


def test_insert_renumbers_skip_connections():
    spec = cifar("Conv2d (3,16,relu) Conv2d (3,16,relu) Add (1,2,add)")
    out = insert(spec, {"type": "maxpool2d", "pool_width": 2, "src1": 1}, 2)
    # the pool sits between layers 1 and 2; the Add still joins the old layers 1 and 2 (now 1 and 3)
    assert [(layer.type, layer["src1"]) for layer in out.layers] == [
        ("conv2d", 0),
        ("maxpool2d", 1),
        ("conv2d", 2),
        ("add", 1),
    ]
    assert out.layers[3]["src2"] == 3
    validate(out)


def test_insert_add_layer_makes_a_residual():
    spec = cifar("Conv2d (3,16,relu) Conv2d (3,16,relu) Conv2d (3,16,relu)")
    out = insert(spec, {"type": "add", "merge": "add", "src1": 2, "src2": 1}, 3)
    assert [layer["src1"] for layer in out.layers] == [0, 1, 2, 3]
    assert out.layers[2].type == "add" and out.layers[2]["src2"] == 1
    validate(out)


def test_remove_rewires_readers_to_the_removed_layers_source():
    spec = cifar("Conv2d (3,16,relu) Conv2d (3,16,relu) Add (1,2,add) Conv2d (3,16,relu)")
    out = remove(spec, 2)
    assert [(layer.type, layer["src1"]) for layer in out.layers] == [("conv2d", 0), ("add", 1), ("conv2d", 2)]
    assert out.layers[1]["src2"] == 1  # the Add read layer 2, which read layer 1
    validate(out)
    with pytest.raises(ValueError, match="only layer"):
        remove(kws("FC (1,12)"), 1)


def test_module_insert_cuts_propagation_and_remove_restores_it():
    spec = module("Branch (conv-none,3,2,32,0,0,1) Branch (maxpool-none,3,2,8,0,0,1)")
    new = {"type": "conv-conv", "filter_width": 3, "pool_width": 2, "channels": 8}
    new.update(propagate=1, src1=2, src2=1)
    out = insert(spec, new, 3)
    assert [b["propagate"] for b in out.layers] == [0, 0, 1]  # Fig. 2b: branches 1 and 2 now feed branch 3
    validate(out)
    back = remove(out, 3)
    assert [b["propagate"] for b in back.layers] == [1, 1]
    with pytest.raises(ValueError, match="appends"):
        insert(spec, new, 1)


def test_apply_rejects_unknown_actions():
    with pytest.raises(ValueError, match="unknown action"):
        apply(kws("FC (1,12)"), {"op": "grow"})
    assert apply(kws("FC (1,12)"), {"op": "keep"}) == kws("FC (1,12)")


class Scripted:
    """A chooser that records every choice it is asked and picks the first allowed option."""

    def __init__(self, action):
        self.action, self.asked = action, []

    def choose_many(self, choices):
        self.asked += choices
        return [0 for _ in choices]

    def choose(self, choice: Choice):
        self.asked.append(choice)
        if choice.kind == "action":
            return actions.ACTION_CHOICES.index(self.action)
        return int(np.flatnonzero(choice.allowed())[-1])


def test_masks_forbid_insert_when_full_and_remove_of_the_only_layer():
    space = spaces.get("kws_layer", max_layers=2)
    one, two = kws("FC (1,12)"), kws("GRU (1,64,1) FC (1,12)")
    chooser = Scripted("keep")
    decide(space, one, chooser)
    assert next(c for c in chooser.asked if c.kind == "action").mask == (True, True, False)
    chooser = Scripted("keep")
    decide(space, two, chooser)
    assert next(c for c in chooser.asked if c.kind == "action").mask == (False, True, True)
    with pytest.raises(ValueError, match="not an allowed option"):
        decide(space, two, Scripted("insert"))


def test_insert_decisions_follow_the_type_and_mask_sources():
    space = spaces.get("cifar_layer", max_layers=8)
    spec = cifar("Conv2d (3,16,relu) Conv2d (3,16,relu)")

    class AddLast(Scripted):
        def choose(self, choice):
            if choice.head == "type":
                self.asked.append(choice)
                return space.layer_types.index("add")
            return super().choose(choice)

    chooser = AddLast("insert")
    decisions, acts = decide(space, spec, chooser)
    heads = [c.head for c in chooser.asked if c.kind == "new"]
    assert heads == ["type", "merge", "src1", "src2"]
    src1 = next(c for c in chooser.asked if c.head == "src1")
    assert np.flatnonzero(src1.allowed()).tolist() == [0, 1, 2]  # the input or an existing layer
    src2 = next(c for c in chooser.asked if c.head == "src2")
    assert np.flatnonzero(src2.allowed()).tolist() == [0, 1, 2]  # up to Src1 (= 2 here)
    assert acts[-1] == {
        "op": "insert",
        "position": 3,
        "layer": {"type": "add", "merge": "concat", "src1": 2, "src2": 2},
    }
    assert decisions[-1] == {"kind": "new", "head": "src2", "choice": 2, "value": 2}


@pytest.mark.parametrize("name", spaces.SPACE_NAMES)
def test_random_actions_stay_in_the_space_and_history_replays(name):
    space = spaces.get(name)
    rng = np.random.default_rng(1)
    base = spaces.baseline(name)
    spec, history, kinds = base, [], set()
    for _ in range(150):
        step = actions.random_action(space, spec, rng)
        kinds |= {a["op"] for a in step}
        child = replay(spec, step)
        space.check(child)  # edits never leave the space's values or source ranges
        try:
            validate(child)
        except ValueError:
            continue  # shapes that do not build: the search records such a child as failed
        spec, history = child, history + step
    assert kinds >= {"scale", "insert", "remove", "keep"}
    assert replay(base, history) == spec


def test_uniform_chooser_keeps_log_prob_and_entropy():
    space = spaces.get("kws_layer")
    prop = UniformChooser(np.random.default_rng(0)).propose(space, kws("FC (1,12)"))
    n_scale = len(space.scalable_features("fc"))
    assert prop.entropy["scale"] == pytest.approx(np.mean([np.log(5), np.log(8), np.log(3)]))
    assert prop.entropy["action"] == pytest.approx(np.log(2))  # remove is masked
    assert len([d for d in prop.decisions if d["kind"] == "scale"]) == n_scale
    assert prop.log_prob < 0
