"""Retrain the best feasible children of the real-data searches at the `cpu` budget; resumable.

    RENA_DATA_DIR=/path/to/data python scripts/retrain_best.py          # best feasible child per search, seeds 0-2
    RENA_DATA_DIR=/path/to/data python scripts/retrain_best.py --top 3  # the three best of every search
    python scripts/retrain_best.py --report                             # only rewrite retrained.csv, summary.json

The real-data searches (scripts/real_search.py) train every child at the reduced-fidelity search budget
(Budget.search: 10 epochs). Their best feasible children are retrained here at the cpu budget (30 epochs,
the recipe and seeds of results/cpu/table2), so that what the searches found can be read beside Table 2's
published architecture for the same constraints, "RENA (size < 0.1M, intensity > 10)", trained by
scripts/train_table2.py at that budget. Every training is appended to <out>/runs.jsonl
(rena_lib.real_trainings) as soon as it ends; a killed run resumes at the first (child, seed) not in it.
The children are those the searches hold when this runs: a search that later finds a better one gets it
retrained on the next run, and rows retrained earlier stay.
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

SEARCHES = ROOT / "results" / "cpu" / "real_searches"
#: Table 2's published architecture for the Fig. 4b constraints (params < 0.1M, intensity > 10)
PAPER_ROW = "RENA (size < 0.1M, intensity > 10)"


def candidates(searches_dir: Path, top: int) -> list[dict]:
    """The children to retrain: the `top` best feasible children of every search under searches_dir."""
    from rena_lib.fig4b import best_feasible_children, read_searches

    return best_feasible_children(read_searches(searches_dir), top)


def train(args: argparse.Namespace) -> None:
    """Train every (child, seed) not yet in runs.jsonl, seed 0 of every child first."""
    from rena_lib.arch.spec import Spec
    from rena_lib.real_trainings import done_keys, kws_data, record_key, train_and_append
    from rena_lib.training import Budget, KwsEvaluator

    todo = candidates(args.searches, args.top)
    if not todo:
        print(f"no feasible child in the searches under {args.searches}: nothing to retrain")
        return
    runs = args.out / "runs.jsonl"
    budget0 = Budget.cpu("kws")
    ev = KwsEvaluator(budget0, split_salt="rena", with_test=True).prepare()
    data = kws_data(ev, "rena")
    done = done_keys(runs)
    for seed in args.seeds:
        for row in todo:
            budget = budget0.replace(seed=seed)
            if record_key({"name": row["notation"], "budget": budget.to_dict(), "seed": seed}) in done:
                continue
            t0 = time.time()
            result = train_and_append(
                ev, row["notation"], Spec.from_dict(row["spec"]), budget, runs, data=data, scale="cpu",
                spec_key=row["spec_key"], found_by=row["found_by"], search_val_accuracy=row["search_val_accuracy"],
            )  # fmt: skip
            acc = "failed: " + str(result.reason) if result.failed else f"val {result.performance:.3f}"
            print(f"[seed {seed}] {row['notation']}: {acc} test {result.test_accuracy} in {time.time() - t0:.0f} s",
                  flush=True)  # fmt: skip
            report(args)


def report(args: argparse.Namespace) -> None:
    """Write retrained.csv (per child: search-budget and cpu-budget accuracies) and summary.json."""
    import pandas as pd
    from scipy.stats import spearmanr

    from rena_lib.real_trainings import read_records, summarize, table2_trained

    recs = [r for r in read_records(args.out / "runs.jsonl") if r.get("scale") == "cpu"]
    if not recs:
        print("no retrainings yet")
        return
    table = pd.DataFrame(summarize(recs))
    first = {}
    for r in recs:
        first.setdefault(r["name"], r)
    table.insert(2, "found_by", ["; ".join(first[n]["found_by"]) for n in table["name"]])
    table.insert(3, "search_val_accuracy", [first[n]["search_val_accuracy"] for n in table["name"]])
    table = table.sort_values("test_accuracy_mean", ascending=False).reset_index(drop=True)
    table.to_csv(args.out / "retrained.csv", index=False, float_format="%.4f")
    t2, _ = table2_trained()
    paper = t2[t2["name"] == PAPER_ROW].iloc[0]
    full = table[table["seeds"] >= len(args.seeds)]
    rho = (
        spearmanr(full["search_val_accuracy"], full["val_accuracy_mean"]).statistic if len(full) > 2 else None
    )
    summary = {
        **header("retrain_best", __file__),
        "budget": recs[0]["budget"] | {"seed": "per run"},
        "data": recs[0]["data"],
        "children": len(table),
        "children_with_all_seeds": len(full),
        "seeds_requested": args.seeds,
        "top_per_search": args.top,
        "trainings": len(recs),
        "total_training_hours": round(sum(r["wall_time"] for r in recs) / 3600, 3),
        "mean_load_during_runs": round(sum(r.get("load_before", 0) for r in recs) / len(recs), 2),
        "best_test_accuracy_mean": round(float(table["test_accuracy_mean"].max()), 4),
        "best": table.iloc[0]["notation"],
        "paper_architecture": {
            "name": PAPER_ROW,
            "notation": paper["notation"],
            "seeds": int(paper["seeds"]),
            "val_accuracy_mean": round(float(paper["val_accuracy_mean"]), 4),
            "test_accuracy_mean": round(float(paper["test_accuracy_mean"]), 4),
            "test_accuracy_std": round(float(paper["test_accuracy_std"]), 4),
            "source": "results/cpu/table2 (scripts/train_table2.py, same budget and seeds)",
        },
        "spearman_search_vs_cpu_val_accuracy": None if rho is None else round(float(rho), 3),
        "note": "accuracies on the subset's validation and test splits (clean); the search column is the "
        "child's validation accuracy in its search (search budget, seed 0)",
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    cols = [
        "notation",
        "seeds",
        "search_val_accuracy",
        "val_accuracy_mean",
        "test_accuracy_mean",
        "test_accuracy_std",
    ]
    print(table[cols].to_string())
    print(f"{PAPER_ROW} at this budget: test {summary['paper_architecture']['test_accuracy_mean']}")


def main(argv: list[str] | None = None) -> int:
    """Retrain (resuming) and report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--searches", type=Path, default=SEARCHES, help="the real-data searches to read")
    ap.add_argument("--top", type=int, default=1, help="best feasible children per search")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=None, help="default: <searches>/retrained")
    ap.add_argument("--report", action="store_true", help="only rewrite retrained.csv and summary.json")
    args = ap.parse_args(argv)
    if args.top < 1:
        ap.error("--top must be >= 1")
    args.out = args.out or args.searches / "retrained"
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        train(args)
    report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
