"""Experiments helpers: evaluators by name, one search per config, curves and summaries from saved logs."""

import pytest

from rena_lib import experiments
from rena_lib.proxy import ProxyEvaluator
from rena_lib.search import SearchConfig

JOINT = ["params < 100000", "intensity > 10"]


def tiny(proposer="rena", seed=0):
    return SearchConfig.paper(
        "kws_layer", proposer=proposer, seed=seed, episodes=2, episode_size=2, batch_size=2, top_k=2,
        constraints=JOINT,
    )  # fmt: skip


def test_slug_is_file_system_safe():
    assert experiments.slug("RENA (size < 0.1M, intensity > 10)") == "RENA_size_lt_0.1M_intensity_gt_10"


def test_make_evaluator_names():
    assert isinstance(experiments.make_evaluator("proxy", "kws"), ProxyEvaluator)
    with pytest.raises(ValueError, match="unknown evaluator 'oracle'"):
        experiments.make_evaluator("oracle", "kws")
    with pytest.raises(ValueError, match="scale must be"):
        experiments.make_evaluator("train", "kws", scale="huge")


def test_run_searches_never_loses_a_saved_search_unless_told(tmp_path):
    configs = {"RENA seed 0": tiny(), "random seed 0": tiny("random")}
    logs = experiments.run_searches(configs, ProxyEvaluator(), tmp_path)
    assert [len(log) for log in logs.values()] == [8, 8]
    first = logs["RENA seed 0"].records
    with pytest.raises(ValueError, match="already exist"):
        experiments.run_searches(configs, ProxyEvaluator(), tmp_path)
    assert experiments.load_logs(tmp_path, list(configs))["RENA seed 0"].records == first
    again = experiments.run_searches(configs, ProxyEvaluator(), tmp_path, if_exists="resume")
    assert again["RENA seed 0"].records == first  # a finished search is read back, not repeated
    redo = experiments.run_searches(configs, ProxyEvaluator(), tmp_path, if_exists="overwrite")
    assert [r["spec_key"] for r in redo["RENA seed 0"].records] == [r["spec_key"] for r in first]
    with pytest.raises(ValueError, match="if_exists must be one of"):
        experiments.run_searches(configs, ProxyEvaluator(), tmp_path, if_exists="append")


def test_curves_and_summaries_from_saved_logs(tmp_path):
    logs = experiments.run_searches(
        {"RENA seed 0": tiny(), "random seed 1": tiny("random", 1)}, ProxyEvaluator(), tmp_path
    )
    curves = experiments.fig4b_curves(logs, window=2)
    assert set(curves["proposer"]) == {"RENA", "random"} and set(curves["seed"]) == {0, 1}
    assert len(curves) == 16
    for name, log in logs.items():
        df = log.to_dataframe()
        feasible = experiments.feasible_so_far(log)
        assert feasible.iloc[-1] == int((df["feasible"] & ~df["failed"]).sum())
        assert feasible.is_monotonic_increasing
        best = experiments.best_so_far(log)
        counted = best.notna().to_numpy()
        assert counted[counted.argmax() :].all()  # NaN only before the first counted child
        assert best.dropna().is_monotonic_increasing
        summary = experiments.feasibility_summary({name: log}, last=4)
        assert summary.loc[name, "children"] == 8
    with pytest.raises(ValueError, match="not of the form"):
        experiments.fig4b_curves({"RENA": logs["RENA seed 0"]}, window=2)
    table = experiments.summary_table(logs)
    assert list(table["children"]) == [8, 8]


def test_best_so_far_carries_over_failed_children(tmp_path):
    from rena_lib.evaluation import EvalResult
    from rena_lib.search import run_search

    calls = []

    def every_other_fails(spec):
        calls.append(spec)
        return (
            EvalResult.failure("test double: fails") if len(calls) % 2 == 0 else EvalResult(0.1 * len(calls))
        )

    cfg = SearchConfig.paper("kws_layer", proposer="random", seed=0, episodes=1, episode_size=3, batch_size=2)
    log = run_search(cfg, every_other_fails, tmp_path / "s", progress=False)
    df = log.to_dataframe()
    assert df["failed"].any() and not df["failed"].iloc[0]
    best = experiments.best_so_far(log)
    assert best.notna().all() and best.is_monotonic_increasing  # no gap at the failed children
    assert best.iloc[-1] == df["performance"][~df["failed"]].max()


def _proxy_logs(tmp_path):
    """Three short proxy searches (seeds 0-2) each of random search and regularized evolution."""
    from rena_lib.proxy import ProxyEvaluator
    from rena_lib.search import SearchConfig, run_search

    options = {"random": {}, "evolution": {"proposer_options": {"population": 5, "sample": 2}}}
    logs = {}
    for proposer, extra in options.items():
        logs[proposer] = []
        for seed in range(3):
            cfg = SearchConfig(space="kws", proposer=proposer, episodes=2, episode_size=2, batch_size=5,
                               seed=seed, constraints=["params < 1e5"], **extra)  # fmt: skip
            logs[proposer].append(
                run_search(cfg, ProxyEvaluator(), tmp_path / f"{proposer}{seed}", progress=False)
            )
    return logs


def test_anytime_curves_median_and_iqr_over_seeds(tmp_path):
    import numpy as np

    from rena_lib.experiments import ANYTIME_STATS, anytime_curves, anytime_table

    logs = _proxy_logs(tmp_path)
    curves = anytime_curves(logs, per=5)
    assert set(curves["statistic"]) == set(ANYTIME_STATS) and set(curves["strategy"]) == {
        "random",
        "evolution",
    }
    g = curves[(curves["strategy"] == "random") & (curves["statistic"] == "feasible per 50")]
    assert list(g["searched children"]) == list(range(1, 21)) and (g["seeds"] == 3).all()
    counts = []
    for log in logs["random"]:
        df = log.to_dataframe()
        ok = (df["feasible"] & ~df["failed"]).astype(int).to_numpy()
        counts.append([ok[max(0, n - 5) : n].sum() for n in range(1, 21)])
    assert np.allclose(g["median"], np.median(np.array(counts), axis=0))
    best = curves[(curves["strategy"] == "random") & (curves["statistic"] == "best feasible reward")]
    med = best["median"].to_numpy()
    reached = np.flatnonzero(~np.isnan(med))
    assert reached.size and not np.isnan(med[reached[0] :]).any()  # once found, a best so far stays
    assert (np.diff(med[reached[0] :]) >= 0).all()  # and never falls
    table = anytime_table(curves, at=(10, 20, 400))
    assert table.loc[("random", "feasible per 50"), "at 400"] is None  # beyond the searches
    with pytest.raises(ValueError, match="per"):
        anytime_curves(logs, per=0)


def test_anytime_table_says_none_where_a_quartile_of_seeds_has_nothing_feasible():
    import numpy as np
    import pandas as pd

    from rena_lib.experiments import anytime_table

    curves = pd.DataFrame({
        "strategy": ["evolution"] * 2, "statistic": ["best feasible reward"] * 2, "searched children": [50, 100],
        "seeds": [4, 4], "median": [0.275, 0.461], "q25": [np.nan, 0.344], "q75": [0.433, 0.545],
    })  # fmt: skip
    table = anytime_table(curves, at=(50, 100))
    assert table.loc[("evolution", "best feasible reward"), "at 50"] == "0.275 [none, 0.433]"
    assert table.loc[("evolution", "best feasible reward"), "at 100"] == "0.461 [0.344, 0.545]"
