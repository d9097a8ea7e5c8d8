"""What the controller panels plot, as tables of a log: returns-to-go, baselines, entropies, actions, progress."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd


def _returns_to_go(df: pd.DataFrame) -> pd.DataFrame:
    """Mean return-to-go sum_{t'>=t} r_t' per (episode, step) over the trajectories of the log."""
    need = {"episode", "step", "trajectory", "reward"}
    if not need <= set(df.columns) or df.empty:
        return pd.DataFrame(columns=["episode", "step", "return"])
    d = df.sort_values(["episode", "trajectory", "step"]).copy()
    d["return"] = d.iloc[::-1].groupby(["episode", "trajectory"], sort=False)["reward"].cumsum().iloc[::-1]
    return d.groupby(["episode", "step"], as_index=False)["return"].mean()


def _baselines(policy: pd.DataFrame | None) -> pd.DataFrame:
    """Long table (episode, step, baseline) from the policy log's per-step baseline lists."""
    if policy is None or "baseline" not in policy:
        return pd.DataFrame(columns=["episode", "step", "baseline"])
    rows = []
    for _, r in policy.iterrows():
        b = r["baseline"]
        values = b if isinstance(b, list | tuple | np.ndarray) else [b]
        rows += [{"episode": r["episode"], "step": t, "baseline": float(v)} for t, v in enumerate(values)]
    return pd.DataFrame(rows)


def _entropies(policy: pd.DataFrame | None) -> pd.DataFrame:
    """Long table (episode, kind, entropy) from the policy log's entropy dicts."""
    if policy is None or "entropy" not in policy:
        return pd.DataFrame(columns=["episode", "kind", "entropy"])
    rows = []
    for _, r in policy.iterrows():
        ent = r["entropy"]
        if isinstance(ent, Mapping):
            rows += [{"episode": r["episode"], "kind": k, "entropy": float(v)} for k, v in ent.items()]
        elif ent is not None and not (isinstance(ent, float) and math.isnan(ent)):
            rows.append({"episode": r["episode"], "kind": "all", "entropy": float(ent)})
    return pd.DataFrame(rows)


def _action_counts(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ops per episode, inserted layer types per episode): counts of the actions the log records."""
    ops, types = [], []
    if "actions" not in df:
        return pd.DataFrame(), pd.DataFrame()
    for _, r in df.iterrows():
        acts = r["actions"] if isinstance(r["actions"], list) else []
        for a in acts:
            op = a.get("op", a.get("kind", "?")) if isinstance(a, Mapping) else str(a)
            if op == "scale" and not a.get("changes", True):
                continue
            ops.append({"episode": r.get("episode", 0), "op": op})
            if op == "insert" and isinstance(a.get("layer"), Mapping):
                types.append({"episode": r.get("episode", 0), "type": a["layer"].get("type", "?")})
    count = lambda rows, col: (
        pd.DataFrame(rows).groupby(["episode", col]).size().unstack(fill_value=0) if rows else pd.DataFrame()
    )
    return count(ops, "op"), count(types, "type")


def _progress(df: pd.DataFrame) -> pd.DataFrame:
    """Per searched child (in order): best accuracy so far among feasible children, and feasible count."""
    d = df.sort_values("child_id") if "child_id" in df else df
    feas = d["feasible"].fillna(False).astype(bool) if "feasible" in d else pd.Series(False, d.index)
    failed = d["failed"].fillna(False).astype(bool) if "failed" in d else pd.Series(False, d.index)
    perf = d["performance"].where(feas & ~failed) if "performance" in d else pd.Series(np.nan, d.index)
    return pd.DataFrame(
        {
            "searched": np.arange(1, len(d) + 1),
            "best_feasible": perf.cummax().ffill().to_numpy(),
            "best_reward": d["reward"].cummax().to_numpy() if "reward" in d else np.nan,
            "feasible": feas.cumsum().to_numpy(),
        }
    )
