"""The small, stated sweep that picks "RENA at the best settings we can justify", on the surrogate.

    python scripts/rena_sweep.py            # results/cpu/surrogate_study/rena_sweep.json

RENA's policy settings in the paper (Adam at lr 0.0006, one update per episode) move the policy little in
a few hundred children. Before spending real trainings on a second RENA setting, this sweep runs RENA on
the surrogate of real trainings (results/cpu/surrogate/) in the Fig. 4b setting (rena_lib.fig4b),
over a grid of learning rates x Adam steps per episode (GRID), SEEDS seeds x CHILDREN children each, and
ranks the settings by the median over seeds of the best feasible reward at CHILDREN children (then by the
feasible children among the last 50). The winner is the one setting run for real as "rena_tuned"; it is
chosen once, on the surrogate, not per seed, and written into rena_lib.fig4b.STRATEGIES by hand. The logs
go to <out>/sweep_logs/ (not committed).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchmarks.common import header  # noqa: E402
from rena_lib.fig4b import FlopsCap, config  # noqa: E402

SURROGATE = ROOT / "results" / "cpu" / "surrogate"
OUT = ROOT / "results" / "cpu" / "surrogate_study"
GRID = {"learning_rate": (0.0006, 0.002, 0.006), "updates_per_episode": (1, 10)}
SEEDS = tuple(range(100, 105))  # seeds of their own: the study's seeds 0-9 are not used to choose
CHILDREN = 200


def settings() -> dict[str, dict]:
    """name -> RENA SearchConfig overrides, one per point of GRID."""
    return {
        f"rena lr {lr:g} x{u}": {"proposer": "rena", "learning_rate": lr, "updates_per_episode": u}
        for lr, u in itertools.product(GRID["learning_rate"], GRID["updates_per_episode"])
    }


def main(argv: list[str] | None = None) -> int:
    """Run the sweep (resuming) and write rena_sweep.json."""
    from rena_lib.experiments import anytime_curves
    from rena_lib.search import SearchLog, run_search
    from rena_lib.surrogate import Surrogate, SurrogateEvaluator

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--surrogate", type=Path, default=SURROGATE)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    ap.add_argument("--children", type=int, default=CHILDREN)
    args = ap.parse_args(argv)
    surrogate = Surrogate.load(args.surrogate)
    grid = settings()
    logs: dict[str, list] = {}
    for name in grid:
        for seed in args.seeds:
            directory = args.out / "sweep_logs" / f"{name.replace(' ', '_')}-seed{seed}"
            cfg = config(name, seed, args.children, grid)
            ev = FlopsCap(SurrogateEvaluator(surrogate, noise=surrogate.noise_std is not None, seed=seed))
            run_search(cfg, ev, directory, resume=(directory / "config.json").exists(), progress=False)
            logs.setdefault(name, []).append(SearchLog(directory))
    curves = anytime_curves(logs)
    end = curves[curves["searched children"] == args.children]
    rows = {}
    for name in grid:
        at = end[end["strategy"] == name].set_index("statistic")["median"]
        rows[name] = {
            **grid[name],
            "median best feasible reward": None if at.isna()["best feasible reward"] else float(at["best feasible reward"]),
            "median feasible in the last 50": float(at["feasible per 50"]),
        }  # fmt: skip
    ranked = sorted(
        rows, key=lambda n: (rows[n]["median best feasible reward"] or 0.0, rows[n]["median feasible in the last 50"])
    )[::-1]  # fmt: skip
    out = {
        **header("rena_sweep", __file__),
        "surrogate": {"rows": surrogate.rows, "validation": surrogate.validation},
        "setting": "scripts/real_search.py (Fig. 4b), on the surrogate",
        "seeds": args.seeds,
        "children": args.children,
        "criterion": "median over seeds of the best feasible reward at the last child, then feasible in the last 50",
        "settings": rows,
        "ranking": ranked,
        "chosen": {"name": ranked[0], **grid[ranked[0]]},
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rena_sweep.json").write_text(json.dumps(out, indent=2, allow_nan=False) + "\n")
    for name in ranked:
        print(f"{name:24s} {rows[name]}")
    print("chosen:", ranked[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
