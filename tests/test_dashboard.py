"""The controller dashboard and Pareto views draw from a small saved search log."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from rena_lib import dashboard, spaces
from rena_lib.actions import random_action, replay
from rena_lib.arch import to_paper_notation, validate
from rena_lib.metrics import measure
from rena_lib.reward import Constraint, is_feasible, reward

CONSTRAINTS = ["params < 20000", "intensity > 2"]


def write_search_dir(
    path: Path, *, proposer: str = "rena", seed: int = 0, episodes: int = 3, batch: int = 4, steps: int = 3
) -> Path:
    """A small search directory in the search log format, with real edits of the KWS space.

    Each trajectory starts from the baseline (episode 0) or from one of the top children of the previous
    episode (layer-by-layer search) and applies random actions; performance is a made-up smooth function
    of the metrics, so the log is cheap and deterministic but every spec, key and action is real.
    """
    rng = np.random.default_rng(seed)
    space = spaces.get("kws_layer")
    base = spaces.baseline("kws_layer")
    cons = [Constraint.parse(c) for c in CONSTRAINTS]
    path.mkdir(parents=True, exist_ok=True)
    config = {"space": "kws_layer", "task": "kws", "constraints": CONSTRAINTS, "baseline": base.to_dict()}
    (path / "config.json").write_text(json.dumps(config))
    records, policy, pool = [], [], [base] * batch
    for episode in range(episodes):
        children = []
        for traj in range(batch):
            spec = pool[traj]
            for step in range(steps):
                actions = random_action(space, spec, rng)
                child = replay(spec, actions)
                rec = {
                    "child_id": len(records), "episode": episode, "step": step, "trajectory": traj,
                    "proposer": proposer, "spec": child.to_dict(), "notation": to_paper_notation(child),
                    "spec_key": child.key(), "parent_key": spec.key(), "actions": actions, "cached": False,
                    "wall_time": 0.01, "test_accuracy": None, "reason": None,
                }  # fmt: skip
                try:
                    validate(child)
                    m = measure(child)
                    perf = float(np.clip(0.5 + 0.08 * np.log10(m["params"]) + rng.normal(0, 0.02), 0, 1))
                    rec.update(
                        {k: m[k] for k in ("params", "flops", "size_bytes", "bytes_accessed", "intensity")}
                    )
                    rec.update(performance=perf, reward=reward(perf, m, cons), feasible=is_feasible(m, cons))
                    rec["failed"] = False
                except ValueError as exc:
                    rec.update(performance=0.0, reward=0.0, feasible=False, failed=True, reason=str(exc))
                records.append(rec)
                children.append((rec["reward"], rec["child_id"], child))
                spec = child
        top = sorted(children, key=lambda c: (-c[0], c[1]))[:batch]
        pool = [c[2] for c in top]
        if proposer == "rena":
            policy.append({
                "episode": episode, "loss": float(rng.normal()), "mean_return": float(rng.uniform(1, 2)),
                "baseline": [float(steps - t) * 0.6 for t in range(steps)], "grad_norm": float(rng.uniform()),
                "entropy": {"scale": 1.5 - 0.1 * episode, "insert_remove": 1.0 - 0.1 * episode,
                            "new_layer": 2.0 - 0.2 * episode},
            })  # fmt: skip
    (path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if policy:
        (path / "policy_log.jsonl").write_text("".join(json.dumps(p) + "\n" for p in policy))
    return path


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("search")
    return write_search_dir(root / "rena", seed=0), write_search_dir(
        root / "random", proposer="random", seed=1
    )


def _gids(fig: Figure) -> list[str]:
    return [a.get_gid() for ax in fig.axes for a in ax.get_children() if a.get_gid()]


def test_load_log_reads_directories_files_frames_and_ignores_a_torn_last_line(logs, tmp_path):
    rena, _ = logs
    df = dashboard.load_log(rena)
    assert len(df) == 3 * 4 * 3 and {"reward", "feasible", "actions", "parent_key"} <= set(df.columns)
    assert dashboard.load_log(df) is df
    assert len(dashboard.load_log(rena / "log.jsonl")) == len(df)
    torn = tmp_path / "log.jsonl"
    torn.write_text((rena / "log.jsonl").read_text() + '{"child_id": 99, "epis')
    assert len(dashboard.load_log(torn)) == len(df)
    assert list(dashboard.load_policy_log(rena)["episode"]) == [0, 1, 2]
    assert dashboard.load_policy_log(logs[1]) is None
    assert dashboard.constraints_of(rena) == [("params", "<", 20000.0), ("intensity", ">", 2.0)]


def test_pareto_front_exact():
    df = pd.DataFrame(
        {
            "params": [10, 20, 30, 15, 40, 5],
            "performance": [0.5, 0.7, 0.6, 0.5, 0.9, 0.4],
            "failed": [0] * 5 + [1],
        }
    )
    front = dashboard.pareto_front(df, "params")
    assert list(front["params"]) == [10, 20, 40]  # 15 ties with 10 on accuracy but is bigger; 5 failed
    front = dashboard.pareto_front(df, "params", x_better="max")
    assert list(front["params"]) == [40]
    with pytest.raises(ValueError, match="x_better"):
        dashboard.pareto_front(df, "params", x_better="up")


def test_pareto_figure_has_axes_constraint_lines_and_fronts_for_both_proposers(logs):
    rena, random = logs
    cons = dashboard.constraints_of(rena)
    fig = dashboard.pareto_figure({"rena": rena, "random": random}, cons)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == [
        "parameters",
        "FLOPs per example",
        "compute intensity (FLOPs/byte)",
    ]
    gids = _gids(fig)
    assert gids.count("constraint:params") == 1 and gids.count("constraint:intensity") == 1
    for name in ("rena", "random"):
        assert gids.count(f"pareto:{name}") == 3
        assert gids.count(f"children:{name}:feasible") == 3
    line = next(a for a in axes[0].get_lines() if a.get_gid() == "constraint:params")
    assert line.get_xdata()[0] == 20000.0
    assert axes[0].get_xscale() == "log"
    # the marked front is exactly pareto_front's
    df = dashboard.load_log(rena)
    front = dashboard.pareto_front(df, "params")
    drawn = next(a for a in axes[0].get_lines() if a.get_gid() == "pareto:rena")
    np.testing.assert_array_equal(drawn.get_xdata(), front["params"].to_numpy())
    # feasible children filled, infeasible hollow, every non-failed child drawn once
    ok = df[~df["failed"]]
    pts = {a.get_gid(): len(a.get_offsets()) for a in axes[0].collections if a.get_gid()}
    assert pts["children:rena:feasible"] == int(ok["feasible"].sum())
    assert pts["children:rena:infeasible"] == int((~ok["feasible"]).sum())


def test_a_latency_constraint_adds_its_own_panel(logs):
    df = dashboard.load_log(logs[0]).assign(latency_ms=lambda d: d["flops"] / 1e6)
    fig = dashboard.pareto_figure(df, [*CONSTRAINTS, "latency_ms < 0.5"])
    assert len([ax for ax in fig.axes if ax.get_title()]) == 4
    assert "constraint:latency_ms" in _gids(fig)


def test_controller_figure_panels(logs):
    rena, random = logs
    fig = dashboard.controller_figure(rena, random_log=random)
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 6
    gids = _gids(fig)
    for t in range(3):
        assert f"return:{t}" in gids and f"baseline:{t}" in gids
    assert {"entropy:scale", "entropy:insert_remove", "entropy:new_layer"} <= set(gids)
    assert {"reward:rena", "reward:random", "best:rena", "best:random", "feasible:rena"} <= set(gids)
    ops = {g for g in gids if g.startswith("op:")}
    assert ops and ops <= {"op:scale", "op:insert", "op:remove", "op:keep"}
    # the dashed baseline of step 0 is the policy log's
    base = next(a for ax in fig.axes for a in ax.get_lines() if a.get_gid() == "baseline:0")
    np.testing.assert_allclose(base.get_ydata(), [1.8, 1.8, 1.8])
    # a random-search log alone (no policy log) still draws
    dashboard.controller_figure(random)


def test_returns_to_go_are_suffix_sums():
    df = pd.DataFrame(
        {
            "episode": 0,
            "trajectory": [0, 0, 0, 1, 1, 1],
            "step": [0, 1, 2] * 2,
            "reward": [1, 2, 3, 3, 2, 1.0],
        }
    )
    rtg = dashboard._returns_to_go(df)
    assert list(rtg["return"]) == [6.0, 4.0, 2.0]


def test_dashboard_and_save(logs, tmp_path):
    figs = dashboard.dashboard(logs[0], random_log=logs[1], label="scale: test")
    assert figs["pareto"]._suptitle.get_text().endswith("\nscale: test")
    assert set(figs) == {"controller", "pareto"}
    paths = dashboard.save_figures(figs, "test", directory=tmp_path)
    assert [p.name for p in paths] == ["test_controller_smoke.png", "test_pareto_smoke.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_live_dashboard_redraws_the_same_figures_in_place(logs, tmp_path):
    src = logs[0]
    live_dir = tmp_path / "live"
    live_dir.mkdir()
    (live_dir / "config.json").write_text((src / "config.json").read_text())
    lines = (src / "log.jsonl").read_text().splitlines(keepends=True)
    live = dashboard.LiveDashboard(live_dir, min_interval=0.0, display=False)
    assert live.update() == {}  # no log yet: nothing drawn, no error
    (live_dir / "log.jsonl").write_text("".join(lines[:12]))
    figs = live.update()
    first = dict(figs)
    (live_dir / "log.jsonl").write_text("".join(lines))
    (live_dir / "policy_log.jsonl").write_text((src / "policy_log.jsonl").read_text())
    live(object(), step=3)  # callback form: any arguments
    assert live.figures["controller"] is first["controller"] and live.figures["pareto"] is first["pareto"]
    assert live.figures["controller"]._suptitle.get_text().endswith("(36 children)")
    assert live.updates == 3
    throttled = dashboard.LiveDashboard(live_dir, min_interval=3600, display=False)
    throttled.update()
    throttled()
    assert throttled.updates == 1
    figs = live.watch(interval=0.01, timeout=0.05)
    assert set(figs) == {"controller", "pareto"}
    paths = live.finish("live", directory=tmp_path / "figs")
    assert len(paths) == 2 and all(p.exists() for p in paths)


def test_live_dashboard_in_a_notebook_updates_one_display_per_figure(logs, monkeypatch):
    import IPython.display

    shown, updated = [], []

    class Handle:
        def update(self, obj):
            updated.append(obj)

    def fake_display(obj, display_id=False):
        shown.append(obj)
        return Handle()

    monkeypatch.setattr(IPython.display, "display", fake_display)
    monkeypatch.setattr(dashboard.live, "_png", lambda fig, dpi: b"\x89PNG")  # rendering is tested elsewhere
    live = dashboard.LiveDashboard(logs[0], min_interval=0.0, display=True, dpi=30)
    for _ in range(2):
        live.update()
    assert len(shown) == 2 and len(updated) == 2  # two displays, then updates in place: no flood
    assert all(isinstance(o, IPython.display.Image) for o in shown + updated)


def test_live_dashboard_run_redraws_while_a_blocking_call_writes_the_log(logs, tmp_path):
    src, run_dir = logs[0], tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text((src / "config.json").read_text())
    lines = (src / "log.jsonl").read_text().splitlines(keepends=True)

    def fake_search(chunk: int) -> str:
        for i in range(0, len(lines), chunk):
            with open(run_dir / "log.jsonl", "a") as fh:
                fh.write("".join(lines[i : i + chunk]))
            time.sleep(0.3)
        return "done"

    live = dashboard.LiveDashboard(run_dir, figures=("pareto",), min_interval=0.0, display=False)
    assert live.run(fake_search, 18, interval=0.05) == "done"
    assert live.updates >= 2 and live.figures["pareto"]._suptitle.get_text().endswith("(36 children)")

    def boom() -> None:
        raise RuntimeError("search failed")

    with pytest.raises(RuntimeError, match="search failed"):
        live.run(boom, interval=0.01)


def test_figures_name_the_score_and_wrap_long_labels(logs):
    rena, random = logs
    label = "scale: smoke, data: shared development subset (RENA_DATA_DIR), evaluator: " + "x" * 80
    figs = dashboard.dashboard(rena, random_log=random, label=label, score="proxy score")
    pareto = figs["pareto"]
    assert next(ax.get_ylabel() for ax in pareto.axes if ax.get_ylabel()) == "proxy score"
    assert pareto._suptitle.get_text().startswith("Proxy score vs resources")
    titles = [ax.get_title() for ax in figs["controller"].axes]
    assert "Best feasible proxy score and feasible children" in titles
    # a long provenance label is wrapped to the figure's width, not clipped at its edges
    lat = dashboard.latency_figure(
        pd.DataFrame({"flops": [1.0, 2, 3], "intensity": [3.0, 2, 1], "latency_ms": [1.0, 2, 3]}), label=label
    )
    lines = lat._suptitle.get_text().split("\n")
    assert len(lines) >= 3 and max(len(line) for line in lines[1:]) <= lat.get_figwidth() * 10
    assert " ".join(lines[1:]) == label
    # without a score the wording is the old one
    assert dashboard.pareto_figure(rena).axes[0].get_ylabel() == "validation accuracy"
