"""The surrogate of real trainings: fit, save/load, held-out quality, foreign specs, budgets, determinism.

The rows here are a test double (the proxy formula stands in for measured accuracies, so the test runs in
seconds); the committed surrogate is fitted on real trainings (results/cpu/real_trainings).
"""

import dataclasses
import json

import numpy as np
import pytest

pytest.importorskip("sklearn")

from rena_lib import spaces
from rena_lib.arch import from_paper_notation
from rena_lib.arch.spec import Spec
from rena_lib.proxy import proxy_accuracy
from rena_lib.real_trainings import drop_replays, read_records
from rena_lib.surrogate import (
    Surrogate,
    SurrogateEvaluator,
    cross_validate,
    feature_names,
    fit_surrogate,
    seed_noise,
    spec_features,
)

BUDGET = {"task": "kws", "epochs": 10, "batch_size": 64, "seed": 0}


def rows(n=80, seed=0, budget=BUDGET, repeats=5):
    """n rows of random KWS specs, the first `repeats` of them trained twice (seeds 0 and 1)."""
    rng = np.random.default_rng(seed)
    space = spaces.get("kws_layer")
    out, seen = [], set()
    while len(seen) < n:
        spec = space.sample(rng, n_layers=int(rng.integers(1, 4)))
        if spec.key() in seen:
            continue
        i = len(seen)
        seen.add(spec.key())
        for s in (0, 1) if i < repeats else (0,):
            acc = proxy_accuracy(spec) + 0.01 * s
            out.append({"spec": spec.to_dict(), "budget": {**budget, "seed": s}, "seed": s, "failed": False,
                        "val_accuracy": acc, "source": "walks" if i % 2 else "table2"})  # fmt: skip
    return out


def test_features_are_named_and_foreign_specs_are_refused():
    spec = from_paper_notation("Conv2d (1,64,10,4,2,2) DS-Conv2d (4,64,3,3,1,1) AvgPool2d", "kws")
    x = spec_features(spec, "kws_layer")
    names = feature_names("kws_layer")
    assert x.shape == (len(names),) and np.isfinite(x).all()
    assert x[names.index("conv2d:count")] == 1 and x[names.index("ds_conv2d:depth")] == 4
    assert x[names.index("conv2d:first")] == 1 and x[names.index("global_avgpool2d:last")] == 1
    cifar = spaces.baseline("cifar_layer")
    with pytest.raises(ValueError, match="describes networks of the space"):
        spec_features(cifar, "kws_layer")


def test_fit_save_load_gives_the_same_predictions(tmp_path):
    table = rows()
    sur = fit_surrogate(table)
    specs = [from_paper_notation(n, "kws") for n in ("FC (1,12)", "GRU (2,64,1)", "Conv2d (1,64,10,4,2,2)")]
    before = sur.predict(specs)
    sur.save(tmp_path / "s")
    again = Surrogate.load(tmp_path / "s")
    assert np.array_equal(again.predict(specs), before)
    assert (again.space, again.rows, again.budget) == (
        "kws_layer",
        len(table),
        {k: v for k, v in BUDGET.items() if k != "seed"},
    )
    assert again.noise_std == pytest.approx(0.01 / np.sqrt(2)) and again.noise_specs == 5
    with pytest.raises(FileExistsError, match="overwrite"):
        sur.save(tmp_path / "s")  # nothing overwritten
    with pytest.raises(FileNotFoundError, match="no surrogate"):
        Surrogate.load(tmp_path / "none")
    with pytest.raises(ValueError, match="describes networks of the space"):
        again.predict([spaces.baseline("cifar_layer")])


def test_held_out_quality_per_source():
    report = cross_validate(rows(120))
    assert report["rows"] == 125 and report["unique_specs"] == len(
        {r["spec"]["layers"].__repr__() for r in rows(120)}
    )
    assert set(report["per_source"]) == {"walks", "table2"}
    assert (
        report["kendall_tau"] > 0.5 and report["mae"] < 0.1
    )  # the proxy is a smooth function of the features


def test_budgets_and_partial_tables_are_named_errors(tmp_path):
    mixed = rows(30) + rows(30, seed=1, budget={**BUDGET, "epochs": 30})
    with pytest.raises(ValueError, match="2 budgets"):
        fit_surrogate(mixed)
    sur = fit_surrogate(mixed, budget=BUDGET)
    assert sur.rows == 35
    with pytest.raises(ValueError, match="no row of the table was trained at the budget"):
        fit_surrogate(mixed, budget={**BUDGET, "epochs": 5})
    with pytest.raises(ValueError, match="fitted on the budget"):
        sur.check_budget({**BUDGET, "epochs": 30})
    sur.check_budget({**BUDGET, "seed": 7})  # seeds aside
    with pytest.raises(ValueError, match="lacks"):
        fit_surrogate([{"spec": {}, "budget": BUDGET}])
    with pytest.raises(ValueError, match=">= 20"):
        fit_surrogate(rows(10))
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps({"name": "x"}) + "\n{not json\n")
    with pytest.raises(ValueError, match="line 1 lacks"):
        read_records(path)


def test_surrogate_evaluator_is_deterministic_by_spec_and_seed():
    sur = fit_surrogate(rows())
    spec = from_paper_notation("GRU (2,64,1)", "kws")
    clean = SurrogateEvaluator(sur)
    assert clean(spec).performance == clean(spec).performance == float(sur.predict(spec)[0])
    noisy, other = SurrogateEvaluator(sur, noise=True, seed=0), SurrogateEvaluator(sur, noise=True, seed=1)
    assert noisy(spec).performance == noisy(spec).performance != other(spec).performance
    assert noisy(spec).extras["evaluator"] == "surrogate"
    no_repeats = fit_surrogate(rows(40, repeats=0))
    assert seed_noise(rows(40, repeats=0)) == (None, 0)
    twice = rows(40, repeats=0)
    assert seed_noise(twice + twice[:3]) == (None, 0)  # the same training listed by two sources is no repeat
    with pytest.raises(ValueError, match="several seeds"):
        SurrogateEvaluator(no_repeats, noise=True)(spec)


def test_fit_range_round_trips_and_marks_extrapolation(tmp_path):
    sur = fit_surrogate(rows())
    assert set(sur.fit_range) == {"log10_params", "log10_flops", "log10_intensity"}
    again = Surrogate.load(sur.save(tmp_path / "s"))
    assert again.fit_range == sur.fit_range
    table = rows()
    assert all(sur.inside_fit_range(Spec.from_dict(r["spec"])) for r in table)  # every fitted row is inside
    gru = from_paper_notation("GRU (2,64,1)", "kws")  # about 1.4 MFLOPs per example
    small = dataclasses.replace(sur, fit_range={**sur.fit_range, "log10_flops": [3.0, 5.0]})
    assert (
        not small.inside_fit_range(gru) and SurrogateEvaluator(small)(gru).extras["inside_fit_range"] is False
    )
    text = sur.describe()
    assert f"{sur.rows} real trainings" in text and "10-epoch search budget" in text


def test_committed_surrogate_scores_a_smoke_search_deterministically(tmp_path):
    from rena_lib import experiments
    from rena_lib.search import SearchConfig, run_search

    with pytest.raises(ValueError, match="no surrogate for task 'cifar10'"):
        experiments.make_evaluator("surrogate", "cifar10")
    evaluator = experiments.make_evaluator("surrogate", "kws")
    assert isinstance(evaluator, SurrogateEvaluator) and evaluator.surrogate.rows >= 20
    cfg = SearchConfig.paper("kws_layer", proposer="random", seed=3, episodes=1, episode_size=2, batch_size=3)
    logs = [run_search(cfg, evaluator, tmp_path / str(i), progress=False) for i in range(2)]
    a, b = ([(r["spec_key"], r["performance"]) for r in log.records] for log in logs)
    assert a == b and len(a) == 6 and all(0.0 <= p <= 1.0 for _, p in a)


def test_replays_are_dropped_and_counted_but_other_repeats_kept():
    table = rows(n=10, repeats=2)  # specs 0 and 1 trained at seeds 0 and 1: repeats, not replays
    replay = {**table[0], "source": "search:rena_tuned"}  # the same seed and accuracy again
    other_budget = {**table[0], "budget": {**BUDGET, "epochs": 30}}
    failed = {**table[1], "failed": True, "val_accuracy": None}
    kept, dropped = drop_replays([*table, replay, other_budget, failed, failed])
    assert dropped == 1 and len(kept) == len(table) + 3
    assert kept[: len(table)] == table  # the first of each training stays, in order
