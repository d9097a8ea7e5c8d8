"""Is the machinery fast? Policy overhead, child throughput and its timing split, memory over 100 children.

    RENA_DATA_DIR=/path/to/data python benchmarks/machinery.py          # writes benchmarks/results/machinery.json
    RENA_DATA_DIR=/path/to/data python benchmarks/machinery.py --children 20 --cifar-children 2 --out /tmp/m.json

All in one process, so the ratios are side by side (the JSON is rewritten after each part):

1. Policy overhead: the RENA policy of the paper's KWS search (episode 5 x batch 10, controller 128)
   proposes one episode from the FC (1,12) baseline (the children replayed and validated as the search
   does, nothing trained); its sampling calls are timed, then one REINFORCE update on that episode with
   made-up rewards (the paper's 1 Adam step, and the proxy-study 10 steps). Overhead per child =
   (sampling + update seconds) / 50 children, as a share of the median KWS child training time of part 2.
2. KWS at Budget.smoke("kws"): --children consecutive children (the representative specs in turn) in
   this one process: wall time per child (children per hour), the medians of EvalResult.extras["timings"]
   (data, build, compile, first epoch, steady epochs, evaluation), and the resident set size (psutil RSS)
   after every child: the growth from the mean of the first 10 to the mean of the last 10.
3. CIFAR-10 at Budget.smoke("cifar10"): a few representative children after one warm-up child.

Fixed representative specs rather than search samples: a search at the smoke budget samples the odd
child of millions of parameters that alone takes many minutes on 2 shared cores (an earlier attempt of
this benchmark spent 50 minutes in its first 10 children), so a search would measure that child, not the
machinery.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import header, relative

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "machinery.json"
CONSTRAINTS = ["params < 100000", "intensity > 10"]
CIFAR_SPECS = [
    "Conv2d (3,16,relu) MaxPool2d (2) Conv2d (3,32,relu)",
    "Conv2d (3,32,relu) MaxPool2d (2) Conv2d (3,64,relu) MaxPool2d (2)",
    "DS-Conv2d (3,32,relu) MaxPool2d (2) DS-Conv2d (3,64,relu)",
]
TIMING_KEYS = ("data_s", "build_s", "compile_s", "first_epoch_s", "steady_epochs_s", "eval_s")
for _k, _v in {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}.items():
    os.environ.setdefault(_k, _v)


def rss_mb() -> float:
    """Resident set size of this process in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages of this machine."""
    return [round(x, 2) for x in os.getloadavg()]


class RecordingEvaluator:
    """Wraps an evaluator: RSS and timing split after every child it trains."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.rows: list[dict[str, Any]] = []

    def __call__(self, spec: Any) -> Any:
        """Evaluate, then record wall time, timings and RSS."""
        result = self.inner(spec)
        timings = dict(result.extras.get("timings") or {})
        self.rows.append(
            {
                "failed": bool(result.failed),
                "wall_s": float(result.wall_time),
                "epochs": int(result.epochs),
                "timings": timings,
                "rss_mb": round(rss_mb(), 1),
                "time_capped": bool(result.extras.get("time_capped")),
            }
        )
        return result


def split(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median seconds and share of the median child in each stage (steady epochs summed over epochs)."""
    stages: dict[str, list[float]] = {k: [] for k in TIMING_KEYS}
    for r in rows:
        t = r["timings"]
        if r["failed"] or "eval_s" not in t:
            continue
        for k in ("data_s", "build_s", "compile_s", "first_epoch_s", "eval_s"):
            stages[k].append(t[k])
        stages["steady_epochs_s"].append(t["steady_epoch_s"] * max(0, r["epochs"] - 1))
    med = {k: round(statistics.median(v), 3) for k, v in stages.items() if v}
    total = sum(med.values())
    return {
        "median_s": med,
        "share_of_summed_medians": {k: round(v / total, 3) for k, v in med.items()} if total else {},
        "largest": max(med, key=med.get) if med else None,
    }


KWS_SPECS = [
    "FC (1,12)",  # the paper's KWS baseline
    "Conv2d (1,16,10,4,2,2) FC (1,32)",
    "DS-Conv2d (1,32,3,3,2,2) AvgPool2d",
    "GRU (1,32,1)",
]


def policy_overhead(seed: int) -> dict[str, Any]:
    """Time RENA's sampling over one paper-size KWS episode and a REINFORCE update on it."""
    import numpy as np

    from rena_lib.actions import replay
    from rena_lib.arch.graph import validate
    from rena_lib.search import SearchConfig
    from rena_lib.search.proposers import RenaProposer

    out: dict[str, Any] = {}
    for name, updates in (("paper", 1), ("proxy_study", 10)):
        config = SearchConfig.paper(
            "kws_layer", constraints=CONSTRAINTS, seed=seed, updates_per_episode=updates
        )
        space, rng = config.search_space(), np.random.default_rng(seed)
        proposer = RenaProposer(config)
        parents = [config.baseline_spec()] * config.batch_size
        proposer.propose_batch(parents, rng)  # warm-up (first call builds the policy's functions)
        sample_s, history = [], []
        for _ in range(config.episode_size):
            t = time.perf_counter()
            proposals = proposer.propose_batch(parents, rng)
            sample_s.append(time.perf_counter() - t)
            step = []
            for n, (parent, prop) in enumerate(zip(parents, proposals, strict=True)):
                try:
                    child = replay(parent, prop.actions)
                    space.check(child)
                    validate(child)
                except ValueError:
                    child = None
                step.append(
                    {
                        "trajectory": n,
                        "parent": parent.to_dict(),
                        "decisions": prop.decisions,
                        "reward": float(rng.uniform(0.0, 0.5)),
                    }
                )
                parents[n] = child or parent
            history.append(step)
        t = time.perf_counter()
        proposer.learn(0, history)
        update_s = time.perf_counter() - t
        children = config.episode_size * config.batch_size
        out[name] = {
            "learning_rate": config.learning_rate,
            "updates_per_episode": updates,
            "children_per_episode": children,
            "sampling_s_per_step": [round(x, 4) for x in sample_s],
            "sampling_s_per_child": round(sum(sample_s) / children, 5),
            "update_s": round(update_s, 4),
            "update_s_per_child": round(update_s / children, 5),
            "policy_s_per_child": round((sum(sample_s) + update_s) / children, 5),
        }
    return out


def kws_children(args: argparse.Namespace) -> dict[str, Any]:
    """--children consecutive KWS smoke children in this process: time per child, timing split, RSS."""
    from rena_lib.arch import from_paper_notation
    from rena_lib.data.speech_commands import RESPLIT_SALT
    from rena_lib.training import Budget, KwsEvaluator

    budget = Budget.smoke("kws")
    evaluator = KwsEvaluator(
        budget, Path(os.environ["RENA_DATA_DIR"]) / "speech_commands", split_salt=RESPLIT_SALT
    )
    t = time.perf_counter()
    evaluator.prepare()
    prepare_s = time.perf_counter() - t
    rss_after_data = rss_mb()
    recorder = RecordingEvaluator(evaluator)
    specs = [from_paper_notation(text, "kws") for text in KWS_SPECS]
    t = time.perf_counter()
    for i in range(args.children):
        recorder(specs[i % len(specs)])
        if (i + 1) % 10 == 0:
            print(
                f"kws child {i + 1}: {recorder.rows[-1]['wall_s']:.1f} s, RSS {recorder.rows[-1]['rss_mb']} MiB"
            )
    total_s = time.perf_counter() - t
    rows = recorder.rows
    ok = [r for r in rows if not r["failed"]]
    walls = [r["wall_s"] for r in ok]
    rss = [r["rss_mb"] for r in rows]
    first, last = statistics.fmean(rss[:10]), statistics.fmean(rss[-10:])
    per_spec = {}
    for i, text in enumerate(KWS_SPECS):
        spec_walls = [r["wall_s"] for r in rows[i :: len(specs)] if not r["failed"]]
        if spec_walls:
            per_spec[text] = round(statistics.median(spec_walls), 3)
    return {
        "budget": budget.to_dict(),
        "specs": KWS_SPECS,
        "data_prepare_s": round(prepare_s, 2),
        "children": len(rows),
        "failed_children": len(rows) - len(ok),
        "time_capped_children": sum(bool(r.get("time_capped")) for r in rows),
        "total_s": round(total_s, 1),
        "child_s_median": round(statistics.median(walls), 3),
        "child_s_mean": round(statistics.fmean(walls), 3),
        "child_s_max": round(max(walls), 3),
        "child_s_median_per_spec": per_spec,
        "children_per_hour": round(3600 * len(rows) / total_s, 1),
        "timing_split": split(rows),
        "memory": {
            "rss_mb_after_data": round(rss_after_data, 1),
            "rss_mb_first_10_mean": round(first, 1),
            "rss_mb_last_10_mean": round(last, 1),
            "growth_mb_first_10_to_last_10": round(last - first, 1),
            "growth_mb_per_child": round((last - first) / max(1, len(rss) - 10), 3),
            "rss_mb_max": max(rss),
            "rss_mb_per_child": rss,
        },
    }


def cifar_children(args: argparse.Namespace) -> dict[str, Any]:
    """CIFAR-10 smoke children: throughput and timing split after one warm-up child."""
    from rena_lib.arch import from_paper_notation
    from rena_lib.training import Budget, CifarEvaluator

    evaluator = CifarEvaluator(Budget.smoke("cifar10"), Path(os.environ["RENA_DATA_DIR"]) / "cifar10")
    t = time.perf_counter()
    evaluator.prepare()
    warm = evaluator(from_paper_notation(CIFAR_SPECS[0], "cifar10"))
    prepare_s = time.perf_counter() - t
    recorder = RecordingEvaluator(evaluator)
    specs = [CIFAR_SPECS[i % len(CIFAR_SPECS)] for i in range(args.cifar_children)]
    accs = []
    for text in specs:
        res = recorder(from_paper_notation(text, "cifar10"))
        accs.append(res.performance)
    walls = [r["wall_s"] for r in recorder.rows if not r["failed"]]
    return {
        "budget": Budget.smoke("cifar10").to_dict(),
        "data_prepare_and_warmup_s": round(prepare_s, 2),
        "warmup_child_s": round(warm.wall_time, 2),
        "specs": specs,
        "val_accuracy": [round(a, 3) for a in accs],
        "child_s": [round(w, 2) for w in walls],
        "child_s_median": round(statistics.median(walls), 3),
        "child_s_mean": round(statistics.fmean(walls), 3),
        "children_per_hour": round(3600 / statistics.fmean(walls), 1),
        "timing_split": split(recorder.rows),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements in one process, rewriting the JSON after each."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--children", type=int, default=100, help="consecutive KWS smoke children")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cifar-children", type=int, default=3)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if "RENA_DATA_DIR" not in os.environ:
        ap.error("set RENA_DATA_DIR (the folder holding speech_commands/ and cifar10/)")
    result: dict[str, Any] = {
        **header("machinery", __file__, argv),
        "load_average": {"start": load_average()},
        "notes": "one process, measured side by side; the machine was shared with other jobs (load above), "
        "so absolute seconds hold for this machine under that load; the shares are the result",
    }

    def write() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")

    t = time.perf_counter()
    import tensorflow  # noqa: F401

    result["tensorflow_import_s"] = round(time.perf_counter() - t, 2)
    result["policy"] = policy_overhead(args.seed)
    print(json.dumps(result["policy"], indent=2))
    write()
    kws = kws_children(args)
    result["kws"] = kws
    result["load_average"]["after_kws"] = load_average()
    result["policy_overhead_share"] = {
        name: round(p["policy_s_per_child"] / kws["child_s_median"], 5)
        for name, p in result["policy"].items()
    }
    result["policy_overhead_share"]["meaning"] = (
        "policy sampling + update seconds per child / median KWS smoke child training seconds (target < 0.02)"
    )
    print(json.dumps(result["policy_overhead_share"], indent=2))
    print(json.dumps({k: v for k, v in kws.items() if k != "memory"}, indent=2))
    print(json.dumps({k: v for k, v in kws["memory"].items() if k != "rss_mb_per_child"}))
    write()
    cifar = cifar_children(args)
    result["cifar10"] = cifar
    result["load_average"]["end"] = load_average()
    print(json.dumps({k: cifar[k] for k in ("children_per_hour", "timing_split")}, indent=2))
    write()
    print(f"wrote {relative(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
