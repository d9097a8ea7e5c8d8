"""Gather every real training at the search budget into one table, fit the surrogate on it, validate it.

    python scripts/fit_surrogate.py            # writes results/cpu/real_trainings/table.jsonl, results/cpu/surrogate/

The table (results/cpu/real_trainings/table.jsonl) holds every real training of the project, each with
its budget: results/cpu/real_trainings/runs.jsonl (Table 2's rows and random walks at the search budget,
scripts/collect_real_trainings.py), every child trained by the real-data searches
(results/cpu/real_searches/*/log.jsonl, scripts/real_search.py), labelled "search:<strategy>", and the
cpu-budget Table 2 trainings, the cpu-budget retrainings of the real searches' best children
(scripts/retrain_best.py) and the smoke-budget budget study (OTHER_TABLES). A spec trained by several
sources keeps every row (they are separate trainings), except replays: a training at the same budget and
seed that gave the same accuracies as a row already there (training is deterministic by seed; RENA and
rena_tuned of one seed sample the same first 50 children) is dropped and counted. The surrogate (rena_lib.surrogate), on the
search-budget rows only, is cross-validated on architectures held out from the fit (Kendall tau, MAE, per
source), then fitted on all rows and saved with that validation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from collect_real_trainings import search_budget  # noqa: E402

from benchmarks.common import header  # noqa: E402

TRAININGS = ROOT / "results" / "cpu" / "real_trainings"
SEARCHES = ROOT / "results" / "cpu" / "real_searches"
SURROGATE = ROOT / "results" / "cpu" / "surrogate"
#: the project's other tables of real trainings: (file, source label)
OTHER_TABLES = (
    (ROOT / "results" / "cpu" / "table2" / "runs.jsonl", "table2 (cpu budget)"),
    (ROOT / "results" / "cpu" / "real_searches" / "retrained" / "runs.jsonl", "retrained best (cpu budget)"),
    (ROOT / "benchmarks" / "results" / "budgets_smoke_runs.jsonl", "budgets (smoke budget)"),
)


def search_rows(searches: Path) -> list[dict]:
    """One table row per child the real-data searches trained (not failed, cached or reused)."""
    from rena_lib.fig4b import read_searches
    from rena_lib.search.reuse import trained_here

    budget = search_budget(0).to_dict()
    rows = []
    found = read_searches(searches) if searches.is_dir() else {}
    for strategy, logs in found.items():  # fig4b's names (rena_tuned too), not proposers
        for log in logs:
            for r in log.records:
                if not trained_here(r):  # failed, cached, or another search's training reused
                    continue
                rows.append({
                    "name": r["notation"], "notation": r["notation"], "spec": r["spec"], "spec_key": r["spec_key"],
                    "task": "kws", "params": r["params"], "flops": r["flops"], "intensity": r["intensity"],
                    "budget": budget, "seed": 0, "failed": False, "reason": None,
                    "val_accuracy": r["performance"], "test_accuracy": r["test_accuracy"],
                    "wall_time": r["wall_time"], "scale": "search", "source": f"search:{strategy}",
                    "search": log.directory.name, "child_id": r["child_id"],
                })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    """Write the table, the surrogate and its validation."""
    from rena_lib.real_trainings import drop_replays, read_records
    from rena_lib.surrogate import cross_validate, fit_surrogate

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=SURROGATE)
    args = ap.parse_args(argv)
    budget = search_budget(0).to_dict()
    rows = read_records(TRAININGS / "runs.jsonl") + search_rows(SEARCHES)
    for path, source in OTHER_TABLES:  # every other real training of the project, at its own budget
        rows += [{**r, "source": r.get("source", source)} for r in read_records(path)]
    rows, replays = drop_replays(rows)
    table = TRAININGS / "table.jsonl"
    tmp = table.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in rows))
    tmp.replace(table)
    validation = cross_validate(rows, budget=budget, folds=args.folds)
    surrogate = fit_surrogate(rows, budget=budget)
    surrogate.validation = validation
    surrogate.save(args.out, overwrite=True)
    sources: dict[str, int] = {}
    for r in rows:
        sources[r["source"]] = sources.get(r["source"], 0) + 1
    report = {
        **header("fit_surrogate", __file__, argv),
        "table": str(table.relative_to(ROOT)),
        "rows": len(rows),
        "rows_by_source": sources,
        "replays_dropped": replays,  # same spec, budget and seed, same accuracies: a deterministic re-run
        "rows_at_the_search_budget": surrogate.rows,  # its successful rows at that budget, every seed
        "search_budget": budget,
        "target_rows": 800,
        "noise_std": surrogate.noise_std,
        "noise_specs": surrogate.noise_specs,
        "validation": validation,
        "targets": {"kendall_tau": ">= 0.6 on held-out architectures"},
    }
    (args.out / "validation.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    print(
        json.dumps(
            {k: report[k] for k in ("rows", "rows_by_source", "replays_dropped", "rows_at_the_search_budget")}
        )
    )
    print({k: validation[k] for k in ("kendall_tau", "mae", "unique_specs")})
    for source, q in validation["per_source"].items():
        print(f"  {source}: {q}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
