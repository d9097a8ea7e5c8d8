"""Measured latency against the predictors a search constrains (FLOPs, compute intensity), with Spearman's rho."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from matplotlib.figure import Figure

from rena_lib.dashboard.style import _LABELS, _palette, _with_label


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
