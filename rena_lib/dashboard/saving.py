"""Dashboard figures as PNG: files under figures/ (or a folder), or bytes for a notebook display."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure


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
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
