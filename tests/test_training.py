"""Budgets, child training and the CIFAR / KWS evaluators: above chance, deterministic, failures contained."""

from __future__ import annotations

import pickle
import sys

import pytest

from rena_lib.data.speech_commands import RESPLIT_SALT
from rena_lib.evaluation import EvalResult
from rena_lib.training import Budget, CifarEvaluator, KwsEvaluator

# ---------------------------------------------------------------- budgets (no TensorFlow needed)


@pytest.mark.parametrize("task", ["cifar10", "kws"])
def test_budget_presets_round_trip(task):
    for budget in (Budget.smoke(task), Budget.paper(task), Budget.smoke(task).replace(seed=7)):
        assert Budget.from_json(budget.to_json()) == budget
        assert Budget.from_dict(budget.to_dict()) == budget
    assert Budget.paper("cifar10").epochs == 150
    paper_kws = Budget.paper("kws")
    assert paper_kws.batch_size == 128 and paper_kws.steps == 30_000
    assert paper_kws.num_epochs(steps_per_epoch=664) == 46  # ceil(30000 / 664)


def test_budget_validation():
    with pytest.raises(ValueError, match="task"):
        Budget("imagenet", epochs=1, batch_size=1)
    with pytest.raises(ValueError, match="data_fraction"):
        Budget("kws", epochs=1, batch_size=1, data_fraction=0)
    with pytest.raises(ValueError, match="unknown Budget fields"):
        Budget.from_dict({"task": "kws", "epochs": 1, "batch_size": 1, "lr": 3})
    assert Budget("kws", 1, 8, data_fraction=0.5, max_train_examples=100).train_size(1000) == 100
    assert Budget("kws", 1, 8, data_fraction=0.5).train_size(1000) == 500


def test_optimisers_follow_the_paper():
    from rena_lib.training import cifar_optimizer, cifar_schedule, kws_optimizer, kws_schedule

    sgd = cifar_optimizer(steps_per_epoch=10)
    assert sgd.nesterov and sgd.momentum == pytest.approx(0.9)
    assert float(sgd.learning_rate) == pytest.approx(0.05)  # the schedule at step 0
    schedule = cifar_schedule(steps_per_epoch=10)
    assert float(schedule(0)) == pytest.approx(0.05)
    assert float(schedule(99)) == pytest.approx(0.001, abs=2e-4)  # end of the first 10-epoch cycle
    assert float(schedule(100)) == pytest.approx(0.05)  # warm restart; the next cycle lasts 20 epochs
    assert float(schedule(299)) == pytest.approx(0.001, abs=1e-4)
    assert float(schedule(300)) == pytest.approx(0.05)
    # the CIFAR-10 cpu budget stops at the end of a cycle (annealed), not mid-restart as 20 epochs did
    assert float(schedule(Budget.cpu("cifar10").epochs * 10 - 1)) == pytest.approx(0.001, abs=1e-4)
    assert float(kws_optimizer().learning_rate) == pytest.approx(1e-3)
    decay = kws_schedule()
    assert float(decay(9_999)) == pytest.approx(1e-3)
    assert float(decay(10_000)) == pytest.approx(2e-4)
    assert float(decay(20_000)) == pytest.approx(4e-5)


def test_evaluators_pickle_small_and_without_tensorflow():
    ev = KwsEvaluator(split_salt=RESPLIT_SALT)
    clone = pickle.loads(pickle.dumps(ev))
    assert clone.budget == Budget.smoke("kws") and clone.data.cache_key() == ev.data.cache_key()
    with pytest.raises(ValueError, match="budget"):
        CifarEvaluator(Budget.smoke("kws"))


# ---------------------------------------------------------------- real children (RENA_DATA_DIR)

KWS_FAST = Budget("kws", epochs=4, batch_size=64, augment=False)


@pytest.fixture(scope="module")
def kws_eval(data_dir) -> KwsEvaluator:
    return KwsEvaluator(
        data_dir=data_dir / "speech_commands", split_salt=RESPLIT_SALT, with_test=True
    ).prepare()


def dense_kws():
    import keras

    return keras.Sequential([keras.Input((49, 40, 1)), keras.layers.Flatten(), keras.layers.Dense(12)])


def nan_kws():
    import keras

    return keras.Sequential(
        [
            keras.Input((49, 40, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(12),
            keras.layers.Lambda(lambda x: x * float("nan")),
        ]
    )


def test_kws_spec_trains_above_chance_at_smoke_budget(kws_eval):
    from rena_lib.arch import from_paper_notation

    result = kws_eval(from_paper_notation("FC (1,12)", "kws"))  # the paper's KWS baseline
    assert not result.failed, result.reason
    assert result.performance > 0.15  # chance is 1/12
    assert result.test_accuracy is not None and result.test_accuracy > 0.15
    assert result.epochs == Budget.smoke("kws").epochs
    timings = result.extras["timings"]
    assert {"build_s", "compile_s", "first_epoch_s", "steady_epoch_s", "eval_s"} <= set(timings)
    assert result.extras["params"] > 0 and result.extras["budget"] == Budget.smoke("kws").to_dict()
    EvalResult.from_dict(result.to_dict())


def test_cifar_spec_trains_above_chance_at_smoke_budget(data_dir):
    from rena_lib.arch import from_paper_notation

    spec = from_paper_notation("Conv2d (3,16,relu) MaxPool2d (2) Conv2d (3,32,relu)", "cifar10")
    result = CifarEvaluator()(spec)
    assert not result.failed, result.reason
    assert result.performance > 0.15  # chance is 1/10
    assert result.epochs == Budget.smoke("cifar10").epochs


def test_failing_children_do_not_break_the_next_one(kws_eval):
    ev = KwsEvaluator(KWS_FAST, kws_eval.data.data_dir, split_salt=RESPLIT_SALT)

    def cannot_build():
        raise ValueError("a shape that cannot be built")

    nan = ev.evaluate_model(nan_kws)
    assert nan.failed and "non-finite" in nan.reason

    def out_of_memory():
        raise MemoryError("simulated")

    oom = ev.evaluate_model(out_of_memory)
    assert oom.failed and "out of memory" in oom.reason
    broken = ev.evaluate_model(cannot_build)
    assert broken.failed and "build failed" in broken.reason and "cannot be built" in broken.reason
    import keras

    wrong = ev.evaluate_model(lambda: keras.Sequential([keras.Input((49, 40, 1)), keras.layers.Dense(3)]))
    assert wrong.failed and "expected 12" in wrong.reason
    assert ev(type("S", (), {"task": "cifar10"})()).failed  # a spec of the other task

    def raises_in_training():
        import tensorflow as tf

        boom = keras.layers.Lambda(lambda x: tf.debugging.check_numerics(x * float("inf"), "boom"))
        return keras.Sequential(
            [keras.Input((49, 40, 1)), keras.layers.Flatten(), keras.layers.Dense(12), boom]
        )

    crashed = ev.evaluate_model(raises_in_training)
    assert crashed.failed and crashed.reason.startswith("train failed") and "boom" in crashed.reason
    ok = ev.evaluate_model(dense_kws)
    assert not ok.failed and ok.performance > 0.15


def test_children_are_deterministic(kws_eval):
    ev = KwsEvaluator(
        KWS_FAST.replace(augment=True, epochs=2, max_train_examples=512),
        kws_eval.data.data_dir,
        split_salt=RESPLIT_SALT,
    )
    a, b = ev.evaluate_model(dense_kws), ev.evaluate_model(dense_kws)
    assert a.performance == b.performance and a.extras["final_loss"] == b.extras["final_loss"]
    c = KwsEvaluator(ev.budget.replace(seed=1), kws_eval.data.data_dir, split_salt=RESPLIT_SALT)
    assert c.evaluate_model(dense_kws).extras["final_loss"] != a.extras["final_loss"]


def test_budget_module_import_is_light():
    # the tests above imported TensorFlow; check in a clean interpreter that budgets/evaluators do not
    import subprocess

    code = "import sys, rena_lib.training as t; t.KwsEvaluator(); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_graphs_survive_a_child(kws_eval):
    import gc

    from tensorflow.python.framework.func_graph import FuncGraph

    ev = KwsEvaluator(
        KWS_FAST.replace(epochs=1, max_train_examples=128), kws_eval.data.data_dir, split_salt=RESPLIT_SALT
    )

    def graphs_alive() -> int:
        gc.collect()
        return sum(isinstance(o, FuncGraph) for o in gc.get_objects())

    ev.evaluate_model(dense_kws)
    first = graphs_alive()
    for _ in range(3):
        assert not ev.evaluate_model(dense_kws).failed
    assert graphs_alive() <= first  # Keras/TF would otherwise keep every child's train step (~6 MB each)


def test_search_budget_is_the_cpu_recipe_at_a_third_of_its_epochs():
    search, cpu = Budget.search("kws"), Budget.cpu("kws")
    assert search == cpu.replace(epochs=10) and cpu.epochs == 30
    with pytest.raises(ValueError, match="no search budget for cifar10"):
        Budget.search("cifar10")
