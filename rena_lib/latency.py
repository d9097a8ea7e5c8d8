"""Measured inference latency: a fourth resource next to params, FLOPs and intensity.

``measure_latency(x)`` converts a spec or keras.Model to TensorFlow Lite (see :mod:`rena_lib.export`) and
times batch-1 ``invoke()`` calls on this machine's CPU: a few warm-up calls first, then the median of
several timed runs (the median resists the odd scheduler hiccup). Float latency does not depend on the
weight values, so an untrained spec gives the same number as the trained child.

Latency enters Eq. 3 like any other metric: ``Constraint.parse("latency_ms < 0.5")``. A search gets it
from :class:`WithLatency`, an evaluator wrapper that puts ``latency_ms`` into ``EvalResult.extras``
(the search loop merges it into the child's metrics before the reward), or from :func:`add_latency`,
which adds it to a metrics mapping directly. :func:`latency_table` and :func:`rank_correlation` ask how
well FLOPs and compute intensity predict measured latency across the children of a search (Spearman).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rena_lib.evaluation import EvalResult, Evaluator

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Latency",
    "WithLatency",
    "add_latency",
    "latency_ms",
    "latency_table",
    "measure_latency",
    "rank_correlation",
]


@dataclass(frozen=True)
class Latency:
    """Batch-1 TFLite latency on this CPU: median, mean, 90th percentile and minimum over the timed runs."""

    median_ms: float
    mean_ms: float
    p90_ms: float
    min_ms: float
    runs: int
    warmup: int
    num_threads: int
    quantization: str = "float"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)


def _tflite_content(x: Any, quantization: str, representative: np.ndarray | None) -> bytes:
    """TFLite flatbuffer bytes of a spec, keras.Model, .tflite path or bytes."""
    if isinstance(x, bytes | bytearray):
        return bytes(x)
    if isinstance(x, str | os.PathLike):
        with open(x, "rb") as f:
            return f.read()
    from rena_lib import tflite
    from rena_lib.arch import Spec, build

    model = build(x) if isinstance(x, Spec) else x
    return tflite.to_tflite(model, quantization=quantization, representative=representative)


def _random_input(detail: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    shape = [1 if s < 0 else int(s) for s in detail.get("shape_signature", detail["shape"])]
    shape[0] = 1
    dtype = np.dtype(detail["dtype"])
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def measure_latency(
    x: Any,
    *,
    num_threads: int = 1,
    warmup: int = 10,
    runs: int = 50,
    quantization: str = "float",
    representative: np.ndarray | None = None,
    seed: int = 0,
) -> Latency:
    """Median batch-1 latency (ms) of x as TFLite: x is a Spec, a keras.Model, .tflite bytes or a path."""
    if runs < 1 or warmup < 0 or num_threads < 1:
        raise ValueError(
            f"need runs >= 1, warmup >= 0, num_threads >= 1; got {runs}, {warmup}, {num_threads}"
        )
    from rena_lib.tflite import interpreter

    content = _tflite_content(x, quantization, representative)
    interp = interpreter(content, num_threads=num_threads, batch_size=1)
    rng = np.random.default_rng(seed)
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], _random_input(d, rng))
    for _ in range(warmup):
        interp.invoke()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        interp.invoke()
        times.append((time.perf_counter() - t0) * 1e3)
    return Latency(
        median_ms=float(statistics.median(times)),
        mean_ms=float(np.mean(times)),
        p90_ms=float(np.percentile(times, 90)),
        min_ms=float(np.min(times)),
        runs=runs,
        warmup=warmup,
        num_threads=num_threads,
        quantization=quantization if not isinstance(x, bytes | bytearray | str | os.PathLike) else "given",
    )


def latency_ms(x: Any, **kwargs: Any) -> float:
    """The median batch-1 TFLite latency in milliseconds (keyword arguments as measure_latency)."""
    return measure_latency(x, **kwargs).median_ms


def add_latency(metrics: Mapping[str, Any], x: Any, **kwargs: Any) -> dict[str, Any]:
    """A plain dict of the metrics plus "latency_ms" of x, ready for reward() / is_feasible()."""
    scalars = {k: v for k, v in dict(metrics).items() if k != "layers"}
    return {**scalars, "latency_ms": latency_ms(x, **kwargs)}


class WithLatency:
    """Evaluator wrapper: evaluate the child, then put its measured TFLite latency into extras["latency_ms"].

    The latency is measured on the spec (float weights' values do not change it) and cached by spec key.
    A child whose TFLite conversion or timing fails becomes a failed result (a latency constraint could
    not be scored otherwise). Picklable when the wrapped evaluator is.
    """

    def __init__(
        self,
        evaluator: Evaluator,
        *,
        num_threads: int = 1,
        warmup: int = 5,
        runs: int = 30,
        quantization: str = "float",
    ) -> None:
        self.evaluator = evaluator
        self.num_threads = num_threads
        self.warmup = warmup
        self.runs = runs
        self.quantization = quantization
        self._cache: dict[str, Latency] = {}

    def __repr__(self) -> str:
        return f"WithLatency({self.evaluator!r}, num_threads={self.num_threads}, runs={self.runs})"

    def latency(self, spec: Any) -> Latency:
        """The (cached) latency of a spec."""
        key = spec.key()
        if key not in self._cache:
            self._cache[key] = measure_latency(
                spec,
                num_threads=self.num_threads,
                warmup=self.warmup,
                runs=self.runs,
                quantization=self.quantization,
            )
        return self._cache[key]

    def __call__(self, spec: Any) -> EvalResult:
        """Evaluate spec with the wrapped evaluator and add latency_ms (and the full Latency) to its extras."""
        result = self.evaluator(spec)
        if result.failed:
            return result
        try:
            lat = self.latency(spec)
        except Exception as exc:  # a child that TFLite cannot convert has no latency to constrain
            return EvalResult.failure(
                f"latency measurement failed: {type(exc).__name__}: {str(exc)[:300]}",
                wall_time=result.wall_time,
                **result.extras,
            )
        result.extras["latency_ms"] = lat.median_ms
        result.extras["latency"] = lat.to_dict()
        return result


def latency_table(
    log: Any,
    *,
    num_threads: int = 1,
    warmup: int = 5,
    runs: int = 20,
    max_children: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per distinct built child of a log: params, flops, intensity and measured latency_ms.

    Children already carrying a latency_ms in the log are not re-measured. Failed children are skipped.
    """
    import pandas as pd

    from rena_lib.analysis import load_log
    from rena_lib.arch import Spec

    df = load_log(log)
    if "failed" in df:
        df = df[~df["failed"].fillna(False).astype(bool)]
    df = df.drop_duplicates("spec_key") if "spec_key" in df else df
    if max_children is not None:
        df = df.head(max_children)
    rows = []
    for i, (_, rec) in enumerate(df.iterrows()):
        spec = Spec.from_dict(rec["spec"])
        lat = rec.get("latency_ms")
        if lat is None or (isinstance(lat, float) and np.isnan(lat)):
            try:
                lat = latency_ms(spec, num_threads=num_threads, warmup=warmup, runs=runs)
            except Exception:  # unconvertible child: no latency, no row
                continue
        cols = ("child_id", "proposer", "spec_key", "notation", "params", "flops", "intensity")
        row = {k: rec.get(k) for k in cols}
        rows.append({**row, "latency_ms": float(lat)})
        if progress:
            print(f"\rlatency {i + 1}/{len(df)}", end="", flush=True)
    if progress:
        print()
    return pd.DataFrame(rows)


def rank_correlation(
    table: Any, predictors: Iterable[str] = ("flops", "intensity", "params"), target: str = "latency_ms"
) -> pd.DataFrame:
    """Spearman rank correlation (rho, p-value, n) of each predictor with the target, one row each."""
    import pandas as pd
    from scipy.stats import spearmanr

    rows = []
    for name in predictors:
        sub = table[[name, target]].dropna()
        if len(sub) < 3:
            rho, p = float("nan"), float("nan")
        else:
            res = spearmanr(sub[name], sub[target])
            rho, p = float(res.statistic), float(res.pvalue)
        rows.append({"predictor": name, "spearman_rho": rho, "p_value": p, "n": len(sub)})
    return pd.DataFrame(rows).set_index("predictor")
