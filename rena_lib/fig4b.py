"""The Fig. 4b setting as plain data: one constraint pair, the strategies compared, the cpu-scale FLOPs cap.

Section 5.2.2: the KWS layer space (Table 4), the FC (1,12) baseline, params < 0.1M and intensity > 10,
episodes of 5 steps x 10 trajectories, top-10. The real-data searches (scripts/real_search.py), the
surrogate study (scripts/surrogate_study.py), the RENA settings sweep (scripts/rena_sweep.py) and
notebook 07 all build their searches here, so they compare the same thing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rena_lib.evaluation import EvalResult, Evaluator
from rena_lib.search import SearchConfig, SearchLog
from rena_lib.search.reuse import trained_here

__all__ = [
    "CONSTRAINTS",
    "MAX_FLOPS",
    "PAPER_RENA_FEASIBLE_AFTER",
    "STRATEGIES",
    "STUDY",
    "FlopsCap",
    "anytime_rows",
    "best_feasible_children",
    "children_per_episode",
    "claims_table",
    "config",
    "read_searches",
    "summarize_search",
]

CONSTRAINTS = ["params < 0.1M", "intensity > 10"]

#: children above this many FLOPs per example are not trained (a failed child, reward 0, reason logged):
#: the paper trains every child; on 2 CPU cores one 160-MFLOP child takes about half an hour at the search
#: budget, and random edits from FC (1,12) reach tens of GFLOPs (DS-CNN has 22 MFLOPs, Table 2's
#: "size < 0.1M, intensity > 10" row 46 MFLOPs)
MAX_FLOPS = 50e6

#: section 5.2.2: RENA's children meet both constraints after about this many children (random search:
#: none in 400)
PAPER_RENA_FEASIBLE_AFTER = 120

#: name -> SearchConfig overrides on SearchConfig.paper("kws"): the strategies of the real-data searches.
#: RENA at the paper's settings; RENA at the setting a small sweep on the surrogate chose (rena_tuned:
#: scripts/rena_sweep.py, results/cpu/surrogate_study/rena_sweep.json: lr 0.0006 / 0.002 / 0.006 x 1 or 10
#: Adam steps per episode, 5 seeds x 200 children; lr 0.002 with one step ranked first, by a margin within
#: the spread over seeds; chosen once, not per seed); random search (footnote 4); regularized evolution
#: with a population and tournament scaled to a few hundred children (Real et al.'s 100 / 25 are for
#: budgets of thousands: here 20 / 5, so that 90% of the budget is evolved rather than initial samples)
STRATEGIES: dict[str, dict[str, Any]] = {
    "rena": {"proposer": "rena"},
    "rena_tuned": {"proposer": "rena", "learning_rate": 0.002, "updates_per_episode": 1},
    "random": {"proposer": "random"},
    "evolution": {"proposer": "evolution", "proposer_options": {"population": 20, "sample": 5}},
}

#: the surrogate study's strategies: the real searches' and TPE
STUDY: dict[str, dict[str, Any]] = {**STRATEGIES, "tpe": {"proposer": "tpe"}}


class FlopsCap:
    """An evaluator that declines children above max_flops per example and evaluates the others."""

    def __init__(self, evaluator: Evaluator, max_flops: float = MAX_FLOPS):
        self.evaluator, self.max_flops = evaluator, max_flops

    def __call__(self, spec: Any) -> EvalResult:
        """The wrapped evaluator's result, or a failure naming the FLOPs and the cap."""
        from rena_lib.metrics import measure

        flops = measure(spec)["flops"]
        if flops > self.max_flops:
            return EvalResult.failure(
                f"not trained: {flops / 1e6:.1f} MFLOPs per example, above the cpu-scale search's cap of "
                f"{self.max_flops / 1e6:g} MFLOPs"
            )
        return self.evaluator(spec)


def children_per_episode() -> int:
    """Children in one episode of the Fig. 4b setting (the paper's 5 steps x 10 trajectories)."""
    base = SearchConfig.paper("kws", constraints=CONSTRAINTS)
    return base.episode_size * base.batch_size


def config(
    strategy: str, seed: int, children: int, strategies: dict[str, dict[str, Any]] | None = None
) -> SearchConfig:
    """The SearchConfig of one search: Fig. 4b's setting, `children` children, a strategy of `strategies`."""
    table = STUDY if strategies is None else strategies
    if strategy not in table:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {sorted(table)}")
    per_episode = children_per_episode()
    if not isinstance(children, int) or children < per_episode or children % per_episode:
        raise ValueError(
            f"children must be a positive multiple of {per_episode} (one episode), got {children}"
        )
    return SearchConfig.paper(
        "kws", constraints=CONSTRAINTS, seed=seed, episodes=children // per_episode, **table[strategy]
    )


def read_searches(root: str | os.PathLike[str]) -> dict[str, list[SearchLog]]:
    """strategy -> its searches' logs (one per seed), read from root/<strategy>-seed<k>/ directories."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no searches at {root}")
    found: dict[str, list[SearchLog]] = {}
    for directory in sorted(root.glob("*-seed*"), key=lambda d: (d.name.rsplit("-seed", 1)[0], _seed(d))):
        if (directory / "log.jsonl").exists():
            found.setdefault(directory.name.rsplit("-seed", 1)[0], []).append(SearchLog(directory))
    return found


def curve_searches(searches: Mapping[str, Sequence[SearchLog]]) -> dict[str, list[SearchLog]]:
    """Per strategy, the searches that reached their planned children, or its longest one where none has.

    The anytime curves stop at a strategy's shortest search, so a search still running (a seed with a few
    children) would cut its strategy's curve short; it shows in the per-search tables, not in the curves.
    A search without a config.json has no planned size and counts as complete; empty searches are left out.
    """
    chosen = {}
    for strategy, logs in searches.items():
        logs = [log for log in logs if len(log)]
        if logs:
            done = [log for log in logs if log.config is None or len(log) >= log.config.total_children]
            chosen[strategy] = done or [max(logs, key=len)]
    return chosen


def _seed(directory: Path) -> int:
    tail = directory.name.rsplit("-seed", 1)[1]
    return int(tail) if tail.isdigit() else -1


def summarize_search(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What one search found: children, trained, failed, feasible, best feasible reward and accuracy, when
    (first_feasible_child counts children from 1, as claims_table does: child_id 0 is the 1st)."""
    ok = [r for r in records if not r["failed"]]
    feasible = [r for r in ok if r["feasible"]]
    best = max(feasible, key=lambda r: r["reward"], default=None)
    return {
        "children": len(records),
        "trained": sum(1 for r in ok if trained_here(r)),
        "reused_from_other_searches": sum(1 for r in ok if not r["cached"] and not trained_here(r)),
        "failed": len(records) - len(ok),
        "not_trained_above_flops_cap": sum(
            1 for r in records if (r["reason"] or "").startswith("not trained:")
        ),
        "feasible": len(feasible),
        "first_feasible_child": min((r["child_id"] + 1 for r in feasible), default=None),
        "best_feasible_reward": None if best is None else round(best["reward"], 4),
        "best_feasible_val_accuracy": None if best is None else round(best["performance"], 4),
        "best_feasible_test_accuracy": None if best is None else best.get("test_accuracy"),
        "best_feasible": None if best is None else best["notation"],
        "best_val_accuracy": round(max((r["performance"] for r in ok), default=0.0), 4),
        "training_hours": round(sum(r["wall_time"] for r in records) / 3600, 3),
    }


def best_feasible_children(searches: Mapping[str, Sequence[SearchLog]], top: int = 1) -> list[dict[str, Any]]:
    """The `top` best feasible children of every search (best-child rule), one row per distinct spec,
    best first, with the searches that found it and its accuracies at the search budget."""
    if not isinstance(top, int) or isinstance(top, bool) or top < 1:
        raise ValueError(f"top must be an int >= 1, got {top!r}")
    rows: dict[str, dict[str, Any]] = {}
    for logs in searches.values():
        for log in logs:
            for rec in SearchLog.ranked(log.records, feasible_only=True)[:top]:
                row = rows.setdefault(rec["spec_key"], {
                    "spec_key": rec["spec_key"], "notation": rec["notation"], "spec": rec["spec"],
                    "params": rec["params"], "flops": rec["flops"], "intensity": rec["intensity"],
                    "search_val_accuracy": rec["performance"], "search_test_accuracy": rec.get("test_accuracy"),
                    "found_by": [],
                })  # fmt: skip
                row["found_by"].append(f"{log.directory.name} child {rec['child_id'] + 1}")
    return sorted(rows.values(), key=lambda r: (-r["search_val_accuracy"], r["spec_key"]))


def anytime_rows(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """experiments.anytime_table's rows keyed "<strategy> / <statistic>", ready for JSON."""
    return {f"{s} / {stat}": row for (s, stat), row in table.to_dict("index").items()}


def claims_table(
    searches: Mapping[str, Sequence[SearchLog]], after: int = PAPER_RENA_FEASIBLE_AFTER
) -> pd.DataFrame:
    """Per search, what the paper's two claims look at: its first feasible child and its feasible children
    within the first `after` children and after them (failed children are never feasible)."""
    rows = []
    for strategy, logs in searches.items():
        for log in logs:
            df = log.to_dataframe()
            feasible = (df["feasible"].astype(bool) & ~df["failed"].astype(bool)).to_numpy()
            rows.append({
                "strategy": strategy,
                "search": log.directory.name,
                "children": len(df),
                "first feasible child": int(feasible.argmax()) + 1 if feasible.any() else None,
                f"feasible in children 1-{after}": int(feasible[:after].sum()),
                f"feasible after child {after}": int(feasible[after:].sum()),
                "feasible share after (%)": round(100 * float(feasible[after:].mean()), 1)
                if len(df) > after else None,
            })  # fmt: skip
    table = pd.DataFrame(rows).set_index("search")
    table["first feasible child"] = table["first feasible child"].astype("Int64")  # None stays <NA>
    return table
