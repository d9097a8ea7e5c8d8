"""Is the machinery fast? Policy overhead, child throughput and its timing split, memory over 100 children.

    RENA_DATA_DIR=../shared/data python benchmarks/machinery.py          # writes benchmarks/results/machinery.json
    RENA_DATA_DIR=../shared/data python benchmarks/machinery.py --children 20 --cifar-children 2 --out /tmp/m.json

All in one process, so the ratios are side by side:

1. A RENA search on KWS (paper policy settings and the Fig. 4b joint constraint; --episode-size x
   --batch-size children per episode) whose children are trained for real at Budget.smoke("kws"). The
   proposer is wrapped to time every policy sampling call and every REINFORCE update; the evaluator is
   wrapped to record the resident set size (psutil RSS) after every trained child. Policy overhead =
   (sampling + update seconds) / children, as a share of the median child training time.
   Memory: RSS of the first 10 vs the last 10 trained children of the --children consecutive ones.
2. KWS throughput and where the time goes: children per hour of trained children (mean wall time) and of
   the whole search (with cache hits, analytic metrics and checkpoints), and the medians of
   EvalResult.extras["timings"] (data, build, compile, first epoch, steady epochs, evaluation).
3. CIFAR-10 throughput at Budget.smoke("cifar10"): a few representative children after one warm-up child.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics_speed import _relative, git_commit, machine, versions

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


class TimedProposer:
    """Wraps a proposer: wall time of every propose_batch and update call."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.sample_s: list[float] = []
        self.sampled: list[int] = []
        self.update_s: list[float] = []

    def propose_batch(self, specs: list[Any], rng: Any) -> list[Any]:
        """Time the inner proposer's sampling."""
        t = time.perf_counter()
        out = self.inner.propose_batch(specs, rng)
        self.sample_s.append(time.perf_counter() - t)
        self.sampled.append(len(specs))
        return out

    def update(self, episode: int, history: list[list[dict[str, Any]]]) -> dict[str, Any] | None:
        """Time the inner proposer's REINFORCE update."""
        t = time.perf_counter()
        out = self.inner.update(episode, history)
        self.update_s.append(time.perf_counter() - t)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


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


def kws_search(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """The KWS search at the smoke budget: policy overhead, throughput, timing split, RSS per child."""
    import rena_lib.search.loop as loop
    from rena_lib.data.speech_commands import RESPLIT_SALT
    from rena_lib.search import SearchConfig, run_search
    from rena_lib.training import Budget, KwsEvaluator

    config = SearchConfig.paper(
        "kws_layer",
        constraints=CONSTRAINTS,
        episode_size=args.episode_size,
        batch_size=args.batch_size,
        top_k=args.batch_size,
        episodes=-(-args.children // (args.episode_size * args.batch_size)),
        seed=args.seed,
    )
    evaluator = KwsEvaluator(
        Budget.smoke("kws"), Path(os.environ["RENA_DATA_DIR"]) / "speech_commands", split_salt=RESPLIT_SALT
    )
    t = time.perf_counter()
    evaluator.prepare()
    prepare_s = time.perf_counter() - t
    rss_after_data = rss_mb()
    recorder = RecordingEvaluator(evaluator)
    timed: list[TimedProposer] = []
    original = loop.make_proposer

    def make_timed(cfg: Any) -> TimedProposer:
        timed.append(TimedProposer(original(cfg)))
        return timed[-1]

    loop.make_proposer = make_timed
    try:
        t = time.perf_counter()
        log = run_search(config, recorder, directory, progress=False)
        search_s = time.perf_counter() - t
    finally:
        loop.make_proposer = original
    prop = timed[0]
    n = len(log)
    rows = recorder.rows
    ok = [r for r in rows if not r["failed"]]
    walls = [r["wall_s"] for r in ok]
    median_child = statistics.median(walls)
    policy_s = sum(prop.sample_s) + sum(prop.update_s)
    rss = [r["rss_mb"] for r in rows]
    first, last = rss[:10], rss[-10:]
    return {
        "search": {
            "space": "kws_layer",
            "constraints": CONSTRAINTS,
            "episode_size": config.episode_size,
            "batch_size": config.batch_size,
            "episodes": config.episodes,
            "learning_rate": config.learning_rate,
            "updates_per_episode": config.updates_per_episode,
            "budget": Budget.smoke("kws").to_dict(),
        },
        "data_prepare_s": round(prepare_s, 2),
        "children": n,
        "trained_children": len(rows),
        "failed_children": len(rows) - len(ok),
        "cached_children": int(log.to_dataframe()["cached"].astype(bool).sum()),
        "feasible_children": len(log.feasible()),
        "search_wall_s": round(search_s, 1),
        "policy_overhead": {
            "sampling_calls": len(prop.sample_s),
            "sampling_s_total": round(sum(prop.sample_s), 3),
            "sampling_s_per_child": round(sum(prop.sample_s) / n, 4),
            "updates": len(prop.update_s),
            "update_s_each": [round(x, 3) for x in prop.update_s],
            "update_s_per_child": round(sum(prop.update_s) / n, 4),
            "policy_s_per_child": round(policy_s / n, 4),
            "median_child_training_s": round(median_child, 3),
            "share_of_median_child_training": round(policy_s / n / median_child, 4),
            "share_of_trained_child_seconds": round(policy_s / sum(walls), 4),
            "target": "< 0.02",
        },
        "throughput": {
            "child_s_median": round(median_child, 3),
            "child_s_mean": round(statistics.fmean(walls), 3),
            "child_s_max": round(max(walls), 3),
            "trained_children_per_hour": round(3600 / statistics.fmean(walls), 1),
            "search_children_per_hour": round(3600 * n / search_s, 1),
            "search_trained_children_per_hour": round(3600 * len(rows) / search_s, 1),
        },
        "timing_split": split(rows),
        "memory": {
            "rss_mb_after_data": round(rss_after_data, 1),
            "rss_mb_first_10_mean": round(statistics.fmean(first), 1),
            "rss_mb_last_10_mean": round(statistics.fmean(last), 1),
            "growth_mb_first_10_to_last_10": round(statistics.fmean(last) - statistics.fmean(first), 1),
            "growth_mb_per_child": round(
                (statistics.fmean(last) - statistics.fmean(first)) / max(1, len(rss) - 10), 3
            ),
            "rss_mb_max": max(rss),
            "rss_mb_per_trained_child": rss,
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
    """Run the three measurements in one process and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--children", type=int, default=100, help="KWS search children (memory, overhead)")
    ap.add_argument("--episode-size", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cifar-children", type=int, default=6)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if "RENA_DATA_DIR" not in os.environ:
        ap.error("set RENA_DATA_DIR (the folder holding speech_commands/ and cifar10/)")
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_start = load_average()
    t = time.perf_counter()
    import tensorflow  # noqa: F401

    tf_import_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        kws = kws_search(args, Path(tmp) / "kws")
    load_mid = load_average()
    print(json.dumps({k: kws[k] for k in ("policy_overhead", "throughput", "timing_split")}, indent=2))
    print(json.dumps({k: v for k, v in kws["memory"].items() if k != "rss_mb_per_trained_child"}))
    cifar = cifar_children(args)
    print(json.dumps({k: cifar[k] for k in ("children_per_hour", "timing_split")}, indent=2))
    result = {
        "benchmark": "machinery",
        "date": started,
        "command": "python "
        + " ".join(shlex.quote(a) for a in [_relative(Path(__file__)), *(argv or sys.argv[1:])]),
        "git_commit": git_commit(),
        "machine": machine(),
        "versions": versions(),
        "load_average": {"start": load_start, "after_kws": load_mid, "end": load_average()},
        "tensorflow_import_s": round(tf_import_s, 2),
        "kws": kws,
        "cifar10": cifar,
        "notes": "one process, measured side by side; the machine was shared with other jobs (load above), "
        "so absolute seconds are for this machine under that load; the shares are the result",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {_relative(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
