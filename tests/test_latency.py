"""Measured TFLite latency: timing, the latency_ms plumbing into Eq. 3, and the rank correlation helper."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from rena_lib import latency
from rena_lib.arch import Layer, Spec, from_paper_notation
from rena_lib.evaluation import EvalResult
from rena_lib.metrics import measure
from rena_lib.reward import Constraint, is_feasible, reward

TINY = "FC (1,12)"
BIG = "Conv2d (3,32,4,8,1,3) AvgPool2d"  # Table 2's size < 0.1M row: ~6.5 MFLOPs per example


def _spec(text: str) -> Spec:
    return from_paper_notation(text, "kws")


def test_measure_latency_is_a_positive_median_and_orders_a_tiny_and_a_big_model():
    tiny = latency.measure_latency(_spec(TINY), runs=20, warmup=3)
    big = latency.measure_latency(_spec(BIG), runs=20, warmup=3, num_threads=2)
    assert 0 < tiny.min_ms <= tiny.median_ms <= tiny.p90_ms
    assert tiny.runs == 20 and tiny.num_threads == 1 and big.num_threads == 2
    assert big.median_ms > 5 * tiny.median_ms  # ~4,000x the FLOPs
    assert set(tiny.to_dict()) >= {"median_ms", "p90_ms", "runs", "warmup", "num_threads"}
    with pytest.raises(ValueError, match="runs"):
        latency.measure_latency(_spec(TINY), runs=0)


def test_latency_of_tflite_bytes_and_files(tmp_path):
    from rena_lib.arch import build
    from rena_lib.export import to_tflite

    content = to_tflite(build(_spec(TINY)))
    path = tmp_path / "m.tflite"
    path.write_bytes(content)
    assert latency.latency_ms(content, runs=5) > 0
    assert latency.measure_latency(path, runs=5).quantization == "given"


def test_a_latency_constraint_works_in_the_reward():
    spec = _spec(BIG)
    metrics = latency.add_latency(measure(spec), spec, runs=10, warmup=2)
    lat = metrics["latency_ms"]
    assert metrics["params"] == measure(spec)["params"] and "layers" not in metrics
    loose, tight = Constraint("latency_ms", "<", 2 * lat), Constraint("latency_ms", "<", lat / 2)
    assert reward(0.9, metrics, [loose]) == 0.9 and is_feasible(metrics, [loose])
    # V = (U - C) / C = 1 for a bound of half the latency: r = P * p ** 1
    assert reward(0.9, metrics, [tight]) == pytest.approx(0.9 * 0.9)
    assert not is_feasible(metrics, [tight])
    assert reward(0.9, metrics, ["params < 1e6", f"latency_ms < {2 * lat}"]) == 0.9


class _Fixed:
    """A stand-in evaluator: performance 0.8 for anything."""

    calls = 0

    def __call__(self, spec) -> EvalResult:
        self.calls += 1
        return EvalResult(performance=0.8, extras={"note": "x"})


def test_with_latency_puts_latency_ms_into_extras_and_caches_by_spec():
    ev = latency.WithLatency(_Fixed(), runs=5, warmup=1)
    spec = _spec(TINY)
    r1 = ev(spec)
    assert not r1.failed and r1.extras["note"] == "x"
    assert r1.extras["latency_ms"] > 0 and r1.extras["latency"]["median_ms"] == r1.extras["latency_ms"]
    r2 = ev(spec.copy())
    assert r2.extras["latency_ms"] == r1.extras["latency_ms"] and ev.evaluator.calls == 2
    # the search merges it into the child's metrics for Eq. 3
    metrics = {**measure(spec), "latency_ms": r1.extras["latency_ms"]}
    assert reward(r1.performance, metrics, [f"latency_ms < {r1.extras['latency_ms'] * 2}"]) == 0.8
    assert pickle.loads(pickle.dumps(ev)).runs == 5


def test_with_latency_turns_an_unconvertible_child_into_a_failed_result():
    bad = Spec("kws", [Layer("fc", {"num_layers": 1, "channels": 0, "src1": 0})])
    result = latency.WithLatency(_Fixed(), runs=2)(bad)
    assert result.failed and result.reason.startswith("latency measurement failed")
    failing = latency.WithLatency(lambda s: EvalResult.failure("nan loss"))
    assert failing(_spec(TINY)).reason == "nan loss"


def test_rank_correlation_exact():
    table = pd.DataFrame(
        {
            "flops": [1, 2, 3, 4, 5],
            "intensity": [5, 4, 3, 2, 1],
            "params": [1, 1, 2, 2, 3],
            "latency_ms": [1, 2, 3, 4, 5.0],
        }
    )
    rc = latency.rank_correlation(table)
    assert list(rc.index) == ["flops", "intensity", "params"]
    assert rc.loc["flops", "spearman_rho"] == pytest.approx(1.0)
    assert rc.loc["intensity", "spearman_rho"] == pytest.approx(-1.0)
    assert rc.loc["flops", "n"] == 5
    assert np.isnan(latency.rank_correlation(table.head(2)).loc["flops", "spearman_rho"])
    from rena_lib.dashboard import latency_figure

    fig = latency_figure(table.assign(proposer=["rena", "rena", "random", "random", "rena"]))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].endswith("rho = 1.00 (n = 5)") and titles[1].endswith("rho = -1.00 (n = 5)")
    assert {a.get_gid() for a in fig.axes[0].collections} == {"latency:rena", "latency:random"}


def test_latency_table_measures_each_distinct_child_once():
    texts = [TINY, "FC (2,64)", "Conv2d (1,8,4,4,2,2) FC (1,12)", TINY]
    specs = [_spec(t) for t in texts]
    df = pd.DataFrame(
        {
            "child_id": range(4),
            "spec": [s.to_dict() for s in specs],
            "spec_key": [s.key() for s in specs],
            "notation": texts,
            "flops": [measure(s)["flops"] for s in specs],
            "intensity": [measure(s)["intensity"] for s in specs],
            "params": [measure(s)["params"] for s in specs],
            "failed": False,
            "latency_ms": [np.nan, 0.123, np.nan, np.nan],
        }
    )
    table = latency.latency_table(df, runs=3, warmup=1)
    assert list(table["child_id"]) == [0, 1, 2]
    assert table.loc[1, "latency_ms"] == 0.123  # already in the log: not re-measured
    assert (table["latency_ms"] > 0).all()
    assert latency.rank_correlation(table)["n"].tolist() == [3, 3, 3]
