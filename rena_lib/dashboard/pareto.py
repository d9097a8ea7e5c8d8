"""Accuracy against resources: the Pareto front of a log's children and the figure of it with constraint lines."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from rena_lib.dashboard.constraints import _triple
from rena_lib.dashboard.frames import _frames, _ok
from rena_lib.dashboard.style import _CONSTRAINT_COLOR, _LABELS, _palette, _with_label

#: the paper's three resources, plotted against accuracy
RESOURCES = ("params", "flops", "intensity")
#: resources where more is better (for the Pareto front) unless a constraint says otherwise
_MORE_IS_BETTER = {"intensity"}


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
