"""The search loop: config, log, caching, failures, top-K, determinism, resume after a kill, proxy study."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from search_doubles import Counting, strip

from rena_lib import spaces
from rena_lib.actions import replay
from rena_lib.arch import Spec, from_paper_notation
from rena_lib.metrics import measure
from rena_lib.proxy import ProxyEvaluator, proxy_accuracy
from rena_lib.search import LOG_FIELDS, SearchConfig, SearchLog, run_search

CONSTRAINTS = ["params < 100000", "intensity > 10"]
ROOT = Path(__file__).resolve().parent.parent


def small(proposer: str = "random", **overrides) -> SearchConfig:
    """3 episodes x 3 steps x 4 trajectories of the KWS space, a small policy."""
    base = dict(
        space="kws",
        proposer=proposer,
        episodes=3,
        episode_size=3,
        batch_size=4,
        top_k=2,
        constraints=CONSTRAINTS,
        embed_size=8,
        embed_units=8,
        controller_units=16,
        seed=0,
    )
    return SearchConfig(**{**base, **overrides})


# ---- config --------------------------------------------------------------------------------------------
def test_config_round_trips_and_paper_presets():
    cfg = SearchConfig.paper("kws", constraints=["params < 0.1M", "intensity > 10"])
    assert (cfg.space, cfg.episode_size, cfg.batch_size, cfg.k, cfg.total_children) == (
        "kws_layer",
        5,
        10,
        10,
        400,
    )
    assert cfg.constraints[0] == {"metric": "params", "direction": "<", "bound": 100000.0}
    assert SearchConfig.from_json(cfg.to_json()) == cfg
    layer, mod = SearchConfig.paper("cifar_layer"), SearchConfig.paper("cifar_module")
    assert (layer.episode_size, layer.batch_size, layer.k, layer.restarts) == (10, 8, 8, False)
    assert (mod.episode_size, mod.batch_size, mod.max_layers, mod.restarts) == (5, 8, 5, True)
    assert SearchConfig.smoke().total_children == 8
    assert (cfg.learning_rate, cfg.embed_units, cfg.controller_units, cfg.penalty_base) == (
        0.0006,
        32,
        128,
        0.9,
    )
    assert str(cfg.baseline_spec()) == "FC (1,12)"
    assert (cfg.metrics_convention, cfg.metrics_batch_size) == ("per_op", 64)
    cfg.validate()


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"space": "imagenet"}, "unknown search space"),
        ({"proposer": "bayes"}, "unknown proposer"),
        ({"episodes": 0}, "episodes"),
        ({"batch_size": -1}, "batch_size"),
        ({"episode_size": 2.5}, "episode_size"),
        ({"top_k": 0}, "top_k"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"penalty_base": 1.5}, "penalty_base"),
        ({"metrics_convention": "per_net"}, "metrics_convention"),
        ({"metrics_batch_size": 0}, "metrics_batch_size"),
        ({"baseline": "FC (1,13)"}, "not a member"),
        ({"baseline": "Conv2d (3,64,relu)"}, "not a member"),
        ({"max_layers": 1, "baseline": "GRU (1,64,1) FC (1,12)"}, "not a member"),
    ],
)
def test_bad_input_is_refused_before_the_search_starts(tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match):
        run_search(small(**overrides), Counting(), tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


def test_bad_constraints_and_evaluators_are_refused(tmp_path):
    with pytest.raises(ValueError, match="constraint"):
        small(constraints=["params <"])
    with pytest.raises(ValueError, match="unknown metric"):
        small(constraints=["weight < 3"])
    with pytest.raises(ValueError, match="callable"):
        run_search(small(), "not a function", tmp_path / "s", progress=False)


# ---- the log -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def random_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("random")
    ev = Counting()
    log = run_search(small(episodes=4), ev, directory, progress=False)
    return log, ev, directory


def test_random_search_log_records_every_child(random_run):
    log, ev, directory = random_run
    assert len(log) == 4 * 3 * 4
    assert [r["child_id"] for r in log.records] == list(range(48))
    for r in log.records:
        assert set(LOG_FIELDS) <= set(r)
        assert r["proposer"] == "random"
    first = log.records[:4]
    assert [(r["episode"], r["step"], r["trajectory"]) for r in first] == [(0, 0, n) for n in range(4)]
    assert {r["parent_key"] for r in first} == {spaces.baseline("kws_layer").key()}
    df = log.to_dataframe()
    assert len(df) == 48 and {"params", "intensity", "reward", "feasible"} <= set(df.columns)
    ok = df[~df.failed]
    assert len(ev.calls) == int((~df.failed & ~df.cached).sum())  # one evaluation per new valid child
    np.testing.assert_allclose(ok.performance, [proxy_accuracy(Spec.from_dict(s)) for s in ok.spec])
    assert (df[df.feasible].reward == df[df.feasible].performance).all()  # Eq. 3: no penalty when feasible
    assert (ok[~ok.feasible].reward < ok[~ok.feasible].performance).all()
    assert json.loads((directory / "config.json").read_text())["proposer"] == "random"
    best = log.best(feasible_only=False)
    assert best["reward"] == df[~df.failed].reward.max()
    assert all(r["feasible"] for r in log.feasible())
    summary = log.summary(window=10)
    assert summary["feasible_total"] == len(log.feasible()) and summary["children"] == 48
    assert summary["feasible_share_last"] == sum(r["feasible"] for r in log.records[-10:]) / 10


def test_logged_metrics_follow_the_configured_byte_convention(random_run, tmp_path):
    log, _, _ = random_run
    ok = [r for r in log.records if not r["failed"]]
    for r in ok:
        assert r["intensity"] == pytest.approx(measure(Spec.from_dict(r["spec"])).intensity)  # per op, 64
    cfg = small(episodes=1, metrics_convention="per_layer", metrics_batch_size=1)
    per_layer = run_search(cfg, ProxyEvaluator(), tmp_path / "per_layer", progress=False)
    for r in per_layer.records:
        if not r["failed"]:
            m = measure(Spec.from_dict(r["spec"]), 1, "per_layer")
            assert (r["intensity"], r["bytes_accessed"]) == (pytest.approx(m.intensity), m.bytes_accessed)


def test_edit_histories_replay_to_the_logged_specs(random_run):
    log, _, _ = random_run
    base = spaces.baseline("kws_layer")
    for r in log.records:
        if not r["failed"]:
            assert replay(base, log.history(r["child_id"])) == Spec.from_dict(r["spec"])


def test_invalid_children_are_failed_with_reward_zero_and_trajectories_go_on(tmp_path):
    log = run_search(small(episodes=6, seed=3), Counting(), tmp_path, progress=False)
    invalid = [r for r in log.records if r["failed"]]
    assert invalid, "the KWS space has children whose pooling does not fit; expected some"
    for r in invalid:
        assert r["reward"] == 0.0 and not r["feasible"] and r["params"] is None
        assert r["reason"].startswith("invalid architecture")
        nxt = next(
            (
                x
                for x in log.records
                if (x["episode"], x["trajectory"], x["step"])
                == (r["episode"], r["trajectory"], r["step"] + 1)
            ),
            None,
        )
        if nxt is not None:
            assert nxt["parent_key"] == r["parent_key"]  # the trajectory stays on the previous network


def test_evaluator_exceptions_are_failed_children(tmp_path):
    class Flaky(Counting):
        def __call__(self, spec):
            self.calls.append(spec.key())
            if len(self.calls) % 3 == 0:
                raise RuntimeError("out of luck")
            return ProxyEvaluator()(spec)

    log = run_search(small(episodes=2), Flaky(), tmp_path, progress=False)
    failed = [r for r in log.records if r["reason"] and "out of luck" in r["reason"]]
    assert failed and all(r["failed"] and r["reward"] == 0.0 and r["params"] is not None for r in failed)
    assert len(log) == 2 * 3 * 4


def test_repeated_specs_reuse_the_cached_result(tmp_path):
    # one MaxPool2d layer, no room to insert or remove: every child is MaxPool2d (2) or (3)
    cfg = SearchConfig(space="cifar_layer", max_layers=1, baseline="MaxPool2d (2)", proposer="random",
                       episodes=2, episode_size=2, batch_size=4)  # fmt: skip
    ev = Counting()
    log = run_search(cfg, ev, tmp_path, progress=False)
    assert len(ev.calls) == len(set(ev.calls)) == 2
    cached = [r for r in log.records if r["cached"]]
    assert len(cached) == 16 - 2 and all(r["wall_time"] == 0.0 for r in cached)
    first = {r["spec_key"]: r for r in log.records if not r["cached"]}
    assert all(r["performance"] == first[r["spec_key"]]["performance"] for r in cached)


def test_a_second_search_reuses_the_trainings_of_the_first_at_the_same_budget(tmp_path):
    from dataclasses import replace

    from rena_lib.fig4b import summarize_search
    from rena_lib.search.reuse import ReusedTrainings, trained_here

    budget = {"task": "kws", "epochs": 10, "seed": 0}

    class Trainer(Counting):  # the proxy, logging its budget as the real evaluators do
        def __call__(self, spec):
            return replace(super().__call__(spec), extras={"budget": budget})

    first, again, other = Trainer(), Trainer(), Trainer()
    a = run_search(small(), first, tmp_path / "a-seed0", progress=False)
    b = run_search(small(), ReusedTrainings(again, tmp_path, budget), tmp_path / "b-seed0", progress=False)
    assert again.calls == [] and len(first.calls) == len(set(first.calls)) > 5  # nothing trained twice
    trained = {r["spec_key"]: r for r in a.records if trained_here(r)}
    reused = [r for r in b.records if not r["failed"] and not r["cached"]]
    assert len(reused) == len(trained) and not any(trained_here(r) for r in b.records)
    for r in reused:
        origin = trained[r["spec_key"]]
        assert r["extras"]["reused_from"] == {"search": "a-seed0", "child_id": origin["child_id"],
                                              "wall_time": origin["wall_time"]}  # fmt: skip
        assert (r["performance"], r["reward"], r["wall_time"]) == (
            origin["performance"],
            origin["reward"],
            0.0,
        )
    assert strip([{**r, "extras": None} for r in b.records]) == strip(
        [{**r, "extras": None} for r in a.records]
    )
    summary = summarize_search(b.records)
    assert (summary["trained"], summary["reused_from_other_searches"], summary["training_hours"]) == (
        0, len(reused), 0.0,
    )  # fmt: skip
    # another budget: nothing to reuse, every child trained
    run_search(small(), ReusedTrainings(other, tmp_path, {**budget, "epochs": 30}), tmp_path / "c-seed0",
               progress=False)  # fmt: skip
    assert sorted(other.calls) == sorted(first.calls)
    with pytest.raises(ValueError, match="budget must be"):
        ReusedTrainings(first, tmp_path, {})


def test_a_batch_executor_gives_the_same_log(tmp_path, random_run):
    """Executors other than the local one get each step's new children as one batch."""
    from rena_lib.evaluation import safe_evaluate

    class Batching:
        def __init__(self):
            self.batches = []

        def map(self, evaluator, specs):
            self.batches.append(len(specs))
            return [safe_evaluate(evaluator, s) for s in specs]

    log, ev, _ = random_run
    ex = Batching()
    batched = run_search(small(episodes=4), Counting(), tmp_path, executor=ex, progress=False)
    assert strip(batched.records) == strip(log.records)
    assert sum(ex.batches) == len(ev.calls) and max(ex.batches) > 1


def test_top_k_children_start_the_next_episode(random_run):
    log, _, _ = random_run
    for ep in range(1, 4):
        prev = sorted((r for r in log.records if r["episode"] == ep - 1 and not r["failed"]),
                      key=lambda r: (-r["reward"], r["child_id"]))  # fmt: skip
        top = list(dict.fromkeys(r["spec_key"] for r in prev))[:2]
        starts = [r["parent_key"] for r in log.records if r["episode"] == ep and r["step"] == 0]
        assert starts == [top[n % len(top)] for n in range(4)]


def test_module_search_restarts_from_the_baseline(tmp_path):
    cfg = SearchConfig.smoke("cifar_module", proposer="random", episodes=3)
    log = run_search(cfg, Counting(), tmp_path, progress=False)
    base = spaces.baseline("cifar_module").key()
    assert {r["parent_key"] for r in log.records if r["step"] == 0} == {base}


def test_same_seed_same_architectures(tmp_path, random_run):
    log, _, _ = random_run
    again = run_search(small(episodes=4), Counting(), tmp_path / "a", progress=False)
    assert strip(again.records) == strip(log.records)
    other = run_search(small(episodes=4, seed=1), Counting(), tmp_path / "b", progress=False)
    assert [r["spec_key"] for r in other.records] != [r["spec_key"] for r in log.records]


def test_directory_reuse_rules(tmp_path, random_run):
    log, _, directory = random_run
    with pytest.raises(ValueError, match="resume=True"):
        run_search(small(episodes=4), Counting(), directory, progress=False)
    with pytest.raises(ValueError, match="differs"):
        run_search(small(episodes=4, seed=5), Counting(), directory, resume=True, progress=False)
    ev = Counting()
    done = run_search(small(episodes=4), ev, directory, resume=True, progress=False)
    assert ev.calls == [] and strip(done.records) == strip(log.records)


# ---- RENA: the same loop, determinism and resume ---------------------------------------------------------
@pytest.fixture(scope="module")
def rena_run(tmp_path_factory):
    pytest.importorskip("tensorflow")
    directory = tmp_path_factory.mktemp("rena")
    ev = Counting()
    log = run_search(small("rena"), ev, directory, progress=False)
    return log, ev


def test_rena_uses_the_same_loop_and_logs_policy_updates(rena_run, random_run):
    log, _ = rena_run
    assert len(log) == 36 and {r["proposer"] for r in log.records} == {"rena"}
    assert set(log.records[0]) == set(random_run[0].records[0])  # the same record fields as random search
    assert [p["episode"] for p in log.policy_records] == [0, 1, 2]
    p = log.policy_records[0]
    assert {"loss", "mean_return", "baseline", "entropy", "grad_norm"} <= set(p)
    assert len(p["baseline"]) == 3 and {"scale", "action"} <= set(p["entropy"])
    ckpt = json.loads((Path(log.directory) / "checkpoint" / "state.json").read_text())
    assert ckpt["next_child_id"] == 36 and ckpt["batches"] == 9 and ckpt["policy_records"] == 3
    assert ckpt["proposer"]["episode"] == 3 and ckpt["proposer"]["updates"] == 3  # the proposer's own state


def test_rena_same_seed_same_log(tmp_path, rena_run):
    log, _ = rena_run
    again = run_search(small("rena"), Counting(), tmp_path, progress=False)
    assert strip(again.records) == strip(log.records)
    assert [p["loss"] for p in again.policy_records] == [p["loss"] for p in log.policy_records]


@pytest.mark.parametrize("kill", ["evaluator", "after_step_records", "after_policy_update"])
def test_rena_resume_after_a_kill_reproduces_the_log(tmp_path, monkeypatch, rena_run, kill):
    import rena_lib.search.loop as loop

    log, full = rena_run
    if kill == "evaluator":
        first = Counting(fail_at=13)  # mid-step: some children of the step are logged, the rest not
    else:
        first = Counting()
        # one checkpoint per step; the 3rd follows the last step of episode 0 and so its policy update
        at = {"after_step_records": 2, "after_policy_update": 3}[kill]
        real, count = loop.save_checkpoint, [0]

        def dying(*args, **kwargs):
            count[0] += 1
            if count[0] == at:
                raise KeyboardInterrupt("killed before the checkpoint")
            return real(*args, **kwargs)

        monkeypatch.setattr(loop, "save_checkpoint", dying)
    with pytest.raises(KeyboardInterrupt):
        run_search(small("rena"), first, tmp_path, progress=False)
    monkeypatch.undo()
    second = Counting()
    resumed = run_search(small("rena"), second, tmp_path, resume=True, progress=False)
    assert strip(resumed.records) == strip(log.records)
    assert [p["loss"] for p in resumed.policy_records] == [p["loss"] for p in log.policy_records]
    assert len(first.calls) + len(second.calls) == len(full.calls)  # nothing evaluated twice


def test_kill_9_during_a_search_then_resume(tmp_path, random_run):
    """A search process that dies abruptly (os._exit, like kill -9) is continued by resume=True."""
    log, _, _ = random_run
    script = textwrap.dedent(
        f"""
        import os
        from rena_lib.proxy import ProxyEvaluator
        from rena_lib.search import SearchConfig, run_search
        calls = []
        def evaluator(spec):
            if len(calls) == 21:
                os._exit(9)
            calls.append(1)
            return ProxyEvaluator()(spec)
        cfg = SearchConfig.from_json({small(episodes=4).to_json()!r})
        run_search(cfg, evaluator, {str(tmp_path)!r}, progress=False)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**os.environ}, capture_output=True, timeout=120
    )
    assert proc.returncode == 9, proc.stderr.decode()[-2000:]
    assert 0 < len(SearchLog(tmp_path)) < 48
    ev = Counting()
    resumed = run_search(small(episodes=4), ev, tmp_path, resume=True, progress=False)
    assert strip(resumed.records) == strip(log.records)
    assert len(ev.calls) < len(random_run[1].calls)


# ---- the proxy evaluator and a small Fig. 4b ----------------------------------------------------------------
def test_proxy_evaluator_is_deterministic_and_calibrated():
    kws = lambda t: from_paper_notation(t, "kws")
    ev = ProxyEvaluator()
    a, b = ev(kws("FC (1,12)")), ev(kws("FC (1,12)"))
    assert a.performance == pytest.approx(0.65, abs=0.02)  # the paper's KWS baseline
    assert (a.performance, a.test_accuracy) == (b.performance, b.test_accuracy) and not a.failed
    with pytest.raises(RuntimeError, match="told to fail"):
        ProxyEvaluator(fail_on={kws("FC (1,12)").key()})(kws("FC (1,12)"))
    assert proxy_accuracy(kws("Conv2d (3,32,4,8,1,3) AvgPool2d")) > 0.9
    assert proxy_accuracy(kws("GRU (2,64,1)")) > 0.9
    assert proxy_accuracy(spaces.baseline("cifar_layer")) == pytest.approx(0.91, abs=0.02)
    assert 0.0 <= proxy_accuracy(spaces.baseline("cifar_module")) <= 1.0


def test_small_fig4b_proxy_study(tmp_path):
    """Fig. 4b in miniature: RENA and random search, same loop, budget, evaluator and constraints.

    150 children are too few for the RENA-vs-random gap to be reliable per seed (see
    benchmarks/proxy_search.py and its JSON for the 3 x 400 study); here the study runs end to end and the
    policy must have learned: its scale decisions grow more certain with each update.
    """
    logs = {}
    for proposer in ("random", "rena"):
        cfg = SearchConfig.paper(
            "kws",
            proposer=proposer,
            constraints=CONSTRAINTS,
            episodes=3,
            learning_rate=0.005,
            updates_per_episode=5,
        )
        logs[proposer] = run_search(cfg, ProxyEvaluator(), tmp_path / proposer, progress=False)
    summaries = {k: log.summary(window=50) for k, log in logs.items()}
    for s in summaries.values():
        assert s["children"] == 150 and len(s["feasible_per_50"]) == 3
        assert 0.0 <= s["feasible_share_last"] <= 1.0
    entropy = [p["entropy"]["scale"] for p in logs["rena"].policy_records]
    assert len(entropy) == 3 and entropy[2] < entropy[1] < entropy[0]
    assert summaries["rena"]["feasible_total"] >= 1 and summaries["random"]["feasible_total"] >= 1
