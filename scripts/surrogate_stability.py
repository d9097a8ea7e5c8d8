"""How stable is the surrogate study's ranking of strategies? The study, repeated on bootstrap refits; resumable.

    python scripts/surrogate_stability.py                      # 5 refits x 5 strategies x 5 seeds x 400 children
    python scripts/surrogate_stability.py --refits 2 --seeds 0 --children 100 --out /tmp/stab   # a quick look

The surrogate study (scripts/surrogate_study.py) ranks the strategies on one surrogate, fitted on every
real training at the search budget (results/cpu/real_trainings/table.jsonl). Refitted on a table of 407
rows it ranked regularized evolution first and TPE last; on 603 rows the reverse. This script measures
how much of that is the fit: refit b draws the table's architectures with replacement (every training of
a drawn architecture comes along, as often as it is drawn; the bootstrap of NAS-Bench-301's surrogate
ensembles) and fits the surrogate with seed b; its seed noise is the full table's (duplicated rows would
read as noiseless seeds). On each refit, the study's strategies search with the study's setting
(rena_lib.fig4b) and seeds. <out>/stability.json (committed) holds, per refit and strategy, the median over
seeds of the best feasible reward at the last child and of the feasible share after child 120, the order
of the strategies, how often each comes first, and the Kendall tau between each refit's order and the
full surrogate's (results/cpu/surrogate_study/curves.csv). The logs go to <out>/stability_logs/ (not
committed; a killed run resumes from them).
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
from rena_lib.fig4b import PAPER_RENA_FEASIBLE_AFTER, STUDY, FlopsCap, config  # noqa: E402

TABLE = ROOT / "results" / "cpu" / "real_trainings" / "table.jsonl"
SURROGATE = ROOT / "results" / "cpu" / "surrogate"
OUT = ROOT / "results" / "cpu" / "surrogate_study"


def bootstrap(rows: list[dict], seed: int) -> list[dict]:
    """The rows of len(architectures) architectures drawn with replacement (seed), each with all its rows."""
    import numpy as np

    by_spec: dict[str, list[dict]] = {}
    for r in rows:
        by_spec.setdefault(json.dumps(r["spec"], sort_keys=True), []).append(r)
    keys = sorted(by_spec)
    drawn = np.random.default_rng([seed, 301]).integers(0, len(keys), len(keys))
    return [r for i in drawn for r in by_spec[keys[i]]]


def refit(rows: list[dict], b: int, noise_std: float | None):
    """The surrogate of refit b: fitted with seed b on the b-th bootstrap of rows, with the full fit's noise."""
    from rena_lib.surrogate import fit_surrogate

    surrogate = fit_surrogate(bootstrap(rows, b), budget=search_budget(0).to_dict(), seed=b)
    surrogate.noise_std = noise_std
    return surrogate


def run(args: argparse.Namespace) -> None:
    """Run (resuming) every refit's searches."""
    from rena_lib.real_trainings import read_records
    from rena_lib.search import run_search
    from rena_lib.surrogate import Surrogate, SurrogateEvaluator

    rows = read_records(args.table)
    noise = Surrogate.load(args.surrogate).noise_std
    for b in range(args.refits):
        surrogate = refit(rows, b, noise)
        for seed in args.seeds:
            for strategy in args.strategies:
                directory = args.out / "stability_logs" / f"refit{b}" / f"{strategy}-seed{seed}"
                cfg = config(strategy, seed, args.children, STUDY)
                ev = FlopsCap(SurrogateEvaluator(surrogate, noise=noise is not None, seed=seed))
                run_search(cfg, ev, directory, resume=(directory / "config.json").exists(), progress=False)
        print(f"refit {b} done ({surrogate.rows} rows)", flush=True)


def _median_stats(logs: list, after: int) -> tuple[float, float | None]:
    """Median over seeds of (best feasible reward, 0 if none; feasible share after child `after`, None if
    the searches are no longer than that)."""
    import numpy as np

    best, share = [], []
    for log in logs:
        top = log.best()  # SearchLog's best-child rule: the feasible, not failed child of highest reward
        best.append(0.0 if top is None else top["reward"])
        ok = [bool(r["feasible"]) and not r["failed"] for r in log.records]
        if len(ok) > after:
            share.append(float(np.mean(ok[after:])))
    return float(np.median(best)), float(np.median(share)) if share else None


def _reference(curves_csv: Path, strategies: list[str], children: int) -> dict[str, float]:
    """The full surrogate's median best feasible reward per strategy at `children` (0.0 if none yet)."""
    import pandas as pd

    curves = pd.read_csv(curves_csv)
    at = curves[(curves["statistic"] == "best feasible reward") & (curves["searched children"] == children)]
    medians = dict(zip(at["strategy"], at["median"], strict=True))
    return {s: 0.0 if pd.isna(medians[s]) else float(medians[s]) for s in strategies if s in medians}


def report(args: argparse.Namespace) -> None:
    """Write stability.json from the refits' logs."""
    from scipy.stats import kendalltau

    from rena_lib.fig4b import read_searches

    after = PAPER_RENA_FEASIBLE_AFTER
    reference = _reference(args.out / "curves.csv", args.strategies, args.children)
    refits = []
    for b in range(args.refits):
        directory = args.out / "stability_logs" / f"refit{b}"
        logs = read_searches(directory) if directory.is_dir() else {}
        if sorted(logs) != sorted(args.strategies) or any(
            len(v) < len(args.seeds) or any(len(log) < args.children for log in v) for v in logs.values()
        ):
            continue  # not finished
        stats = {s: _median_stats(logs[s], after) for s in args.strategies}
        order = sorted(args.strategies, key=lambda s: -stats[s][0])
        tau = None
        if len(reference) == len(args.strategies) and len(order) > 2:
            tau = round(
                float(kendalltau([reference[s] for s in order], [stats[s][0] for s in order]).statistic), 3
            )
        refits.append({
            "refit": b,
            "median_best_feasible_reward": {s: round(stats[s][0], 4) for s in order},
            f"median_feasible_share_after_{after}": {
                s: None if stats[s][1] is None else round(stats[s][1], 4) for s in order
            },
            "order": order,
            "kendall_tau_vs_full_surrogate": tau,
        })  # fmt: skip
    if not refits:
        print("no refit finished yet")
        return
    firsts = {s: sum(r["order"][0] == s for r in refits) for s in args.strategies}
    mean_rank = {
        s: round(sum(r["order"].index(s) + 1 for r in refits) / len(refits), 2) for s in args.strategies
    }
    summary = {
        **header("surrogate_stability", __file__),
        "table": str(args.table.relative_to(ROOT)) if args.table.is_relative_to(ROOT) else str(args.table),
        "resampling": "architectures drawn with replacement, every training of a drawn architecture kept; "
        "surrogate seed = refit number; seed noise of the full surrogate",
        "refits_finished": len(refits),
        "seeds": args.seeds,
        "children_per_search": args.children,
        "strategies": args.strategies,
        "full_surrogate_median_best_feasible_reward": reference,
        "first_place_count": firsts,
        "mean_rank": mean_rank,
        "refits": refits,
    }
    (args.out / "stability.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    for r in refits:
        print(
            f"refit {r['refit']}: "
            + " > ".join(f"{s} {r['median_best_feasible_reward'][s]}" for s in r["order"])
        )
    print("first place:", firsts, "mean rank:", mean_rank)


def main(argv: list[str] | None = None) -> int:
    """Refit, search (resuming) and report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--refits", type=int, default=5)
    ap.add_argument("--strategies", nargs="+", choices=sorted(STUDY), default=list(STUDY))
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(5)))
    ap.add_argument("--children", type=int, default=400, help="children per search (a multiple of 50)")
    ap.add_argument("--table", type=Path, default=TABLE)
    ap.add_argument("--surrogate", type=Path, default=SURROGATE, help="the full fit (its seed noise)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--report", action="store_true", help="only rewrite stability.json")
    args = ap.parse_args(argv)
    if args.refits < 1:
        ap.error("--refits must be >= 1")
    config(args.strategies[0], 0, args.children)  # a bad --children fails here, before anything runs
    if not (args.out / "curves.csv").exists():
        ap.error(
            f"{args.out / 'curves.csv'} is missing: run scripts/surrogate_study.py first (the reference)"
        )
    if not args.report:
        run(args)
    report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
