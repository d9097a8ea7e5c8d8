"""Checks on a batch of search logs: constraints that never bind, searches that share their first children."""

from rena_lib import analysis, experiments
from rena_lib.proxy import ProxyEvaluator
from rena_lib.search import SearchConfig


def config(constraints, seed=0):
    return SearchConfig.paper(
        "kws_layer", seed=seed, episodes=2, episode_size=2, batch_size=2, top_k=2, constraints=constraints
    )


def test_constraint_binds_and_shared_prefix(tmp_path):
    configs = {
        "none": config([]),
        "loose": config(["params < 1000000000"]),  # every KWS child meets it: never binds
        "tight": config(["params < 100"]),  # no child meets it
        "other seed": config(["params < 1000000000"], seed=1),
    }
    logs = experiments.run_searches(configs, ProxyEvaluator(), tmp_path)
    binds = analysis.constraint_binds(logs)
    assert binds.to_dict() == {"none": None, "loose": False, "tight": True, "other seed": False}
    # a constraint that never binds leaves the search exactly as the unconstrained one
    same = {k: logs[k] for k in ("none", "loose")}
    assert analysis.shared_prefix(same) == len(logs["none"]) == 8
    # the untrained policy's first episode (2 steps x 2 trajectories) does not depend on the constraint
    first = analysis.shared_prefix({k: logs[k] for k in ("none", "tight")})
    assert 4 <= first < 8
    assert analysis.shared_prefix({k: logs[k] for k in ("none", "other seed")}) < 4
    assert analysis.shared_prefix({}) == 0
