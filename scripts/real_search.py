"""Fig. 4b on real data: KWS searches whose every child is trained for real at the search budget; resumable.

    RENA_DATA_DIR=/path/to/data python scripts/real_search.py                       # every strategy, seeds 0 1
    RENA_DATA_DIR=/path/to/data python scripts/real_search.py --strategies random --seeds 0
    python scripts/real_search.py --report                                          # summary.json only

The setting of Fig. 4b (section 5.2.1): the KWS layer space (Table 4), the FC (1,12) baseline, the
constraints params < 0.1M and intensity > 10, episodes of 5 steps x 10 trajectories, top-10. Each search
writes results/cpu/real_searches/<strategy>-seed<k>/ (config.json, log.jsonl, checkpoint/) through
rena_lib.search.run_search, checkpointed after every batch: a killed run resumes where it stopped and
repeats no training. Searches run one after the other, seed 0 of every strategy first. The children are
trained by KwsEvaluator at the search budget (scripts/collect_real_trainings.py: 10 epochs of the cpu
recipe), on the shared subset's canonical split (split_salt "rena").

The setting, the strategies and the cap are rena_lib.fig4b's (STRATEGIES: RENA at the paper's settings,
RENA at the setting scripts/rena_sweep.py chose on the surrogate, random search, regularized evolution).
One departure from the paper, for 2 CPU cores: a child above MAX_FLOPS (50 MFLOPs) per example is not
trained but logged as a failed child (reward 0) with the reason (FlopsCap); --max-flops changes it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from collect_real_trainings import search_budget  # noqa: E402

from benchmarks.common import header  # noqa: E402
from rena_lib.fig4b import (  # noqa: E402
    CONSTRAINTS,
    MAX_FLOPS,
    STRATEGIES,
    FlopsCap,
    anytime_rows,
    config,
    curve_searches,
    read_searches,
    summarize_search,
)

OUT = ROOT / "results" / "cpu" / "real_searches"


def run(args: argparse.Namespace) -> None:
    """Run (resuming) every requested search in turn."""
    from rena_lib.search import run_search
    from rena_lib.search.reuse import ReusedTrainings
    from rena_lib.training import KwsEvaluator

    budget = search_budget(0)
    trainer = KwsEvaluator(budget, split_salt="rena", with_test=True).prepare()
    # a child another search under --out already trained at this budget is not trained again
    reuse = ReusedTrainings(trainer, args.out, budget.to_dict())
    ev = FlopsCap(reuse, args.max_flops)
    for seed in args.seeds:
        for strategy in args.strategies:
            directory = args.out / f"{strategy}-seed{seed}"
            cfg = config(strategy, seed, args.children)
            t0 = time.time()
            print(f"{directory.name}: searching ({cfg.total_children} children)", flush=True)
            # a child takes minutes: the bar (stderr) shows each one, the best reward and the feasible count
            log = run_search(cfg, ev, directory, resume=(directory / "config.json").exists(), progress=True)
            print(f"{directory.name}: {len(log)} children, {time.time() - t0:.0f} s this run "
                  f"({reuse.reused} trainings reused so far)", flush=True)  # fmt: skip
            report(args)


def report(args: argparse.Namespace) -> None:
    """Write summary.json over every search directory under --out."""
    from rena_lib.experiments import anytime_curves, anytime_table

    logs = read_searches(args.out)
    searches = {}
    for log in (log for strategy_logs in logs.values() for log in strategy_logs):
        searches[log.directory.name] = {
            "planned_children": log.config.total_children,
            **summarize_search(log.records),
        }
    logs = curve_searches(logs)  # a search still running would cut its strategy's curve short
    anytime = anytime_rows(anytime_table(anytime_curves(logs), at=(50, 100, 150, 200, 400))) if logs else None
    summary = {
        **header("real_search", __file__),
        "setting": "Fig. 4b: KWS layer space, FC (1,12) baseline, " + " and ".join(CONSTRAINTS) + ", 5 x 10, top-10",
        "budget": search_budget(0).to_dict() | {"seed": "per child: 0"},
        "data": {"dataset": "speech_commands", "split_salt": "rena",
                 "data_dir": "RENA_DATA_DIR" if os.environ.get("RENA_DATA_DIR") else "keras download"},
        "strategies": STRATEGIES,
        "max_flops_trained": args.max_flops,
        "departure": "children above max_flops_trained FLOPs per example are failed children (reward 0), not trained",
        "searches": searches,
        "anytime_searches": {strategy: [log.directory.name for log in v] for strategy, v in logs.items()},
        "anytime_median_iqr_over_seeds": anytime,
    }  # fmt: skip
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    for name, s in searches.items():
        print(name, {k: s[k] for k in ("children", "planned_children", "feasible", "best_feasible_reward")})


def main(argv: list[str] | None = None) -> int:
    """Search (resuming) and report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strategies", nargs="+", choices=sorted(STRATEGIES), default=list(STRATEGIES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--children", type=int, default=200, help="children per search (a multiple of 50)")
    ap.add_argument(
        "--max-flops", type=float, default=MAX_FLOPS, help="train no child above this (per example)"
    )
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--report", action="store_true", help="only rewrite summary.json")
    args = ap.parse_args(argv)
    config(args.strategies[0], 0, args.children)  # a bad --children fails here, before anything runs
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        run(args)
    report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
