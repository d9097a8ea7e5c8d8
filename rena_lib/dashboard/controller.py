"""The controller figure: rewards, returns-to-go against the baseline b(s_t), entropy, actions, progress."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rena_lib.analysis import load_policy_log
from rena_lib.dashboard.controller_tables import (
    _action_counts,
    _baselines,
    _entropies,
    _progress,
    _returns_to_go,
)
from rena_lib.dashboard.frames import _frames
from rena_lib.dashboard.style import _palette, _with_label


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
