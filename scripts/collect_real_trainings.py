"""Train KWS children for real at the search budget and append them to the table of real trainings; resumable.

    RENA_DATA_DIR=/path/to/data python scripts/collect_real_trainings.py --source table2   # 12 rows + FC baseline
    RENA_DATA_DIR=/path/to/data python scripts/collect_real_trainings.py --source walks --walks 40
    python scripts/collect_real_trainings.py --report                                      # summary only

The table (results/cpu/real_trainings/runs.jsonl, one rena_lib.real_trainings record per child) is what
the surrogate of issue 15 is fitted on. Two sources feed it here (real-data searches add their own):
- table2: the 12 published architectures of Table 2 and the FC (1,12) baseline at the search budget, so
  the search budget's ranking can be compared with the cpu budget's (results/cpu/table2);
- walks: random walks of --steps uniformly random edits (rena_lib.actions, footnote 4) from the FC (1,12)
  baseline in the KWS layer space (Table 4), walk w drawn from the seed (--seed, w), so the walks are the
  same on every machine and a killed run resumes at the first child not in the table. Invalid children
  are skipped (they are not trainings); a spec already in the table is trained once only.
The search budget (Budget.search: 10 of the cpu budget's 30 epochs, same recipe: batch 64, all training clips, the bank of
Appendix B augmentation) is a reduced-fidelity budget, as NAS searches use.
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

OUT = ROOT / "results" / "cpu" / "real_trainings"


def search_budget(seed: int = 0):
    """The reduced-fidelity budget of the real-data searches (Budget.search: 10 epochs of the cpu recipe)."""
    from rena_lib.training import Budget

    return Budget.search("kws").replace(seed=seed)


def table2_specs() -> list[tuple[str, object]]:
    """(name, spec) of Table 2's rows and the FC (1,12) baseline, cheapest (fewest FLOPs) first."""
    from rena_lib.arch import from_paper_notation
    from rena_lib.metrics import measure
    from rena_lib.reference import TABLE2

    rows = [(a.name, from_paper_notation(a.architecture, "kws")) for a in TABLE2]
    rows.append(("FC (1,12) baseline", from_paper_notation("FC (1,12)", "kws")))
    return sorted(rows, key=lambda r: measure(r[1])["flops"])


def walk_specs(walks: int, steps: int, seed: int, max_flops: float) -> list[tuple[str, object, dict]]:
    """(name, spec, where) of every valid child of the random walks, in walk order."""
    import numpy as np

    from rena_lib import spaces
    from rena_lib.actions import UniformChooser, replay
    from rena_lib.arch import from_paper_notation, to_paper_notation, validate
    from rena_lib.metrics import measure

    space = spaces.get("kws_layer")
    out = []
    for w in range(walks):
        rng = np.random.default_rng([seed, w])
        spec = from_paper_notation("FC (1,12)", "kws")
        for s in range(steps):
            prop = UniformChooser(rng).propose(space, spec)
            try:
                child = replay(spec, prop.actions)
                space.check(child)
                validate(child)
            except ValueError:
                continue  # an invalid edit: the walk stays where it is
            spec = child
            if measure(child)["flops"] <= max_flops:
                out.append((to_paper_notation(child), child, {"walk": w, "step": s}))
    return out


def collect(args: argparse.Namespace) -> None:
    """Train every child of the chosen source that the table does not hold yet."""
    from rena_lib.real_trainings import kws_data, read_records, train_and_append
    from rena_lib.training import KwsEvaluator

    runs = args.out / "runs.jsonl"
    budget = search_budget(args.train_seed)
    ev = KwsEvaluator(budget, split_salt=args.split_salt, with_test=True).prepare()
    data = kws_data(ev, args.split_salt)
    if args.source == "table2":
        todo = [(name, spec, {}) for name, spec in table2_specs()]
    else:
        todo = walk_specs(args.walks, args.steps, args.seed, args.max_flops)
    done = {(r["spec_key"], r["seed"]) for r in read_records(runs) if r.get("budget") == budget.to_dict()}
    trained = 0
    for name, spec, where in todo:
        if (spec.key(), budget.seed) in done or (args.limit and trained >= args.limit):
            continue
        t0 = time.time()
        result = train_and_append(
            ev, name, spec, budget, runs, data=data, scale="search", source=args.source, spec_key=spec.key(),
            **({"walk_seed": args.seed, **where} if where else {}),
        )  # fmt: skip
        done.add((spec.key(), budget.seed))
        trained += 1
        acc = "failed: " + str(result.reason) if result.failed else f"val {result.performance:.3f}"
        print(f"[{args.source} {trained}] {name}: {acc} in {time.time() - t0:.0f} s", flush=True)
        if trained % 10 == 0:
            report(args)


def report(args: argparse.Namespace) -> None:
    """Write summary.json: rows per source, seconds, and the search-vs-cpu ranking of Table 2's rows."""
    from scipy.stats import spearmanr

    from rena_lib.real_trainings import TABLE2_DIR, read_records

    recs = read_records(args.out / "runs.jsonl")
    if not recs:
        print("no trainings yet")
        return
    ok = [r for r in recs if not r["failed"]]
    by_source: dict[str, int] = {}
    for r in recs:
        by_source[r.get("source", "?")] = by_source.get(r.get("source", "?"), 0) + 1
    fidelity = None
    cpu = [r for r in read_records(TABLE2_DIR / "runs.jsonl") if r.get("scale") == "cpu" and not r["failed"]]
    ours = {r["name"]: r["val_accuracy"] for r in ok if r.get("source") == "table2" and r["seed"] == 0}
    ref = {r["name"]: r["val_accuracy"] for r in cpu if r["seed"] == 0}
    both = sorted(set(ours) & set(ref))
    if len(both) > 2:
        rho = spearmanr([ours[n] for n in both], [ref[n] for n in both]).statistic
        fidelity = {
            "rows": len(both),
            "spearman_search_vs_cpu_val_accuracy": round(float(rho), 3),
            "pairs": {n: {"search": round(ours[n], 4), "cpu": round(ref[n], 4)} for n in both},
        }
    summary = {
        **header("collect_real_trainings", __file__),
        "budget": recs[0]["budget"] | {"seed": "per run"},
        "scale": "search",
        "data": recs[0]["data"],
        "trainings": len(recs),
        "failed": len(recs) - len(ok),
        "by_source": by_source,
        "unique_specs": len({r["spec_key"] for r in recs}),
        "total_training_hours": round(sum(r["wall_time"] for r in recs) / 3600, 3),
        "median_seconds_per_child": sorted(r["wall_time"] for r in ok)[len(ok) // 2] if ok else None,
        "mean_load_during_runs": round(sum(r.get("load_before", 0) for r in recs) / len(recs), 2),
        "val_accuracy_range": [min(r["val_accuracy"] for r in ok), max(r["val_accuracy"] for r in ok)] if ok else None,
        "search_vs_cpu_fidelity": fidelity,
    }  # fmt: skip
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    print(json.dumps({k: summary[k] for k in ("trainings", "by_source", "total_training_hours")}))
    if fidelity:
        print(
            "search vs cpu budget, Spearman over Table 2 rows:",
            fidelity["spearman_search_vs_cpu_val_accuracy"],
        )


def main(argv: list[str] | None = None) -> int:
    """Collect (resuming) and report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", choices=("table2", "walks"), default="walks")
    ap.add_argument("--walks", type=int, default=40, help="random walks from the baseline (source walks)")
    ap.add_argument("--steps", type=int, default=10, help="edits per walk")
    ap.add_argument("--seed", type=int, default=0, help="seed of the walks")
    ap.add_argument("--train-seed", type=int, default=0, help="seed of every training")
    ap.add_argument("--max-flops", type=float, default=100e6, help="skip children above this (per example)")
    ap.add_argument("--limit", type=int, default=0, help="train at most this many now (0: all)")
    ap.add_argument("--split-salt", default="rena")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--report", action="store_true", help="only rewrite summary.json")
    args = ap.parse_args(argv)
    for name in ("walks", "steps", "limit"):
        if getattr(args, name) < 0:
            ap.error(f"--{name} must be >= 0")
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        collect(args)
    report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
