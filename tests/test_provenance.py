"""Provenance: where results and figures go (RENA_RESULTS_DIR / RENA_FIGURES_DIR), labels and score names."""

import json

import pytest

from rena_lib import analysis, provenance
from rena_lib.provenance import run_provenance, score_label


def test_results_and_figures_follow_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RENA_RESULTS_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("RENA_FIGURES_DIR", str(tmp_path / "f"))
    assert provenance.results_dir("05_x", "smoke") == tmp_path / "r" / "smoke" / "05_x"
    assert (tmp_path / "r" / "smoke" / "05_x").is_dir()
    assert provenance.figure_path("fig4a", "paper") == tmp_path / "f" / "fig4a_paper.png"
    assert (tmp_path / "f").is_dir()


def test_without_the_environment_results_and_figures_are_the_checkouts(monkeypatch):
    monkeypatch.delenv("RENA_RESULTS_DIR", raising=False)
    monkeypatch.delenv("RENA_FIGURES_DIR", raising=False)
    assert provenance.results_root() == provenance.ROOT / "results"
    assert provenance.figures_root() == provenance.ROOT / "figures"


def test_the_test_session_never_points_at_the_checkout():
    # conftest.py (or the Makefile) sends every test's results and figures to a temporary directory
    assert provenance.results_root() != provenance.ROOT / "results"
    assert provenance.figures_root() != provenance.ROOT / "figures"


def test_score_labels_say_what_produced_the_number():
    assert score_label("proxy") == "proxy score"
    shared = "shared development subset (RENA_DATA_DIR)"
    assert (
        score_label("train", "smoke", shared)
        == "validation accuracy (real training, smoke budget, shared subset)"
    )
    assert score_label("train", "paper", "full datasets (Keras download cache)") == (
        "validation accuracy (real training, paper budget, full datasets (Keras download cache))"
    )
    assert score_label("train", "cpu") == "validation accuracy (real training, cpu budget)"  # data not given
    assert score_label("surrogate") == "surrogate accuracy (fitted on real trainings, search budget)"
    assert run_provenance("smoke", evaluator="surrogate").label() == "scale: smoke, evaluator: surrogate"
    with pytest.raises(ValueError, match="'proxy', 'surrogate' or 'train'"):
        score_label("oracle")


def test_the_data_label_appears_only_where_data_is_read(monkeypatch, tmp_path):
    shared = tmp_path / "subset"
    (shared / "speech_commands" / "yes").mkdir(parents=True)
    (shared / "speech_commands" / "yes" / "0a7c2a8d_nohash_0.wav").touch()
    monkeypatch.setenv("RENA_DATA_DIR", str(shared))
    assert run_provenance("smoke", reads_data=False).label() == "scale: smoke"
    proxy = run_provenance("smoke", evaluator="proxy")
    assert (proxy.label(), proxy.score) == ("scale: smoke, evaluator: proxy", "proxy score")
    trained = run_provenance("smoke", evaluator="train")
    assert (
        trained.label() == "scale: smoke, data: shared development subset (RENA_DATA_DIR), evaluator: train"
    )
    assert trained.score == "validation accuracy (real training, smoke budget, shared subset)"
    both = run_provenance("smoke", evaluator="search: proxy + latency; export: training", scored_by="proxy")
    assert (
        both.score == "proxy score" and both.data
    )  # the export read data; the search scores are the proxy's
    assert run_provenance("smoke", evaluator="something else").score == ""
    own = run_provenance("smoke", tmp_path / "mine", evaluator="train")
    assert own.data == "data_dir (mine)" and "shared" not in own.score
    assert str(tmp_path) not in own.label()  # no machine path in a label
    full = tmp_path / "shared" / "data" / "speech_commands" / "yes"  # judged by content, not by its path
    full.mkdir(parents=True)
    for i in range(1000):
        (full / f"{i:08x}_nohash_0.wav").touch()
    monkeypatch.setenv("RENA_DATA_DIR", str(tmp_path / "shared" / "data"))
    assert run_provenance("smoke", evaluator="train").data == "RENA_DATA_DIR (data)"
    with pytest.raises(ValueError, match="scale must be"):
        run_provenance("huge")


def test_saved_provenance_reads_back_as_label_and_score(tmp_path):
    prov = run_provenance("smoke", evaluator="proxy")
    prov.save(tmp_path / "05_cifar10_searches")
    assert analysis.saved_label(tmp_path, "05_cifar10_searches") == "scale: smoke, evaluator: proxy"
    assert analysis.saved_score(tmp_path, "05_cifar10_searches") == "proxy score"
    old = tmp_path / "07_x"
    old.mkdir()
    (old / "provenance.json").write_text(json.dumps({"scale": "smoke", "data": "", "evaluator": "train"}))
    with pytest.raises(ValueError, match="does not say what its scores are"):
        analysis.saved_score(tmp_path, "07_x")
    with pytest.raises(FileNotFoundError, match=r"run notebooks/02_resource_metrics.ipynb"):
        analysis.saved_label(tmp_path, "02_resource_metrics")
