"""Validation accuracy per budget (smoke, cpu) of three KWS specs over 3 seeds, and seconds per child.

    RENA_DATA_DIR=/path/to/data python benchmarks/budgets.py      # writes benchmarks/results/budgets.json

The smoke rows are trained here (3 specs x 3 seeds at Budget.smoke, augmentation bank). The cpu rows are
read from the Table 2 trainings (results/cpu/table2/runs.jsonl, scripts/train_table2.py), which train the
same three specs at Budget.cpu (the DS-CNN row, "RENA (size < 0.05M)" = GRU (2,64,1), and the FC (1,12)
baseline), so nothing is trained twice. The spread over seeds of one spec is the noise floor of a search.
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

SPECS = {
    "DS-CNN": ("DS-CNN [Zhang et al.]", "Conv2d (1,64,10,4,2,2) DS-Conv2d (4,64,3,3,1,1) AvgPool2d", 0.80),
    "GRU (2,64,1)": ("RENA (size < 0.05M)", "GRU (2,64,1)", 0.65),
    "FC (1,12)": ("FC (1,12) baseline", "FC (1,12)", 0.45),
}


def main(argv: list[str] | None = None) -> int:
    """Train the smoke rows (resuming), read the cpu rows, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--table2", type=Path, default=ROOT / "results" / "cpu" / "table2" / "runs.jsonl")
    ap.add_argument(
        "--smoke-runs", type=Path, default=ROOT / "benchmarks" / "results" / "budgets_smoke_runs.jsonl"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "budgets.json")
    args = ap.parse_args(argv)

    from rena_lib.arch import from_paper_notation
    from rena_lib.data.speech_commands import RESPLIT_SALT
    from rena_lib.real_trainings import (
        append_record,
        done_keys,
        read_records,
        record_key,
        summarize,
        training_record,
    )
    from rena_lib.training import Budget, KwsEvaluator

    smoke = Budget.smoke("kws")
    ev = KwsEvaluator(smoke, split_salt=RESPLIT_SALT)
    data = {"dataset": "speech_commands", "split_salt": RESPLIT_SALT, "augmentation": "bank"}
    for seed in args.seeds:
        for name, notation, _ in SPECS.values():
            budget = smoke.replace(seed=seed)
            if record_key({"name": name, "budget": budget.to_dict(), "seed": seed}) in done_keys(
                args.smoke_runs
            ):
                continue
            ev.budget = budget
            spec = from_paper_notation(notation, "kws")
            result = ev(spec)
            append_record(
                args.smoke_runs,
                training_record(
                    name, spec, result, budget, data=data, scale="smoke", load=os.getloadavg()[0]
                ),
            )
            print(
                f"[smoke seed {seed}] {name}: {result.performance:.3f} in {result.wall_time:.0f} s",
                flush=True,
            )

    names = {v[0]: k for k, v in SPECS.items()}
    out_rows = []
    for scale, recs in (("smoke", read_records(args.smoke_runs)), ("cpu", read_records(args.table2))):
        recs = [r for r in recs if r["name"] in names and r["seed"] in args.seeds and r.get("scale") == scale]
        for row in summarize(recs):
            key = names[row["name"]]
            target = SPECS[key][2] if scale == "cpu" else None
            row |= {"spec": key, "scale": scale, "budget": recs[0]["budget"] | {"seed": "per run"}}
            row |= {"target": target, "meets_target": None if target is None or row["seeds"] < len(args.seeds)
                    else bool(row["val_accuracy_mean"] >= target)}  # fmt: skip
            out_rows.append(row)
            print(f"{scale:5s} {key:13s} seeds {row['seeds']}: val {row['val_accuracy_mean']:.3f} "
                  f"+- {row['val_accuracy_std']:.3f} (min {row['val_accuracy_min']:.3f}, max {row['val_accuracy_max']:.3f}),"
                  f" {row['mean_seconds']:.0f} s per child; target {target}")  # fmt: skip
    out = {
        **header("budgets", __file__, argv),
        "sources": {"smoke": relative(args.smoke_runs), "cpu": relative(args.table2)},
        "data": "Speech Commands subset, split_salt='rena' (speaker-disjoint re-split), validation split, clean",
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "note": "seconds per child were measured on a shared 2-core machine: see load_* in the run files",
        "rows": out_rows,
    }
    args.out.write_text(json.dumps(out, indent=2, allow_nan=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
