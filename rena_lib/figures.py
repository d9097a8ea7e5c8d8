"""The paper's figures drawn from saved results (DataFrames / CSV files), shared by the notebooks and the
report notebook, so every figure can be regenerated without re-running a search."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.figure import Figure

__all__ = ["fig4a", "fig4b", "intensity_scatter", "penalty_curves", "save"]


def save(fig: Figure, path) -> None:
    """Write a figure as PNG (120 dpi, tight)."""
    fig.savefig(path, dpi=120, bbox_inches="tight")


def fig4a(curves: pd.DataFrame, label: str) -> Figure:
    """Best accuracy so far vs searched children, one line per search (columns: searched children,
    performance, search)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    sns.lineplot(
        data=curves, x="searched children", y="performance", hue="search", drawstyle="steps-post", ax=ax
    )
    ax.set(ylabel="best validation accuracy so far")
    ax.set_title(f"Fig. 4a: CIFAR-10 - {label}", fontsize=9)
    fig.tight_layout()
    return fig


def fig4b(curves: pd.DataFrame, label: str, window: int) -> Figure:
    """Reward (rolling mean) and feasible children vs searched children, RENA vs random, over seeds
    (columns: searched children, reward, children meeting both constraints, proposer, seed)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    sns.lineplot(data=curves, x="searched children", y="reward", hue="proposer", ax=axes[0])
    axes[0].set_ylabel(f"reward (mean of the last {window})")
    sns.lineplot(
        data=curves, x="searched children", y="children meeting both constraints", hue="proposer", ax=axes[1]
    )
    seeds = sorted(curves["seed"].unique().tolist())
    fig.suptitle(
        f"Fig. 4b: KWS, size < 0.1M and intensity > 10 FLOPs/byte - {label}, seeds {seeds}", fontsize=9
    )
    fig.tight_layout()
    return fig


def intensity_scatter(table: pd.DataFrame, rho: float, label: str) -> Figure:
    """Our compute intensity vs the paper's for the published architectures (log-log, annotated)."""
    counted = f"{table['convention'].iloc[0].replace('_', ' ')}, batch {table['batch_size'].iloc[0]}"
    fig, ax = plt.subplots(figsize=(6, 4.5))
    points = table.reset_index().assign(source="Table " + table["table"].astype(str).values)
    sns.scatterplot(
        data=points, x="paper_intensity", y="intensity", hue="source", style="source", s=60, ax=ax,
        palette="deep",
    )  # fmt: skip
    for name, row in table.iterrows():
        ax.annotate(
            str(name).split(" [")[0][:22], (row.paper_intensity, row.intensity), fontsize=6,
            xytext=(3, 2), textcoords="offset points",
        )  # fmt: skip
    ax.set(
        xscale="log", yscale="log", xlabel="paper intensity (FLOPs/byte)",
        ylabel=f"ours, {counted} (FLOPs/byte)",
    )  # fmt: skip
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        axis.set_minor_formatter(ticker.NullFormatter())
    ax.set_title(f"Compute intensity, Spearman {rho:.2f}\n{label}", fontsize=9)
    fig.tight_layout()
    return fig


def penalty_curves(label: str, ps=(0.5, 0.7, 0.9, 0.99)) -> Figure:
    """The Eq. 3 reward factor vs U/C for a "<" and a ">" constraint, one line per base penalty p."""
    from rena_lib import reward

    u = np.linspace(0.05, 3, 300)
    rows = []
    for p in ps:
        for direction in ("<", ">"):
            c = reward.Constraint("params" if direction == "<" else "intensity", direction, 1.0)
            for x in u:
                factor = reward.reward(1.0, {c.metric: x}, [c], p=p)
                rows.append({"U / C": x, "p": p, "constraint": f"U {direction} C", "reward factor": factor})
    g = sns.relplot(
        data=pd.DataFrame(rows), x="U / C", y="reward factor", hue="p", col="constraint", kind="line",
        height=3.2, aspect=1.3, palette="viridis",
    )  # fmt: skip
    for ax in g.axes.flat:
        ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    g.figure.suptitle(f"Eq. 3 soft penalty ({label})", y=1.04, fontsize=9)
    return g.figure
