"""Notebook parameters are checked at the top of each notebook: bad values name what is allowed."""

import pytest

from rena_lib import notebook_params


def test_allowed_values_pass():
    notebook_params.check(
        scale="paper", evaluator="train", executor="ray", if_exists="resume", convention="per_layer",
        episodes=3, seed=0, seeds=[0, 1, 2], retrain_winners=True, max_seconds_per_child=None,
        child_seconds=2.5, data_dir=None, ray_address="auto", split_salt="", constraints=["params < 100000"],
        network="Conv2d (2,32,4,8,1,2) FC (1,12)", strategies=["rena", "random"],
        children=400, max_flops=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("scale", "smok", "one of ['smoke', 'cpu', 'paper']"),
        ("evaluator", "trian", "one of ['surrogate', 'proxy', 'train']"),
        ("if_exists", "append", "one of ['error', 'overwrite', 'resume']"),
        ("executor", "dask", "one of ['local', 'ray']"),
        ("convention", "per op", "one of ['per_op', 'per_layer']"),
        ("episodes", 0, "a positive int"),
        ("episodes", True, "a positive int"),
        ("batch_size", 2.0, "a positive int"),
        ("seed", -1, "an int >= 0"),
        ("seeds", [0, 0], "distinct ints"),
        ("seeds", [], "non-empty list"),
        ("retrain_winners", 1, "True or False"),
        ("max_seconds_per_child", 0, "None or a number > 0"),
        ("max_seconds_per_child", float("inf"), "None or a number > 0"),
        ("data_dir", "", "None or a non-empty string"),
        ("constraints", ["params = 3"], "cannot parse constraint"),
        ("constraints", "params < 3", "a list of constraints"),
        ("network", "Conv9d (1)", "paper's notation"),
        ("strategies", ["rena", "greedy"], "strategies of rena_lib.fig4b.STUDY"),
        ("strategies", ["rena", "rena"], "distinct"),
        ("children", 120, "a positive multiple of 50"),
        ("max_flops", -1.0, "None or a number > 0"),
    ],
)
def test_a_bad_value_is_named_with_what_is_allowed(name, value, allowed):
    with pytest.raises(ValueError, match="bad notebook parameters") as err:
        notebook_params.check(**{"seed": 0, name: value})
    message = str(err.value)
    assert f"{name} = {value!r}: must be" in message and allowed in message
    assert "seed = 0" not in message  # only the bad one is named


def test_every_bad_value_is_named_at_once():
    with pytest.raises(ValueError) as err:
        notebook_params.check(scale="huge", episodes=-1)
    assert "scale = 'huge'" in str(err.value) and "episodes = -1" in str(err.value)


def test_a_parameter_without_a_rule_is_an_error():
    with pytest.raises(TypeError, match=r"no rule for notebook parameters \['epsiodes'\]"):
        notebook_params.check(epsiodes=2)


def test_choice_does_not_confuse_types():
    rule = notebook_params.choice(1, "a")
    assert rule(1) is None and rule("a") is None
    assert rule(True) == "one of [1, 'a']"  # True == 1, but it is not an allowed value
