"""Analytic peak RAM and flash (rena_lib.memory) against the exported int8 TFLite models' own tensors.

    python benchmarks/mcu_memory.py                       # benchmarks/results/mcu_memory.json
    python benchmarks/mcu_memory.py --random 5 --cifar 2 --out /tmp/mcu.json   # a quick look

For the 12 Table 2 architectures, --random KWS specs with a skip connection (seeded) and --cifar CIFAR-10
layer specs with a skip connection (ReLU only), each built with random weights and exported with
rena_lib.export.to_tflite: the lifetime analysis of the int8 model's tensors in its operator order (and of
the float model's, for specs without a GRU unless --float-gru) beside the analytic peak RAM, and the
analytic flash beside the file's weight tensors and its size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _k, _v in {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}.items():
    os.environ.setdefault(_k, _v)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "mcu_memory.json"


def _stats(rows: list[dict], a: str, b: str) -> dict:
    rows = [r for r in rows if a in r and b in r]
    diffs = [r[b] - r[a] for r in rows]
    ratios = [r[b] / r[a] for r in rows if r[a]]
    return {
        "n": len(rows),
        "equal": sum(d == 0 for d in diffs),
        "max_excess_bytes": max(diffs, default=0),
        "min_excess_bytes": min(diffs, default=0),
        "max_ratio": round(max(ratios, default=1.0), 4),
    }


def summarise(rows: list[dict]) -> dict:
    """Agreement counts per group (with a GRU or not, KWS, CIFAR): RAM int8/float32, flash, file overhead."""
    out = {}
    for name, group in {
        "no_gru": [r for r in rows if not r["gru"]],
        "gru": [r for r in rows if r["gru"]],
        "kws_no_gru": [r for r in rows if not r["gru"] and r["task"] == "kws"],
        "cifar": [r for r in rows if r["task"] == "cifar10"],
    }.items():
        if not group:
            continue
        overhead = [r["file_bytes"] - r["flash_analytic"] for r in group]
        out[name] = {
            "ram_int8": _stats(group, "ram_int8_analytic", "ram_int8_tflite"),
            "ram_float32": _stats(group, "ram_float32_analytic", "ram_float32_tflite"),
            "flash_weights": _stats(group, "flash_analytic", "flash_tflite_weights"),
            "file_overhead_bytes": {
                "min": min(overhead),
                "max": max(overhead),
                "per_tflite_op_max": max(
                    round(o / r["tflite_ops"], 1) for o, r in zip(overhead, group, strict=True)
                ),
            },
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Export every spec, compare, print a line each and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--random", type=int, default=50, help="random KWS specs with a skip connection")
    ap.add_argument("--cifar", type=int, default=10, help="random CIFAR-10 specs with a skip connection")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--float-gru", action="store_true", help="also export GRU specs in float (slow)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    from common import header

    from rena_lib import memory
    from rena_lib.arch import lower
    from rena_lib.reference import TABLE2

    cases = [("table2", a.name, a.spec()) for a in TABLE2]
    cases += [("random_kws", f"kws_{i}", s) for i, s in enumerate(memory.skip_specs(args.random, args.seed))]
    cifar = memory.skip_specs(args.cifar, args.seed, space="cifar_layer")
    cases += [("random_cifar", f"cifar_{i}", s) for i, s in enumerate(cifar)]
    rows = []
    for group, name, spec in cases:
        t0 = time.perf_counter()
        gru = any(op.kind == "gru" for op in lower(spec).ops)  # (a bypassed GRU layer is not built)
        check = memory.compare_with_export(spec, seed=args.seed, float32=args.float_gru or not gru)
        row = {"group": group, "name": name, **check}
        row["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        print(
            f"{name:44s} RAM int8 {row['ram_int8_analytic']:>9,} vs {row['ram_int8_tflite']:>9,}  "
            f"flash {row['flash_analytic']:>9,} vs {row['flash_tflite_weights']:>9,} (file {row['file_bytes']:,})"
            f"  {row['seconds']}s",
            flush=True,
        )
    result = {
        **header("mcu_memory", __file__, argv),
        "rule": (
            "ram_*_tflite: peak over the exported model's operators of the bytes of its non-constant, "
            "non-shape tensors live at once (written .. last read), int8 I/O (the float QUANTIZE/DEQUANTIZE "
            "ends left out; ram_int8_tflite_float_io keeps them); flash_tflite_weights: the file's quantised "
            "constant tensors and their scales and zero points; weights random N(0, 0.1)"
        ),
        "summary": summarise(rows),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["summary"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
