"""The policy network: structure, init, sampling vs replay log-probs, masks, the REINFORCE gradient."""

import numpy as np
import pytest

from rena_lib import spaces
from rena_lib.arch import from_paper_notation

tf = pytest.importorskip("tensorflow")

from rena_lib.policy import PolicyNetwork  # noqa: E402
from rena_lib.search.reinforce import StepBaseline, reinforce_loss, returns_to_go  # noqa: E402


def kws(text):
    return from_paper_notation(text, "kws")


@pytest.fixture(scope="module")
def policy():
    return PolicyNetwork("kws_layer", seed=3)


@pytest.fixture(scope="module")
def tiny():
    return PolicyNetwork("kws_layer", max_layers=3, embed_size=4, embed_units=4, controller_units=8, seed=0)


def test_structure_sizes_and_uniform_init(policy):
    sp = spaces.get("kws_layer")
    vocab = 1 + 3 + len(sp.layer_types) + sum(len(v) for v in sp.features.values())
    scalable = {f for t in sp.layer_types for f in sp.scalable_features(t)}
    n_scale = sum(len(sp.features[f]) for f in scalable)
    n_insert = 3 + len(sp.layer_types) + sum(len(v) for v in sp.features.values()) + sp.max_layers
    lstm = lambda inputs, units: 4 * units * (inputs + units + 1)
    expected = (
        vocab * 32
        + lstm(32, 32)
        + lstm(32 + 32 + 32, 128)
        + lstm(32 + 32, 128)
        + 129 * n_scale
        + 129 * n_insert
    )
    assert policy.count_params() == expected
    for w in policy.get_weights():
        assert w.min() >= -0.1 and w.max() <= 0.1
    again = PolicyNetwork.from_config(policy.get_config())
    assert all(np.array_equal(a, b) for a, b in zip(again.get_weights(), policy.get_weights(), strict=True))


def test_sampling_is_reproducible_and_replay_gives_the_same_log_probs(policy):
    specs = [kws("FC (1,12)"), kws("GRU (2,64,1) FC (1,12)"), kws("Conv2d (3,32,4,8,1,3) AvgPool2d (4,2)")]
    a = policy.propose_batch(specs, np.random.default_rng(7))
    b = policy.propose_batch(specs, np.random.default_rng(7))
    assert [p.decisions for p in a] == [p.decisions for p in b]
    log_probs, entropies = policy.evaluate_batch(specs, [p.decisions for p in a])
    np.testing.assert_allclose(log_probs.numpy(), [p.log_prob for p in a], rtol=0, atol=1e-5)
    for spec, p in zip(specs, a, strict=True):  # one at a time, through the same code path
        lp, _ = policy.evaluate(spec, p.decisions)
        assert float(lp) == pytest.approx(p.log_prob, abs=1e-5)
        probs = policy.distributions(spec, p.decisions)
        assert len(probs) == len(p.decisions)
        assert sum(np.log(q[d["choice"]]) for q, d in zip(probs, p.decisions, strict=True)) == pytest.approx(
            p.log_prob, abs=1e-4
        )
        assert all(q.sum() == pytest.approx(1.0) for q in probs)
    assert set(entropies) >= {"scale", "action"}
    for kind, e in entropies.items():
        assert np.all(e.numpy() >= -1e-6), kind
    # near-uniform at init: the action choice among 2-3 options has entropy close to log(2..3)
    assert np.all(entropies["action"].numpy() > 0.6)


def test_decisions_are_plain_json_and_a_wrong_record_is_refused(policy):
    import json

    spec = kws("GRU (1,64,1) FC (1,12)")
    p = policy.propose(spec, np.random.default_rng(0))
    decisions = json.loads(json.dumps(p.decisions))
    assert float(policy.evaluate(spec, decisions)[0]) == pytest.approx(p.log_prob, abs=1e-5)
    with pytest.raises(ValueError, match="replay"):
        policy.evaluate(spec, decisions[:-1])
    with pytest.raises(ValueError, match="replay"):
        policy.evaluate(kws("FC (1,12)"), decisions)


def test_masks_hold_when_sampling(tiny):
    full = kws("GRU (1,16,1) GRU (1,16,1) FC (1,12)")  # MAX_LAYERS = 3
    one = kws("FC (1,12)")
    props = tiny.propose_batch([full] * 30 + [one] * 30, np.random.default_rng(1))
    assert all(p.actions[-1]["op"] != "insert" for p in props[:30])
    assert all(p.actions[-1]["op"] != "remove" for p in props[30:])
    inserts = [p.actions[-1] for p in props[30:] if p.actions[-1]["op"] == "insert"]
    assert inserts and all(
        a["layer"]["src1"] <= 1 and a["position"] == a["layer"]["src1"] + 1 for a in inserts
    )


def test_reinforce_gradient_matches_a_hand_computation(tiny):
    """d loss / d bias of a lookup table = -1/N sum_steps A * (onehot(choice) - p), per decision."""
    rng = np.random.default_rng(5)
    N, T = 2, 2
    parents = [[kws("FC (1,12)"), kws("GRU (1,16,1) FC (1,12)")], [kws("FC (1,4)"), kws("FC (2,12)")]]
    props = [[tiny.propose(parents[n][t], rng) for t in range(T)] for n in range(N)]
    rewards = np.array([[0.5, 0.25], [0.75, 0.0]])
    G = returns_to_go(rewards)
    np.testing.assert_allclose(G, [[0.75, 0.25], [0.75, 0.0]])
    b = StepBaseline(decay=0.5).update(G)
    np.testing.assert_allclose(b, [0.75, 0.125])
    A = G - b
    steps = [(parents[n][t], props[n][t].decisions) for n in range(N) for t in range(T)]
    with tf.GradientTape() as tape:
        loss, _ = reinforce_loss(tiny, steps, A.reshape(-1), N)
    heads = [tiny.scale_head.bias, tiny.insert_head.bias]
    got = [g.numpy() for g in tape.gradient(loss, heads)]

    want = [np.zeros(h.shape) for h in heads]
    lp_total = entropy_total = 0.0
    for (spec, decisions), adv in zip(steps, A.reshape(-1), strict=True):
        for d, p in zip(decisions, tiny.distributions(spec, decisions), strict=True):
            which, seg = (0, tiny._scale_seg) if d["kind"] == "scale" else (1, tiny._insert_seg)
            start, end = seg[d["head"]]
            onehot = np.eye(end - start)[d["choice"]]
            want[which][start:end] += -(adv / N) * (onehot - p)
            lp_total += adv * np.log(p[d["choice"]])
            entropy_total -= sum(q * np.log(q) for q in p if q > 0)
    assert float(loss) == pytest.approx(-lp_total / N, rel=1e-5)
    # the entropy bonus: the summed entropy of every decision, normalised by N like the first term
    bonus, _ = reinforce_loss(tiny, steps, A.reshape(-1), N, entropy_weight=0.1)
    assert float(bonus) == pytest.approx(-(lp_total + 0.1 * entropy_total) / N, rel=1e-5)
    np.testing.assert_allclose(got[0], want[0], atol=1e-6)
    np.testing.assert_allclose(got[1], want[1], atol=1e-6)
    assert np.abs(want[1]).sum() > 0  # the tiny case exercises the insert-remove head


def test_step_baseline_is_an_ema_of_mean_returns():
    base = StepBaseline(decay=0.8)
    np.testing.assert_allclose(base.update(np.array([[1.0, 0.5], [3.0, 1.5]])), [2.0, 1.0])
    np.testing.assert_allclose(base.update(np.array([[0.0, 0.0], [0.0, 0.0]])), [1.6, 0.8])
    assert StepBaseline.from_dict(base.to_dict()) == base
    with pytest.raises(ValueError):
        returns_to_go(np.zeros(3))


def test_a_positive_advantage_makes_the_action_more_likely():
    import keras

    pol = PolicyNetwork("kws_layer", embed_size=8, embed_units=8, controller_units=16, seed=1)
    opt = keras.optimizers.Adam(0.01)
    spec = kws("FC (1,12)")
    prop = pol.propose(spec, np.random.default_rng(0))
    before = prop.log_prob
    for _ in range(5):
        with tf.GradientTape() as tape:
            loss, _ = reinforce_loss(pol, [(spec, prop.decisions)], np.array([1.0]), 1)
        opt.apply_gradients(
            zip(tape.gradient(loss, pol.trainable_variables), pol.trainable_variables, strict=True)
        )
    assert float(pol.evaluate(spec, prop.decisions)[0]) > before + 0.5


def test_bad_sizes_and_values_are_refused():
    with pytest.raises(ValueError, match="controller_units"):
        PolicyNetwork("kws_layer", controller_units=0)
    with pytest.raises(ValueError, match="unknown search space"):
        PolicyNetwork("imagenet")
    pol = PolicyNetwork("kws_layer", embed_size=4, embed_units=4, controller_units=4)
    bad = kws("FC (1,12)")
    bad.layers[0].features["channels"] = 13
    with pytest.raises(ValueError, match="channels=13"):
        pol.propose(bad, np.random.default_rng(0))


def test_lstms_are_keras_layers_and_every_variable_gets_a_gradient(tiny):
    import keras

    for cell in (tiny.embed_lstm, tiny.scale_lstm, tiny.insert_lstm):
        assert isinstance(cell, keras.layers.LSTMCell)
    assert tiny.embed_rnn.cell is tiny.embed_lstm and tiny.scale_rnn.cell is tiny.scale_lstm
    assert all(isinstance(r, keras.layers.RNN) for r in (tiny.embed_rnn, tiny.scale_rnn))
    assert len(tiny.trainable_variables) == 14  # the RNN wrappers add no weights
    specs = [kws("FC (1,12)"), kws("GRU (1,16,1) FC (1,12)"), kws("FC (2,12)")] * 4
    props = tiny.propose_batch(specs, np.random.default_rng(2))
    steps = [(s, p.decisions) for s, p in zip(specs, props, strict=True)]
    assert {d["kind"] for p in props for d in p.decisions} >= {"scale", "action"}
    with tf.GradientTape() as tape:
        loss, _ = reinforce_loss(tiny, steps, np.linspace(-1, 1, len(steps)), len(steps))
    grads = tape.gradient(loss, tiny.trainable_variables)
    missing = [v.path for v, g in zip(tiny.trainable_variables, grads, strict=True) if g is None]
    assert not missing
