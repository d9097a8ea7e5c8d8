"""Seconds per child at the smoke budget, and resident memory over many consecutive children.

    RENA_DATA_DIR=/path/to/data python benchmarks/child_training.py
    python benchmarks/child_training.py --repeats 1 --children 10 --out /tmp/child.json

For each task (cifar10, kws) and a few representative specs: the median wall time of one child at
Budget.smoke(task) (build, compile, first epoch, steady epochs, evaluation, as EvalResult.extras reports
them), the process CPU time it used (both cores together; less sensitive than wall time to other load
on the machine) and its validation accuracy, after the dataset is loaded once (load time reported apart).
Then --children consecutive children (the specs in turn, with a NaN child every tenth to exercise the
failure path) in one process: the resident set size (psutil RSS) after 5 children and after all of them.
Writes JSON with the machine, load average, versions and the command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from common import versions

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "child_training.json"
for _k, _v in {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}.items():
    os.environ.setdefault(_k, _v)

SPECS = {
    "kws": [
        "FC (1,12)",  # the paper's KWS baseline
        "Conv2d (1,16,10,4,2,2) FC (1,32)",
        "DS-Conv2d (1,32,3,3,2,2) AvgPool2d",
        "GRU (1,32,1)",
    ],
    "cifar10": [
        "Conv2d (3,16,relu) MaxPool2d (2) Conv2d (3,32,relu)",
        "Conv2d (3,32,relu) MaxPool2d (2) Conv2d (3,64,relu) MaxPool2d (2)",
        "DS-Conv2d (3,32,relu) MaxPool2d (2) DS-Conv2d (3,64,relu)",
    ],
}


def rss_mb() -> float:
    """Resident set size of this process in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def nan_child(task: str):
    """A model whose logits are NaN (a failing child)."""
    import keras

    from rena_lib.arch.spec import TASKS

    shape, classes = TASKS[task]
    return keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Flatten(),
            keras.layers.Dense(classes),
            keras.layers.Lambda(lambda x: x * float("nan")),
        ]
    )


def make_evaluator(task: str, split_salt: str):
    """The task's evaluator at the smoke budget."""
    from rena_lib.training import Budget, CifarEvaluator, KwsEvaluator

    if task == "kws":
        return KwsEvaluator(Budget.smoke("kws"), split_salt=split_salt)
    return CifarEvaluator(Budget.smoke("cifar10"))


def time_children(task: str, evaluator: Any, repeats: int) -> list[dict[str, Any]]:
    """Median wall time and timing split of each representative spec."""
    from rena_lib.arch import from_paper_notation

    rows = []
    for text in SPECS[task]:
        spec = from_paper_notation(text, task)
        results, cpu = [], []
        for _ in range(repeats):
            c0 = time.process_time()
            results.append(evaluator(spec))
            cpu.append(time.process_time() - c0)
        ok = [r for r in results if not r.failed]
        if not ok:
            rows.append({"spec": text, "failed": results[0].reason})
            continue
        timings = {k: statistics.median(r.extras["timings"][k] for r in ok) for k in ok[0].extras["timings"]}
        rows.append(
            {
                "spec": text,
                "params": ok[0].extras["params"],
                "seconds_per_child": statistics.median(r.wall_time for r in ok),
                "all_seconds": [round(r.wall_time, 3) for r in ok],
                "cpu_seconds_per_child": round(statistics.median(cpu), 3),
                "val_accuracy": ok[0].performance,
                "epochs": ok[0].epochs,
                "train_examples": ok[0].extras["train_examples"],
                "timings_median_s": {k: round(v, 3) for k, v in timings.items()},
            }
        )
        print(
            f"  {task} {text}: {rows[-1]['seconds_per_child']:.2f} s wall, "
            f"{rows[-1]['cpu_seconds_per_child']:.2f} s CPU, val acc {ok[0].performance:.3f}"
        )
    return rows


def memory_run(task: str, evaluator: Any, children: int) -> dict[str, Any]:
    """RSS after each of `children` consecutive children (specs in turn; a NaN child every tenth)."""
    from rena_lib.arch import from_paper_notation

    specs = [from_paper_notation(t, task) for t in SPECS[task]]
    rss, failed = [], 0
    t0 = time.perf_counter()
    for i in range(children):
        if i % 10 == 9:
            result = evaluator.evaluate_model(lambda: nan_child(task))
        else:
            result = evaluator(specs[i % len(specs)])
        failed += result.failed
        rss.append(round(rss_mb(), 1))
    after5 = rss[4] if len(rss) >= 5 else None
    return {
        "children": children,
        "failed_children": failed,
        "rss_mb_after_5": after5,
        "rss_mb_after_all": rss[-1],
        "growth_mb_5_to_all": None if after5 is None else round(rss[-1] - after5, 1),
        "rss_mb_per_child": rss,
        "total_seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--tasks", nargs="+", default=["kws", "cifar10"], choices=["kws", "cifar10"])
    ap.add_argument("--repeats", type=int, default=3, help="children per spec for the timing (median)")
    ap.add_argument("--children", type=int, default=50, help="consecutive children for the memory run")
    ap.add_argument(
        "--split-salt",
        default="rena",
        help="Speech Commands split salt: 'rena' for the development subset, '' for the full dataset",
    )
    args = ap.parse_args(argv)

    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    t = time.perf_counter()
    import tensorflow as tf

    tf_import_s = time.perf_counter() - t
    out: dict[str, Any] = {
        "benchmark": "child_training",
        "command": shlex.join([sys.executable.split("/")[-1], *sys.argv]),
        "started_utc": started.isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "gpus": len(tf.config.list_physical_devices("GPU")),
            "loadavg_at_start": [round(x, 2) for x in load_before],
        },
        "versions": versions(),
        "data": "RENA_DATA_DIR" if os.environ.get("RENA_DATA_DIR") else "Keras download cache",
        "tensorflow_import_s": round(tf_import_s, 2),
        "rss_mb_after_import": round(rss_mb(), 1),
        "tasks": {},
    }
    for task in args.tasks:
        from rena_lib.training import Budget

        evaluator = make_evaluator(task, args.split_salt)
        t = time.perf_counter()
        evaluator.prepare()
        evaluator.evaluate_model(lambda task=task: nan_child(task))  # warm the training pipeline once
        prepare_s = time.perf_counter() - t
        print(f"{task}: data ready in {prepare_s:.1f} s")
        entry = {
            "budget": Budget.smoke(task).to_dict(),
            "data_load_and_warmup_s": round(prepare_s, 2),
            "rss_mb_after_data": round(rss_mb(), 1),
            "children": time_children(task, evaluator, args.repeats),
        }
        entry["memory"] = memory_run(task, evaluator, args.children)
        print(
            f"{task}: RSS {entry['memory']['rss_mb_after_5']} MiB after 5 children, "
            f"{entry['memory']['rss_mb_after_all']} MiB after {args.children}"
        )
        out["tasks"][task] = entry
    out["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out["wall_seconds"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
