"""Analytic metrics vs building the Keras model and measuring it, on 20-layer specs.

    python benchmarks/metrics_speed.py            # writes benchmarks/results/metrics_speed.json
    python benchmarks/metrics_speed.py --out /tmp/speed.json --repeats 5

For each spec (a seeded 20-layer chain, every layer reading the previous one, of the cifar_layer space
and of the kws_layer space):
- analytic: ``measure(spec)`` (lowering + per-op costs, no TensorFlow), median of many calls;
- keras:    ``measure(build(spec))`` (the functional model is built, then walked), median of a few calls
            after a warm-up, TensorFlow already imported (its import is reported apart).
The ratio keras / analytic comes from this one run. Both paths must give identical metrics (checked).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from common import header, relative

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "metrics_speed.json"
for _k, _v in {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}.items():
    os.environ.setdefault(_k, _v)


def chain(name: str, n_layers: int, seed: int, max_tries: int = 5000) -> Any:
    """A seeded n-layer spec of the space whose every layer reads the previous one (all layers live)."""
    import numpy as np

    from rena_lib import spaces
    from rena_lib.arch import Spec, validate

    space, rng = spaces.get(name, max_layers=n_layers), np.random.default_rng(seed)
    for _ in range(max_tries):
        layers = [space.sample_layer(rng, i) for i in range(1, n_layers + 1)]
        layers = [layer.replace(src1=i - 1) for i, layer in enumerate(layers, start=1)]
        spec = Spec(space.task, layers)
        try:
            validate(spec)
        except ValueError:
            continue
        return spec
    raise RuntimeError(f"no valid {n_layers}-layer chain of {name} in {max_tries} tries")


def specs(n_layers: int, seed: int) -> dict[str, Any]:
    """A seeded n-layer chain of the cifar_layer and of the kws_layer space."""
    return {name: chain(name, n_layers, seed) for name in ("cifar_layer", "kws_layer")}


def timed(fn, repeats: int) -> tuple[float, Any]:
    """Median wall time of fn() over repeats calls, and its last result."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print a summary and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--analytic-repeats", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=5, help="Keras build + measure repeats")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    from rena_lib.arch import lower, to_paper_notation
    from rena_lib.metrics import measure

    rows = []
    for name, spec in specs(args.layers, args.seed).items():
        measure(spec)  # warm-up
        t_analytic, analytic = timed(lambda s=spec: measure(s), args.analytic_repeats)
        rows.append({"space": name, "spec": spec, "t_analytic_s": t_analytic, "analytic": analytic})

    t0 = time.perf_counter()
    import keras

    t_import = time.perf_counter() - t0
    from rena_lib.arch import build

    results = []
    for row in rows:
        spec = row["spec"]

        def keras_path(s=spec):
            keras.backend.clear_session()
            return measure(build(s))

        keras_path()  # warm-up (first-build costs)
        t_keras, metrics = timed(keras_path, args.repeats)
        if dict(metrics) != dict(row["analytic"]):
            raise AssertionError(
                f"{row['space']}: the paths disagree: {dict(metrics)} vs {dict(row['analytic'])}"
            )
        ratio = t_keras / row["t_analytic_s"]
        results.append(
            {
                "space": row["space"],
                "layers": len(spec.layers),
                "ops": len(lower(spec).ops),
                "notation": to_paper_notation(spec),
                "metrics": dict(row["analytic"]),
                "analytic_s": row["t_analytic_s"],
                "keras_build_and_measure_s": t_keras,
                "ratio": ratio,
            }
        )
        print(
            f"{row['space']:12s} {len(spec.layers)} layers, {results[-1]['ops']} ops: analytic "
            f"{row['t_analytic_s'] * 1e3:.3f} ms, build + measure {t_keras * 1e3:.1f} ms -> {ratio:,.0f}x"
        )
    print(f"(import keras/TensorFlow: {t_import:.1f} s, not included)")

    out = {
        **header("metrics_speed", __file__, argv),
        "settings": vars(args) | {"out": relative(args.out)},
        "keras_import_s": t_import,
        "results": results,
        "min_ratio": min(r["ratio"] for r in results),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
