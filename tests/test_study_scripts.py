"""The Fig. 4b setting (rena_lib.fig4b) and the real-data search and surrogate study scripts built on it."""

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import real_search  # noqa: E402
import surrogate_study  # noqa: E402

from rena_lib import fig4b  # noqa: E402
from rena_lib.arch import from_paper_notation  # noqa: E402
from rena_lib.evaluation import EvalResult  # noqa: E402
from rena_lib.proxy import ProxyEvaluator  # noqa: E402
from rena_lib.search import run_search  # noqa: E402


def test_every_strategy_is_fig4b_and_valid():
    assert set(fig4b.STUDY) == {"rena", "rena_tuned", "random", "evolution", "tpe"}
    for name in fig4b.STUDY:
        cfg = fig4b.config(name, 3, 200)
        cfg.validate()
        assert (cfg.space, cfg.episode_size, cfg.batch_size, cfg.k, cfg.total_children, cfg.seed) == (
            "kws_layer", 5, 10, 10, 200, 3,
        )  # fmt: skip
        assert [c["metric"] for c in cfg.constraints] == ["params", "intensity"]
        assert str(cfg.baseline_spec()) == "FC (1,12)"
    for bad in (120, 0, -50):
        with pytest.raises(ValueError, match="multiple of 50"):
            fig4b.config("random", 0, bad)
    with pytest.raises(ValueError, match="unknown strategy 'annealing'"):
        fig4b.config("annealing", 0, 50)


def test_the_flops_cap_declines_expensive_children_and_trains_the_others():
    calls = []

    def ev(spec):
        calls.append(spec)
        return EvalResult(performance=0.5)

    capped = fig4b.FlopsCap(ev, max_flops=1e6)
    big = from_paper_notation("Conv2d (1,64,10,4,1,1) FC (1,12)", "kws")
    small = from_paper_notation("FC (1,12)", "kws")
    result = capped(big)
    assert result.failed and result.reason.startswith("not trained:") and "above" in result.reason
    assert capped(small).performance == 0.5 and calls == [small]


def test_a_capped_proxy_search_is_summarised(tmp_path):
    cfg = fig4b.config("random", 0, 50)
    log = run_search(cfg, fig4b.FlopsCap(ProxyEvaluator()), tmp_path / "random-seed0", progress=False)
    s = fig4b.summarize_search(log.records)
    assert s["children"] == 50 and s["not_trained_above_flops_cap"] > 0
    assert s["failed"] >= s["not_trained_above_flops_cap"]
    first = fig4b.claims_table({"random": [log]})["first feasible child"].iloc[0]  # both count from 1
    assert s["first_feasible_child"] == (None if first is pd.NA else int(first))
    assert s["first_feasible_child"] == 1 + min(
        r["child_id"] for r in log.records if r["feasible"] and not r["failed"]
    )
    args = type("Args", (), {"out": tmp_path, "max_flops": fig4b.MAX_FLOPS})()
    real_search.report(args)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["searches"]["random-seed0"]["planned_children"] == 50
    assert "random / feasible per 50" in summary["anytime_median_iqr_over_seeds"]


def test_a_surrogate_study_and_sweep_run_and_report(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    import rena_sweep
    from test_surrogate import rows

    from rena_lib.surrogate import fit_surrogate

    fit_surrogate(rows()).save(tmp_path / "surrogate")
    common = [
        "--surrogate",
        str(tmp_path / "surrogate"),
        "--out",
        str(tmp_path / "study"),
        "--children",
        "50",
    ]
    surrogate_study.main([*common, "--strategies", "random", "evolution", "--seeds", "0", "1",
                          "--figure", str(tmp_path / "fig.png")])  # fmt: skip
    summary = json.loads((tmp_path / "study" / "summary.json").read_text())
    assert summary["seeds"] == {"random": 2, "evolution": 2} and summary["children_per_search"] == 50
    assert summary["surrogate"]["rows"] == 85 and (tmp_path / "fig.png").exists()
    assert set(summary["claims_median_over_seeds"]) == {"random", "evolution"}
    again = (tmp_path / "study" / "curves.csv").read_text()
    surrogate_study.main([*common, "--report", "--figure", str(tmp_path / "fig.png")])  # logs read back
    assert (tmp_path / "study" / "curves.csv").read_text() == again
    # the sweep's machinery, on one cheap setting
    monkeypatch.setattr(rena_sweep, "settings", lambda: {"random": {"proposer": "random"}})
    rena_sweep.main([*common[:4], "--seeds", "5", "--children", "50"])
    sweep = json.loads((tmp_path / "study" / "rena_sweep.json").read_text())
    assert sweep["chosen"]["name"] == "random" and sweep["seeds"] == [5]


def test_searches_are_read_by_strategy_and_seed_and_the_claims_counted(tmp_path):
    for seed in (10, 2):  # seed 10 sorts before seed 2 as text, not as a number
        run_search(
            fig4b.config("random", seed, 50),
            ProxyEvaluator(),
            tmp_path / f"random-seed{seed}",
            progress=False,
        )
    (tmp_path / "notes-seedX").mkdir()  # no log: ignored
    searches = fig4b.read_searches(tmp_path)
    assert [log.directory.name for log in searches["random"]] == ["random-seed2", "random-seed10"]
    table = fig4b.claims_table(searches, after=20)
    assert list(table.index) == ["random-seed2", "random-seed10"] and (table["children"] == 50).all()
    for name, row in table.iterrows():
        df = searches["random"][0 if name.endswith("2") else 1].to_dataframe()
        feasible = (df["feasible"] & ~df["failed"]).to_numpy()
        assert row["feasible in children 1-20"] == feasible[:20].sum()
        assert row["feasible after child 20"] == feasible[20:].sum()
        first = int(feasible.argmax()) + 1 if feasible.any() else None
        assert (row["first feasible child"] is pd.NA and first is None) or row[
            "first feasible child"
        ] == first
    with pytest.raises(FileNotFoundError, match="no searches at"):
        fig4b.read_searches(tmp_path / "missing")


def test_the_curves_leave_out_a_search_still_running(tmp_path):
    for seed in (0, 1):
        run_search(fig4b.config("random", seed, 50), ProxyEvaluator(), tmp_path / f"random-seed{seed}",
                   progress=False)  # fmt: skip
    searches = fig4b.read_searches(tmp_path)
    searches["random"][1].records = searches["random"][1].records[:20]  # seed 1 stopped at 20 of 50
    assert [log.directory.name for log in fig4b.curve_searches(searches)["random"]] == ["random-seed0"]
    searches["random"][0].records = searches["random"][0].records[:10]  # none complete: the longest
    assert [log.directory.name for log in fig4b.curve_searches(searches)["random"]] == ["random-seed1"]
    searches["random"][0].records = searches["random"][1].records = []
    assert fig4b.curve_searches(searches) == {}


def _rec(child_id, notation, reward, feasible=True, failed=False):
    return {"child_id": child_id, "spec_key": notation, "notation": notation, "spec": {"n": notation},
            "params": 1, "flops": 2.0, "intensity": 11.0, "performance": reward, "test_accuracy": reward - 0.01,
            "reward": reward, "feasible": feasible, "failed": failed}  # fmt: skip


def test_the_best_feasible_children_are_one_row_per_spec_best_first():
    from types import SimpleNamespace

    def log(name, records):
        return SimpleNamespace(directory=Path(name), records=records)

    a = log("rena-seed0", [_rec(0, "A", 0.9, feasible=False), _rec(1, "B", 0.5), _rec(2, "C", 0.6),
                           _rec(3, "D", 0.7, failed=True)])  # fmt: skip
    b = log("random-seed0", [_rec(0, "C", 0.6), _rec(1, "E", 0.4), _rec(2, "E", 0.4)])
    rows = fig4b.best_feasible_children({"rena": [a], "random": [b]})
    assert [(r["notation"], r["found_by"]) for r in rows] == [
        ("C", ["rena-seed0 child 3", "random-seed0 child 1"])
    ]
    rows = fig4b.best_feasible_children({"rena": [a], "random": [b]}, top=2)
    assert [r["notation"] for r in rows] == ["C", "B", "E"]  # the infeasible A and the failed D never
    assert rows[2]["found_by"] == ["random-seed0 child 2"] and rows[1]["search_test_accuracy"] == 0.49
    assert fig4b.best_feasible_children({"rena": [log("x-seed0", [_rec(0, "A", 0.9, feasible=False)])]}) == []
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="top must be an int >= 1"):
            fig4b.best_feasible_children({}, top=bad)


def test_the_retraining_report_sets_cpu_accuracies_beside_the_search_and_the_paper(tmp_path, capsys):
    import retrain_best

    from rena_lib.real_trainings import append_record
    from rena_lib.training import Budget

    out = tmp_path / "retrained"
    for name, search_val, vals in (
        ("Conv2d (1,12,20,10,1,5)", 0.50, (0.70, 0.74)),
        ("FC (2,64)", 0.45, (0.60,)),
    ):
        for seed, val in enumerate(vals):
            append_record(out / "runs.jsonl", {
                "name": name, "notation": name, "spec": {}, "budget": Budget.cpu("kws").replace(seed=seed).to_dict(),
                "seed": seed, "val_accuracy": val, "test_accuracy": val - 0.02, "wall_time": 60.0, "failed": False,
                "scale": "cpu", "found_by": [f"rena-seed{seed} child 9"], "search_val_accuracy": search_val,
                "data": {"dataset": "speech_commands"}, "params": 5, "flops": 1.0, "intensity": 12.0,
            })  # fmt: skip
    assert retrain_best.main(["--searches", str(tmp_path), "--report", "--seeds", "0", "1"]) == 0
    table = pd.read_csv(out / "retrained.csv")
    assert list(table["name"]) == ["Conv2d (1,12,20,10,1,5)", "FC (2,64)"]
    assert list(table["seeds"]) == [2, 1] and table.loc[0, "test_accuracy_mean"] == pytest.approx(0.70)
    assert table.loc[0, "found_by"] == "rena-seed0 child 9" and table.loc[1, "search_val_accuracy"] == 0.45
    summary = json.loads((out / "summary.json").read_text())
    assert summary["children"] == 2 and summary["children_with_all_seeds"] == 1 and summary["trainings"] == 3
    assert summary["paper_architecture"]["name"] == "RENA (size < 0.1M, intensity > 10)"
    assert (
        summary["paper_architecture"]["seeds"] == 3 and summary["spearman_search_vs_cpu_val_accuracy"] is None
    )
    assert "RENA (size < 0.1M, intensity > 10) at this budget" in capsys.readouterr().out


def test_the_bootstrap_draws_whole_architectures_deterministically():
    import surrogate_stability

    rows = [{"spec": {"a": i % 4}, "seed": i} for i in range(10)]  # 4 architectures, 3 / 3 / 2 / 2 rows
    one = surrogate_stability.bootstrap(rows, 0)
    assert one == surrogate_stability.bootstrap(rows, 0) and one != surrogate_stability.bootstrap(rows, 1)
    for spec in {json.dumps(r["spec"]) for r in one}:  # every drawn architecture comes with all its rows
        drawn = [r["seed"] for r in one if json.dumps(r["spec"]) == spec]
        every = [r["seed"] for r in rows if json.dumps(r["spec"]) == spec]
        assert len(drawn) % len(every) == 0 and set(drawn) == set(every)


def test_the_stability_study_ranks_the_strategies_on_each_refit(tmp_path, capsys):
    import surrogate_stability

    out = tmp_path / "study"
    args = ["--refits", "1", "--seeds", "0", "--children", "50", "--strategies", "random", "evolution"]
    with pytest.raises(SystemExit):
        surrogate_stability.main([*args, "--out", str(out)])  # no study to compare with
    assert "run scripts/surrogate_study.py first" in capsys.readouterr().err
    out.mkdir()
    (out / "curves.csv").write_text((ROOT / "results/cpu/surrogate_study/curves.csv").read_text())
    assert surrogate_stability.main([*args, "--out", str(out)]) == 0
    got = json.loads((out / "stability.json").read_text())
    assert got["refits_finished"] == 1 and sum(got["first_place_count"].values()) == 1
    (refit,) = got["refits"]
    assert sorted(refit["order"]) == ["evolution", "random"]
    rewards = refit["median_best_feasible_reward"]
    assert rewards[refit["order"][0]] >= rewards[refit["order"][1]]
    assert set(refit["median_feasible_share_after_120"].values()) == {None}  # 50 children: none after 120
    assert surrogate_stability.main([*args, "--out", str(out), "--report"]) == 0  # resumes: same numbers
    assert json.loads((out / "stability.json").read_text())["refits"] == got["refits"]


def test_a_training_is_appended_with_its_budget_load_and_time_and_then_skipped(tmp_path):
    from rena_lib import spaces
    from rena_lib.evaluation import EvalResult
    from rena_lib.real_trainings import done_keys, read_records, record_key, train_and_append
    from rena_lib.training import Budget

    class Fake:  # a test double: trains nothing, reports the budget's seed as the accuracy's last digit
        budget = None

        def __call__(self, spec):
            return EvalResult(
                performance=0.5 + self.budget.seed / 100, test_accuracy=0.4, epochs=3, wall_time=2.0
            )

    runs, spec, ev = tmp_path / "runs.jsonl", spaces.baseline("kws_layer"), Fake()
    for seed in (0, 1):
        budget = Budget.cpu("kws").replace(seed=seed)
        result = train_and_append(ev, "baseline", spec, budget, runs, data={"dataset": "x"}, scale="cpu")
        assert ev.budget is budget and result.performance == 0.5 + seed / 100
    first, second = read_records(runs)
    assert (first["seed"], first["val_accuracy"], second["val_accuracy"]) == (0, 0.5, 0.51)
    assert first["scale"] == "cpu" and first["data"] == {"dataset": "x"} and first["epochs"] == 3
    assert {"load_before", "load_after", "finished"} <= set(first) and first["notation"] == second["notation"]
    assert record_key(first) in done_keys(runs) and len(done_keys(runs)) == 2
