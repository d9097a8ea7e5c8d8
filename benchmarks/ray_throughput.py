"""Children per hour: the local executor vs the Ray executor with 2 workers, on the same KWS smoke children.

    python benchmarks/ray_throughput.py                      # 6 children, writes benchmarks/results/ray_throughput.json
    python benchmarks/ray_throughput.py --children 4 --out /tmp/ray.json

Every mode trains the same children (the kws_layer baseline and seeded samples of the kws_layer space) with
rena_lib.training.KwsEvaluator at Budget.smoke("kws") on $RENA_DATA_DIR. Each mode
runs in its own fresh Python process, so each pays its own TensorFlow import and data loading, as a
notebook would:

- local:     LocalExecutor, children one after the other in one process, TensorFlow with 2 intra-op threads;
- ray:       RayExecutor, 2 workers of 1 CPU and 1 intra-op thread each, a fresh worker process per child
             (the default: memory cannot grow, but every child imports TensorFlow and loads the data again);
- ray_reuse: the same with fresh_process=False (workers reused; Keras state cleared between children).

Throughput is children / wall time of ``executor.map`` over the whole set (Ray's start-up is reported
apart: a search pays it once). The validation-feature cache is filled once before any mode is timed.
All the ratios come from one run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import header

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "ray_throughput.json"
MODES = ("local", "ray", "ray_reuse")

QUIET = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "ABSL_MIN_LOG_LEVEL": "3",
    "GRPC_VERBOSITY": "ERROR",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "PYTHONWARNINGS": "ignore",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # a local Ray on loopback
}


def children(n: int, seed: int, max_layers: int) -> list[Any]:
    """The kws_layer baseline and n-1 seeded samples of the kws_layer space."""
    import numpy as np

    from rena_lib import spaces

    space = spaces.get("kws_layer", max_layers=max_layers)
    rng = np.random.default_rng(seed)
    return [spaces.baseline("kws_layer", max_layers=max_layers)] + [space.sample(rng) for _ in range(n - 1)]


def make_evaluator(args: argparse.Namespace) -> Any:
    """The KWS smoke-budget evaluator every mode uses."""
    from rena_lib.data.speech_commands import RESPLIT_SALT
    from rena_lib.training import Budget, KwsEvaluator

    sc_dir = Path(args.data_dir) / "speech_commands"
    return KwsEvaluator(Budget.smoke("kws"), sc_dir, split_salt=RESPLIT_SALT, cache_dir=args.cache_dir)


def child_rows(results: list[Any]) -> list[dict[str, Any]]:
    """Per child: performance, failure and its own wall time."""
    return [
        {
            "performance": round(r.performance, 4),
            "failed": r.failed,
            "reason": r.reason,
            "wall_s": round(r.wall_time, 1),
        }
        for r in results
    ]


def run_mode(args: argparse.Namespace) -> dict[str, Any]:
    """Time one mode in this process (called in a subprocess per mode)."""
    from rena_lib.arch.spec import Spec

    specs = [Spec.from_dict(d) for d in json.loads(Path(args.specs).read_text())]
    evaluator = make_evaluator(args)
    if args.mode == "warm":  # fill the validation-feature cache once
        t0 = time.perf_counter()
        evaluator.prepare()
        return {"warm_s": round(time.perf_counter() - t0, 1)}
    if args.mode == "local":
        from rena_lib.executors import LocalExecutor

        t0 = time.perf_counter()
        results = LocalExecutor().map(evaluator, specs)
        wall = time.perf_counter() - t0
        return {"local": {"wall_s": round(wall, 1), "children": child_rows(results)}}

    from rena_lib.ray_executor import RayExecutor

    out: dict[str, Any] = {}
    fresh = RayExecutor(num_cpus_per_child=1, intra_op_threads=1, init_kwargs={"num_cpus": args.workers})
    t0 = time.perf_counter()
    fresh.start()
    out["ray_start_s"] = round(time.perf_counter() - t0, 1)
    try:
        for name, ex in (
            ("ray", fresh),
            ("ray_reuse", RayExecutor(num_cpus_per_child=1, intra_op_threads=1, fresh_process=False)),
        ):
            t0 = time.perf_counter()
            results = ex.map(evaluator, specs)
            wall = time.perf_counter() - t0
            out[name] = {"wall_s": round(wall, 1), "children": child_rows(results)}
    finally:
        fresh.close()
    return out


def sub(mode: str, args: argparse.Namespace, threads: int) -> dict[str, Any]:
    """Run one mode in a fresh Python process with `threads` TensorFlow threads in the driver."""
    env = {**os.environ, **QUIET}
    env.update(
        TF_NUM_INTRAOP_THREADS=str(threads),
        TF_NUM_INTEROP_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
    )
    cmd = [sys.executable, __file__, "--mode", mode, "--specs", args.specs, "--data-dir", args.data_dir]
    cmd += ["--cache-dir", args.cache_dir, "--workers", str(args.workers)]
    print(f"[{mode}] ...", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"mode {mode} failed with exit code {proc.returncode}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # other work on the machine skews the comparison: keep the 1-minute load average next to the numbers
    result["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(f"[{mode}] done in {time.perf_counter() - t0:.0f} s: {json.dumps(result)[:300]}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run every mode, one process each, and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--children", type=int, default=6, help="children per mode (default 6)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-layers", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2, help="Ray CPUs, one child per CPU (default 2)")
    ap.add_argument(
        "--data-dir",
        default=os.environ.get("RENA_DATA_DIR"),
        help="folder with speech_commands/ (default: $RENA_DATA_DIR)",
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--mode", choices=("warm", *MODES), help=argparse.SUPPRESS)
    ap.add_argument("--specs", help=argparse.SUPPRESS)
    ap.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not args.data_dir:
        ap.error("set RENA_DATA_DIR or pass --data-dir (a folder with speech_commands/)")

    if args.mode:  # a child process: one mode, its result as the last line of stdout
        print(json.dumps(run_mode(args)))
        return 0

    if not (Path(args.data_dir) / "speech_commands").is_dir():
        raise SystemExit(f"no speech_commands/ under {args.data_dir}: set RENA_DATA_DIR or --data-dir")
    from rena_lib.arch.notation import to_paper_notation

    specs = children(args.children, args.seed, args.max_layers)
    t_start = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="rena_ray_bench_") as tmp:
        args.specs = str(Path(tmp) / "specs.json")
        Path(args.specs).write_text(json.dumps([s.to_dict() for s in specs]))
        args.cache_dir = str(Path(tmp) / "cache")
        warm = sub("warm", args, threads=2)
        local = sub("local", args, threads=2)
        ray = sub("ray", args, threads=1)

    modes = {"local": local["local"], "ray": ray["ray"], "ray_reuse": ray["ray_reuse"]}
    for m in modes.values():
        m["children_per_hour"] = round(len(specs) / m["wall_s"] * 3600, 1)
        m["failed"] = sum(c["failed"] for c in m["children"])
    base = modes["local"]["children_per_hour"]
    report = {
        **header(
            "children per hour, local executor vs Ray executor with 2 workers (KWS smoke budget)",
            __file__,
            argv,
        ),
        "setup": {
            "evaluator": 'KwsEvaluator(Budget.smoke("kws"), split_salt=RESPLIT_SALT, cache_dir=<warm cache>)',
            "data_dir": "RENA_DATA_DIR or --data-dir (its path not recorded)",
            "children": [to_paper_notation(s) for s in specs],
            "local": "LocalExecutor in one fresh process, TF intra/inter-op threads 2",
            "ray": f"RayExecutor(num_cpus_per_child=1, intra_op_threads=1), local Ray with {args.workers} CPUs, "
            "fresh worker process per child",
            "ray_reuse": "same, fresh_process=False (workers reused, Keras session cleared between children)",
            "timed": "wall time of executor.map over all children; Ray start-up excluded (reported apart)",
        },
        "load_avg_1min": {
            "before": load_before,
            "after_local": local["load_avg_1min_after"],
            "after_ray": ray["load_avg_1min_after"],
            "note": "a load above the 2 cores means other processes shared the machine during the run",
        },
        "warm_cache_s": warm["warm_s"],
        "ray_start_s": ray["ray_start_s"],
        "modes": modes,
        "ratio_vs_local": {name: round(m["children_per_hour"] / base, 2) for name, m in modes.items()},
        "total_s": round(time.perf_counter() - t_start, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("ratio_vs_local", "ray_start_s")}))
    for name, m in modes.items():
        print(
            f"{name:>10}: {m['children_per_hour']:8.1f} children/hour ({m['wall_s']} s, {m['failed']} failed)"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
