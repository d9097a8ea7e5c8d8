"""The paper's figures drawn from saved results (DataFrames / CSV files), shared by the notebooks and the
report notebook, so every figure can be regenerated without re-running a search.

Notebooks hand every figure to :func:`show`, which saves it (figures/, see rena_lib.provenance) and
displays the saved PNG inline in the same call: the Makefile exports ``MPLBACKEND=Agg``, under which
``plt.show()`` shows nothing, so a figure that is only saved would never appear in the notebook.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.figure import Figure

__all__ = [
    "PAPER_FIRST_FEASIBLE",
    "fig4a",
    "fig4b",
    "intensity_scatter",
    "penalty_curves",
    "policy_decisions",
    "ram_timeline",
    "save",
    "show",
    "training_curve",
]

#: Fig. 4b / section 5.2.2: RENA's children meet both constraints after about this many searched children
PAPER_FIRST_FEASIBLE = 120


def save(fig: Figure, path: str | os.PathLike) -> None:
    """Write a figure as PNG (120 dpi, tight)."""
    fig.savefig(path, dpi=120, bbox_inches="tight")


def show(fig: Figure, path: str | os.PathLike) -> None:
    """Save a figure as PNG (see save) and display that PNG inline when running under IPython, then close it.

    The displayed output carries {"rena_figure": <file name>} in its metadata, so a test can check that
    every figure a notebook saves is also shown in it. Outside IPython the figure is only saved.
    """
    path = Path(path)
    save(fig, path)
    plt.close(fig)  # no second copy from an inline backend
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:  # pragma: no cover - IPython comes with the notebook extras
        return
    if get_ipython() is not None:
        display(Image(data=path.read_bytes(), format="png"), metadata={"rena_figure": path.name})


def fig4a(curves: pd.DataFrame, label: str, score: str = "proxy score") -> Figure:
    """Best score so far vs searched children, one line per search (columns: searched children,
    performance, search); score names what the performance numbers are (Provenance.score)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    sns.lineplot(
        data=curves, x="searched children", y="performance", hue="search", drawstyle="steps-post", ax=ax
    )
    ax.set(ylabel=f"best {score} so far")
    ax.set_title(f"Fig. 4a: CIFAR-10 - {label}", fontsize=9)
    fig.tight_layout()
    return fig


def fig4b(
    curves: pd.DataFrame, label: str, window: int, paper_first_feasible: int | None = PAPER_FIRST_FEASIBLE
) -> Figure:
    """Reward (rolling mean) and feasible children vs searched children, RENA vs random, over seeds
    (columns: searched children, reward, children meeting both constraints, proposer, seed).

    Lines are the mean over seeds, bands the range (min to max) over seeds; a dotted vertical line marks
    the paper's ~120 children to RENA's first feasible child (paper_first_feasible=None leaves it out).
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9))
    band = ("pi", 100)  # the whole range over seeds: with 3 seeds a confidence interval means little
    sns.lineplot(data=curves, x="searched children", y="reward", hue="proposer", errorbar=band, ax=axes[0])
    axes[0].set_ylabel(f"reward (mean of the last {window})")
    sns.lineplot(
        data=curves, x="searched children", y="children meeting both constraints", hue="proposer",
        errorbar=band, ax=axes[1],
    )  # fmt: skip
    if paper_first_feasible is not None:
        ax = axes[1]
        ax.axvline(paper_first_feasible, color="k", ls=":", lw=1)
        ax.annotate(
            f"paper: RENA feasible\nafter ~{paper_first_feasible} children", (paper_first_feasible, 1.0),
            xycoords=("data", "axes fraction"), xytext=(4, -4), textcoords="offset points", va="top", fontsize=7,
        )  # fmt: skip
    seeds = sorted(curves["seed"].unique().tolist())
    fig.suptitle(
        f"Fig. 4b: KWS, size < 0.1M and intensity > 10 FLOPs/byte - {label}, seeds {seeds}\n"
        "lines: mean over seeds; bands: min to max over seeds",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def anytime(
    curves: pd.DataFrame, label: str, paper_first_feasible: int | None = PAPER_FIRST_FEASIBLE
) -> Figure:
    """Fig. 4b in the style of NAS benchmarks: per strategy, the median over seeds (line) and interquartile
    range (band) of each anytime statistic against children searched (experiments.anytime_curves)."""
    stats = list(dict.fromkeys(curves["statistic"]))
    fig, axes = plt.subplots(1, len(stats), figsize=(4.2 * len(stats), 3.6), squeeze=False)
    palette = dict(zip(dict.fromkeys(curves["strategy"]), sns.color_palette("tab10"), strict=False))
    for ax, stat in zip(axes[0], stats, strict=True):
        for strategy, g in curves[curves["statistic"] == stat].groupby("strategy", sort=False):
            color = palette[strategy]
            ax.plot(
                g["searched children"],
                g["median"],
                color=color,
                lw=1.3,
                label=f"{strategy} ({g['seeds'].iloc[0]})",
            )
            ax.fill_between(g["searched children"], g["q25"], g["q75"], color=color, alpha=0.2, lw=0)
        ax.set_xlabel("searched children")
        ax.set_ylabel(stat)
        if paper_first_feasible is not None and stat != stats[0]:
            ax.axvline(paper_first_feasible, color="k", ls=":", lw=1)
    axes[0][0].legend(fontsize=7, title="strategy (seeds)", title_fontsize=7)
    fig.suptitle(
        f"Fig. 4b: KWS, size < 0.1M and intensity > 10 FLOPs/byte - {label}\n"
        "lines: median over seeds; bands: interquartile range; dotted: the paper's ~120 children",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def policy_decisions(
    probs: Sequence[Sequence[float]],
    decisions: Sequence[Mapping[str, Any]],
    features: Mapping[str, Sequence[Any]],
    title: str,
    first: int = 6,
) -> Figure:
    """Bar charts of the policy's p.m.f. for the first decisions of a proposal, the sampled option in red.

    probs[i] are the probabilities of decision i's options, decisions[i] its record (kind, head, choice,
    layer); features maps a head to its allowed values, used as tick labels when they match the options.
    """
    show_ = list(range(min(first, len(probs))))
    if not show_:
        raise ValueError("no decisions to draw")
    fig, axes = plt.subplots(1, len(show_), figsize=(2.2 * len(show_), 2.6), sharey=True, squeeze=False)
    for ax, i in zip(axes[0], show_, strict=True):
        d = decisions[i]
        p = list(probs[i])
        ax.bar(range(len(p)), p, color=["C3" if j == d["choice"] else "C0" for j in range(len(p))])
        where = f" (layer {d['layer']})" if d.get("layer") else ""
        ax.set_title(f"{d['kind']}: {d['head']}{where}", fontsize=8)
        values = features.get(d["head"], ())
        if len(values) == len(p):
            ax.set_xticks(range(len(values)), [str(v) for v in values], fontsize=7)
        ax.set_xlabel("value")
    axes[0][0].set_ylabel("probability")
    fig.suptitle(title, fontsize=8)
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


def penalty_curves(label: str, ps: Sequence[float] = (0.5, 0.7, 0.9, 0.99)) -> Figure:
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


def training_curve(history: dict[str, list[float]], title: str, label: str) -> Figure:
    """Training loss and accuracy per epoch of one child (EvalResult.extras["history"]), two panels."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.4))
    epochs = range(1, len(history["loss"]) + 1)
    ax1.plot(epochs, history["loss"], marker="o")
    ax1.set(xlabel="epoch", ylabel="training loss (cross-entropy)")
    ax2.plot(epochs, history["accuracy"], marker="o", color="C1")
    ax2.axhline(1 / 12, color="grey", linestyle=":", label="chance (1/12)")
    ax2.set(xlabel="epoch", ylabel="training accuracy", ylim=(0, 1))
    ax2.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"{title}\n{label}", fontsize=9)
    fig.tight_layout()
    return fig


def ram_timeline(peak: Any, title: str, label: str) -> Figure:
    """Live activation bytes after each op of a schedule (rena_lib.memory.peak_ram), the peak op in red."""
    sched = pd.DataFrame(peak.schedule, columns=["op", "kind", "live_bytes"])
    fig, ax = plt.subplots(figsize=(9, 3.2), layout="constrained")
    ax.bar(
        range(len(sched)),
        sched["live_bytes"],
        color=["crimson" if o == peak.op else "steelblue" for o in sched["op"]],
    )
    ax.set_xticks(range(len(sched)), sched["kind"], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("live activation bytes")
    ax.set_title(f"{title}\n{label}", fontsize=9)
    return fig
