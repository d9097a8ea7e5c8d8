"""The controller dashboard: what the policy is learning, and where the children fall against the constraints.

Everything reads a search log (a directory with log.jsonl and policy_log.jsonl, a SearchLog, or a
DataFrame of its records), so the same plots work live during a search and later on saved results.

* :func:`controller_figure`: reward per child, mean return-to-go against the baseline b(s_t) per step
  and episode (Eq. 1-2), policy entropy per decision kind, the actions taken per episode, and progress
  (best accuracy, feasible children) of RENA and random search.
* :func:`pareto_figure`: accuracy against each constrained resource (params, FLOPs, intensity, and any
  other constrained metric the log holds, e.g. latency_ms), constraint lines, feasible children filled
  and infeasible ones hollow, and the Pareto front of every log marked; RENA and random on the same axes.
* :class:`LiveDashboard`: redraws the same figures in place in a notebook while a search runs (one
  display per figure, updated through its display id), as a callback or by polling the log files.

Figures are built with matplotlib's object API (no pyplot state), so nothing is shown twice in a notebook
and tests can inspect the returned Figure's artists: constraint lines carry the gid
``"constraint:<metric>"``, Pareto fronts ``"pareto:<name>"``, children ``"children:<name>:feasible"``.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rena_lib.analysis import load_log, load_policy_log

__all__ = [
    "RESOURCES",
    "LiveDashboard",
    "constraints_of",
    "controller_figure",
    "dashboard",
    "latency_figure",
    "load_log",
    "load_policy_log",
    "pareto_figure",
    "pareto_front",
    "save_figures",
]

#: the paper's three resources, plotted against accuracy
RESOURCES = ("params", "flops", "intensity")
#: resources where more is better (for the Pareto front) unless a constraint says otherwise
_MORE_IS_BETTER = {"intensity"}
_LABELS = {
    "params": "parameters",
    "flops": "FLOPs per example",
    "intensity": "compute intensity (FLOPs/byte)",
    "size_bytes": "model size (bytes)",
    "bytes_accessed": "bytes accessed",
    "latency_ms": "TFLite latency, batch 1 (ms)",
    "ram_bytes_int8": "peak RAM, int8 activations (bytes)",
    "ram_bytes_float32": "peak RAM, float32 activations (bytes)",
    "flash_bytes": "flash, int8 weights (bytes)",
    "performance": "validation accuracy",
    "test_accuracy": "test accuracy",
}
_CONSTRAINT_COLOR = "crimson"
_CONSTRAINT_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*([<>])\s*([0-9.eE+\-]+)\s*([kKMGT]?)\s*$")
_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def _triple(c: Any) -> tuple[str, str, float]:
    """(metric, direction, bound) of a Constraint, a "params < 0.1M" string, a dict or a tuple."""
    if hasattr(c, "metric") and hasattr(c, "direction") and hasattr(c, "bound"):
        return c.metric, c.direction, float(c.bound)
    if isinstance(c, str):
        m = _CONSTRAINT_RE.match(c)
        if m is None:
            raise ValueError(f"cannot parse constraint {c!r}; expected e.g. 'params < 100000'")
        metric, direction, number, suffix = m.groups()
        return metric, direction, float(number) * _SUFFIX[suffix]
    if isinstance(c, Mapping):
        return str(c["metric"]), str(c["direction"]), float(c["bound"])
    metric, direction, bound = c
    return str(metric), str(direction), float(bound)


def constraints_of(log: Any) -> list[tuple[str, str, float]]:
    """The constraints (metric, direction, bound) of a search directory's config.json or a SearchLog."""
    config = getattr(log, "config", None)
    if config is not None:
        config = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    elif isinstance(log, str | os.PathLike) and (Path(log) / "config.json").exists():
        config = json.loads((Path(log) / "config.json").read_text())
    else:
        return []
    raw = config.get("constraints") or []
    if isinstance(raw, str | Mapping):
        raw = [raw]
    return [_triple(c) for c in raw]


def _frames(logs: Any, name: str = "rena") -> dict[str, pd.DataFrame]:
    """{name: children} of one log or a mapping of logs; one log with both proposers is split by proposer."""
    if isinstance(logs, Mapping):
        return {str(k): load_log(v) for k, v in logs.items()}
    df = load_log(logs)
    if "proposer" in df and df["proposer"].nunique() > 1:
        return {str(p): g for p, g in df.groupby("proposer", sort=False)}
    if "proposer" in df and len(df):
        name = str(df["proposer"].iloc[0])
    return {name: df}


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    """Children that were built and trained (not failed)."""
    return df[~df["failed"].fillna(False).astype(bool)] if "failed" in df else df


def _palette(names: Iterable[str]) -> dict[str, Any]:
    names = list(names)
    fixed = {"rena": sns.color_palette("deep")[0], "random": sns.color_palette("deep")[1]}
    extra = iter(sns.color_palette("deep")[2:])
    return {n: fixed.get(n) or next(extra) for n in names}


# --------------------------------------------------------------------------------------------------
# Pareto views
# --------------------------------------------------------------------------------------------------
def pareto_front(df: pd.DataFrame, x: str, y: str = "performance", x_better: str = "min") -> pd.DataFrame:
    """The rows no other row dominates (y higher and x better or equal), sorted by x."""
    if x_better not in ("min", "max"):
        raise ValueError(f"x_better must be 'min' or 'max', got {x_better!r}")
    d = _ok(df)[[x, y]].dropna() if len(df) else pd.DataFrame(columns=[x, y])
    if d.empty:
        return df.iloc[0:0]
    sign = 1.0 if x_better == "min" else -1.0
    order = sorted(d.index, key=lambda i: (sign * float(d.at[i, x]), -float(d.at[i, y])))
    keep, best = [], -math.inf
    for i in order:
        if float(d.at[i, y]) > best:
            keep.append(i)
            best = float(d.at[i, y])
    return df.loc[keep].sort_values(x)


def _better(metric: str, constraints: list[tuple[str, str, float]]) -> str:
    for m, direction, _ in constraints:
        if m == metric:
            return "max" if direction == ">" else "min"
    return "max" if metric in _MORE_IS_BETTER else "min"


def pareto_figure(
    logs: Any,
    constraints: Iterable[Any] = (),
    *,
    resources: Iterable[str] | None = None,
    y: str = "performance",
    fig: Figure | None = None,
    title: str | None = None,
    label: str = "",
    score: str | None = None,
) -> Figure:
    """Accuracy vs each resource: constraint lines, feasible (filled) / infeasible (hollow), Pareto fronts.

    logs: one log (split by proposer if it holds several) or {"rena": log, "random": log}.
    resources default to params, FLOPs, intensity plus any other constrained metric the logs hold.
    score names what y is (e.g. "proxy score"; default: "validation accuracy").
    """
    cons = [_triple(c) for c in constraints]
    frames = _frames(logs)
    cols = set().union(*(f.columns for f in frames.values())) if frames else set()
    res = list(resources) if resources is not None else list(RESOURCES)
    if resources is None:
        res += [m for m, _, _ in cons if m not in res and m in cols]
    fig = fig or Figure(figsize=(4.6 * len(res), 4.0), layout="constrained")
    colors = _palette(frames)
    axes = fig.subplots(1, len(res), squeeze=False)[0]
    with sns.axes_style("whitegrid"):
        for ax, metric in zip(axes, res, strict=True):
            _pareto_axis(ax, frames, metric, y, cons, colors)
    axes[0].set_ylabel(score or _LABELS.get(y, y))
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, text in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(text, h)
    handles, labels = list(seen.values()), list(seen)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False)
    n = sum(len(f) for f in frames.values())
    what = (score or "accuracy").capitalize()
    fig.suptitle(_with_label(title or f"{what} vs resources ({n} children)", label, fig))
    return fig


def _pareto_axis(ax, frames, metric, y, cons, colors) -> None:
    ax.set_axisbelow(True)
    ax.grid(True, alpha=0.3)
    xs_all = []
    for name, df in frames.items():
        d = _ok(df)
        if metric not in d or y not in d or d.empty:
            continue
        d = d.dropna(subset=[metric, y])
        feas = d["feasible"].fillna(False).astype(bool) if "feasible" in d else pd.Series(True, d.index)
        c = colors[name]
        ax.scatter(d.loc[feas, metric], d.loc[feas, y], s=22, color=c, alpha=0.85, label=f"{name}: feasible",
                   gid=f"children:{name}:feasible")  # fmt: skip
        ax.scatter(d.loc[~feas, metric], d.loc[~feas, y], s=22, facecolors="none", edgecolors=c, alpha=0.6,
                   label=f"{name}: infeasible", gid=f"children:{name}:infeasible")  # fmt: skip
        front = pareto_front(d, metric, y, _better(metric, cons))
        if len(front):
            ax.plot(front[metric], front[y], drawstyle="steps-post" if _better(metric, cons) == "min" else "steps-pre",
                    color=c, lw=1.4, marker="*", ms=10, mec="black", mew=0.6, label=f"{name}: Pareto front",
                    gid=f"pareto:{name}")  # fmt: skip
        xs_all.extend(d[metric].tolist())
    for m, direction, bound in cons:
        if m != metric:
            continue
        ax.axvline(bound, color=_CONSTRAINT_COLOR, ls="--", lw=1.5, gid=f"constraint:{m}",
                   label=f"constraint {m} {direction} {bound:g}")  # fmt: skip
        span = (
            (bound, max([*xs_all, bound]) * 10) if direction == "<" else (min([*xs_all, bound]) / 10, bound)
        )
        ax.axvspan(*span, color=_CONSTRAINT_COLOR, alpha=0.06, lw=0, gid=f"infeasible:{m}")
        xs_all.append(bound)
    positive = [v for v in xs_all if v is not None and v > 0]
    if positive and len(positive) == len(xs_all) and max(positive) / min(positive) > 50:
        ax.set_xscale("log")  # resources spread over decades
    if positive:
        lo, hi = min(positive), max(positive)
        pad = (hi / lo) ** 0.08 if ax.get_xscale() == "log" else None
        ax.set_xlim(lo / pad, hi * pad) if pad else ax.set_xlim(
            lo - 0.05 * (hi - lo + 1), hi + 0.05 * (hi - lo + 1)
        )
    arrow = {"min": "lower is better", "max": "higher is better"}[_better(metric, cons)]
    ax.set_xlabel(f"{_LABELS.get(metric, metric)} ({arrow})")
    ax.set_title(_LABELS.get(metric, metric))


def latency_figure(
    table: pd.DataFrame,
    predictors: Iterable[str] = ("flops", "intensity"),
    *,
    target: str = "latency_ms",
    fig: Figure | None = None,
    title: str | None = None,
    label: str = "",
) -> Figure:
    """Measured latency against each predictor (one panel each), Spearman's rho in every panel title.

    table: rena_lib.latency.latency_table (or any frame with the predictor and target columns; a
    "proposer" column colours the points).
    """
    from rena_lib.latency import rank_correlation

    preds = list(predictors)
    rc = rank_correlation(table, preds, target)
    fig = fig or Figure(figsize=(4.6 * len(preds), 4.0), layout="constrained")
    axes = fig.subplots(1, len(preds), squeeze=False)[0]
    groups = (
        dict(tuple(table.groupby("proposer", sort=False))) if "proposer" in table else {"children": table}
    )
    colors = _palette(groups)
    for ax, name in zip(axes, preds, strict=True):
        ax.grid(True, alpha=0.3)
        for g, d in groups.items():
            ax.scatter(d[name], d[target], s=24, alpha=0.8, color=colors[g], label=str(g), gid=f"latency:{g}")
        values = table[[name, target]].dropna()
        if len(values) and (values > 0).all().all():
            ax.set_xscale("log")
            ax.set_yscale("log")
        rho, n = rc.loc[name, "spearman_rho"], int(rc.loc[name, "n"])
        ax.set(xlabel=_LABELS.get(name, name), ylabel=_LABELS.get(target, target))
        ax.set_title(f"Spearman rho = {rho:.2f} (n = {n})", fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle(_with_label(title or "Do FLOPs and compute intensity predict measured latency?", label, fig))
    return fig


# --------------------------------------------------------------------------------------------------
# the controller
# --------------------------------------------------------------------------------------------------
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


def controller_figure(
    log: Any,
    policy_log: Any = None,
    *,
    random_log: Any = None,
    fig: Figure | None = None,
    title: str | None = None,
    label: str = "",
    score: str | None = None,
) -> Figure:
    """Six panels on what the controller learns: rewards, returns vs b(s_t), entropy, actions, progress.

    score names what the children's performance is (e.g. "proxy score"; default: "accuracy").
    """
    what = score or "accuracy"
    frames = _frames(log)
    if random_log is not None:
        frames.update(_frames({"random": random_log}))
    main_name = "rena" if "rena" in frames else next(iter(frames))
    main = frames[main_name]
    policy = load_policy_log(policy_log if policy_log is not None else log)
    colors = _palette(frames)
    fig = fig or Figure(figsize=(15, 8), layout="constrained")
    with sns.axes_style("whitegrid"):
        axes = fig.subplots(2, 3)
    ax_r, ax_b, ax_e, ax_ops, ax_types, ax_p = axes.ravel()

    for name, df in frames.items():  # reward of every child, in search order
        if "reward" in df and len(df):
            d = df.sort_values("child_id") if "child_id" in df else df
            ax_r.scatter(np.arange(1, len(d) + 1), d["reward"], s=8, alpha=0.35, color=colors[name])
            roll = d["reward"].rolling(max(3, len(d) // 20), min_periods=1).mean()
            ax_r.plot(
                np.arange(1, len(d) + 1), roll, color=colors[name], lw=1.6, label=name, gid=f"reward:{name}"
            )
    ax_r.set(title="Reward (Eq. 3) per child", xlabel="searched children", ylabel="reward")
    ax_r.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_r.legend(loc="lower right", fontsize=8)

    rtg, base = _returns_to_go(main), _baselines(policy)
    steps = sorted(set(rtg["step"]).union(base["step"])) if len(rtg) or len(base) else []
    pal = dict(zip(steps, sns.color_palette("viridis", max(len(steps), 1)), strict=False))
    for t in steps:
        r, b = rtg[rtg["step"] == t], base[base["step"] == t]
        ax_b.plot(
            r["episode"],
            r["return"],
            color=pal[t],
            lw=1.4,
            marker="o",
            ms=3,
            label=f"t={t}",
            gid=f"return:{t}",
        )
        ax_b.plot(b["episode"], b["baseline"], color=pal[t], lw=1.2, ls="--", gid=f"baseline:{t}")
    ax_b.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_b.set(
        title="Return-to-go (solid) vs baseline b(s_t) (dashed)",
        xlabel="episode",
        ylabel="sum of rewards from t",
    )
    if steps:
        ax_b.legend(fontsize=7, ncols=2, title="step", title_fontsize=7)

    ent = _entropies(policy)
    for i, (kind, g) in enumerate(ent.groupby("kind", sort=False)):
        ax_e.plot(g["episode"], g["entropy"], marker="o", ms=3, lw=1.5, color=sns.color_palette("dark")[i % 10],
                  label=str(kind), gid=f"entropy:{kind}")  # fmt: skip
    ax_e.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_e.set(title="Policy entropy per decision kind", xlabel="episode", ylabel="entropy (nats)")
    if len(ent):
        ax_e.legend(fontsize=8)
    else:
        ax_e.text(
            0.5, 0.5, "no policy log (random search?)", ha="center", va="center", transform=ax_e.transAxes
        )

    ops, types = _action_counts(main)
    _stacked(ax_ops, ops, f"Actions per episode ({main_name})", "op", "Set2")
    _stacked(ax_types, types, f"Inserted layer types per episode ({main_name})", "type", "tab10")

    for name, df in frames.items():
        p = _progress(df)
        ax_p.plot(p["searched"], p["best_feasible"], color=colors[name], lw=1.8, label=f"{name}: best feasible",
                  gid=f"best:{name}")  # fmt: skip
    ax_p.set(title=f"Best feasible {what} and feasible children", xlabel="searched children", ylabel=what)
    ax_p.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_f = ax_p.twinx()
    for name, df in frames.items():
        p = _progress(df)
        ax_f.plot(p["searched"], p["feasible"], color=colors[name], lw=1.2, ls=":", label=f"{name}: # feasible",
                  gid=f"feasible:{name}")  # fmt: skip
    ax_f.set_ylabel("feasible children (dotted)")
    ax_f.yaxis.set_major_locator(MaxNLocator(integer=True))
    if not any(_progress(df)["feasible"].iloc[-1] if len(df) else 0 for df in frames.values()):
        ax_p.text(0.5, 0.5, "no feasible child yet", ha="center", va="center", transform=ax_p.transAxes)
    ax_f.grid(False)
    h1, l1 = ax_p.get_legend_handles_labels()
    h2, l2 = ax_f.get_legend_handles_labels()
    ax_p.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower right")
    n = sum(len(f) for f in frames.values())
    fig.suptitle(_with_label(title or f"Controller dashboard ({n} children)", label, fig))
    return fig


def _with_label(title: str, label: str, fig: Figure | None = None) -> str:
    """A figure title with the run's provenance (scale, data) underneath, wrapped to the figure's width."""
    if not label:
        return title
    width = int(fig.get_figwidth() * 10) if fig is not None else 100
    return "\n".join([title, *textwrap.wrap(label, width)])


def _stacked(ax, counts: pd.DataFrame, title: str, what: str, palette: str) -> None:
    ax.set(title=title, xlabel="episode", ylabel="count")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if counts.empty:
        ax.text(0.5, 0.5, f"no {what} recorded", ha="center", va="center", transform=ax.transAxes)
        return
    bottom = np.zeros(len(counts))
    colors = sns.color_palette(palette, len(counts.columns))
    for color, col in zip(colors, counts.columns, strict=True):
        ax.bar(
            counts.index,
            counts[col],
            bottom=bottom,
            color=color,
            label=str(col),
            width=0.8,
            gid=f"{what}:{col}",
        )
        bottom += counts[col].to_numpy()
    ax.legend(fontsize=7, ncols=2)


# --------------------------------------------------------------------------------------------------
# both at once, saving, live
# --------------------------------------------------------------------------------------------------
def dashboard(
    log: Any,
    *,
    random_log: Any = None,
    constraints: Iterable[Any] | None = None,
    y: str = "performance",
    label: str = "",
    score: str | None = None,
) -> dict[str, Figure]:
    """{"controller": ..., "pareto": ...} figures of a search log (constraints default to its config.json).

    label (e.g. Provenance.label(): scale and data) goes under every figure's title; score (e.g.
    Provenance.score: "proxy score") names the children's performance on the axes.
    """
    cons = list(constraints) if constraints is not None else constraints_of(log)
    logs: dict[str, Any] = dict(_frames(log))
    if random_log is not None:
        logs.update(_frames({"random": random_log}))
    return {
        "controller": controller_figure(log, random_log=random_log, label=label, score=score),
        "pareto": pareto_figure(logs, cons, y=y, label=label, score=score),
    }


def save_figures(
    figs: Mapping[str, Figure],
    name: str = "dashboard",
    *,
    scale: str = "smoke",
    directory: str | os.PathLike | None = None,
) -> list[Path]:
    """Save each figure as PNG: figures/<name>_<key>_<scale>.png (or into directory); returns the paths."""
    paths = []
    for key, fig in figs.items():
        if directory is None:
            from rena_lib.provenance import figure_path

            path = figure_path(f"{name}_{key}", scale)
        else:
            Path(directory).mkdir(parents=True, exist_ok=True)
            path = Path(directory) / f"{name}_{key}_{scale}.png"
        fig.savefig(path, dpi=110)
        paths.append(path)
    return paths


def _png(fig: Figure, dpi: int = 80) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


class LiveDashboard:
    """Redraws the dashboard of a running search in place: one notebook output per figure, updated.

    In a notebook: ``log = LiveDashboard(dir).run(run_search, config, evaluator, dir)`` runs the search in
    a background thread and redraws from the log files as they grow. It is also a callback (any call
    arguments are ignored and the log files re-read, at most every min_interval seconds) for a loop that
    takes one, and :meth:`watch` polls a search running elsewhere (another process, a Ray cluster).
    :meth:`finish` draws a last time and saves to figures/.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike,
        *,
        random_log: Any = None,
        constraints: Iterable[Any] | None = None,
        figures: Iterable[str] = ("controller", "pareto"),
        min_interval: float = 2.0,
        display: bool | None = None,
        dpi: int = 80,
        label: str = "",
        score: str | None = None,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.random_log = random_log
        self.constraints = None if constraints is None else list(constraints)
        self.kinds = tuple(figures)
        unknown = set(self.kinds) - {"controller", "pareto"}
        if unknown:
            raise ValueError(f"unknown dashboard figures {sorted(unknown)}; choose controller and/or pareto")
        self.min_interval = min_interval
        self.label = label
        self.score = score
        self.dpi = dpi
        self.figures: dict[str, Figure] = {}
        self.handles: dict[str, Any] = {}
        self.updates = 0
        self._last = -math.inf
        self._display = _in_notebook() if display is None else display

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        """Callback form: redraw if min_interval has passed since the last redraw."""
        self.update()

    def _draw(self) -> None:
        log_file = self.log_dir / "log.jsonl"
        if not log_file.exists():
            return
        df = load_log(self.log_dir)
        if df.empty:
            return
        cons = self.constraints if self.constraints is not None else constraints_of(self.log_dir)
        for kind in self.kinds:
            fig = self.figures.get(kind)
            if fig is None:
                size = (15, 8) if kind == "controller" else (14, 4)
                fig = self.figures[kind] = Figure(figsize=size, layout="constrained")
            fig.clear()
            if kind == "controller":
                controller_figure(
                    df, self.log_dir, random_log=self.random_log, fig=fig, label=self.label, score=self.score
                )
            else:
                logs = dict(_frames(df))
                if self.random_log is not None:
                    logs.update(_frames({"random": self.random_log}))
                pareto_figure(logs, cons, fig=fig, label=self.label, score=self.score)

    def update(self, force: bool = False) -> dict[str, Figure]:
        """Re-read the log and redraw every figure in place (throttled unless force); returns the figures."""
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return self.figures
        self._last = now
        self._draw()
        self.updates += 1
        if self._display and self.figures:
            from IPython.display import Image, display

            for kind, fig in self.figures.items():
                image = Image(data=_png(fig, self.dpi), format="png")
                if kind in self.handles:
                    self.handles[kind].update(image)
                else:
                    self.handles[kind] = display(image, display_id=True)
        return self.figures

    def watch(
        self, interval: float = 5.0, timeout: float | None = None, until: Callable[[], bool] | None = None
    ) -> dict[str, Figure]:
        """Poll the log files, redrawing when they change, until `until()` is true or timeout seconds pass."""
        start, seen = time.monotonic(), None
        while True:
            files = [self.log_dir / "log.jsonl", self.log_dir / "policy_log.jsonl"]
            stamp = tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in files)
            if stamp != seen:
                seen = stamp
                self.update(force=True)
            if (until is not None and until()) or (
                timeout is not None and time.monotonic() - start >= timeout
            ):
                return self.figures
            wake = time.monotonic() + interval
            while time.monotonic() < wake and not (until is not None and until()):
                time.sleep(min(0.1, interval))

    def run(self, fn: Callable[..., Any], *args: Any, interval: float = 2.0, **kwargs: Any) -> Any:
        """Call fn(*args, **kwargs) (e.g. run_search) in a background thread, redrawing while it runs.

        A notebook cell runs one thing at a time, so this is how a blocking search shows live figures
        from the same cell. Returns fn's result (re-raising its exception) after a final redraw.
        """
        import threading

        out: dict[str, Any] = {}

        def target() -> None:
            try:
                out["result"] = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller below
                out["error"] = exc

        thread = threading.Thread(target=target, name="rena-live-dashboard", daemon=True)
        thread.start()
        self.watch(interval=interval, until=lambda: not thread.is_alive())
        thread.join()
        self.update(force=True)
        if "error" in out:
            raise out["error"]
        return out.get("result")

    def finish(
        self, name: str = "dashboard", *, scale: str = "smoke", directory: str | os.PathLike | None = None
    ):
        """Draw one last time and save the figures (figures/<name>_<kind>_<scale>.png); returns the paths."""
        self.update(force=True)
        return save_figures(self.figures, name, scale=scale, directory=directory)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")
