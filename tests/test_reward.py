"""Constraints and the reward of Eq. 3."""

import itertools
import json
import math

import pytest

from rena_lib.arch import from_paper_notation
from rena_lib.metrics import measure
from rena_lib.reward import METRICS, Constraint, is_feasible, penalty, register_metric, reward, violation

SIZE = Constraint("params", "<", 100_000)
INTENSITY = Constraint("intensity", ">", 10)


def test_violation_of_eq3_both_directions():
    assert violation(50_000, SIZE) == 0.0
    assert violation(100_000, SIZE) == 0.0  # the bound itself is allowed
    assert violation(150_000, SIZE) == pytest.approx(0.5)  # (U - C) / C
    assert violation(20, INTENSITY) == 0.0
    assert violation(8, INTENSITY) == pytest.approx((8 - 10) / 8)  # (U - C) / U, negative
    assert violation(0, INTENSITY) == -math.inf


def test_reward_equals_performance_when_feasible():
    metrics = {"params": 90_000, "intensity": 12.0}
    assert is_feasible(metrics, [SIZE, INTENSITY])
    assert reward(0.93, metrics, [SIZE, INTENSITY]) == 0.93
    assert reward(0.93, metrics) == 0.93  # no constraints


@pytest.mark.parametrize(
    "constraint, values",
    [(SIZE, [100_001, 110_000, 150_000, 400_000, 1e7]), (INTENSITY, [9.99, 9, 5, 1, 0.01])],
)
def test_reward_below_performance_and_strictly_decreasing_as_violation_grows(constraint, values):
    rewards = [reward(0.9, {constraint.metric: v}, [constraint]) for v in values]
    assert all(r < 0.9 for r in rewards)
    assert all(a > b for a, b in itertools.pairwise(rewards))
    assert not is_feasible({constraint.metric: values[0]}, [constraint])


def test_penalty_is_p_to_the_absolute_violation():
    assert penalty(150_000, SIZE, p=0.9) == pytest.approx(0.9**0.5)
    assert penalty(8, INTENSITY, p=0.9) == pytest.approx(0.9**0.25)  # |(8 - 10) / 8|
    assert reward(1.0, {"intensity": 0.0}, [INTENSITY]) == 0.0
    # a harsher base penalty punishes the same violation more
    assert reward(1.0, {"params": 2e5}, [SIZE], p=0.5) < reward(1.0, {"params": 2e5}, [SIZE], p=0.9)
    assert reward(1.0, {"params": 2e5}, [SIZE], p=1.0) == 1.0


def test_several_constraints_multiply():
    metrics = {"params": 150_000, "intensity": 8.0, "flops": 1e6}
    flops = Constraint("flops", "<", 2e6)
    both = reward(0.8, metrics, [SIZE, INTENSITY, flops])
    assert both == pytest.approx(0.8 * penalty(150_000, SIZE) * penalty(8.0, INTENSITY))
    assert both < reward(0.8, metrics, [SIZE]) < 0.8
    assert both < reward(0.8, metrics, [INTENSITY]) < 0.8


def test_reward_takes_metrics_objects_and_strings():
    m = measure(from_paper_notation("GRU (2,64,1)", "kws"))
    assert is_feasible(m, ["params < 50000", "intensity > 1"])
    assert reward(0.94, m, "params < 0.04M") < 0.94
    assert reward(0.94, {**m, "latency_ms": 3.0}, ["latency_ms < 5"]) == 0.94


def test_constraint_round_trips_through_json_and_parses():
    for c in (SIZE, INTENSITY, Constraint("latency_ms", "<", 2.5)):
        assert Constraint.from_dict(json.loads(json.dumps(c.to_dict()))) == c
        assert Constraint.parse(str(c)) == c
    assert Constraint.parse("params < 0.1M") == Constraint("params", "<", 1e5)
    assert Constraint.parse("  flops<3.9e6 ") == Constraint("flops", "<", 3.9e6)
    assert Constraint.parse("size_bytes < 4k").bound == 4000.0


@pytest.mark.parametrize(
    "args, match",
    [
        (("accuracy", "<", 1.0), "unknown metric 'accuracy'"),
        (("params", "<=", 1.0), "direction '<='"),
        (("params", "<", 0), "bound 0"),
        (("params", "<", -5), "bound -5"),
        (("params", "<", math.inf), "finite"),
        (("params", "<", math.nan), "finite"),
        (("params", "<", "100"), "bound '100'"),
    ],
)
def test_bad_constraints_raise(args, match):
    with pytest.raises(ValueError, match=match):
        Constraint(*args)


def test_bad_inputs_raise():
    for text in ("params <= 5", "params", "< 5", "params < abc"):
        with pytest.raises(ValueError):
            Constraint.parse(text)
    with pytest.raises(ValueError, match="missing"):
        Constraint.from_dict({"metric": "params", "bound": 3})
    with pytest.raises(ValueError, match="do not hold"):
        reward(0.9, {"flops": 1.0}, [SIZE])
    with pytest.raises(ValueError, match="base penalty"):
        reward(0.9, {"params": 1.0}, [SIZE], p=0.0)


def test_register_metric_extends_the_known_names():
    register_metric("energy_mj")
    try:
        assert reward(1.0, {"energy_mj": 2.0}, ["energy_mj < 1"]) == pytest.approx(0.9)
    finally:
        METRICS.discard("energy_mj")
    with pytest.raises(ValueError):
        register_metric("not a name")
