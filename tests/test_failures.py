"""Bad input, tried as a new user would (issue 18): nothing the user had is lost, every failure is named.

One test (or a few) per defect of the issue, each first reproducing the failure the issue reports.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from rena_lib import experiments
from rena_lib.arch import from_paper_notation
from rena_lib.evaluation import EvalResult, SetupError, check_result, safe_evaluate
from rena_lib.proxy import ProxyEvaluator
from rena_lib.search import SearchConfig, SearchLog, run_search
from rena_lib.search.checkpoint import CheckpointError
from rena_lib.search.log import LogError


def tiny(proposer: str = "random", **overrides) -> SearchConfig:
    """2 episodes x 2 steps x 2 trajectories of the KWS layer space, a small policy."""
    base = dict(space="kws", proposer=proposer, episodes=2, episode_size=2, batch_size=2, top_k=2,
                constraints=["params < 100000"], embed_size=8, embed_units=8, controller_units=16)  # fmt: skip
    return SearchConfig(**{**base, **overrides})


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative path, with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def strict_json_lines(path: Path) -> list[dict]:
    """The records of a JSON-lines file, refusing NaN and Infinity as a strict JSON reader does."""

    def refuse(name):
        raise ValueError(f"bare {name} in {path}")

    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


class Counting:
    """The proxy evaluator, counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, spec):
        self.calls += 1
        return ProxyEvaluator()(spec)


class Returning:
    """An evaluator returning a fixed (possibly malformed) EvalResult for every child."""

    def __init__(self, **fields):
        self.fields = fields

    def __call__(self, spec):
        return EvalResult(**{"performance": 0.5, **self.fields})


# ---- 1. a bad parameter deletes a saved search ---------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    """Two finished searches under tmp_path/root and the bytes of every file there."""
    root = tmp_path / "root"
    configs = {"RENA no constraint": tiny(), "random": tiny(seed=1)}
    experiments.run_searches(configs, ProxyEvaluator(), root)
    return root, configs, snapshot(root)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"episodes": 0}, "episodes must be a positive int"),
        ({"max_layers": 0}, "max_layers"),
        ({"baseline": "FC (1,13)"}, "not a member"),
    ],
)
@pytest.mark.parametrize("if_exists", ["overwrite", "resume", "error"])
def test_a_bad_parameter_leaves_every_saved_search_byte_identical(saved, bad, match, if_exists):
    root, configs, before = saved
    # the bad config comes second: the first search must not have been started (or deleted) either
    batch = {"RENA no constraint": configs["RENA no constraint"], "random": tiny(seed=1, **bad)}
    with pytest.raises(ValueError, match=match) as err:
        experiments.run_searches(batch, ProxyEvaluator(), root, if_exists=if_exists)
    assert snapshot(root) == before  # once (overwrite): both searches deleted, the first one re-run
    assert "'random'" in str(err.value) and "nothing was run or changed" in str(err.value)


def test_a_batch_with_colliding_or_wrong_entries_changes_nothing(saved):
    root, _, before = saved
    with pytest.raises(ValueError, match="share the directory"):
        experiments.run_searches({"a b": tiny(), "a_b": tiny()}, ProxyEvaluator(), root)
    with pytest.raises(ValueError, match="expected a SearchConfig"):
        experiments.run_searches(
            {"random": tiny(), "x": {"episodes": 1}}, ProxyEvaluator(), root, if_exists="overwrite"
        )
    assert snapshot(root) == before


def test_overwrite_keeps_the_old_search_until_the_new_one_started(saved):
    root, configs, before = saved

    def broken(spec):
        raise RuntimeError("CUDA driver not found")

    with pytest.raises(SetupError, match="CUDA driver not found"):
        experiments.run_searches(configs, broken, root, if_exists="overwrite")
    assert snapshot(root) == before  # put back, nothing set aside left over
    redo = experiments.run_searches(configs, Counting(), root, if_exists="overwrite")
    assert [len(log) for log in redo.values()] == [8, 8]
    assert sorted(p.name for p in root.iterdir()) == ["RENA_no_constraint", "random"]


def test_overwrite_refuses_to_run_over_a_search_set_aside_before(saved):
    root, configs, before = saved
    (root / ".random.replaced").mkdir()
    with pytest.raises(ValueError, match=r"\.random\.replaced is left from an overwrite"):
        experiments.run_searches(configs, ProxyEvaluator(), root, if_exists="overwrite")
    assert snapshot(root) == before


# ---- 2. a corrupt wav is not named ---------------------------------------------------------------------
def test_a_corrupt_wav_names_the_file(tmp_path):
    from rena_lib.data.audio import decode_wav_file, decode_wavs
    from rena_lib.data.paths import DataError

    bad = tmp_path / "x.wav"
    bad.write_bytes(b"\xff\xfe\xfd\xfc" + b"\0" * 200)  # once a raw UnicodeDecodeError without the path
    for decode in (decode_wav_file, lambda p: decode_wavs([str(p)])):
        with pytest.raises(DataError, match="corrupt wav file") as err:
            decode(bad)
        assert str(bad) in str(err.value)
        assert isinstance(err.value, ValueError)


# ---- 3. data errors become failed children ---------------------------------------------------------------
def test_missing_data_stops_the_search_before_it_starts(tmp_path, monkeypatch):
    from rena_lib.training import KwsEvaluator

    monkeypatch.setenv("RENA_DATA_DIR", str(tmp_path / "nonexistent"))
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        run_search(tiny(), KwsEvaluator(split_salt="rena"), tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()  # once: a "finished" search with every child failed


def test_a_bad_noise_file_fails_prepare_and_stops_the_search(tmp_path):
    from test_data_speech_commands import fake_layout, write_wav

    from rena_lib.data.paths import DataError
    from rena_lib.training import KwsEvaluator

    fake_layout(tmp_path / "sc")
    bad = tmp_path / "sc" / "_background_noise_" / "white_noise.wav"
    write_wav(bad, np.zeros(24000), rate=8000)
    with pytest.raises(DataError, match="8000 Hz") as err:
        KwsEvaluator(data_dir=tmp_path / "sc").prepare()  # once: passed, then failed every child
    assert str(bad) in str(err.value)
    with pytest.raises(DataError, match="8000 Hz"):
        run_search(tiny(), KwsEvaluator(data_dir=tmp_path / "sc"), tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


def test_safe_evaluate_lets_environment_errors_through_and_fails_children_otherwise(tmp_path):
    from rena_lib.data.paths import DataError

    spec = tiny().baseline_spec()
    for exc in (FileNotFoundError("no data"), DataError("corrupt"), SetupError("no GPU")):

        def raising(spec, exc=exc):
            raise exc

        with pytest.raises(type(exc)):
            safe_evaluate(raising, spec)
    r = safe_evaluate(lambda s: 1 / 0, spec)
    assert r.failed and r.reason == "ZeroDivisionError: division by zero"


# ---- 4. searches in which every child fails finish silently -------------------------------------------
def test_a_constraint_no_evaluator_provides_stops_the_search(tmp_path):
    cfg = tiny(constraints=["latency_ms < 5"])
    with pytest.raises(SetupError, match=r"'latency_ms < 5' needs the metric 'latency_ms'.*ProxyEvaluator"):
        run_search(cfg, ProxyEvaluator(), tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()

    class Measuring(Counting):
        def __call__(self, spec):
            r = super().__call__(spec)
            r.extras["latency_ms"] = np.float64(3.0)
            return r

    log = run_search(cfg, Measuring(), tmp_path / "s", progress=False)  # measured: the same search runs
    assert all(r["latency_ms"] == 3.0 and r["feasible"] for r in log.records if not r["failed"])


def test_an_evaluator_that_always_raises_stops_the_search_at_its_first_step(tmp_path):
    calls = []

    def broken(spec):
        calls.append(spec)
        raise RuntimeError("model_fn takes 2 arguments")

    with pytest.raises(SetupError, match=r"every child of the first step .*model_fn takes 2 arguments"):
        run_search(tiny(), broken, tmp_path / "s", progress=False)
    assert len(calls) == 2  # one step of two children, not the whole budget
    assert not (tmp_path / "s").exists()


def test_numpy_numbers_are_results_and_booleans_are_not(tmp_path):
    evaluator = Returning(performance=np.float32(0.9), epochs=np.int64(3))
    log = run_search(tiny(), evaluator, tmp_path / "a", progress=False)
    ok = [r for r in log.records if not r["failed"]]  # once: all rejected as "not a number"
    assert ok and all(r["performance"] == pytest.approx(0.9) and r["epochs"] == 3 for r in ok)
    for value in (True, np.bool_(True)):
        r = check_result(EvalResult(value))
        assert r.failed and "performance True (a bool) is not a number" in r.reason  # once: accepted as 1.0
    with pytest.raises(SetupError, match="performance True"):
        run_search(tiny(), Returning(performance=True), tmp_path / "b", progress=False)


def test_a_child_specific_failure_does_not_stop_the_search(tmp_path):
    class FailSecond(Counting):
        def __call__(self, spec):
            if self.calls == 1:
                self.calls += 1
                raise RuntimeError(f"out of memory for {spec.key()}")
            return super().__call__(spec)

    log = run_search(tiny(), FailSecond(), tmp_path, progress=False)
    assert len(log) == 8 and sum(r["failed"] for r in log.records) >= 1


# ---- 5. unreadable checkpoints give raw errors ---------------------------------------------------------
@pytest.fixture(scope="module")
def rena_search(tmp_path_factory):
    """A finished tiny RENA search (with policy arrays in its checkpoint) and its files."""
    d = tmp_path_factory.mktemp("rena")
    run_search(tiny("rena", episodes=3, episode_size=1), ProxyEvaluator(), d, progress=False)
    return d, tiny("rena", episodes=3, episode_size=1)


def copy_search(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize(
    "damage", ["state_garbage", "state_fields", "npz_missing", "npz_garbage", "npz_pickle"]
)
def test_an_unreadable_checkpoint_names_the_file_and_the_way_out(tmp_path, rena_search, damage):
    d = copy_search(rena_search[0], tmp_path / "s")
    ckpt = d / "checkpoint"
    (npz,) = ckpt.glob("arrays-*.npz")
    if damage == "state_garbage":
        (ckpt / "state.json").write_text("garbage")  # once: JSONDecodeError line 1 column 1
        named = ckpt / "state.json"
    elif damage == "state_fields":
        (ckpt / "state.json").write_text('{"episode": 1}')  # once: a KeyError
        named = ckpt / "state.json"
    elif damage == "npz_missing":
        npz.unlink()
        named = npz
    elif damage == "npz_garbage":
        npz.write_bytes(b"not a zip file")  # once: BadZipFile
        named = npz
    else:
        np.savez(npz, w000=np.array([{"a": 1}], dtype=object))  # once: "contains pickled (object) data"
        named = npz
    with pytest.raises(CheckpointError, match="Delete the folder") as err:
        run_search(rena_search[1], ProxyEvaluator(), d, resume=True, progress=False)
    assert str(named) in str(err.value) and str(ckpt) in str(err.value)


def test_deleting_the_checkpoint_replays_the_search_from_its_log(tmp_path, rena_search, monkeypatch):
    import shutil

    import rena_lib.search.loop as loop

    d = copy_search(rena_search[0], tmp_path / "s")
    before = (d / "log.jsonl").read_bytes()
    losses = [p["losses"] for p in SearchLog(d).policy_records]
    shutil.rmtree(d / "checkpoint")
    real, count = loop.save_checkpoint, [0]

    def dying(*args, **kwargs):
        count[0] += 1
        if count[0] == 3:
            raise KeyboardInterrupt("killed during the replay")
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "save_checkpoint", dying)
    with pytest.raises(KeyboardInterrupt):
        run_search(rena_search[1], Counting(), d, resume=True, progress=False)
    assert (d / "log.jsonl").read_bytes() == before  # a kill during the replay loses no record
    monkeypatch.undo()
    ev = Counting()
    run_search(rena_search[1], ev, d, resume=True, progress=False)
    assert ev.calls == 0 and (d / "log.jsonl").read_bytes() == before
    assert [p["losses"] for p in SearchLog(d).policy_records] == losses  # the policy relearned the same


def test_a_garbage_config_names_the_file(tmp_path, rena_search):
    d = copy_search(rena_search[0], tmp_path / "s")
    (d / "config.json").write_text("{garbage")
    for call in (
        lambda: run_search(rena_search[1], ProxyEvaluator(), d, resume=True, progress=False),
        lambda: SearchLog(d),
    ):
        with pytest.raises(ValueError, match="Restore it from a copy") as err:
            call()
        assert str(d / "config.json") in str(err.value)


# ---- 6. records dropped silently --------------------------------------------------------------------------
def test_a_bad_middle_line_of_the_policy_log_is_an_error_not_a_drop(tmp_path, rena_search):
    d = copy_search(rena_search[0], tmp_path / "s")
    path = d / "policy_log.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    assert len(lines) == 3
    path.write_text(lines[0] + "{torn\n" + lines[2])  # once: resumed with 1 record of 3, silently
    before = snapshot(d)
    with pytest.raises(LogError, match=r"policy_log.jsonl, line 2 of 3.*1 records before it"):
        run_search(rena_search[1], ProxyEvaluator(), d, resume=True, progress=False)
    with pytest.raises(LogError, match="line 2 of 3"):
        SearchLog(d)
    assert snapshot(d) == before


def test_search_log_names_a_bad_line_and_warns_on_a_torn_last_line(tmp_path, rena_search):
    d = copy_search(rena_search[0], tmp_path / "s")
    path = d / "log.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]) + "nonsense\n" + "".join(lines[3:]))  # once: 2 of 6, no word
    with pytest.raises(LogError, match=rf"log.jsonl, line 3 of {len(lines)}"):
        SearchLog(d)
    path.write_text("".join(lines[:-1]) + lines[-1][:20])  # a write cut short by a kill
    with pytest.warns(UserWarning, match=f"kept the {len(lines) - 1} records"):
        assert len(SearchLog(d)) == len(lines) - 1


# ---- 7. a malformed EvalResult crashes the search mid-way ----------------------------------------------
def test_numpy_extras_are_logged_as_plain_json(tmp_path):
    class WithExtras(Counting):
        def __call__(self, spec):
            r = super().__call__(spec)
            r.extras = {"val_loss": np.float32(0.3), "shape": np.arange(3), "curve": (np.int32(1), 2.5)}
            return r

    log = run_search(tiny(), WithExtras(), tmp_path, progress=False)  # once: TypeError float32 mid-search
    extras = [r["extras"] for r in strict_json_lines(tmp_path / "log.jsonl") if not r["cached"]]
    assert extras[0] == {"val_loss": pytest.approx(0.3), "shape": [0, 1, 2], "curve": [1, 2.5]}
    assert len(log) == 8


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"wall_time": "3s"}, "wall_time '3s'"),  # once: a raw ValueError
        ({"extras": {"model": object()}}, "extras['model'] is a object"),
        ({"extras": {"val_loss": float("nan")}}, "extras['val_loss'] is nan"),
        ({"epochs": 2.5}, "epochs 2.5"),
        ({"test_accuracy": float("nan")}, "test_accuracy nan"),
    ],
)
def test_a_malformed_result_is_a_failed_child_naming_the_field(tmp_path, fields, named):
    r = check_result(Returning(**fields)(None))
    assert r.failed and named in r.reason
    json.dumps(r.to_dict(), allow_nan=False)
    with pytest.raises(SetupError, match=re.escape(named)):  # every child: stops at the first step
        run_search(tiny(), Returning(**fields), tmp_path / "s", progress=False)


# ---- 8. NaN reaches the policy through a non-local executor ------------------------------------------
def test_results_of_any_executor_are_checked_and_logs_are_strict_json(tmp_path):
    class NanSometimes:
        """A user's executor: every third child NaN, the others with a NaN test accuracy."""

        def __init__(self):
            self.n = 0

        def map(self, evaluator, specs):
            out = []
            for spec in specs:
                self.n += 1
                r = ProxyEvaluator()(spec)
                out.append(
                    EvalResult(float("nan"))
                    if self.n % 3 == 2
                    else EvalResult(r.performance, test_accuracy=float("nan"))
                )
            return out

    # once: NaN rewards, then "pick 2 is not an allowed option" in the next episode
    log = run_search(tiny("rena"), ProxyEvaluator(), tmp_path, executor=NanSometimes(), progress=False)
    assert len(log) == 8
    nan = [r for r in log.records if r["failed"] and "performance nan" in (r["reason"] or "")]
    assert nan and all(math.isfinite(r["reward"]) for r in log.records)
    assert all(r["test_accuracy"] is None for r in log.records)
    strict_json_lines(tmp_path / "log.jsonl")  # once: bare NaN
    strict_json_lines(tmp_path / "policy_log.jsonl")


def test_an_executor_returning_the_wrong_number_of_results_is_named(tmp_path):
    class Short:
        def map(self, evaluator, specs):
            return []

    with pytest.raises(SetupError, match="Short returned 0 results for 2 children"):
        run_search(tiny(), ProxyEvaluator(), tmp_path / "s", executor=Short(), progress=False)
    assert not (tmp_path / "s").exists()


# ---- the smaller ones -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"max_layers": 0}, "max_layers must be a positive int"),  # once: accepted (8)
        ({"max_layers": True}, "max_layers must be a positive int"),  # once: accepted
        ({"constraints": 5}, "constraints must be a list"),  # once: raw TypeError
        ({"baseline": 3}, "baseline must be paper notation"),
        ({"baseline": {"task": "kws"}}, "is not a spec"),
        ({"baseline": "GRU (2,64,1,keep=abc) FC (1,12)"}, r"layer 1 \(GRU \(2,64,1,keep=abc\)\)"),
    ],
)
def test_small_config_mistakes_are_named(tmp_path, overrides, match):
    with pytest.raises(ValueError, match=match):
        run_search(tiny(**overrides), ProxyEvaluator(), tmp_path / "s", progress=False)
    assert not (tmp_path / "s").exists()


def test_a_baseline_given_as_a_spec_or_a_dict_is_its_notation():
    spec = from_paper_notation("GRU (2,64,1) FC (1,12)", "kws")
    for given in (spec, spec.to_dict()):
        cfg = tiny(baseline=given)  # once: "empty architecture notation"
        assert cfg.baseline == "GRU (2,64,1) FC (1,12)" and cfg.baseline_spec() == spec
        assert SearchConfig.from_json(cfg.to_json()) == cfg


def test_resume_into_an_empty_or_mistyped_path_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    for d in (tmp_path / "empty", tmp_path / "mistyped"):
        with pytest.raises(ValueError, match="nothing to resume"):  # once: silently a new search
            run_search(tiny(), ProxyEvaluator(), d, resume=True, progress=False)
    assert not (tmp_path / "mistyped").exists() and not any((tmp_path / "empty").iterdir())


def test_a_log_shorter_than_its_checkpoint_says_how_to_recover(tmp_path, rena_search):
    import shutil

    d = copy_search(rena_search[0], tmp_path / "s")
    full = (d / "log.jsonl").read_text().splitlines(keepends=True)
    (d / "log.jsonl").write_text("".join(full[:3]))  # records lost after the checkpoint counted them
    with pytest.raises(RuntimeError, match=r"does not hold children 0\.\.5 .*delete .*checkpoint and resume"):
        run_search(rena_search[1], ProxyEvaluator(), d, resume=True, progress=False)
    shutil.rmtree(d / "checkpoint")
    ev = Counting()
    log = run_search(rena_search[1], ev, d, resume=True, progress=False)
    assert len(log) == len(full) and 0 < ev.calls <= len(full) - 3  # the three kept were not re-evaluated
