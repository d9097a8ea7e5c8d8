"""Figures: saved and shown by one call, labelled with what produced the numbers, references drawn."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from rena_lib import figures


def small_figure():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return fig


def test_show_saves_and_only_saves_outside_ipython(tmp_path, capsys):
    path = tmp_path / "f_smoke.png"
    figures.show(small_figure(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out == ""  # no "<IPython.core.display.Image object>" printed


def test_show_displays_the_saved_png_with_its_name(tmp_path, monkeypatch):
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append((obj, kw)))
    fig = small_figure()
    path = tmp_path / "g_smoke.png"
    figures.show(fig, path)
    ((image, kw),) = shown
    assert image.data == path.read_bytes() and image.format == "png"
    assert kw == {"metadata": {"rena_figure": "g_smoke.png"}}
    assert not plt.fignum_exists(fig.number)  # closed: an inline backend shows no second copy


def curves_4b():
    rows = []
    for proposer in ("RENA", "random"):
        for seed in (0, 1, 2):
            for n in range(1, 201):
                rows.append({"searched children": n, "reward": 0.5 + seed * 0.01, "proposer": proposer,
                             "children meeting both constraints": n // (10 + seed), "seed": seed})  # fmt: skip
    return pd.DataFrame(rows)


def test_fig4b_explains_its_band_and_draws_the_papers_reference():
    fig = figures.fig4b(curves_4b(), "scale: test", window=10)
    title = fig._suptitle.get_text()
    assert "mean over seeds" in title and "min to max over seeds" in title and "seeds [0, 1, 2]" in title
    right = fig.axes[1]
    assert [line.get_xdata()[0] for line in right.lines if line.get_linestyle() == ":"] == [120]
    assert any("~120" in t.get_text() for t in right.texts)
    assert right.collections, "the band over seeds is drawn"
    bare = figures.fig4b(curves_4b(), "scale: test", window=10, paper_first_feasible=None)
    assert not bare.axes[1].texts
    plt.close("all")


def test_fig4a_names_the_score():
    curves = pd.DataFrame({"searched children": [1, 2], "performance": [0.1, 0.2], "search": ["a", "a"]})
    assert figures.fig4a(curves, "scale: test").axes[0].get_ylabel() == "best proxy score so far"
    trained = figures.fig4a(curves, "scale: test", "validation accuracy (real training, smoke budget)")
    assert trained.axes[0].get_ylabel() == "best validation accuracy (real training, smoke budget) so far"
    plt.close("all")


def test_policy_decisions_marks_the_sampled_option():
    probs = [np.array([0.2, 0.5, 0.3]), np.array([0.6, 0.4])]
    decisions = [
        {"kind": "scale", "head": "channels", "choice": 1, "layer": 1},
        {"kind": "action", "head": "action", "choice": 0, "layer": None},
    ]
    fig = figures.policy_decisions(probs, decisions, {"channels": (4, 8, 16)}, "title")
    left, right = fig.axes
    red = [p.get_facecolor() for p in left.patches]
    assert red[1] != red[0] and red[0] == red[2]
    assert [t.get_text() for t in left.get_xticklabels()] == ["4", "8", "16"]
    assert left.get_title() == "scale: channels (layer 1)" and right.get_title() == "action: action"
    with pytest.raises(ValueError, match="no decisions"):
        figures.policy_decisions([], [], {}, "title")
    plt.close("all")


def test_anytime_figure_draws_median_and_iqr_per_strategy():
    rows = []
    for strategy, level in (("random", 0.3), ("rena", 0.5)):
        for stat in ("best feasible reward", "feasible per 50"):
            for n in range(1, 11):
                rows.append({"strategy": strategy, "statistic": stat, "searched children": n, "q25": level - 0.1,
                             "median": level, "q75": level + 0.1, "seeds": 3})  # fmt: skip
    fig = figures.anytime(pd.DataFrame(rows), "test double")
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["best feasible reward", "feasible per 50"]
    assert [line.get_label() for line in axes[0].get_lines()] == ["random (3)", "rena (3)"]
    assert np.allclose(axes[0].get_lines()[1].get_ydata(), 0.5) and len(axes[0].collections) == 2  # two bands
    assert "test double" in fig._suptitle.get_text()
    plt.close(fig)
