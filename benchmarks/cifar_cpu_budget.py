"""Validation accuracy of the CIFAR-10 layer-search baseline at Budget.cpu, and seconds per child; resumable.

    RENA_DATA_DIR=/path/to/data python benchmarks/cifar_cpu_budget.py --seeds 0     # benchmarks/results/cifar_cpu_budget.json

Trains spaces.BASELINES["cifar_layer"] (a VGG-like 7-layer network) for real on the CIFAR-10 subset
(10,000 training images, 10% held out for validation) at Budget.cpu("cifar10"), one training per seed,
each appended to benchmarks/results/cifar_cpu_budget_runs.jsonl as it ends. Target: >= 0.65. Trainings at an
earlier cpu budget stay in the runs file and are summarised per budget; the target is judged on the current one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import header, relative  # noqa: E402

TARGET = 0.65


def main(argv: list[str] | None = None) -> int:
    """Train the missing seeds, then summarise."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument(
        "--runs", type=Path, default=ROOT / "benchmarks" / "results" / "cifar_cpu_budget_runs.jsonl"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "cifar_cpu_budget.json")
    args = ap.parse_args(argv)

    from rena_lib import spaces
    from rena_lib.real_trainings import (
        append_record,
        done_keys,
        read_records,
        record_key,
        summarize,
        training_record,
    )
    from rena_lib.training import Budget, CifarEvaluator

    name = "CIFAR layer-search baseline"
    spec = spaces.baseline("cifar_layer")
    ev = CifarEvaluator(Budget.cpu("cifar10"), with_test=True).prepare()
    for seed in args.seeds:
        budget = Budget.cpu("cifar10").replace(seed=seed)
        if record_key({"name": name, "budget": budget.to_dict(), "seed": seed}) in done_keys(args.runs):
            continue
        ev.budget = budget
        result = ev(spec)
        data = {
            "dataset": "cifar10",
            "validation_fraction": 0.1,
            "train_examples": result.extras.get("train_examples"),
        }
        append_record(args.runs, training_record(name, spec, result, budget, data=data, scale="cpu",
                                                 load=round(os.getloadavg()[0], 2)))  # fmt: skip
        print(
            f"[seed {seed}] {name}: val {result.performance:.3f} test {result.test_accuracy} in {result.wall_time:.0f} s"
        )
    current = record_key({"name": name, "budget": Budget.cpu("cifar10").to_dict(), "seed": 0})[:2]
    by_budget: dict[tuple[str, str], list[dict]] = {}  # (name, budget without its seed): one row each
    for r in read_records(args.runs):
        by_budget.setdefault(record_key(r)[:2], []).append(r)
    rows = sorted(
        (
            summarize(recs)[0] | {"epochs": recs[0]["budget"]["epochs"], "current_cpu_budget": key == current}
            for key, recs in by_budget.items()
        ),
        key=lambda row: row["epochs"],
    )
    now = [r for r in rows if r["current_cpu_budget"]]
    out = {
        **header("cifar_cpu_budget", __file__, argv),
        "runs": relative(args.runs),
        "budget": Budget.cpu("cifar10").to_dict() | {"seed": "per run"},
        "target_val_accuracy": TARGET,
        "rows": rows,
        "meets_target": None
        if not now or now[0]["val_accuracy_mean"] is None
        else now[0]["val_accuracy_mean"] >= TARGET,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }
    args.out.write_text(json.dumps(out, indent=2, allow_nan=False) + "\n")
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
