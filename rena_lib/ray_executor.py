"""Evaluate a batch of children as Ray tasks, on a local Ray started on demand or on an existing cluster.

Each child is one Ray task asking for its own resources (CPUs, a GPU or a fraction of one). By default every
task runs in a fresh worker process (``max_calls=1``), so GPU and host memory cannot grow over a search.
Results are collected as they complete but returned in the order of the specs, so a Ray search logs
exactly what a local search logs with the same seed and evaluator. A worker that dies (killed, out of
memory, node lost) gives a failed child naming the cause; the batch always completes.

Ray is an optional extra: ``pip install "rena-lib[ray]"``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import sys
import time
from collections.abc import Iterator, Sequence
from types import ModuleType, TracebackType
from typing import Any

from rena_lib.evaluation import ENVIRONMENT_ERRORS, EvalResult, Evaluator, safe_evaluate

__all__ = ["RayExecutor", "import_ray"]

log = logging.getLogger(__name__)

INSTALL_HINT = 'pip install "rena-lib[ray]"'
#: "0" makes a single-node Ray bind 127.0.0.1 instead of the machine's address (read by Ray at import)
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"

#: environment of every worker: quiet TensorFlow, Keras on TensorFlow
_QUIET_ENV: dict[str, str] = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "ABSL_MIN_LOG_LEVEL": "3",
    "GRPC_VERBOSITY": "ERROR",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "KERAS_BACKEND": "tensorflow",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}

_MAX_REASON = 400


def import_ray(local: bool = True) -> ModuleType:
    """Import Ray, or raise an ImportError naming the extra to install; ``local`` keeps a local Ray on loopback."""
    if local and "ray" not in sys.modules:
        # read by Ray at import time: a single-node Ray binds 127.0.0.1 instead of the machine's address
        os.environ.setdefault(LOOPBACK_ENV, "0")
    try:
        import ray
    except ImportError as exc:
        raise ImportError(
            f"the Ray executor needs Ray, which is not installed: {INSTALL_HINT} "
            f"(or choose executor 'local'). Original error: {exc}"
        ) from exc
    return ray


@contextlib.contextmanager
def _loopback(ray: ModuleType) -> Iterator[None]:
    """While starting a local Ray: bind it to 127.0.0.1 (unless RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 asks otherwise)."""
    if os.environ.get(LOOPBACK_ENV, "0") != "0":
        yield
        return
    os.environ[LOOPBACK_ENV] = "0"  # for Ray's own processes
    # Ray reads the variable when it is imported: if it was imported before, switch its constant for the start
    constants = getattr(getattr(ray, "_private", None), "ray_constants", None)
    before = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    if constants is not None and before is not None:
        constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if constants is not None and before is not None:
            constants.ENABLE_RAY_CLUSTER = before


def _set_tf_threads(intra: int, inter: int) -> None:
    """Set TensorFlow's thread pools in this process if TensorFlow is loaded and not yet initialised."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return  # the TF_NUM_*_THREADS environment variables apply when it is imported
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:
        pass  # the runtime is already initialised (a reused worker): keep its pools


def _clear_keras_state() -> None:
    """Release Keras/TensorFlow graph state left by a child in a reused worker."""
    keras = sys.modules.get("keras")
    if keras is not None:
        with contextlib.suppress(Exception):  # best effort only
            keras.backend.clear_session()
    gc.collect()


def _run_child(
    evaluator: Evaluator, spec: Any, intra_op_threads: int, inter_op_threads: int, clear_state: bool
) -> EvalResult:
    """The Ray task: evaluate one child in a worker (exceptions become failed results)."""
    _set_tf_threads(intra_op_threads, inter_op_threads)
    try:
        return safe_evaluate(evaluator, spec)
    finally:
        if clear_state:
            _clear_keras_state()


def _one_line(text: str, limit: int = _MAX_REASON) -> str:
    """Collapse whitespace and cut a long message."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _failure_reason(exc: BaseException, ray: ModuleType) -> str:
    """A short reason for a child whose task failed at the Ray level, naming the cause."""
    errors = ray.exceptions
    name = type(exc).__name__
    if isinstance(exc, errors.OutOfMemoryError):
        what = "worker killed for lack of memory (OutOfMemoryError)"
    elif isinstance(exc, errors.WorkerCrashedError):
        what = "worker process died: killed, crashed or out of memory (WorkerCrashedError)"
    elif isinstance(exc, errors.NodeDiedError | errors.LocalRayletDiedError):
        what = f"the node running the child died ({name})"
    elif isinstance(exc, errors.TaskCancelledError):
        what = "task cancelled (TaskCancelledError)"
    elif isinstance(exc, errors.ObjectLostError):
        what = f"result lost ({name})"
    elif isinstance(exc, errors.RuntimeEnvSetupError):
        what = "worker environment could not be set up (RuntimeEnvSetupError)"
    elif isinstance(exc, errors.RayTaskError):
        cause = getattr(exc, "cause", None)
        cause_name = type(cause).__name__ if cause is not None else name
        detail = str(cause) if cause is not None else str(exc)
        return _one_line(f"task raised {cause_name} in the worker: {detail}")
    else:
        what = name
    detail = str(exc).strip()
    return _one_line(f"{what}: {detail}" if detail else what)


class RayExecutor:
    """Evaluate children as Ray tasks; results in spec order, dead workers give failed children."""

    def __init__(
        self,
        address: str | None = None,
        num_cpus_per_child: float = 1,
        num_gpus_per_child: float = 0,
        init_kwargs: dict[str, Any] | None = None,
        max_retries: int = 0,
        fresh_process: bool = True,
        intra_op_threads: int | None = None,
        inter_op_threads: int | None = None,
    ) -> None:
        """Configure; Ray is imported now (clear error if missing) and started or joined at the first batch.

        address: None -> the Ray already initialised in this process, else a new local Ray (loopback);
            "auto" -> the cluster this machine belongs to (``ray start --head``); "ray://host:10001" ->
            a remote cluster through Ray Client.
        num_cpus_per_child / num_gpus_per_child: the resources of each child's task (fractions allowed,
            e.g. 0.5 GPU puts two children on one GPU).
        init_kwargs: extra arguments for ``ray.init`` (e.g. num_cpus, runtime_env).
        max_retries: Ray retries of a task whose worker died (0: a dead worker is a failed child).
        fresh_process: every child in a new worker process (``max_calls=1``); otherwise workers are reused
            and Keras state is cleared after each child.
        intra_op_threads / inter_op_threads: TensorFlow thread pools of each worker (default: the child's
            CPUs, rounded up).
        """
        if num_cpus_per_child < 0 or num_gpus_per_child < 0:
            raise ValueError("num_cpus_per_child and num_gpus_per_child must be >= 0")
        if num_gpus_per_child > 1 and num_gpus_per_child != int(num_gpus_per_child):
            raise ValueError("num_gpus_per_child above 1 must be a whole number")
        self.address = address
        self.num_cpus_per_child = num_cpus_per_child
        self.num_gpus_per_child = num_gpus_per_child
        self.init_kwargs = dict(init_kwargs or {})
        self.max_retries = int(max_retries)
        self.fresh_process = bool(fresh_process)
        default_threads = max(1, math.ceil(num_cpus_per_child))
        self.intra_op_threads = int(intra_op_threads or default_threads)
        self.inter_op_threads = int(inter_op_threads or self.intra_op_threads)
        self._ray = import_ray(local=address is None)
        self._started_ray = False
        self._remote: Any = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> RayExecutor:
        """Join the Ray named by ``address`` (or the one already running), starting a local one if needed."""
        ray = self._ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"logging_level": logging.WARNING}
            if self.address is None:
                kwargs["include_dashboard"] = False
            else:
                kwargs["address"] = self.address
            kwargs.update(self.init_kwargs)
            try:
                with _loopback(ray) if self.address is None else contextlib.nullcontext():
                    ray.init(**kwargs)
            except ConnectionError as exc:
                raise RuntimeError(
                    f"could not connect to a Ray cluster at {self.address!r}: {exc}. Start one with "
                    "`ray start --head` on the head node, or pass address=None for a local Ray."
                ) from exc
            self._started_ray = True
            log.info("started Ray: %s", ray.cluster_resources())
        if self._remote is None:
            self._remote = ray.remote(
                num_cpus=self.num_cpus_per_child,
                num_gpus=self.num_gpus_per_child,
                max_retries=self.max_retries,
                retry_exceptions=False,
                max_calls=1 if self.fresh_process else 0,
                runtime_env={"env_vars": self.worker_env()},
            )(_run_child)
        return self

    def worker_env(self) -> dict[str, str]:
        """Environment variables of every child's worker process (threads, quiet logs)."""
        env = dict(_QUIET_ENV)
        threads = str(self.intra_op_threads)
        env.update(
            TF_NUM_INTRAOP_THREADS=threads,
            TF_NUM_INTEROP_THREADS=str(self.inter_op_threads),
            OMP_NUM_THREADS=threads,
            MKL_NUM_THREADS=threads,
            OPENBLAS_NUM_THREADS=threads,
        )
        if self.num_gpus_per_child > 0:
            env["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"  # GPU fractions: never grab the whole card
        return env

    def close(self) -> None:
        """Shut Ray down if this executor started it (a cluster or a Ray started by others stays up)."""
        if self._started_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._started_ray = False
        self._remote = None

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"RayExecutor(address={self.address!r}, num_cpus_per_child={self.num_cpus_per_child}, "
            f"num_gpus_per_child={self.num_gpus_per_child}, fresh_process={self.fresh_process})"
        )

    # -- evaluation ------------------------------------------------------------------------------------
    def map(self, evaluator: Evaluator, specs: Sequence[Any]) -> list[EvalResult]:
        """Evaluate the specs as Ray tasks; one EvalResult per spec, in spec order, never an exception."""
        specs = list(specs)
        if not specs:
            return []
        self.start()
        ray = self._ray
        try:
            evaluator_ref = ray.put(evaluator)  # once per batch, shared by every task
        except Exception as exc:
            raise TypeError(f"the evaluator must be picklable to run on Ray: {exc}") from exc

        t0 = time.perf_counter()
        results: list[EvalResult | None] = [None] * len(specs)
        index: dict[Any, int] = {}
        for i, spec in enumerate(specs):
            try:
                ref = self._remote.remote(
                    evaluator_ref, spec, self.intra_op_threads, self.inter_op_threads, not self.fresh_process
                )
            except Exception as exc:  # e.g. a spec that cannot be serialised
                results[i] = EvalResult.failure(
                    _one_line(f"could not submit the child to Ray: {type(exc).__name__}: {exc}"),
                    executor="ray",
                    error_type=type(exc).__name__,
                )
                continue
            index[ref] = i

        pending = list(index)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    results[index[ref]] = self._collect(ref, time.perf_counter() - t0)
        except BaseException:
            for ref in pending:  # interrupted: do not leave children training on the cluster
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
            raise
        return [r if r is not None else EvalResult.failure("no result") for r in results]

    def _collect(self, ref: Any, elapsed: float) -> EvalResult:
        """The result of one finished task, or a failed child naming why the task failed; an environment
        error raised in the worker (rena_lib.evaluation.ENVIRONMENT_ERRORS) is raised here too."""
        ray = self._ray
        try:
            result = ray.get(ref)
        except Exception as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(cause, ENVIRONMENT_ERRORS):
                raise cause from exc  # missing or corrupt data in the worker: stops the search, as locally
            reason = _failure_reason(exc, ray)
            log.warning("child failed on Ray: %s", reason)
            return EvalResult.failure(
                reason, wall_time=elapsed, executor="ray", error_type=type(exc).__name__
            )
        if not isinstance(result, EvalResult):
            return EvalResult.failure(
                f"Ray task returned {type(result).__name__}, expected EvalResult", wall_time=elapsed
            )
        return result
