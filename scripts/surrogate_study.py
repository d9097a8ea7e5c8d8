"""The Fig. 4b study on the surrogate of real trainings: five strategies x 10 seeds x 400 children; resumable.

    python scripts/surrogate_study.py                         # results/cpu/surrogate_study/, figures/fig4b_surrogate_study_cpu.png
    python scripts/surrogate_study.py --seeds 0 1 --children 100 --out /tmp/study   # a quick look

Every search has the setting of the real-data searches (rena_lib.fig4b: the KWS layer space,
FC (1,12), params < 0.1M and intensity > 10, 5 x 10, top-10, no child above 50 MFLOPs trained), but its
children are scored by the surrogate fitted on the real trainings (results/cpu/surrogate/, written by
scripts/fit_surrogate.py) with the measured seed noise drawn per (seed, spec): deterministic by seed, and
seconds per search instead of hours. The strategies are rena_lib.fig4b.STUDY: the real searches' four
and TPE. The logs go to <out>/logs/ (not committed; a killed study resumes
from them); <out>/summary.json (command, date, commit, machine, the surrogate's size and validation, the
anytime table: median [q25, q75] over seeds at 50-400 children, the first feasible child per search) and
<out>/curves.csv are committed. The verdict on the paper's claims rests on the real searches; this study
says how the strategies compare on a model of them, and where the two disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchmarks.common import header  # noqa: E402
from rena_lib.fig4b import MAX_FLOPS, STUDY, FlopsCap, config  # noqa: E402

SURROGATE = ROOT / "results" / "cpu" / "surrogate"
OUT = ROOT / "results" / "cpu" / "surrogate_study"


def run(args: argparse.Namespace) -> None:
    """Run (resuming) every requested search on the surrogate."""
    from rena_lib.search import run_search
    from rena_lib.surrogate import Surrogate, SurrogateEvaluator

    surrogate = Surrogate.load(args.surrogate)
    for seed in args.seeds:
        for strategy in args.strategies:
            directory = args.out / "logs" / f"{strategy}-seed{seed}"
            cfg = config(strategy, seed, args.children, STUDY)
            ev = FlopsCap(SurrogateEvaluator(surrogate, noise=surrogate.noise_std is not None, seed=seed))
            run_search(cfg, ev, directory, resume=(directory / "config.json").exists(), progress=False)
            print(f"{directory.name} done", flush=True)


def report(args: argparse.Namespace) -> None:
    """Write summary.json, curves.csv and the figure from the study's logs."""
    from rena_lib import figures
    from rena_lib.experiments import anytime_curves, anytime_table
    from rena_lib.fig4b import anytime_rows, claims_table, read_searches, summarize_search
    from rena_lib.surrogate import Surrogate

    surrogate = Surrogate.load(args.surrogate)
    logs = read_searches(args.out / "logs") if (args.out / "logs").exists() else {}
    if not logs:
        print("no searches yet")
        return
    firsts = {
        s: [summarize_search(log.records)["first_feasible_child"] for log in v] for s, v in logs.items()
    }
    claims = claims_table(logs).groupby("strategy", sort=False).median(numeric_only=True)
    curves = anytime_curves(logs)
    curves.to_csv(args.out / "curves.csv", index=False, float_format="%.5f")
    table = anytime_table(curves, at=(50, 100, 200, 300, 400))
    summary = {
        **header("surrogate_study", __file__),
        "evaluator": "surrogate of real trainings at the search budget, with the measured seed noise",
        "surrogate": {
            "rows": surrogate.rows,
            "noise_std": surrogate.noise_std,
            "validation": surrogate.validation,
        },
        "strategies": {s: STUDY[s] for s in logs},
        "seeds": {s: len(v) for s, v in logs.items()},
        "children_per_search": args.children,
        "max_flops_trained": MAX_FLOPS,
        "anytime_median_iqr_over_seeds": anytime_rows(table),
        "first_feasible_child (shown, not the criterion)": firsts,
        "claims_median_over_seeds": json.loads(claims.to_json(orient="index")),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    fig = figures.anytime(
        curves, f"surrogate of {surrogate.rows} real trainings (search budget), {args.children} children"
    )
    figures.save(fig, args.figure)
    print(table.to_string())


def main(argv: list[str] | None = None) -> int:
    """Study (resuming) and report."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strategies", nargs="+", choices=sorted(STUDY), default=list(STUDY))
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--children", type=int, default=400, help="children per search (a multiple of 50)")
    ap.add_argument("--surrogate", type=Path, default=SURROGATE)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--figure", type=Path, default=ROOT / "figures" / "fig4b_surrogate_study_cpu.png")
    ap.add_argument("--report", action="store_true", help="only rewrite summary.json, curves.csv, the figure")
    args = ap.parse_args(argv)
    config(args.strategies[0], 0, args.children, STUDY)  # a bad --children fails here
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        run(args)
    report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
