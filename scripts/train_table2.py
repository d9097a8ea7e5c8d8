"""Train the 12 published KWS architectures of Table 2 (and the FC (1,12) baseline) for real; resumable.

    RENA_DATA_DIR=/path/to/data python scripts/train_table2.py                 # cpu budget, seeds 0-2
    python scripts/train_table2.py --report                                    # only rewrite the summary
    python scripts/train_table2.py --budget smoke --seeds 0 --out /tmp/t2      # a quick look

Every training is appended to <out>/runs.jsonl (rena_lib.real_trainings) as soon as it ends, so a killed
run resumes where it stopped (trainings already in the file are skipped). Seed 0 of every row comes first,
cheapest rows first, then seeds 1 and 2; the one row that needs hours per seed on 2 CPU cores comes last. --report writes <out>/table2.csv (paper accuracy beside ours:
mean, std, min, max over seeds) and <out>/summary.json (the Spearman correlation of the two accuracy
columns, what ran, for how long, under which load).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import header  # noqa: E402

BASELINE = ("FC (1,12) baseline", "FC (1,12)")


def rows(include_baseline: bool = True) -> list[tuple[str, str, float | None]]:
    """(name, notation, paper accuracy %) of the rows to train, cheapest (fewest FLOPs) first."""
    from rena_lib.reference import TABLE2

    out = [(a.name, a.architecture, a.paper_accuracy) for a in TABLE2]
    if include_baseline:
        out.append((*BASELINE, 65.0))  # the paper's FC (1,12) starting point (section 5.2)
    return sorted(out, key=lambda r: _flops(r[1]))


HEAVY_FLOPS = 200e6  # per example: only "RENA (intensity > 50)" (819 MFLOPs, about 2.5 h per seed on 2 cores)


def _flops(notation: str) -> float:
    from rena_lib.arch import from_paper_notation
    from rena_lib.metrics import measure

    return measure(from_paper_notation(notation, "kws"))["flops"]


def train(args: argparse.Namespace) -> None:
    """Train every (row, seed) not yet in runs.jsonl."""
    from rena_lib.arch import from_paper_notation
    from rena_lib.real_trainings import done_keys, kws_data, record_key, train_and_append
    from rena_lib.training import Budget, KwsEvaluator

    runs = args.out / "runs.jsonl"
    budget0 = getattr(Budget, args.budget)("kws")
    ev = KwsEvaluator(budget0, split_salt=args.split_salt, with_test=True).prepare()
    data = kws_data(ev, args.split_salt)
    todo = [(s, r) for s in args.seeds for r in rows() if not args.only or any(o in r[0] for o in args.only)]
    # rows above HEAVY_FLOPS (hours per seed on 2 cores) come after every seed of the others
    todo.sort(key=lambda t: _flops(t[1][1]) > HEAVY_FLOPS)
    done = done_keys(runs)
    for seed, (name, notation, _) in todo:
        budget = budget0.replace(seed=seed)
        key = record_key({"name": name, "budget": budget.to_dict(), "seed": seed})
        if key in done:
            continue
        t0 = time.time()
        result = train_and_append(
            ev, name, from_paper_notation(notation, "kws"), budget, runs, data=data, scale=args.budget
        )
        done.add(key)
        acc = "failed: " + str(result.reason) if result.failed else f"val {result.performance:.3f}"
        print(
            f"[seed {seed}] {name}: {acc} test {result.test_accuracy} in {time.time() - t0:.0f} s", flush=True
        )
        report(args)


def report(args: argparse.Namespace) -> None:
    """Write table2.csv and summary.json from runs.jsonl."""
    import pandas as pd
    from scipy.stats import spearmanr

    from rena_lib.real_trainings import read_records, summarize

    recs = [r for r in read_records(args.out / "runs.jsonl") if r.get("scale") == args.budget]
    if not recs:
        print("no trainings yet")
        return
    paper = {name: acc for name, _, acc in rows()}
    table = pd.DataFrame(summarize(recs))
    table.insert(2, "paper_test_accuracy", [paper.get(n) for n in table["name"]])
    order = {name: i for i, (name, _, _) in enumerate(rows())}
    table = table.sort_values("name", key=lambda s: s.map(order)).reset_index(drop=True)
    table.to_csv(args.out / "table2.csv", index=False, float_format="%.4f")
    t2 = table[(table["name"] != BASELINE[0]) & table["val_accuracy_mean"].notna()]
    # ranked at the CSV's 4 decimals: rows with the same accuracies over seeds tie (a float mean need not)
    ours = t2["test_accuracy_mean"].round(4)
    rho = spearmanr(t2["paper_test_accuracy"], ours).statistic if len(t2) > 2 else None
    summary = {
        **header("train_table2", __file__),
        "budget": recs[0]["budget"] | {"seed": "per run"},
        "scale": args.budget,
        "data": recs[0]["data"],
        "trainings": len(recs),
        "table2_rows_trained": len(t2),
        "table2_rows_with_all_seeds": int((t2["seeds"] >= len(args.seeds)).sum()),
        "baseline_seeds": int(table.loc[table["name"] == BASELINE[0], "seeds"].sum()),
        "seeds_requested": args.seeds,
        "total_training_hours": round(sum(r["wall_time"] for r in recs) / 3600, 2),
        "mean_load_during_runs": round(sum(r.get("load_before", 0) for r in recs) / len(recs), 2),
        "spearman_paper_vs_ours_test_accuracy": None if rho is None else round(float(rho), 3),
        "spearman_rows": len(t2),
        "note": "test accuracy on the subset's test split, clean (no noise); the paper's column is test accuracy "
        "on the full Speech Commands test set: compare the ranking, not the values",
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    print(
        table[
            [
                "name",
                "seeds",
                "paper_test_accuracy",
                "val_accuracy_mean",
                "val_accuracy_std",
                "test_accuracy_mean",
            ]
        ]
    )
    print("Spearman (paper vs ours, test):", summary["spearman_paper_vs_ours_test_accuracy"])


def main(argv: list[str] | None = None) -> int:
    """Train (resuming) and report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", choices=("smoke", "cpu", "paper"), default="cpu")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--split-salt", default="rena", help="'rena' for a subset inside one canonical partition")
    ap.add_argument("--out", type=Path, default=None, help="default: results/<budget>/table2")
    ap.add_argument("--report", action="store_true", help="only rewrite table2.csv and summary.json")
    ap.add_argument("--only", nargs="*", default=[], help="train only rows whose names contain one of these")
    args = ap.parse_args(argv)
    args.out = args.out or ROOT / "results" / args.budget / "table2"
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        train(args)
    report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
