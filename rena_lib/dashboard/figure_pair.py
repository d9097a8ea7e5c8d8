"""Both dashboard figures of a search log at once (controller and Pareto), constraints from its config."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from matplotlib.figure import Figure

from rena_lib.dashboard.constraints import constraints_of
from rena_lib.dashboard.controller import controller_figure
from rena_lib.dashboard.frames import _frames
from rena_lib.dashboard.pareto import pareto_figure


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
