"""The real-data search and surrogate study scripts: their configs, the FLOPs cap, a proxy run of each."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import real_search  # noqa: E402
import surrogate_study  # noqa: E402

from rena_lib.arch import from_paper_notation  # noqa: E402
from rena_lib.evaluation import EvalResult  # noqa: E402
from rena_lib.proxy import ProxyEvaluator  # noqa: E402
from rena_lib.search import run_search  # noqa: E402


def test_every_strategy_is_fig4b_and_valid():
    for name in surrogate_study.STUDY:
        cfg = real_search.config(name, 3, 200, surrogate_study.STUDY)
        cfg.validate()
        assert (cfg.space, cfg.episode_size, cfg.batch_size, cfg.k, cfg.total_children, cfg.seed) == (
            "kws_layer", 5, 10, 10, 200, 3,
        )  # fmt: skip
        assert [c["metric"] for c in cfg.constraints] == ["params", "intensity"]
        assert str(cfg.baseline_spec()) == "FC (1,12)"
    with pytest.raises(ValueError, match="multiple of 50"):
        real_search.config("random", 0, 120)


def test_the_flops_cap_declines_expensive_children_and_trains_the_others():
    calls = []

    def ev(spec):
        calls.append(spec)
        return EvalResult(performance=0.5)

    capped = real_search.FlopsCap(ev, max_flops=1e6)
    big = from_paper_notation("Conv2d (1,64,10,4,1,1) FC (1,12)", "kws")
    small = from_paper_notation("FC (1,12)", "kws")
    result = capped(big)
    assert result.failed and result.reason.startswith("not trained:") and "above" in result.reason
    assert capped(small).performance == 0.5 and calls == [small]


def test_a_capped_proxy_search_is_summarised(tmp_path):
    cfg = real_search.config("random", 0, 50)
    log = run_search(cfg, real_search.FlopsCap(ProxyEvaluator()), tmp_path / "random-seed0", progress=False)
    s = real_search.summarize_log(log.records)
    assert s["children"] == 50 and s["not_trained_above_flops_cap"] > 0
    assert s["failed"] >= s["not_trained_above_flops_cap"]
    args = type("Args", (), {"out": tmp_path, "max_flops": real_search.MAX_FLOPS})()
    real_search.report(args)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["searches"]["random-seed0"]["planned_children"] == 50
    assert "random / feasible per 50" in summary["anytime_median_iqr_over_seeds"]
