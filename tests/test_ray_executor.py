"""The Ray executor on a real local Ray (no mocks): same results as the local executor, dead workers as
failed children, a clear error without Ray. One Ray for the whole module (about 20 s to start)."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

import pytest

from rena_lib.evaluation import EvalResult
from rena_lib.executors import LocalExecutor, get_executor
from rena_lib.ray_executor import RayExecutor


@pytest.fixture(scope="module")
def ray_executor() -> Any:
    """A RayExecutor on a local 2-CPU Ray on loopback, shared by the module and shut down after it."""
    ray = pytest.importorskip("ray", reason='the Ray tests need the "ray" extra: pip install "rena-lib[ray]"')
    if ray.is_initialized():
        pytest.skip("another Ray is already running in this process")
    # the evaluators below live in this test module, which Ray's workers cannot import: send them by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ex = RayExecutor(init_kwargs={"num_cpus": 2})
    ex.start()
    assert ex._started_ray
    assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}  # a local Ray stays on loopback
    yield ex
    ex.close()
    assert not ray.is_initialized()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def ray_reusing(ray_executor: RayExecutor) -> Any:
    """A second executor on the same Ray that reuses workers (fresh_process=False): fast for the proxy."""
    ex = RayExecutor(fresh_process=False)
    yield ex.start()
    ex.close()  # it did not start Ray: leaves it running
    assert ex._started_ray is False


class SlowFirst:
    """Performance spec/10; earlier specs sleep longer, so tasks complete in reverse order."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, spec: int) -> EvalResult:
        time.sleep(max(0.0, 0.4 * (self.n - spec)))
        return EvalResult(performance=spec / 10, epochs=1, extras={"pid": os.getpid()})


def _key(spec: Any) -> Any:
    return spec.key() if hasattr(spec, "key") else spec


class DieOn:
    """Kills its own worker (SIGKILL, or os._exit) on chosen specs or spec keys; never in the test process."""

    def __init__(self, inner: Any, kill: Any = None, exit_on: Any = None) -> None:
        self.inner, self.kill, self.exit_on = inner, kill, exit_on
        self.driver_pid = os.getpid()

    def __call__(self, spec: Any) -> EvalResult:
        key = _key(spec)
        if key is not None and key in (self.kill, self.exit_on):
            if os.getpid() == self.driver_pid:
                raise RuntimeError("DieOn would kill the driver: run it on Ray only")
            if key == self.kill:
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(3)
        return self.inner(spec)


def test_results_in_spec_order_not_completion_order(ray_executor: RayExecutor) -> None:
    specs = [0, 1, 2, 3]
    results = ray_executor.map(SlowFirst(len(specs)), specs)
    assert [r.performance for r in results] == [0.0, 0.1, 0.2, 0.3]
    assert not any(r.failed for r in results)
    # each child ran in its own fresh worker process, none in the test process
    pids = {r.extras["pid"] for r in results}
    assert len(pids) == len(specs) and os.getpid() not in pids
    assert ray_executor.map(SlowFirst(0), []) == []


def test_killed_worker_is_a_failed_child_and_the_batch_completes(ray_executor: RayExecutor) -> None:
    results = ray_executor.map(DieOn(SlowFirst(0), kill=1, exit_on=2), [0, 1, 2, 3])
    assert [r.failed for r in results] == [False, True, True, False]
    assert [r.performance for r in results] == [0.0, 0.0, 0.0, 0.3]
    for r in results[1:3]:
        assert "WorkerCrashedError" in r.reason and "worker process died" in r.reason
        assert r.extras["error_type"] == "WorkerCrashedError"


def test_evaluator_exception_is_the_same_failure_as_locally(ray_executor: RayExecutor) -> None:
    def boom(spec: int) -> EvalResult:
        raise ValueError(f"bad child {spec}")

    remote = ray_executor.map(boom, [7])[0]
    local = LocalExecutor().map(boom, [7])[0]
    assert remote.failed and local.failed
    assert remote.reason == local.reason == "ValueError: bad child 7"


def test_missing_data_in_a_worker_stops_the_batch_as_locally(ray_executor: RayExecutor) -> None:
    """A data error is the environment's fault: raised out of map (issue 18), not a failed child."""

    def no_data(spec: int) -> EvalResult:
        raise FileNotFoundError(f"dataset folder not found: /nonexistent/{spec}")

    for executor in (LocalExecutor(), ray_executor):
        with pytest.raises(FileNotFoundError, match="/nonexistent/3"):
            executor.map(no_data, [3])


def test_worker_environment_sets_threads_and_quiet_logs() -> None:
    env = RayExecutor(num_cpus_per_child=2).worker_env()
    assert env["TF_NUM_INTRAOP_THREADS"] == env["OMP_NUM_THREADS"] == "2"
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert "TF_FORCE_GPU_ALLOW_GROWTH" not in env
    gpu = RayExecutor(num_cpus_per_child=0.5, num_gpus_per_child=0.5, intra_op_threads=3)
    assert gpu.worker_env()["TF_NUM_INTRAOP_THREADS"] == "3"
    assert gpu.worker_env()["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    with pytest.raises(ValueError):
        RayExecutor(num_gpus_per_child=1.5)


def test_missing_ray_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if Ray were not installed
    with pytest.raises(ImportError, match=r'pip install "rena-lib\[ray\]"'):
        RayExecutor()
    with pytest.raises(ImportError, match=r'pip install "rena-lib\[ray\]"'):
        get_executor("ray", address="auto")


# ---- searches: a Ray search logs what a local search logs ---------------------------------------------
#: log columns that must agree between executors (wall times differ, and so does a dead worker's reason)
SAME = ["child_id", "episode", "step", "trajectory", "notation", "spec_key", "parent_key", "actions",
        "log_prob", "params", "performance", "test_accuracy", "reward", "feasible", "failed", "cached"]  # fmt: skip


def _smoke_config() -> Any:
    from rena_lib.search import SearchConfig

    # 2 episodes x 2 steps x 3 trajectories: batches of 3 children on 2 workers (completion order varies)
    return SearchConfig.smoke("kws", seed=3, batch_size=3, top_k=3)


def test_proxy_search_logs_the_same_through_ray_as_locally(ray_reusing: RayExecutor, tmp_path: Any) -> None:
    from rena_lib.proxy import ProxyEvaluator
    from rena_lib.search import run_search

    config = _smoke_config()
    local = run_search(config, ProxyEvaluator(), tmp_path / "local", progress=False).to_dataframe()
    remote = run_search(
        config, ProxyEvaluator(), tmp_path / "ray", executor=ray_reusing, progress=False
    ).to_dataframe()
    assert len(local) == config.total_children
    assert remote[SAME].equals(local[SAME])
    assert not remote["failed"].any()


def test_search_with_a_killed_worker_logs_a_failed_child_and_finishes(
    ray_reusing: RayExecutor, tmp_path: Any
) -> None:
    from rena_lib.proxy import ProxyEvaluator
    from rena_lib.search import run_search

    config = _smoke_config()
    plain = run_search(config, ProxyEvaluator(), tmp_path / "plain", progress=False).to_dataframe()
    # kill the worker of the first child of the second batch (not cached, not a repeat of an earlier one)
    fresh = plain[~plain["cached"] & (plain["step"] == 1)]
    victim = fresh["spec_key"].iloc[0]
    assert victim not in set(plain.loc[plain["child_id"] < fresh["child_id"].iloc[0], "spec_key"])

    remote = run_search(
        config, DieOn(ProxyEvaluator(), kill=victim), tmp_path / "ray", executor=ray_reusing, progress=False
    ).to_dataframe()
    assert len(remote) == config.total_children  # the search finished
    dead = remote[remote["spec_key"] == victim].iloc[0]
    assert dead["failed"] and "WorkerCrashedError" in dead["reason"], dead["reason"]
    assert remote.loc[remote["spec_key"] != victim, "failed"].sum() == plain["failed"].sum()
    # ... and it goes on exactly as a local search where that child failed with an exception
    local = run_search(
        config, ProxyEvaluator(fail_on={victim}), tmp_path / "local", progress=False
    ).to_dataframe()
    assert remote[SAME].equals(local[SAME])


@pytest.mark.slow
def test_kws_search_at_smoke_budget_through_ray(
    ray_executor: RayExecutor, data_dir: Any, tmp_path: Any
) -> None:
    """A small real search: 4 KWS children trained at Budget.smoke in fresh Ray workers on $RENA_DATA_DIR."""
    from rena_lib.data.speech_commands import RESPLIT_SALT
    from rena_lib.search import SearchConfig, run_search
    from rena_lib.training import Budget, KwsEvaluator

    if not (data_dir / "speech_commands").is_dir():
        pytest.skip(f"no speech_commands/ under RENA_DATA_DIR={data_dir}")
    evaluator = KwsEvaluator(
        Budget.smoke("kws"),
        data_dir / "speech_commands",
        split_salt=RESPLIT_SALT,  # the shared subset needs the re-split (see rena_lib.data.speech_commands)
        cache_dir=tmp_path / "cache",
    )
    evaluator.prepare()  # computes the validation features once; the workers read them from the cache
    config = SearchConfig.smoke("kws", episodes=1, episode_size=2, batch_size=2, top_k=2, seed=0)
    log = run_search(config, evaluator, tmp_path / "search", executor=ray_executor, progress=False)
    df = log.to_dataframe()
    assert len(df) == config.total_children == 4
    trained = df[~df["failed"] & ~df["cached"]]
    assert len(trained) >= 1, df[["notation", "reason"]]
    assert ((trained["performance"] > 0) & (trained["performance"] <= 1)).all()
    assert (trained["epochs"] == Budget.smoke("kws").epochs).all()
