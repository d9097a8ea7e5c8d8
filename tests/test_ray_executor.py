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
    yield ex
    ex.close()
    assert not ray.is_initialized()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


class SlowFirst:
    """Performance spec/10; earlier specs sleep longer, so tasks complete in reverse order."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, spec: int) -> EvalResult:
        time.sleep(max(0.0, 0.4 * (self.n - spec)))
        return EvalResult(performance=spec / 10, epochs=1, extras={"pid": os.getpid()})


class DieOn:
    """Kills its own worker (SIGKILL, or os._exit) on chosen specs; refuses to do so in the test process."""

    def __init__(self, inner: Any, kill: Any = None, exit_on: Any = None) -> None:
        self.inner, self.kill, self.exit_on = inner, kill, exit_on
        self.driver_pid = os.getpid()

    def __call__(self, spec: Any) -> EvalResult:
        if spec in (self.kill, self.exit_on):
            if os.getpid() == self.driver_pid:
                raise RuntimeError("DieOn would kill the driver: run it on Ray only")
            if spec == self.kill:
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
    specs = [4, 3, 2, 1, 0]
    results = ray_executor.map(DieOn(SlowFirst(0), kill=3, exit_on=1), specs)
    assert [r.failed for r in results] == [False, True, False, True, False]
    assert [r.performance for r in results] == [0.4, 0.0, 0.2, 0.0, 0.0]
    for r in (results[1], results[3]):
        assert "WorkerCrashedError" in r.reason and "worker process died" in r.reason
        assert r.extras["error_type"] == "WorkerCrashedError"
    # the executor is still usable after a worker died
    assert [r.performance for r in ray_executor.map(SlowFirst(0), [5])] == [0.5]


def test_evaluator_exception_is_the_same_failure_as_locally(ray_executor: RayExecutor) -> None:
    def boom(spec: int) -> EvalResult:
        raise ValueError(f"bad child {spec}")

    remote = ray_executor.map(boom, [7])[0]
    local = LocalExecutor().map(boom, [7])[0]
    assert remote.failed and local.failed
    assert remote.reason == local.reason == "ValueError: bad child 7"


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
