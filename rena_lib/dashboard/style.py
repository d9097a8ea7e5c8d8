"""What the dashboard figures share: axis labels of the log's columns, colours per search, titles with provenance."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

import seaborn as sns
from matplotlib.figure import Figure

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


def _palette(names: Iterable[str]) -> dict[str, Any]:
    """One colour per search name: rena and random always the same two, others the next ones."""
    names = list(names)
    fixed = {"rena": sns.color_palette("deep")[0], "random": sns.color_palette("deep")[1]}
    extra = iter(sns.color_palette("deep")[2:])
    return {n: fixed.get(n) or next(extra) for n in names}


def _with_label(title: str, label: str, fig: Figure | None = None) -> str:
    """A figure title with the run's provenance (scale, data) underneath, wrapped to the figure's width."""
    if not label:
        return title
    width = int(fig.get_figwidth() * 10) if fig is not None else 100
    return "\n".join([title, *textwrap.wrap(label, width)])
