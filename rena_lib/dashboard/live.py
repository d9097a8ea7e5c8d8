"""LiveDashboard: the dashboard figures of a running search, redrawn in place in a notebook as its log grows."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from rena_lib.analysis import load_log
from rena_lib.dashboard.constraints import constraints_of
from rena_lib.dashboard.controller import controller_figure
from rena_lib.dashboard.frames import _frames
from rena_lib.dashboard.pareto import pareto_figure
from rena_lib.dashboard.saving import _png, save_figures


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
    ) -> list[Path]:
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
