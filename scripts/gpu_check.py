"""Prove a GPU trains rena_lib's KWS children, and how fast: run by scripts/gpu_check.sh (Keras on JAX).

Prints the devices JAX sees (and fails unless one is a GPU), then trains KWS children from a feature cache
(scripts/write_feature_cache.py) at the `cpu` budget and at the paper's budget (30,000 Adam steps of 128),
printing seconds per child and children per hour, and writes the same as JSON (to $OUT when set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPECS = {
    "cpu": ["FC (1,12)", "GRU (2,64,1)", "Conv2d (1,64,10,4,2,2) DS-Conv2d (4,64,3,3,1,1) AvgPool2d"],
    "paper": ["Conv2d (1,64,10,4,2,2) DS-Conv2d (4,64,3,3,1,1) AvgPool2d", "GRU (2,64,1)"],
}


def main(argv: list[str] | None = None) -> int:
    """Check the device, train, report."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bank", type=Path, default=ROOT / "cache" / "kws_bank.npz")
    ap.add_argument("--budgets", nargs="+", default=["cpu", "paper"], choices=("smoke", "cpu", "paper"))
    ap.add_argument("--max-children", type=int, default=3, help="per budget")
    ap.add_argument("--allow-cpu", action="store_true", help="run without a GPU (to test this script)")
    args = ap.parse_args(argv)

    import jax
    import keras

    devices = [f"{d.platform}:{d.device_kind}" for d in jax.devices()]
    print(
        "keras",
        keras.__version__,
        "backend",
        keras.backend.backend(),
        "| jax",
        jax.__version__,
        devices,
        flush=True,
    )
    on_gpu = any(d.platform == "gpu" for d in jax.devices())
    if not on_gpu and not args.allow_cpu:
        print("no GPU visible to JAX: stopping", file=sys.stderr)
        return 1
    import jax.numpy as jnp

    a = jnp.ones((4096, 4096), jnp.float32)
    (a @ a).block_until_ready()
    t = time.perf_counter()
    for _ in range(10):
        b = a @ a
    b.block_until_ready()
    tflops = 10 * 2 * 4096**3 / (time.perf_counter() - t) / 1e12
    print(f"matmul 4096^2 fp32 on {jax.devices()[0].device_kind}: {tflops:.1f} TFLOP/s", flush=True)

    from rena_lib.arch import from_paper_notation
    from rena_lib.data.feature_bank import FeatureBank
    from rena_lib.training import Budget, KwsEvaluator

    bank = FeatureBank.load(args.bank, reuse=True)
    print(f"feature cache {args.bank.name}: {bank.epochs} augmented epoch(s) of {len(bank.train_labels)} clips "
          "(epochs beyond them re-read them in turn)", flush=True)  # fmt: skip
    rows = []
    for name in args.budgets:
        budget = getattr(Budget, name)("kws")
        ev = KwsEvaluator(budget, bank=bank, with_test=True)
        for text in SPECS.get(name, SPECS["cpu"])[: args.max_children]:
            r = ev(from_paper_notation(text, "kws"))
            row = {
                "budget": name, "spec": text, "failed": r.failed, "reason": r.reason,
                "val_accuracy": r.performance, "test_accuracy": r.test_accuracy, "epochs": r.epochs,
                "steps": r.epochs * r.extras.get("steps_per_epoch", 0), "seconds": round(r.wall_time, 1),
                "children_per_hour": round(3600 / r.wall_time, 1),
                "steady_epoch_s": r.extras.get("timings", {}).get("steady_epoch_s"),
            }  # fmt: skip
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = {
        "check": "gpu_check",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": platform.node(), "python": platform.python_version(), "keras": keras.__version__,
        "jax": jax.__version__, "devices": devices, "matmul_tflops": round(tflops, 1), "on_gpu": on_gpu,
        "bank": {"file": args.bank.name, "epochs": bank.epochs, "clips": len(bank.train_labels)},
        "children": rows,
    }  # fmt: skip
    target = Path(os.environ.get("OUT", ROOT / "benchmarks" / "results")) / "gpu_check.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
