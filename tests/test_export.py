"""Exports round-trip (.keras, TFLite float and int8) and the edit history replays to the exported spec."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_dashboard import write_search_dir

from rena_lib import export
from rena_lib.arch import Spec, build, from_paper_notation
from rena_lib.dashboard import load_log

#: the int8 export may lose at most this much test accuracy against the float Keras model
INT8_MAX_ACCURACY_LOSS = 0.03


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return write_search_dir(tmp_path_factory.mktemp("search") / "rena", seed=0)


def _synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """KWS-shaped inputs whose class is a noisy prototype (learnable in a few epochs by a small model)."""
    rng = np.random.default_rng(seed)
    protos = np.random.default_rng(123).normal(size=(12, 49, 40, 1)).astype(np.float32)
    y = rng.integers(0, 12, n)
    return protos[y] + rng.normal(scale=1.0, size=(n, 49, 40, 1)).astype(np.float32), y


def test_select_child_default_is_the_best_feasible(log):
    df = load_log(log)
    rec = export.select_child(log)
    ok = df[df["feasible"] & ~df["failed"]]
    assert rec["child_id"] == int(ok.loc[ok["performance"].idxmax(), "child_id"])
    assert export.select_child(log, 5)["child_id"] == 5
    with pytest.raises(ValueError, match="not in the log"):
        export.select_child(log, 10_000)
    with pytest.raises(ValueError, match="no feasible"):
        export.select_child(df.assign(feasible=False))
    assert export.best_child(log) == rec
    fallback = export.best_child(df.assign(feasible=False))
    assert fallback["reward"] == df[~df["failed"]]["reward"].max()


def test_edit_history_replayed_on_the_baseline_reproduces_every_child_exactly(log):
    df = load_log(log)
    long_chains = 0
    for _, rec in df.iterrows():
        history = export.edit_history(log, int(rec["child_id"]))
        assert history[0].description == "baseline" and history[0].notation == "FC (1,12)"
        # the chain runs through earlier episodes' children back to the baseline (when a spec was reached
        # more than once, through its first record, so possibly fewer steps than the trajectory took)
        assert 2 <= len(history) <= 1 + 3 * rec["episode"] + rec["step"] + 1
        assert [h.child_id for h in history[1:]] == sorted(h.child_id for h in history[1:])
        long_chains += len(history) > 1 + 3
        assert Spec.from_dict(history[-1].spec) == Spec.from_dict(rec["spec"])
        assert history[-1].notation == rec["notation"] and history[-1].spec_key == rec["spec_key"]
    assert long_chains > 0  # some histories cross episodes
    frame = export.history_frame(history)
    assert list(frame.columns) == ["child_id", "episode", "step", "description", "notation"]


def test_edit_history_detects_a_log_that_does_not_replay(log, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((log / "config.json").read_text())
    records = [json.loads(line) for line in (log / "log.jsonl").read_text().splitlines()]
    records[0]["actions"] = [{"op": "keep"}]  # the first child's edits are lost
    (bad / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(export.HistoryError, match="child 0"):
        export.edit_history(bad, 0)
    (bad / "config.json").write_text("{}")
    with pytest.raises(export.HistoryError, match="baseline"):
        export.edit_history(bad, 1)
    assert export.edit_history(log, 1, baseline=from_paper_notation("FC (1,12)", "kws"))[-1].child_id == 1


def test_describe_action():
    before = from_paper_notation("Conv2d (1,32,4,8,1,3) FC (1,12)", "kws")
    scale = {"op": "scale", "changes": [[1, "channels", 64]]}
    assert export.describe_action(scale, before, before) == "scale L1 channels 32->64"
    layer = {"type": "gru", "num_layers": 2, "channels": 16, "directions": 1, "keep_prob": 1.0, "src1": 1}
    from rena_lib.actions import apply

    ins = {"op": "insert", "position": 2, "layer": layer}
    after = apply(before, ins)
    assert export.describe_action(ins, before, after) == "insert at 2: GRU (2,16,1)"
    assert export.describe_action({"op": "remove", "index": 2}, after, before) == "remove L2: GRU (2,16,1)"


def test_gru_models_convert_unrolled_and_tflite_float_matches_keras():
    spec = from_paper_notation("Conv2d (1,8,4,4,2,2) GRU (1,8,2) FC (1,16)", "kws")
    model = build(spec)
    x = _synthetic(8)[0]
    ready = export.tflite_ready(model)
    assert ready is not model
    np.testing.assert_allclose(ready.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert export.tflite_ready(build(from_paper_notation("FC (1,12)", "kws"))) is not None
    content = export.to_tflite(model)
    np.testing.assert_allclose(
        export.tflite_predict(content, x, batch_size=3), model.predict(x, verbose=0), atol=1e-4
    )
    with pytest.raises(ValueError, match="representative"):
        export.to_tflite(model, "int8")
    with pytest.raises(ValueError, match="quantization"):
        export.to_tflite(model, "int4")


def test_export_round_trips_keras_tflite_float_and_int8(log, tmp_path):
    import keras

    df = load_log(log)
    # a quick-to-train child of the log: no recurrent layers, trained on synthetic data
    ok = df[~df["failed"] & ~df["notation"].str.contains("GRU") & (df["params"] < 50_000)]
    rec = ok.sort_values("params").iloc[-1]
    spec = Spec.from_dict(rec["spec"])
    keras.utils.set_random_seed(0)
    model = build(spec)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    x, y = _synthetic(900)
    model.fit(x[:600], y[:600], epochs=4, batch_size=64, verbose=0)
    with pytest.raises(ValueError, match="weights"):
        export.export_child(
            log, tmp_path, child_id=int(rec["child_id"]), model=build(from_paper_notation("FC (2,7)", "kws"))
        )
    res = export.export_child(
        log, tmp_path / "out", child_id=int(rec["child_id"]), model=model, test=(x[600:], y[600:]),
        representative=x[:100], latency_runs=5,
    )  # fmt: skip
    m = res.manifest
    for key in ("keras", "tflite_float", "tflite_int8"):
        assert res.files[key].exists() and m["files"][key]["bytes"] == res.files[key].stat().st_size
    # reloaded .keras predicts the same; float TFLite within 1e-4; int8 within the stated accuracy loss
    reloaded = keras.models.load_model(res.files["keras"], compile=False)
    np.testing.assert_array_equal(reloaded.predict(x[600:], verbose=0), model.predict(x[600:], verbose=0))
    assert m["max_abs_logit_diff"]["keras_reloaded"] == 0.0
    assert m["max_abs_logit_diff"]["tflite_float"] < 1e-4
    assert m["accuracy"]["tflite_float"] == m["accuracy"]["keras"]
    assert m["accuracy"]["keras"] > 0.5  # it learned something, so the int8 comparison means something
    assert m["int8_accuracy_loss"] <= INT8_MAX_ACCURACY_LOSS
    assert m["files"]["tflite_int8"]["bytes"] < m["files"]["tflite_float"]["bytes"]
    # provenance: the manifest's history replays to the exported spec, and the manifest is plain JSON
    on_disk = json.loads((res.directory / "manifest.json").read_text())
    assert on_disk["spec"] == spec.to_dict() == on_disk["history"][-1]["spec"]
    assert on_disk["notation"] == rec["notation"] and on_disk["search_record"]["child_id"] == rec["child_id"]
    from rena_lib.actions import replay

    actions = [a for step in on_disk["history"] for a in step["actions"]]
    assert replay(from_paper_notation("FC (1,12)", "kws"), actions) == spec
    assert on_disk["metrics"]["params"] == rec["params"] and set(on_disk["latency_ms"]) == {"float", "int8"}
    summary = res.summary()
    assert list(summary.index) == ["keras", "tflite_float", "tflite_int8"]
    assert summary.loc["tflite_int8", "bytes"] == m["files"]["tflite_int8"]["bytes"]
    assert np.isnan(summary.loc["keras", "latency_ms"]) and summary.loc["tflite_float", "latency_ms"] > 0


@pytest.mark.slow
def test_export_a_trained_kws_child_with_the_kws_evaluator(log, tmp_path, data_dir):
    """Real data: train the child at the smoke budget, calibrate int8 on validation MFCCs, test on test."""
    from rena_lib.data.speech_commands import RESPLIT_SALT
    from rena_lib.training import Budget, KwsEvaluator

    df = load_log(log)
    rec = df[~df["failed"] & ~df["notation"].str.contains("GRU")].sort_values("params").iloc[-1]
    evaluator = KwsEvaluator(
        Budget.smoke("kws").replace(epochs=3), data_dir=data_dir / "speech_commands", split_salt=RESPLIT_SALT
    )
    res = export.export_child(log, tmp_path, child_id=int(rec["child_id"]), evaluator=evaluator)
    m = res.manifest
    assert m["training"]["performance"] > 1 / 12
    assert m["max_abs_logit_diff"]["tflite_float"] < 1e-4
    assert m["int8_accuracy_loss"] <= INT8_MAX_ACCURACY_LOSS


def test_history_and_dashboard_on_a_real_proxy_search(tmp_path):
    """The search loop's own log: every child's history replays, from the directory or the SearchLog."""
    search = pytest.importorskip("rena_lib.search")
    from rena_lib import dashboard
    from rena_lib.actions import replay
    from rena_lib.proxy import ProxyEvaluator

    cfg = search.SearchConfig.smoke("kws", constraints=["params < 100000", "intensity > 10"], episodes=3)
    log = search.run_search(cfg, ProxyEvaluator(), tmp_path / "s", progress=False)
    for rec in log.records:
        history = export.edit_history(tmp_path / "s", rec["child_id"])
        assert history[-1].spec == rec["spec"] and history[0].notation == "FC (1,12)"
        flat = [a for h in history for a in h.actions]
        assert replay(cfg.baseline_spec(), flat) == Spec.from_dict(rec["spec"])
    best = export.select_child(log, feasible_only=False)
    assert best["child_id"] == log.best(feasible_only=False)["child_id"]
    assert export.edit_history(log, best["child_id"])[-1].spec_key == best["spec_key"]
    assert dashboard.constraints_of(log) == [("params", "<", 100000.0), ("intensity", ">", 10.0)]
    figs = dashboard.dashboard(log)
    assert "constraint:intensity" in [a.get_gid() for ax in figs["pareto"].axes for a in ax.get_lines()]


def test_quiet_native_stderr_silences_file_descriptor_2_and_replays_on_error(capfd):
    import os

    with export.quiet_native_stderr():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    assert "XNNPACK" not in capfd.readouterr().err
    with pytest.raises(RuntimeError, match="boom"), export.quiet_native_stderr():
        os.write(2, b"converter said why\n")
        raise RuntimeError("boom")
    assert "converter said why" in capfd.readouterr().err
    os.write(2, b"after\n")  # file descriptor 2 is restored
    assert capfd.readouterr().err == "after\n"


def test_an_interpreter_is_created_without_native_noise():
    # a fresh process: TFLite prints its XNNPACK line once per process, so this test's must be the first
    import subprocess
    import sys

    code = (
        "from rena_lib import export; from rena_lib.arch import build, from_paper_notation; "
        "m = build(from_paper_notation('FC (1,12)', 'kws')); "
        "i = export.interpreter(export.to_tflite(m), batch_size=1); i.invoke(); print('invoked')"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "invoked", run.stderr
    assert "XNNPACK" not in run.stderr and "fully_quantize" not in run.stderr, run.stderr


def test_train_first_that_learns_skips_children_that_cannot_learn(log):
    from rena_lib.evaluation import EvalResult

    records = export._records(log)
    ranked = sorted(
        (r for r in records if not r["failed"]),
        key=lambda r: (not r["feasible"], -r["reward"], r["child_id"]),
    )
    first = ranked[0]

    class Evaluator:
        """Says the first-ranked child does not learn, every other one does."""

        def evaluate_model(self, factory):
            model = factory()
            learned = model.count_params() != build(Spec.from_dict(first["spec"])).count_params()
            return EvalResult(0.6 if learned else 0.08, extras={"train_accuracy": 0.5})

    rec, model, result, tried = export.train_first_that_learns(log, Evaluator(), candidates=3)
    assert model.count_params() > 0
    assert tried[0]["child_id"] == first["child_id"] and not tried[0]["learned"]
    assert rec["child_id"] != first["child_id"] and tried[-1]["learned"] and result.performance == 0.6
    rec, _, _, tried = export.train_first_that_learns(log, Evaluator(), candidates=1)
    assert rec["child_id"] == first["child_id"] and len(tried) == 1  # none learned: the best tried
