"""The paper's experiments as a few calls: evaluators by name, one search per constraint set, the tables
and curves of Tables 1-2 and Fig. 4 computed from saved search logs (so figures regenerate without search).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rena_lib.arch.spec import Spec
from rena_lib.evaluation import EvalResult, Evaluator, safe_evaluate
from rena_lib.executors import Executor
from rena_lib.search import SearchConfig, SearchLog, check_directory, run_search

__all__ = [
    "ANYTIME_STATS",
    "SURROGATE_DIR",
    "anytime_curves",
    "anytime_table",
    "best_so_far",
    "feasibility_summary",
    "feasible_so_far",
    "fig4a_curves",
    "fig4b_curves",
    "load_logs",
    "make_evaluator",
    "retrain",
    "run_searches",
    "slug",
    "summary_table",
]

EVALUATORS = ("surrogate", "proxy", "train")
#: the committed surrogate of real KWS trainings (scripts/fit_surrogate.py writes it)
SURROGATE_DIR = Path(__file__).resolve().parent.parent / "results" / "cpu" / "surrogate"


def make_evaluator(
    name: str,
    task: str,
    scale: str = "smoke",
    data_dir: str | os.PathLike | None = None,
    split_salt: str = "",
    with_test: bool = False,
    max_seconds: float | None = None,
) -> Evaluator:
    """An evaluator by name: "surrogate" (fitted on real trainings), "proxy" (a stand-in) or "train".

    "surrogate" (KWS only) scores a child by the committed surrogate of real trainings (SURROGATE_DIR,
    rena_lib.surrogate: validation accuracy at the KWS search budget, deterministic by spec; no data is
    read, nothing is trained). "proxy" is rena_lib.proxy, a hand-written formula that trains nothing: a
    test double, kept for CIFAR-10, which has no surrogate yet.
    "train" trains every child at the scale's budget (Budget.smoke / Budget.cpu / Budget.paper) and loads
    its validation data at once, so a missing or broken dataset fails here, before any search starts.
    max_seconds caps each child's training time (Budget.max_seconds). KWS children read an augmentation
    bank drawn once per process at smoke and cpu scale; at paper scale (the full dataset, 46 epochs: a
    bank would not fit in memory) they augment online.
    """
    if name == "proxy":
        from rena_lib.proxy import ProxyEvaluator

        return ProxyEvaluator()
    if name == "surrogate":
        if task != "kws":
            raise ValueError(
                f"there is no surrogate for task {task!r}: the committed surrogate models real KWS trainings "
                "only; use evaluator 'train' (real training) or 'proxy' (a labelled stand-in)"
            )
        from rena_lib.surrogate import Surrogate, SurrogateEvaluator

        return SurrogateEvaluator(Surrogate.load(SURROGATE_DIR))
    if name != "train":
        raise ValueError(f"unknown evaluator {name!r}; choose one of {EVALUATORS}")
    from rena_lib.training import Budget, CifarEvaluator, KwsEvaluator

    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    budget = getattr(Budget, scale)(task).replace(max_seconds=max_seconds)
    if task == "kws":
        augmentation = "online" if scale == "paper" else "bank"
        return KwsEvaluator(
            budget, data_dir, split_salt=split_salt, with_test=with_test, augmentation=augmentation
        ).prepare()
    if task == "cifar10":
        return CifarEvaluator(budget, data_dir, with_test=with_test).prepare()
    raise ValueError(f"unknown task {task!r}")


SCALES = ("smoke", "cpu", "paper")


def slug(name: str) -> str:
    """A file-system-safe name for a search ("size < 0.1M" -> "size_lt_0.1M")."""
    s = name.replace("<", "lt").replace(">", "gt").replace(",", "")
    return re.sub(r"[^A-Za-z0-9.]+", "_", s).strip("_") or "search"


IF_EXISTS = ("error", "overwrite", "resume")


def run_searches(
    configs: Mapping[str, SearchConfig],
    evaluator: Evaluator,
    root: str | os.PathLike,
    executor: Executor | None = None,
    if_exists: str = "error",
    progress: bool = False,
) -> dict[str, SearchLog]:
    """Run one search per named config into root/<slug(name)>/.

    if_exists says what happens to a search directory that is already there: "error" (the default: nothing
    is lost), "overwrite" (search again; the old search is moved aside to root/.<slug>.replaced and
    deleted only once the new one has its first checkpoint, else put back) or "resume" (continue it; a
    finished search is simply read back; a search not there yet is started).
    Every config, name and directory is checked before any file is touched.
    """
    if if_exists not in IF_EXISTS:
        raise ValueError(f"if_exists must be one of {IF_EXISTS}, got {if_exists!r}")
    if not isinstance(configs, Mapping) or not configs:
        raise ValueError(f"configs must be a non-empty dict of name -> SearchConfig, got {configs!r}")
    if not callable(evaluator):
        raise ValueError(f"evaluator must be callable (spec -> EvalResult), got {type(evaluator).__name__}")
    root = Path(root)
    directories: dict[str, Path] = {}
    for name, config in configs.items():
        if not isinstance(name, str):
            raise ValueError(f"search names must be strings, got {name!r}")
        directory = root / slug(name)
        clash = [other for other, d in directories.items() if d == directory]
        if clash:
            raise ValueError(f"searches {clash[0]!r} and {name!r} would share the directory {directory}")
        try:
            if not isinstance(config, SearchConfig):
                raise ValueError(f"expected a SearchConfig, got {type(config).__name__}")
            config.validate()
        except ValueError as exc:
            raise ValueError(f"search {name!r}: {exc}; nothing was run or changed") from exc
        directories[name] = directory
    if if_exists == "error":
        taken = [str(d) for d in directories.values() if d.exists()]
        if taken:
            raise ValueError(
                f"search directories already exist: {taken}; pass if_exists='resume' or 'overwrite'"
            )
    for name, directory in directories.items():
        try:
            if if_exists == "overwrite":
                aside = _aside(directory)
                if aside.exists():
                    raise ValueError(
                        f"{aside} is left from an overwrite that was cut short: it may hold the only copy "
                        f"of a search. Move it back to {directory} or delete it, then run again"
                    )
            else:
                resume = if_exists == "resume" and (directory / "config.json").exists()
                check_directory(configs[name], directory, resume)
        except ValueError as exc:
            raise ValueError(f"search {name!r} ({directory}): {exc}; nothing was run or changed") from exc
    logs = {}
    for name, config in configs.items():
        directory = directories[name]
        run = dict(executor=executor, progress=progress)
        if if_exists == "overwrite" and directory.exists():
            logs[name] = _overwrite(config, evaluator, directory, run)
        else:
            resume = if_exists == "resume" and (directory / "config.json").exists()
            logs[name] = run_search(config, evaluator, directory, resume=resume, **run)
    return logs


def _aside(directory: Path) -> Path:
    return directory.with_name(f".{directory.name}.replaced")


def _overwrite(config: SearchConfig, evaluator: Evaluator, directory: Path, run: dict[str, Any]) -> SearchLog:
    """Search again into directory: the old search is set aside and deleted once the new one has started."""
    aside = _aside(directory)
    directory.rename(aside)
    started = False

    def drop_old() -> None:
        nonlocal started
        started = True
        shutil.rmtree(aside)

    try:
        return run_search(config, evaluator, directory, on_started=drop_old, **run)
    except BaseException:
        if not started:  # the new search did not start cleanly: put the old one back
            shutil.rmtree(directory, ignore_errors=True)
            aside.rename(directory)
        raise


def load_logs(root: str | os.PathLike, names: Sequence[str]) -> dict[str, SearchLog]:
    """The saved search logs root/<slug(name)>/ of the named searches."""
    return {name: SearchLog(Path(root) / slug(name)) for name in names}


def summary_table(logs: Mapping[str, SearchLog], gflops_batch: int = 256) -> pd.DataFrame:
    """One row per search: its constraints, children searched and feasible, and its best feasible child."""
    rows = []
    for name, log in logs.items():
        df = log.to_dataframe()
        best = log.best(feasible_only=True)
        cons = [f"{c['metric']} {c['direction']} {c['bound']:g}" for c in (log.config.constraints or [])]
        row: dict[str, Any] = {
            "search": name,
            "constraints": ", ".join(cons) or "-",
            "children": len(df),
            "feasible": int(df["feasible"].sum()) if len(df) else 0,
            "failed": int(df["failed"].sum()) if len(df) else 0,
        }
        if best is not None:
            row.update(
                architecture=best["notation"],
                params=int(best["params"]),
                gflops_x256=best["flops"] * gflops_batch / 1e9,
                intensity=best["intensity"],
                performance=best["performance"],
                child_id=int(best["child_id"]),
            )
        rows.append(row)
    return pd.DataFrame(rows).set_index("search")


def retrain(specs: Mapping[str, Spec | None], evaluator: Evaluator) -> pd.DataFrame:
    """Train each named spec once more with the evaluator: validation and test accuracy, epochs, time."""
    rows = []
    for name, spec in specs.items():
        if spec is None:
            rows.append({"search": name, "failed": True, "reason": "no feasible child"})
            continue
        r: EvalResult = safe_evaluate(evaluator, spec)
        rows.append(
            {
                "search": name,
                "val_accuracy": r.performance,
                "test_accuracy": r.test_accuracy,
                "epochs": r.epochs,
                "wall_time": r.wall_time,
                "failed": r.failed,
                "reason": r.reason,
            }
        )
    return pd.DataFrame(rows).set_index("search")


def best_so_far(log: SearchLog, column: str = "performance", feasible_only: bool = False) -> pd.Series:
    """Best value of column among the first n children, for n = 1..len(log) (Fig. 4a).

    Failed children (and infeasible ones, with feasible_only) are not counted; the best so far carries
    over them. NaN only before the first counted child.
    """
    df = log.to_dataframe()
    values = df[column].where(~df["failed"], np.nan)
    if feasible_only:
        values = values.where(df["feasible"], np.nan)
    best = values.cummax().ffill()  # cummax leaves NaN at uncounted children: carry the best over them
    return best.rename(column).reset_index(drop=True).set_axis(np.arange(1, len(df) + 1))


def feasible_so_far(log: SearchLog) -> pd.Series:
    """Number of children meeting every constraint among the first n children (Fig. 4b)."""
    df = log.to_dataframe()
    ok = (df["feasible"] & ~df["failed"]).astype(int)
    return ok.cumsum().rename("feasible").reset_index(drop=True).set_axis(np.arange(1, len(df) + 1))


def fig4a_curves(logs: Mapping[str, SearchLog]) -> pd.DataFrame:
    """Best accuracy so far per search (columns: searched children, performance, search)."""
    return pd.concat(
        [
            best_so_far(log).rename_axis("searched children").reset_index().assign(search=name)
            for name, log in logs.items()
        ],
        ignore_index=True,
    )


def fig4b_curves(logs: Mapping[str, SearchLog], window: int) -> pd.DataFrame:
    """Per search named "<variant> seed <k>": rolling reward and feasible count vs searched children."""
    frames = []
    for name, log in logs.items():
        variant, _, seed = name.rpartition(" seed ")
        if not variant or not seed.isdigit():
            raise ValueError(f"search name {name!r} is not of the form '<variant> seed <k>'")
        df = log.to_dataframe()
        frames.append(
            pd.DataFrame(
                {
                    "searched children": np.arange(1, len(df) + 1),
                    "reward": df["reward"].rolling(window, min_periods=1).mean().values,
                    "children meeting both constraints": feasible_so_far(log).values,
                    "proposer": variant,
                    "seed": int(seed),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def feasibility_summary(logs: Mapping[str, SearchLog], last: int = 100) -> pd.DataFrame:
    """Per search: children, the first feasible child (1-based), feasible share of the last children, best."""
    rows = []
    for name, log in logs.items():
        df = log.to_dataframe()
        feasible = (df["feasible"] & ~df["failed"]).to_numpy()
        best = log.best(feasible_only=True)
        rows.append(
            {
                "search": name,
                "children": len(df),
                "first feasible child": int(feasible.argmax()) + 1 if feasible.any() else None,
                f"feasible in last {last} (%)": 100 * feasible[-min(last, len(df)) :].mean(),
                "best feasible accuracy": None if best is None else best["performance"],
                "best feasible architecture": None if best is None else best["notation"],
            }
        )
    return pd.DataFrame(rows).set_index("search")


#: the anytime statistics of NAS benchmarking practice (NAS-Bench-201, NASLib), per searched children
ANYTIME_STATS = ("best feasible reward", "best feasible accuracy", "feasible per 50")


def anytime_curves(logs: Mapping[str, Sequence[SearchLog]], per: int = 50) -> pd.DataFrame:
    """Per strategy (name -> one log per seed) and searched children n: median and interquartile range over
    seeds of the best feasible reward and accuracy among the first n children, and of the feasible
    children among the `per` children ending at n (the window is shorter before n = per)."""
    if not isinstance(per, int) or isinstance(per, bool) or per < 1:
        raise ValueError(f"per must be a positive int, got {per!r}")
    frames = []
    for strategy, seeds in logs.items():
        if not seeds:
            raise ValueError(f"strategy {strategy!r} has no search logs")
        per_seed = []
        for log in seeds:
            df = log.to_dataframe()
            feasible = df["feasible"].astype(bool) & ~df["failed"].astype(bool)
            per_seed.append(
                pd.DataFrame(
                    {
                        ANYTIME_STATS[0]: best_so_far(log, "reward", feasible_only=True).to_numpy(),
                        ANYTIME_STATS[1]: best_so_far(log, feasible_only=True).to_numpy(),
                        ANYTIME_STATS[2]: feasible.astype(int).rolling(per, min_periods=1).sum().to_numpy(),
                    }
                )
            )
        n = min(len(f) for f in per_seed)  # the children every seed has searched
        for stat in ANYTIME_STATS:
            values = np.stack([f[stat].to_numpy()[:n] for f in per_seed])  # seeds x children
            with np.errstate(all="ignore"):
                q = np.nanquantile(np.where(np.isnan(values), -np.inf, values), [0.25, 0.5, 0.75], axis=0)
            q = np.where(np.isinf(q), np.nan, q)  # a quantile among seeds with nothing feasible yet
            frames.append(
                pd.DataFrame(
                    {
                        "strategy": strategy,
                        "statistic": stat,
                        "searched children": np.arange(1, n + 1),
                        "q25": q[0],
                        "median": q[1],
                        "q75": q[2],
                        "seeds": len(per_seed),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def _g(value: float) -> str:
    # a quartile of seeds that have found nothing feasible yet is "none", not "nan"
    return "none" if np.isnan(value) else f"{value:.3g}"


def anytime_table(curves: pd.DataFrame, at: Sequence[int] = (100, 200, 400)) -> pd.DataFrame:
    """The anytime curves read at a few budgets: "median [q25, q75]" per strategy and statistic ("none" where
    that quartile of seeds has no feasible child yet)."""
    rows = []
    for (strategy, stat), g in curves.groupby(["strategy", "statistic"], sort=False):
        row = {"strategy": strategy, "statistic": stat, "seeds": int(g["seeds"].iloc[0])}
        for n in at:
            hit = g[g["searched children"] == n]
            row[f"at {n}"] = (
                None
                if hit.empty or np.isnan(hit["median"].iloc[0])
                else f"{_g(hit['median'].iloc[0])} [{_g(hit['q25'].iloc[0])}, {_g(hit['q75'].iloc[0])}]"
            )
        rows.append(row)
    table = pd.DataFrame(rows).set_index(["strategy", "statistic"])
    return table.astype(object).where(table.notna(), None)  # None, not NaN, where nothing was reached
