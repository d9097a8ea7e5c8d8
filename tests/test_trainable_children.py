"""Children that learn: batch norms folded exactly, the augmentation bank's draws, budgets that cannot run,
and KWS children that fit their training set (TensorFlow and JAX backends)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rena_lib.arch import build, fold_batchnorm, from_paper_notation, lower
from rena_lib.data.feature_bank import FeatureBank
from rena_lib.metrics import measure
from rena_lib.training import Budget, train_child

ROOT = Path(__file__).resolve().parent.parent
FOLD_SPECS = [
    "Conv2d (1,64,10,4,2,2) DS-Conv2d (4,64,3,3,1,1) AvgPool2d",  # the paper's DS-CNN
    "DS-Conv2d (1,8,3,3,2,1)",  # unequal strides: the 1x1 part strides
    "Conv2d (2,8,3,3,1,1,keep=0.9) Dilated-Conv2d (1,8,3,3,2) FC (1,16)",
    "Conv2d (1,100,10,4,2,1) GRU (2,16,1) FC (1,18)",
    "GRU (2,64,1)",
    "FC (1,12)",
]


def _randomise_batchnorms(model, rng) -> None:
    """Non-trivial gamma, beta and moving statistics, so the fold is tested on more than the identity."""
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            c = layer.gamma.shape[0]
            layer.set_weights(
                [rng.uniform(0.5, 2, c), rng.normal(0, 0.5, c), rng.normal(0, 0.5, c), rng.uniform(0.2, 3, c)]
            )


@pytest.mark.parametrize("text", FOLD_SPECS)
def test_folded_model_equals_trained_model_and_counts_as_measured(text):
    spec = from_paper_notation(text, "kws")
    rng = np.random.default_rng(0)
    model = build(spec)
    _randomise_batchnorms(model, rng)
    folded = fold_batchnorm(model, spec)
    assert folded.count_params() == measure(spec)["params"]
    assert not any(type(layer).__name__ == "BatchNormalization" for layer in folded.layers)
    x = rng.normal(size=(6, 49, 40, 1)).astype(np.float32)
    want = np.asarray(model(x, training=False))
    np.testing.assert_allclose(np.asarray(folded(x, training=False)), want, rtol=1e-4, atol=1e-4)


def test_fold_rejects_a_model_of_another_spec():
    spec = from_paper_notation("Conv2d (1,8,3,3,1,1)", "kws")
    with pytest.raises(ValueError, match="no layer"):
        fold_batchnorm(build(from_paper_notation("FC (1,12)", "kws")), spec)


def test_kws_convolutions_train_with_batch_norm_and_cifar_is_unchanged():
    kinds = [
        type(layer).__name__ for layer in build(from_paper_notation("DS-Conv2d (1,8,3,3,1,1)", "kws")).layers
    ]
    assert kinds[1:7] == [
        "DepthwiseConv2D", "BatchNormalization", "Activation", "Conv2D", "BatchNormalization", "Activation",
    ]  # fmt: skip
    graph = lower(from_paper_notation("Conv2d (3,16,relu)", "cifar10"))
    assert not any(op.config.get("batchnorm") for op in graph.ops)  # CIFAR has its own BN ops


# ---------------------------------------------------------------------------------------------- budgets
def test_budgets_that_cannot_run_name_the_field():
    with pytest.raises(ValueError, match=r"Budget\.steps"):
        Budget("kws", epochs=1, batch_size=8, steps=0)
    with pytest.raises(ValueError, match=r"Budget\.epochs"):
        Budget("kws", epochs=0, batch_size=8)
    with pytest.raises(ValueError, match=r"Budget\.max_train_examples"):
        Budget("kws", epochs=1, batch_size=8, max_train_examples=5000).plan(4000)
    assert Budget("kws", epochs=2, batch_size=64).plan(1000) == (1000, 16, 2)
    assert Budget.paper("kws").plan(85_000) == (85_000, 665, 46)
    assert Budget.cpu("kws").max_train_examples is None  # the whole training split


def test_kws_lr_decay_is_spread_over_the_childs_steps():
    from rena_lib.training import kws_schedule

    full = kws_schedule(30_000)  # the paper's budget: x0.2 every 10,000 steps, as Appendix B
    assert float(full(9_999)) == pytest.approx(1e-3) and float(full(10_000)) == pytest.approx(2e-4)
    short = kws_schedule(300)
    assert float(short(99)) == pytest.approx(1e-3)
    assert float(short(100)) == pytest.approx(2e-4) and float(short(299)) == pytest.approx(4e-5)


# ------------------------------------------------------------------------------------ augmentation bank
def _tiny_bank(epochs=2, n=40, reuse=False) -> FeatureBank:
    rng = np.random.default_rng(0)
    return FeatureBank(
        train=rng.normal(size=(epochs, n, 49, 40)).astype(np.float16),
        train_labels=(np.arange(n) % 12).astype(np.int32),
        eval_features={s: rng.normal(size=(10, 49, 40)).astype(np.float32) for s in ("validation", "test")},
        eval_labels={s: (np.arange(10) % 12).astype(np.int32) for s in ("validation", "test")},
        reuse=reuse,
    )


def _rows_of(bank: FeatureBank, bank_epoch: int) -> set[bytes]:
    return {bank.train[bank_epoch, i].astype(np.float32).tobytes() for i in range(len(bank.train_labels))}


def test_bank_batches_read_one_bank_epoch_per_fit_epoch_in_a_seeded_order():
    from rena_lib.data.feature_bank import bank_batches

    bank = _tiny_bank()
    batches = bank_batches(bank, 16, seed=3)  # the PyDataset that feeds JAX / torch
    assert (batches.num_examples, len(batches)) == (40, 3)

    def rows_read() -> set[bytes]:
        return {x[..., 0].tobytes() for i in range(len(batches)) for x in batches[i][0]}

    assert rows_read() == _rows_of(bank, 0)  # fit epoch 0 reads all of bank epoch 0
    batches.on_epoch_end()
    assert rows_read() == _rows_of(bank, 1)  # and fit epoch 1 bank epoch 1
    np.testing.assert_array_equal(bank_batches(bank, 16, seed=3)[0][0], bank_batches(bank, 16, seed=3)[0][0])
    assert bank_batches(bank, 16, seed=3, rows=np.arange(20)).num_examples == 20


def test_bank_stream_on_tensorflow_reads_bank_epoch_e_in_fit_epoch_e():
    bank = _tiny_bank(epochs=2)
    ds, n = bank.train_dataset(16, seed=3, epochs=2)  # the tf.data stream: 3 batches per epoch
    batches = [x.numpy() for x, _ in ds]
    assert n == 40 and len(batches) == 6
    for e in (0, 1):
        read = {x[..., 0].tobytes() for b in batches[3 * e : 3 * e + 3] for x in b}
        assert read == _rows_of(bank, e)
    labels = np.concatenate([y.numpy() for _, y in ds])
    assert sorted(labels[:40]) == sorted(bank.train_labels)
    sub, m = bank.train_dataset(16, seed=3, num_examples=20, epochs=1)
    assert m == 20 and sum(int(x.shape[0]) for x, _ in sub) == 20


def test_an_exhausted_bank_is_an_error_before_training_unless_reuse_is_asked_for():
    bank = _tiny_bank(epochs=2)
    with pytest.raises(ValueError, match="holds 2 epochs but the budget needs 3"):
        bank.check_epochs(3)
    _tiny_bank(epochs=2, reuse=True).check_epochs(3)
    with pytest.raises(ValueError, match="training examples"):
        bank.train_dataset(8, num_examples=41)


def test_bank_saves_and_loads_and_names_a_bad_file(tmp_path):
    bank = _tiny_bank()
    bank.params = {"snr_db": np.zeros((2, 40), np.float32)}
    path = bank.save(tmp_path / "bank.npz")
    back = FeatureBank.load(path)
    np.testing.assert_array_equal(back.train, bank.train)
    assert back.params["snr_db"].shape == (2, 40) and back.epochs == 2
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"bad\.npz"):
        FeatureBank.load(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError, match="write_feature_cache"):
        FeatureBank.load(tmp_path / "missing.npz")


def test_augmentation_draws_and_realised_snr():
    import tensorflow as tf

    from rena_lib.data.audio import NoiseBank, augment_batch

    rng = np.random.default_rng(1)
    speech = (0.1 * np.sin(np.linspace(0, 800, 16000)) * rng.uniform(0.5, 1, (400, 1))).astype(np.float32)
    speech[:20] = 0  # silent clips: always noisy, no SNR
    noise = NoiseBank(
        tf.constant(rng.normal(0, 0.05, 48000).astype(np.float32)),
        tf.constant(np.array([0], np.int64)),
        tf.constant(np.array([48000], np.int64)),
    )
    mixed, p = augment_batch(tf.constant(speech), noise, tf.constant([4, 2], tf.int64), return_params=True)
    shift, noisy, snr = p["shift"].numpy(), p["noisy"].numpy(), p["snr_db"].numpy()
    assert shift.min() >= -1600 and shift.max() <= 1600 and np.ptp(shift) > 2800  # jitter up to 100 ms
    assert noisy[:20].all()
    assert 0.72 < noisy[20:].mean() < 0.88  # 80% of the speech clips get noise
    ok = ~np.isnan(snr)
    assert (snr[ok] >= 10).all() and (snr[ok] <= 20).all() and np.isnan(snr[:20]).all()
    # the realised SNR of a noisy clip is the drawn one: (jittered clip power) / (power of what was added)
    i = int(np.flatnonzero(ok)[0])
    k, jittered = int(shift[i]), np.zeros(16000, np.float32)
    jittered[max(k, 0) : 16000 + min(k, 0)] = speech[i][max(-k, 0) : 16000 - max(k, 0)]
    added = mixed.numpy()[i] - jittered
    realised = 10 * np.log10(np.mean(jittered**2) / np.mean(added**2))
    assert realised == pytest.approx(snr[i], abs=0.05)


@pytest.mark.usefixtures("data_dir")
def test_the_bank_of_the_real_subset_has_the_appendix_b_statistics(data_dir):
    from rena_lib.data.speech_commands import RESPLIT_SALT, SpeechCommandsData

    data = SpeechCommandsData(data_dir / "speech_commands", split_salt=RESPLIT_SALT)
    bank = data.feature_bank(1)
    n = len(data.labels("train"))
    assert bank.train.shape == (1, n, 49, 40) and bank.train.dtype == np.float16
    silent = data.labels("train") == 0
    noisy = bank.params["noisy"][0]
    assert noisy[silent].all() and 0.75 < noisy[~silent].mean() < 0.85
    snr = bank.params["snr_db"][0][noisy & ~silent]
    assert snr.min() >= 10 and snr.max() <= 20 and np.ptp(snr) > 9
    assert np.abs(bank.params["shift"]).max() <= 1600
    assert abs(float(bank.train[0].mean())) < 0.3  # normalised by the clean training statistics
    assert data.feature_bank(1) is bank  # drawn once per process


# ------------------------------------------------------------------------------- children that learn
def _adam(steps_per_epoch: int):
    import keras

    return keras.optimizers.Adam(2e-3)  # constant: the test is of the architecture, not of a schedule


@pytest.mark.parametrize(
    "text", ["Conv2d (1,32,10,4,2,2) DS-Conv2d (1,32,3,3,1,1) AvgPool2d", "GRU (1,32,1)"]
)
def test_smallest_ds_cnn_and_gru_children_fit_their_training_set(text, data_dir):
    from rena_lib.data.speech_commands import RESPLIT_SALT, SpeechCommandsData

    bank = SpeechCommandsData(data_dir / "speech_commands", split_salt=RESPLIT_SALT).feature_bank(1)
    spec = from_paper_notation(text, "kws")
    budget = Budget("kws", epochs=10, batch_size=32, max_train_examples=1280, augment=False)  # 400 steps
    r = train_child(lambda: build(spec), bank, budget, optimizer_fn=_adam)
    assert not r.failed, r.reason
    # chance is 1/12 = 0.083; before batch norm this DS-CNN stayed near it for 20-30 epochs
    assert r.extras["train_accuracy"] > 0.25, (
        f"{text} fits {r.extras['train_accuracy']:.2f} of its training set"
    )
    assert r.performance > 0.15


JAX_SCRIPT = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from rena_lib.arch import build, fold_batchnorm, from_paper_notation
from rena_lib.data.feature_bank import FeatureBank
from rena_lib.metrics import measure
from rena_lib.training import Budget, KwsEvaluator, train_child
rng = np.random.default_rng(0)
y = (np.arange(192) % 12).astype(np.int32)
x = rng.normal(0, 1, (2, 192, 49, 40)).astype(np.float32)
for i, c in enumerate(y):
    x[:, i, 4 * c : 4 * c + 6, 3 * c : 3 * c + 5] += 2.0
bank = FeatureBank(x.astype(np.float16), y, {"validation": x[0, :48], "test": x[0, :48]},
                   {"validation": y[:48], "test": y[:48]})
spec = from_paper_notation("Conv2d (1,8,10,4,2,2) DS-Conv2d (1,8,3,3,1,1) AvgPool2d", "kws")
ev = KwsEvaluator(Budget("kws", epochs=2, batch_size=32), bank=bank)
r = ev(spec)
import keras
folded = fold_batchnorm(build(spec), spec)
print(json.dumps({"backend": keras.backend.backend(), "failed": r.failed, "reason": r.reason,
                  "acc": r.performance, "epochs": r.epochs, "tf": "tensorflow" in sys.modules,
                  "folded_params": folded.count_params(), "measured": measure(spec)["params"]}))
"""


def test_children_build_and_train_under_jax_without_importing_tensorflow(tmp_path):
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    script = tmp_path / "jax_child.py"
    script.write_text(JAX_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), str(ROOT)], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["backend"] == "jax" and not res["failed"], res
    assert res["epochs"] == 2 and 0.0 <= res["acc"] <= 1.0
    assert res["tf"] is False, "TensorFlow was imported on the JAX path"
    assert res["folded_params"] == res["measured"]


def test_a_budget_larger_than_the_data_stops_before_training(data_dir):
    from rena_lib.data.speech_commands import RESPLIT_SALT
    from rena_lib.evaluation import SetupError
    from rena_lib.training import KwsEvaluator

    ev = KwsEvaluator(
        Budget("kws", epochs=1, batch_size=64, max_train_examples=10**6),
        data_dir / "speech_commands",
        split_salt=RESPLIT_SALT,
    )
    with pytest.raises(SetupError, match=r"Budget\.max_train_examples=1000000"):
        ev(from_paper_notation("FC (1,12)", "kws"))
    with pytest.raises(ValueError, match="augmentation="):
        KwsEvaluator(augmentation="bnak")
    with pytest.raises(ValueError, match="bank_epochs"):
        KwsEvaluator(bank_epochs=0)


def test_a_smaller_bank_is_cut_once_from_the_larger_one(data_dir):
    from rena_lib.data.speech_commands import RESPLIT_SALT, SpeechCommandsData

    data = SpeechCommandsData(data_dir / "speech_commands", split_salt=RESPLIT_SALT, seed=11)
    big = data.feature_bank(2)
    small = data.feature_bank(1)
    assert small.epochs == 1 and np.shares_memory(small.train, big.train)
    assert data.feature_bank(1) is small  # every child asking for 1 epoch reads the same bank (and tensors)
    assert data.feature_bank(2) is big
