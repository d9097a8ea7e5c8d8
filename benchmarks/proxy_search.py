"""Fig. 4b with the proxy evaluator: RENA vs random search under params < 100000 and intensity > 10.

    python benchmarks/proxy_search.py          # writes benchmarks/results/proxy_search.json
    python benchmarks/proxy_search.py --seeds 0 --children 200 --out /tmp/proxy.json
    python benchmarks/proxy_search.py --convention per_layer --metrics-batch-size 1 \
        --out benchmarks/results/proxy_search_per_layer.json

KWS space, the paper's FC (1,12) baseline, the joint constraint of Fig. 4b, episode 5 x batch 10 (the
paper's KWS settings), top-10 baselines, the proxy evaluator (rena_lib.proxy: a deterministic stand-in
for training, NOT real accuracies). For every seed, random search and RENA run through the same loop on
the same budget. RENA runs under two settings:

* "paper": learning rate 0.0006 and one Adam step per episode (8 policy updates in 400 children);
* "proxy_study": the documented options beyond the paper, a larger learning rate and several Adam steps
  on each episode's batch (see --study-lr / --study-updates), because 8 small updates cannot move the
  policy much within 400 children.

Reported per run (SearchLog.summary): share of feasible children among the last 100, the number of
children searched until the first and until the tenth feasible one (None: not reached), feasible
children per 50, the best feasible proxy accuracy and the wall time. Random search does not learn, so
one random run per seed serves both settings. Note that RENA's first episode (50 children) comes from
the untrained, near-uniform policy, so "children to the first feasible" within it is luck for both.

Intensity is counted per op at batch 64 (rena_lib.metrics, the search default), which puts GRUs near the
paper's values. `--convention per_layer --metrics-batch-size 1` repeats the study under the per-layer
count, where most small GRUs exceed 10 FLOPs/byte and the feasible region is much larger.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import header, relative

from rena_lib.metrics import CONVENTIONS, DEFAULT_BATCH_SIZE, DEFAULT_CONVENTION

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "proxy_search.json"
CONSTRAINTS = ["params < 100000", "intensity > 10"]
for _k, _v in {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}.items():
    os.environ.setdefault(_k, _v)


def run_one(
    proposer: str,
    seed: int,
    episodes: int,
    lr: float,
    updates: int,
    directory: Path,
    metrics: tuple[str, int] = (DEFAULT_CONVENTION, DEFAULT_BATCH_SIZE),
) -> dict[str, Any]:
    """One search; returns its summary, settings and wall time."""
    from rena_lib.proxy import ProxyEvaluator
    from rena_lib.search import SearchConfig, run_search

    config = SearchConfig.paper(
        "kws",
        proposer=proposer,
        constraints=CONSTRAINTS,
        seed=seed,
        episodes=episodes,
        learning_rate=lr,
        updates_per_episode=updates,
        metrics_convention=metrics[0],
        metrics_batch_size=metrics[1],
    )
    t0 = time.perf_counter()
    log = run_search(config, ProxyEvaluator(), directory, progress=False)
    out = {
        "proposer": proposer,
        "seed": seed,
        "wall_s": round(time.perf_counter() - t0, 2),
        **log.summary(100),
    }
    if log.policy_records:
        out["entropy_first_update"] = log.policy_records[0]["entropy"]
        out["entropy_last_update"] = log.policy_records[-1]["entropy"]
    return out


def mean(values: list[Any]) -> float | None:
    """Mean of the non-None values (None if there are none)."""
    vals = [v for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


def median(values: list[Any]) -> float | None:
    """Median of the non-None values (None if there are none)."""
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def main(argv: list[str] | None = None) -> int:
    """Run the study, print a summary and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--children", type=int, default=400, help="children per search (a multiple of 50)")
    ap.add_argument("--study-lr", type=float, default=0.002)
    ap.add_argument("--study-updates", type=int, default=10)
    ap.add_argument(
        "--convention", choices=CONVENTIONS, default=DEFAULT_CONVENTION, help="byte accounting of intensity"
    )
    ap.add_argument(
        "--metrics-batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="batch the bytes are counted for"
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    metrics = (args.convention, args.metrics_batch_size)
    if args.children % 50 or args.children < 100:
        ap.error("--children must be a multiple of 50 (episode 5 x batch 10), at least 100")
    episodes = args.children // 50
    settings = {"paper": (0.0006, 1), "proxy_study": (args.study_lr, args.study_updates)}
    runs: dict[str, list[dict[str, Any]]] = {"random": [], "rena_paper": [], "rena_proxy_study": []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            random_dir = Path(tmp) / f"random-{seed}"
            runs["random"].append(run_one("random", seed, episodes, 0.0006, 1, random_dir, metrics))
            for name, (lr, updates) in settings.items():
                run = run_one("rena", seed, episodes, lr, updates, Path(tmp) / f"rena-{name}-{seed}", metrics)
                runs[f"rena_{name}"].append(run)
            for key, rs in runs.items():
                r = rs[-1]
                print(
                    f"seed {seed} {key:17s} feasible share (last 100) {r['feasible_share_last']:.2f}  "
                    f"first feasible at child {r['children_to_first_feasible']}, 10th at {r['children_to_10_feasible']}  "
                    f"per 50: {r['feasible_per_50']}  "
                    f"{r['wall_s']:.0f} s",
                    flush=True,
                )
    summary = {
        key: {
            "feasible_share_last_100_mean": mean([r["feasible_share_last"] for r in rs]),
            "children_to_first_feasible_mean": mean([r["children_to_first_feasible"] for r in rs]),
            "children_to_first_feasible_median": median([r["children_to_first_feasible"] for r in rs]),
            "never_feasible_runs": sum(r["children_to_first_feasible"] is None for r in rs),
            "children_to_10_feasible_mean": mean([r["children_to_10_feasible"] for r in rs]),
            "best_feasible_accuracy_mean": mean([r["best_feasible_performance"] for r in rs]),
        }
        for key, rs in runs.items()
    }
    for name in settings:
        rena, rand = runs[f"rena_{name}"], runs["random"]
        summary[f"rena_{name}"]["share_above_random_in_every_seed"] = all(
            a["feasible_share_last"] > b["feasible_share_last"] for a, b in zip(rena, rand, strict=True)
        )
        for n in ("first", "10"):
            key = f"children_to_{n}_feasible"
            sooner = [(a[key] or 10**9) < (b[key] or 10**9) for a, b in zip(rena, rand, strict=True)]
            summary[f"rena_{name}"][f"{n}_feasible_sooner_in_every_seed"] = all(sooner)
            summary[f"rena_{name}"][f"{n}_feasible_sooner_seeds"] = sum(sooner)
    first_episode = 5 * 10  # children proposed before RENA's first policy update (episode 5 x batch 10)
    notes = {
        "random_first_feasible_within_first_episode": sum(
            (r["children_to_first_feasible"] or 10**9) <= first_episode for r in runs["random"]
        ),
        "seeds": len(args.seeds),
        "meaning": "children 1-50 of a RENA search come from the untrained, near-uniform policy (first update "
        "after child 50), so where random search finds a feasible child within its first 50, RENA cannot be "
        "systematically sooner; children_to_10_feasible measures how soon a search finds feasible children "
        "at a useful rate.",
    }
    result = {
        **header("proxy_search", __file__, argv),
        "setup": {
            "space": "kws_layer",
            "baseline": "FC (1,12)",
            "constraints": CONSTRAINTS,
            "evaluator": "rena_lib.proxy.ProxyEvaluator (deterministic stand-in for training, not real accuracy)",
            "metrics_convention": args.convention,
            "metrics_batch_size": args.metrics_batch_size,
            "episode_size": 5,
            "batch_size": 10,
            "top_k": 10,
            "children": args.children,
            "seeds": args.seeds,
            "rena_settings": {
                name: {"learning_rate": lr, "updates_per_episode": updates, "policy_updates": episodes}
                for name, (lr, updates) in settings.items()
            },
        },
        "summary": summary,
        "notes": notes,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"wrote {relative(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
