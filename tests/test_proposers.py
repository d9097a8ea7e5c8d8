"""Proposers of the ask / tell loop: every one searches, resumes exactly after a kill, and is checked early.

RENA and random search keep their golden logs (test_golden_log.py); here: regularized evolution's
tournament and aging, TPE's define-by-run sampling, resume after a kill for every proposer, the registry,
proposer objects and options, and skip_beyond_bound.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from search_doubles import Counting, strip

from rena_lib.arch import Spec
from rena_lib.arch.graph import validate
from rena_lib.metrics import measure
from rena_lib.proxy import ProxyEvaluator
from rena_lib.search import SearchConfig, SearchLog, run_search
from rena_lib.search.proposers import (
    Candidate,
    RegularizedEvolution,
    proposer_names,
    register_proposer,
    sample_architecture,
)

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ["params < 100000", "intensity > 10"]
OPTIONS = {
    "rena": {},
    "random": {},
    "evolution": {"population": 6, "sample": 3},
    "tpe": {"n_startup_trials": 4},
}
ALL = list(OPTIONS)


def small(proposer: str = "evolution", **overrides) -> SearchConfig:
    """2 episodes x 3 steps x 4 children of the KWS space (24 children), a small policy."""
    base = dict(
        space="kws", proposer=proposer, proposer_options=OPTIONS.get(proposer, {}), episodes=2,
        episode_size=3, batch_size=4, top_k=2, constraints=CONSTRAINTS, embed_size=8, embed_units=8,
        controller_units=16, seed=0,
    )  # fmt: skip
    return SearchConfig(**{**base, **overrides})


def _needs(proposer):
    if proposer == "rena":
        pytest.importorskip("tensorflow")
    if proposer == "tpe":
        pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def full_runs(tmp_path_factory):
    """One uninterrupted search per proposer: (log, evaluator)."""
    out = {}

    def get(proposer):
        if proposer not in out:
            _needs(proposer)
            ev = Counting()
            log = run_search(small(proposer), ev, tmp_path_factory.mktemp(proposer), progress=False)
            out[proposer] = (log, ev)
        return out[proposer]

    return get


# ---- every proposer searches the space ------------------------------------------------------------------
@pytest.mark.parametrize("proposer", ALL)
def test_each_proposer_runs_a_proxy_search_of_valid_members(full_runs, proposer):
    log, ev = full_runs(proposer)
    space = small(proposer).search_space()
    assert [r["child_id"] for r in log.records] == list(range(24))
    assert {r["proposer"] for r in log.records} == {proposer}
    ok = [r for r in log.records if not r["failed"]]
    assert len(ok) >= 12, f"{proposer}: too many failed children"
    for r in ok:
        spec = Spec.from_dict(r["spec"])
        space.check(spec)
        validate(spec)
        assert r["spec_key"] == spec.key()
    assert len(ev.calls) == sum(not r["failed"] and not r["cached"] for r in log.records)
    assert len({r["spec_key"] for r in ok}) > 3  # it explores


@pytest.mark.parametrize("proposer", ALL)
def test_same_seed_same_log_and_another_seed_another(tmp_path, full_runs, proposer):
    log, _ = full_runs(proposer)
    again = run_search(small(proposer), Counting(), tmp_path / "a", progress=False)
    assert strip(again.records) == strip(log.records)
    if proposer != "rena":  # (RENA's seed also seeds its policy: test_search covers it)
        other = run_search(small(proposer, seed=1), Counting(), tmp_path / "b", progress=False)
        assert [r["spec_key"] for r in other.records] != [r["spec_key"] for r in log.records]


# ---- regularized evolution -------------------------------------------------------------------------------
def test_evolution_initial_population_then_mutations_of_tournament_winners(full_runs):
    log, _ = full_runs("evolution")
    records = log.records
    assert all(r["proposal"]["phase"] == "initial" for r in records[:6])  # population 6
    assert all(r["parent_key"] is None and r["actions"] == [] for r in records[:6])
    by_id = {r["child_id"]: r for r in records}
    for r in records[8:]:  # batches of 4: children 8.. come after the initial population
        assert r["proposal"]["phase"] == "mutation"
        parent = by_id[r["proposal"]["parent_id"]]
        assert r["parent_key"] == parent["spec_key"] and not parent["failed"]
        assert len(r["actions"]) == 1  # one edit
        action = r["actions"][0]
        assert action["op"] in ("scale", "insert", "remove")
        if action["op"] == "scale":
            assert len(action["changes"]) == 1
        if not r["failed"]:
            from rena_lib.actions import replay

            assert replay(Spec.from_dict(parent["spec"]), r["actions"]) == Spec.from_dict(r["spec"])


def _told(proposer, rewards, first_id=0):
    """Ask one batch of the proposer and tell it the given rewards (None: a failed child)."""
    cands = proposer.ask()
    records = [
        {
            "child_id": first_id + i,
            "reward": 0.0 if w is None else w,
            "failed": w is None,
            "spec": None if c.spec is None else c.spec.to_dict(),
            "spec_key": None if c.spec is None else c.spec.key(),
        }
        for i, (c, w) in enumerate(zip(cands, rewards, strict=True))
    ]
    proposer.tell(cands, records)
    return cands


def test_evolution_tournament_picks_the_best_sampled_and_aging_removes_the_oldest():
    cfg = small("evolution", batch_size=3, proposer_options={"population": 4, "sample": 4})
    evo = RegularizedEvolution(cfg)
    _told(evo, [0.1, 0.9, None])  # a failed child does not join
    assert [m["child_id"] for m in evo.population] == [0, 1]
    _told(evo, [0.2, 0.3, 0.4], first_id=3)  # children 3 and 4 finish the initial population (4 asked)
    # aging: 5 members were added, the population holds the 4 youngest
    assert [m["child_id"] for m in evo.population] == [1, 3, 4, 5]
    cands = evo.ask()  # sample = population: every tournament is won by the best member (child 1)
    assert {c.info["parent_id"] for c in cands} == {1} and all(c.info["phase"] == "mutation" for c in cands)
    evo.sample_size = 1  # a tournament of one: a uniformly random member
    winners = {evo.tournament()["child_id"] for _ in range(50)}
    assert winners == {1, 3, 4, 5}


def test_evolution_state_round_trips_as_json():
    import json

    cfg = small("evolution")
    a, b = RegularizedEvolution(cfg), RegularizedEvolution(cfg)
    _told(a, [0.5, 0.2, None, 0.7])
    state, arrays = a.state()
    assert arrays == {}
    b.load_state(json.loads(json.dumps(state)), arrays)
    assert [c.spec for c in a.ask()] == [c.spec for c in b.ask()]


# ---- TPE --------------------------------------------------------------------------------------------------
def test_tpe_define_by_run_covers_layer_counts_and_types():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for space_name in ("kws", "cifar_module"):
        space = SearchConfig(space=space_name).search_space()
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=1000))
        specs = [sample_architecture(study.ask(), space) for _ in range(300)]
        assert {len(s.layers) for s in specs} == set(range(1, space.max_layers + 1))
        assert {layer.type for s in specs for layer in s.layers} == set(space.layer_types)
        for s in specs:
            space.check(s)  # every sample is a member of the space (whether it builds is the loop's check)


def test_tpe_search_has_no_parents_and_names_its_trials(full_runs):
    log, _ = full_runs("tpe")
    assert all(r["parent_key"] is None and r["actions"] == [] for r in log.records)
    assert [r["proposal"]["trial"] for r in log.records] == list(range(24))
    assert len({len(r["spec"]["layers"]) for r in log.records}) >= 3


# ---- resume after a kill, every proposer --------------------------------------------------------------------
@pytest.mark.parametrize("kill", ["evaluator", "before_checkpoint"])
@pytest.mark.parametrize("proposer", ALL)
def test_resume_after_a_kill_reproduces_the_log(tmp_path, monkeypatch, full_runs, proposer, kill):
    import rena_lib.search.loop as loop

    log, full = full_runs(proposer)
    if kill == "evaluator":
        first = Counting(fail_at=min(9, len(full.calls) - 2))  # mid-batch: part of a batch is logged
    else:
        first = Counting()
        real, count = loop.save_checkpoint, [0]

        def dying(*args, **kwargs):
            count[0] += 1
            if count[0] == 3:  # RENA: right after the policy update of episode 0
                raise KeyboardInterrupt("killed before the checkpoint")
            return real(*args, **kwargs)

        monkeypatch.setattr(loop, "save_checkpoint", dying)
    with pytest.raises(KeyboardInterrupt):
        run_search(small(proposer), first, tmp_path, progress=False)
    monkeypatch.undo()
    assert 0 < len(SearchLog(tmp_path)) < 24
    second = Counting()
    resumed = run_search(small(proposer), second, tmp_path, resume=True, progress=False)
    assert strip(resumed.records) == strip(log.records)
    assert [p["losses"] for p in resumed.policy_records] == [p["losses"] for p in log.policy_records]
    assert len(first.calls) + len(second.calls) == len(full.calls)  # nothing evaluated twice


@pytest.mark.parametrize(
    "proposer",
    [p if p != "rena" else pytest.param(p, marks=pytest.mark.slow) for p in ALL],  # rena: TF in a subprocess
)
def test_kill_9_then_resume_reproduces_the_log(tmp_path, full_runs, proposer):
    """A search process that dies abruptly (os._exit, like kill -9) is continued by resume=True."""
    log, full = full_runs(proposer)
    script = textwrap.dedent(
        f"""
        import os
        from rena_lib.proxy import ProxyEvaluator
        from rena_lib.search import SearchConfig, run_search
        calls = []
        def evaluator(spec):
            if len(calls) == {len(full.calls) // 2}:
                os._exit(9)
            calls.append(1)
            return ProxyEvaluator()(spec)
        cfg = SearchConfig.from_json({small(proposer).to_json()!r})
        run_search(cfg, evaluator, {str(tmp_path)!r}, progress=False)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**os.environ}, capture_output=True, timeout=300
    )
    assert proc.returncode == 9, proc.stderr.decode()[-2000:]
    ev = Counting()
    resumed = run_search(small(proposer), ev, tmp_path, resume=True, progress=False)
    assert strip(resumed.records) == strip(log.records)
    assert len(ev.calls) == len(full.calls) - len(full.calls) // 2


# ---- names, objects and options -----------------------------------------------------------------------------
def test_an_unknown_proposer_name_lists_the_known_ones(tmp_path):
    assert set(proposer_names()) >= {"rena", "random", "evolution", "tpe"}
    with pytest.raises(ValueError, match=r"unknown proposer 'bayes'; known proposers: \['rena', 'random'"):
        run_search(small("bayes"), Counting(), tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


class _Baseline:
    """A proposer that proposes the baseline, batch after batch (a minimal protocol implementation)."""

    name = "baseline"

    def __init__(self, config):
        self.config, self.told = config, 0

    def ask(self):
        return [Candidate(self.config.baseline_spec()) for _ in range(self.config.batch_size)]

    def tell(self, candidates, records):
        self.told += 1
        return []

    def state(self):
        return {"updates": 0, "told": self.told}, {}

    def load_state(self, state, arrays):
        self.told = state["told"]


def test_a_proposer_object_or_a_registered_name_runs_the_search(tmp_path):
    cfg = small("baseline", episodes=1, episode_size=2)
    obj = _Baseline(cfg)
    log = run_search(cfg, Counting(), tmp_path / "obj", proposer=obj, progress=False)
    assert len(log) == 8 and obj.told == 2 and sum(r["cached"] for r in log.records) == 7
    assert {r["proposer"] for r in log.records} == {"baseline"}
    register_proposer("baseline", _Baseline)
    by_name = run_search(cfg, Counting(), tmp_path / "name", progress=False)
    assert strip(by_name.records) == strip(log.records)
    assert SearchConfig.from_json(cfg.to_json()) == cfg  # the config holds the name: plain JSON


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        (object(), r"lacks method ask\(\), method tell\(\)"),
        (type("NoName", (), {"ask": lambda s: [], "tell": 1, "state": 1, "load_state": 1})(), "lacks"),
        (_Baseline(small()), "named 'baseline' but config.proposer is 'evolution'"),
    ],
)
def test_a_bad_proposer_object_is_refused_before_the_search_starts(tmp_path, obj, match):
    with pytest.raises(ValueError, match=match):
        run_search(small(), Counting(), tmp_path / "s", proposer=obj, progress=False)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("proposer", "options", "match"),
    [
        ("evolution", {"population": 0}, "'population' must be a positive int"),
        ("evolution", {"population": 10, "sample": 11}, "'sample' .* must not exceed 'population'"),
        (
            "evolution",
            {"tournament": 3},
            r"unknown proposer_options \['tournament'\] .* \['population', 'sample'\]",
        ),
        ("rena", {"population": 3}, "unknown proposer_options"),
        ("random", {"x": 1}, "unknown proposer_options"),
        ("tpe", {"n_startup_trials": -1}, "n_startup_trials"),
        ("tpe", {"multivariate": False}, "'group' needs 'multivariate'"),
        ("evolution", "big", "proposer_options must be a dict"),
        ("evolution", {"population": float("nan")}, "plain JSON"),
    ],
)
def test_bad_proposer_options_are_named(tmp_path, proposer, options, match):
    with pytest.raises(ValueError, match=match):
        run_search(small(proposer, proposer_options=options), Counting(), tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


# ---- skip_beyond_bound ----------------------------------------------------------------------------------------
def test_children_far_beyond_a_bound_are_not_trained(tmp_path):
    cfg = small("random", episodes=3, constraints=["params < 3000"], skip_beyond_bound=2.0)
    ev = Counting()
    log = run_search(cfg, ev, tmp_path / "skip", progress=False)
    skipped = [r for r in log.records if (r["reason"] or "").startswith("skipped beyond bound:")]
    assert skipped, "expected children above 2 x 3000 parameters"
    for r in skipped:
        assert r["failed"] and r["reward"] == 0.0 and r["params"] > 6000
        assert "params" in r["reason"] and "'params < 3000" in r["reason"]
        assert r["spec_key"] not in ev.calls  # measured, not trained
    trained = [r for r in log.records if not r["failed"]]
    assert trained and all(r["params"] <= 6000 for r in trained)
    assert all(r["params"] == measure(Spec.from_dict(r["spec"])).params for r in skipped)
    off = run_search(small("random", episodes=3, constraints=["params < 3000"]), Counting(), tmp_path / "off", progress=False)  # fmt: skip
    assert not any((r["reason"] or "").startswith("skipped") for r in off.records)
    with pytest.raises(ValueError, match="skip_beyond_bound"):
        run_search(small(skip_beyond_bound=0.5), Counting(), tmp_path / "bad", progress=False)


# ---- REINFORCE: a missing gradient is an error ------------------------------------------------------------------
def test_a_missing_policy_gradient_is_an_error_naming_the_variable():
    tf = pytest.importorskip("tensorflow")
    from rena_lib.search.proposers import MissingGradientError, RenaProposer

    cfg = small("rena", episode_size=1)
    rena = RenaProposer(cfg)

    class WithOrphan:
        def __init__(self, policy):
            self.policy = policy
            self.orphan = tf.Variable(np.zeros(3, np.float32), name="orphan_weight")

        @property
        def trainable_variables(self):
            return [*self.policy.trainable_variables, self.orphan]

        def __getattr__(self, name):
            return getattr(self.policy, name)

    rena.policy = WithOrphan(rena.policy)
    cands = rena.ask()
    records = [
        {"child_id": i, "reward": 0.5, "failed": False, "spec": c.spec.to_dict(), "spec_key": c.spec.key()}
        for i, c in enumerate(cands)
    ]
    with pytest.raises(MissingGradientError, match="orphan_weight"):
        rena.tell(cands, records)


def test_edit_history_of_children_sampled_whole_starts_at_them(tmp_path):
    from rena_lib.export import edit_history

    cfg = SearchConfig(space="kws", proposer="evolution", episodes=1, episode_size=3, batch_size=4,
                       constraints=["params < 1e5"], proposer_options={"population": 4, "sample": 2})  # fmt: skip
    log = run_search(cfg, ProxyEvaluator(), tmp_path / "s", progress=False)
    whole = next(r for r in log.records if r["parent_key"] is None and not r["failed"])
    steps = edit_history(log, whole["child_id"])
    assert len(steps) == 1 and steps[0].description == "sampled whole by evolution"
    edited = next(r for r in log.records if r["parent_key"] is not None and not r["failed"])
    steps = edit_history(log, edited["child_id"])
    assert steps[0].description == "sampled whole by evolution" and steps[-1].spec_key == edited["spec_key"]
    with pytest.raises(ValueError, match="sampled whole"):
        log.history(edited["child_id"])
