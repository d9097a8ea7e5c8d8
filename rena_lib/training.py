"""Child training: budgets, the paper's optimisers, train-a-child, and the CIFAR-10 / KWS evaluators.

Keras and TensorFlow are imported lazily, so budgets and evaluators can be built and pickled (for Ray
workers) without paying the TensorFlow import; datasets load on a child's first evaluation in a process.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from rena_lib.evaluation import EvalResult, SetupError

if TYPE_CHECKING:
    import keras

    from rena_lib.data.feature_bank import FeatureBank

__all__ = [
    "TASKS",
    "Budget",
    "CifarEvaluator",
    "KwsEvaluator",
    "cifar_optimizer",
    "cifar_schedule",
    "kws_optimizer",
    "kws_schedule",
    "release_custom_gradients",
    "set_seed",
    "train_child",
]

TASKS = ("cifar10", "kws")

# Section 5.1.1: SGD with Nesterov momentum and cosine annealing with warm restarts (SGDR).
CIFAR_LR_MAX, CIFAR_LR_MIN, CIFAR_T0_EPOCHS, CIFAR_T_MUL = 0.05, 0.001, 10, 2.0
CIFAR_MOMENTUM = 0.9  # not stated in the paper; the usual value
# Appendix B: Adam, learning rate 0.001 multiplied by 0.2 every 10,000 iterations.
KWS_LR, KWS_DECAY_RATE, KWS_DECAY_STEPS = 0.001, 0.2, 10_000
# Appendix B gives the schedule but not the length: 30,000 iterations (three 10,000-step stages) as in
# the KWS baselines the paper compares with (Zhang et al. 2017, ML-KWS-for-MCU).
KWS_PAPER_STEPS = 30_000
# The `cpu` budgets (measured on 2 cores, README "Budgets"): KWS children of the whole training set.
CPU_KWS_EPOCHS, CPU_CIFAR_EPOCHS = 30, 20


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    return task


@dataclass(frozen=True)
class Budget:
    """How much training a child gets; plain data with a JSON round trip.

    epochs: passes over the (possibly reduced) training set; steps, when set, is the total number of
    optimiser steps instead (epochs = ceil(steps / steps per epoch)). data_fraction and
    max_train_examples shrink the training set (a seeded subset); max_eval_examples caps the validation
    and test sets (the first ones, for speed at smoke scale). max_seconds, when set, caps the training
    wall time of a child: training stops after the batch that crosses it and the child is evaluated as
    it is (EvalResult.extras["time_capped"] says so). It bounds the cost of the odd huge child a search
    samples at smoke scale; the paper's budgets leave it unset.
    """

    task: str
    epochs: int
    batch_size: int
    data_fraction: float = 1.0
    max_train_examples: int | None = None
    max_eval_examples: int | None = None
    steps: int | None = None
    augment: bool = True
    seed: int = 0
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        _check_task(self.task)
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0 or None, got {self.max_seconds}")
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Budget.{name} must be an int >= 1, got {v!r}")
        for name in ("steps", "max_train_examples", "max_eval_examples"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ValueError(f"Budget.{name} must be None or an int >= 1, got {v!r}")
        if not 0.0 < self.data_fraction <= 1.0:
            raise ValueError(f"data_fraction must be in (0, 1], got {self.data_fraction}")

    @classmethod
    def smoke(cls, task: str) -> Budget:
        """A budget that trains a small child in seconds on 2 CPU cores (far below paper accuracy)."""
        if _check_task(task) == "cifar10":
            return cls(task, epochs=3, batch_size=64, max_train_examples=2000, max_eval_examples=1000)
        return cls(task, epochs=6, batch_size=64, max_train_examples=2000, max_eval_examples=2000)

    @classmethod
    def cpu(cls, task: str) -> Budget:
        """A budget at which a child on 2 CPU cores is worth reading (minutes per KWS child; see README)."""
        if _check_task(task) == "cifar10":
            return cls(task, epochs=CPU_CIFAR_EPOCHS, batch_size=128)
        return cls(task, epochs=CPU_KWS_EPOCHS, batch_size=64)

    @classmethod
    def paper(cls, task: str) -> Budget:
        """The paper's budget: 150 epochs on CIFAR-10 (5.1.1); 30,000 Adam steps of 128 for KWS (Appendix B)."""
        if _check_task(task) == "cifar10":
            return cls(task, epochs=150, batch_size=128)
        return cls(task, epochs=1, batch_size=128, steps=KWS_PAPER_STEPS)

    def replace(self, **changes: Any) -> Budget:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def train_size(self, available: int) -> int:
        """Training examples used out of `available`."""
        n = max(1, math.floor(available * self.data_fraction))
        return min(n, self.max_train_examples) if self.max_train_examples else n

    def num_epochs(self, steps_per_epoch: int) -> int:
        """Epochs to run for a given number of steps per epoch."""
        return max(1, math.ceil(self.steps / steps_per_epoch)) if self.steps else self.epochs

    def plan(self, available: int) -> tuple[int, int, int]:
        """(training examples, steps per epoch, epochs) on a training set of `available` examples.

        Raises ValueError naming the field when the budget cannot run on it.
        """
        if self.max_train_examples is not None and self.max_train_examples > available:
            raise ValueError(
                f"Budget.max_train_examples={self.max_train_examples} but the training split has only "
                f"{available} examples: lower it (or leave it None to use them all)"
            )
        n = self.train_size(available)
        if n < 1:
            raise ValueError(f"the training split is empty ({available} examples)")
        steps_per_epoch = math.ceil(n / self.batch_size)
        return n, steps_per_epoch, self.num_epochs(steps_per_epoch)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Budget:
        """Inverse of to_dict (unknown keys are an error)."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown Budget fields: {sorted(unknown)}")
        return cls(**d)

    def to_json(self) -> str:
        """JSON text."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Budget:
        """Inverse of to_json."""
        return cls.from_dict(json.loads(text))


def cifar_schedule(steps_per_epoch: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """SGDR: CosineDecayRestarts from 0.05 to 0.001, first cycle 10 epochs, each next one twice as long."""
    import keras

    return keras.optimizers.schedules.CosineDecayRestarts(
        initial_learning_rate=CIFAR_LR_MAX,
        first_decay_steps=CIFAR_T0_EPOCHS * steps_per_epoch,
        t_mul=CIFAR_T_MUL,
        m_mul=1.0,
        alpha=CIFAR_LR_MIN / CIFAR_LR_MAX,
    )


def cifar_optimizer(steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """SGD with Nesterov momentum on the cifar_schedule (section 5.1.1)."""
    import keras

    return keras.optimizers.SGD(
        learning_rate=cifar_schedule(steps_per_epoch), momentum=CIFAR_MOMENTUM, nesterov=True
    )


def kws_decay_steps(total_steps: int | None) -> int:
    """Steps between the x0.2 decays: a third of the child's training (10,000 of the paper's 30,000)."""
    return KWS_DECAY_STEPS if total_steps is None else max(1, math.ceil(total_steps / 3))


def kws_schedule(total_steps: int | None = None) -> keras.optimizers.schedules.LearningRateSchedule:
    """0.001 multiplied by 0.2 after each third of training (staircase; every 10,000 of 30,000 steps, Appendix B)."""
    import keras

    return keras.optimizers.schedules.ExponentialDecay(
        KWS_LR, decay_steps=kws_decay_steps(total_steps), decay_rate=KWS_DECAY_RATE, staircase=True
    )


def kws_optimizer(
    steps_per_epoch: int | None = None, total_steps: int | None = None
) -> keras.optimizers.Optimizer:
    """Adam on the kws_schedule (Appendix B), its decays spread over total_steps (the paper's 30,000 if None)."""
    import keras

    return keras.optimizers.Adam(learning_rate=kws_schedule(total_steps))


def _epoch_timer(max_seconds: float | None = None):
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Wall time of every epoch, the batch at which TerminateOnNaN fired (if it did), and the
        wall-clock cap: training stops after the batch that crosses max_seconds."""

        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []
            self.nan_batch: int | None = None
            self.capped = False
            self._start = time.perf_counter()

        def on_train_begin(self, logs=None):
            self._start = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self._t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self._t)

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and self.nan_batch is None and not math.isfinite(float(loss)):
                self.nan_batch = batch
            if max_seconds is not None and time.perf_counter() - self._start > max_seconds:
                self.capped = True
                self.model.stop_training = True

    return EpochTimer()


def _short(exc: BaseException, limit: int = 500) -> str:
    """'Type: message', where a TensorFlow op error keeps its last lines (the cause, not the graph trace)."""
    text = str(exc)
    if "Graph execution error" in text:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        text = " ".join(lines[-2:])
    return f"{type(exc).__name__}: {text[-limit:] if len(text) > limit else text}"


def _backend() -> str:
    import keras

    return keras.backend.backend()


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and Keras (keras.utils.set_random_seed), without importing TensorFlow off its backend.

    keras.utils.set_random_seed also seeds TensorFlow whenever it is installed, which imports it (20 s);
    on the JAX or torch backends we do the rest of what it does and leave TensorFlow alone.
    """
    import random

    import keras
    import numpy as np

    if _backend() == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if _backend() == "torch":
        import torch

        torch.manual_seed(seed)


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    if _backend() == "tensorflow":
        import tensorflow as tf

        return isinstance(exc, tf.errors.ResourceExhaustedError)
    return "RESOURCE_EXHAUSTED" in str(exc) or "out of memory" in str(exc).lower()


@contextlib.contextmanager
def release_custom_gradients() -> Iterator[None]:
    """Drop the custom-gradient registrations made inside the block when it ends.

    TensorFlow registers every graph-mode tf.custom_gradient in a process-wide registry that is never
    pruned, and Keras's optimiser reduces gradients through one in every traced train step; the entry
    keeps that step's whole FuncGraph alive, so memory grew by about 6 MB per child even after
    keras.backend.clear_session() (keras-team/keras#17458 and #20552 report the symptom). The entries
    are only looked up while a gradient is being traced through that graph, which is over once the
    child is done. Not for children trained concurrently in threads of one process.
    """
    if _backend() != "tensorflow":  # nothing to release (and no TensorFlow to import) on JAX or torch
        yield
        return
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    before = set(registry) if isinstance(registry, dict) else None
    try:
        yield
    finally:
        if before is not None:
            for name in set(registry) - before:
                if name.startswith("CustomGradient-"):
                    registry.pop(name, None)


def train_child(
    model_fn: Callable[[], keras.Model],
    data: Any,
    budget: Budget,
    *,
    optimizer_fn: Callable[[int], keras.optimizers.Optimizer],
    with_test: bool = False,
    verbose: int = 0,
) -> EvalResult:
    """Build, train and evaluate one child; a build error, NaN loss or OOM becomes a failed EvalResult.

    data provides train_dataset(...), eval_dataset(...), labels(split), num_classes and input_shape
    (Cifar10Data, SpeechCommandsData, FeatureBank). Data errors and a budget that cannot run on the data
    (Budget.plan, an exhausted augmentation bank) are not the child's fault and propagate. Keras state
    is cleared before and after (with release_custom_gradients, so memory stays flat over many
    children), and the seed is set (keras.utils.set_random_seed) before building.
    """
    with release_custom_gradients():
        return _train_child(model_fn, data, budget, optimizer_fn, with_test, verbose)


def _train_child(
    model_fn: Callable[[], keras.Model],
    data: Any,
    budget: Budget,
    optimizer_fn: Callable[[int], keras.optimizers.Optimizer],
    with_test: bool,
    verbose: int,
) -> EvalResult:
    import keras

    t_start = time.perf_counter()
    keras.backend.clear_session()
    set_seed(budget.seed)
    try:  # a budget that cannot run on this data is the setup's fault, not the child's: stop the search
        n_use, steps_per_epoch, epochs = budget.plan(len(data.labels("train")))
        if hasattr(data, "check_epochs") and budget.augment:
            data.check_epochs(epochs)
    except ValueError as exc:
        raise SetupError(str(exc)) from exc
    stream = {"epochs": epochs} if getattr(data, "continuous_epochs", False) else {}
    train_ds, n_train = data.train_dataset(
        budget.batch_size, seed=budget.seed, augment=budget.augment, num_examples=n_use, **stream
    )
    val_ds = data.eval_dataset("validation", 512, max_examples=budget.max_eval_examples)
    test_ds = data.eval_dataset("test", 512, max_examples=budget.max_eval_examples) if with_test else None
    timings = {"data_s": time.perf_counter() - t_start}
    base = {"train_examples": n_train, "batch_size": budget.batch_size, "steps_per_epoch": steps_per_epoch}

    def failed(reason: str, stage: str) -> EvalResult:
        return EvalResult.failure(
            reason, wall_time=time.perf_counter() - t_start, stage=stage, **base, timings=timings
        )

    model = None
    try:
        t = time.perf_counter()
        try:
            model = model_fn()
            _check_io(model, data)
        except Exception as exc:
            if _is_oom(exc):
                return failed(f"out of memory while building: {_short(exc)}", "build")
            return failed(f"build failed: {_short(exc)}", "build")
        timings["build_s"] = time.perf_counter() - t

        stage = "train"
        try:
            t = time.perf_counter()
            model.compile(
                optimizer=_optimizer(optimizer_fn, steps_per_epoch, steps_per_epoch * epochs),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            )
            timings["compile_s"] = time.perf_counter() - t
            timer = _epoch_timer(budget.max_seconds)
            continuous = getattr(data, "continuous_epochs", False) and not hasattr(train_ds, "__getitem__")
            history = model.fit(
                train_ds,
                epochs=epochs,
                steps_per_epoch=steps_per_epoch if continuous else None,
                shuffle=False,  # the dataset shuffles itself, seeded
                verbose=verbose,
                callbacks=[keras.callbacks.TerminateOnNaN(), timer],
            ).history
            timings["first_epoch_s"] = timer.times[0] if timer.times else 0.0
            steady = timer.times[1:]
            timings["steady_epoch_s"] = sum(steady) / len(steady) if steady else timings["first_epoch_s"]
            losses = [float(x) for x in history.get("loss", [])]
            if timer.nan_batch is not None or not losses or not all(map(math.isfinite, losses)):
                return failed(
                    f"non-finite training loss (epoch {len(timer.times)}, batch {timer.nan_batch})", "train"
                )
            stage = "eval"
            t = time.perf_counter()
            val = _evaluate(model, val_ds)
            test = _evaluate(model, test_ds) if test_ds is not None else None
            timings["eval_s"] = time.perf_counter() - t
        except Exception as exc:
            if _is_oom(exc):
                return failed(f"out of memory ({stage}): {_short(exc)}", stage)
            return failed(f"{stage} failed: {_short(exc)}", stage)
        if not math.isfinite(float(val["loss"])):
            return failed(f"non-finite validation loss {val['loss']}", "eval")
        extras = {
            **base,
            "trained_weights": int(model.count_params()),  # batch norms included (folded away for inference)
            "time_capped": timer.capped,
            "final_loss": losses[-1],
            "train_accuracy": float(history["accuracy"][-1]),
            "history": {"loss": losses, "accuracy": [float(a) for a in history["accuracy"]]},
            "val_loss": float(val["loss"]),
            "timings": timings,
        }
        if test is not None:
            extras["test_loss"] = float(test["loss"])
        return EvalResult(
            performance=float(val["accuracy"]),
            test_accuracy=None if test is None else float(test["accuracy"]),
            epochs=len(losses),
            wall_time=time.perf_counter() - t_start,
            extras=extras,
        )
    finally:
        del model
        keras.backend.clear_session()
        gc.collect()


def _optimizer(optimizer_fn: Callable[..., Any], steps_per_epoch: int, total_steps: int) -> Any:
    """optimizer_fn(steps_per_epoch, total_steps=...) where it takes total_steps, else optimizer_fn(steps_per_epoch)."""
    import inspect

    try:
        takes_total = "total_steps" in inspect.signature(optimizer_fn).parameters
    except (TypeError, ValueError):
        takes_total = False
    return (
        optimizer_fn(steps_per_epoch, total_steps=total_steps)
        if takes_total
        else optimizer_fn(steps_per_epoch)
    )


def _evaluate(model: keras.Model, dataset: Any) -> dict[str, float]:
    """Mean cross-entropy and accuracy over a dataset, by eager forward passes.

    Eager calls trace no tf.function: model.evaluate would trace one per child, and Keras/TF keep part
    of every traced function alive after clear_session (keras-team/keras#20552).
    """
    import keras
    import numpy as np

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
    total_loss, correct, n = 0.0, 0, 0
    for x, y in dataset:
        logits = model(x, training=False)
        total_loss += float(loss_fn(y, logits))
        correct += int(np.sum(np.argmax(np.asarray(logits), axis=-1) == np.asarray(y)))
        n += int(y.shape[0])
    return {"loss": total_loss / max(n, 1), "accuracy": correct / max(n, 1)}


def _check_io(model: keras.Model, data: Any) -> None:
    """The model must map data.input_shape to num_classes logits."""
    in_shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
    if in_shape is not None and in_shape != tuple(data.input_shape):
        raise ValueError(f"model input shape {in_shape}, expected {tuple(data.input_shape)}")
    out = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    if out is not None and out != data.num_classes:
        raise ValueError(f"model outputs {out} classes, expected {data.num_classes}")


def _default_build(spec: Any) -> keras.Model:
    from rena_lib.arch import build

    return build(spec)


class _ChildEvaluator:
    """spec -> trained child -> EvalResult; picklable, with the dataset loaded lazily in each process."""

    task = ""

    def __init__(
        self,
        budget: Budget | None,
        data: Any,
        *,
        with_test: bool = False,
        model_fn: Callable[[Any], keras.Model] | None = None,
        verbose: int = 0,
    ) -> None:
        self.budget = Budget.smoke(self.task) if budget is None else budget
        if self.budget.task != self.task:
            raise ValueError(f"{type(self).__name__} needs a {self.task!r} budget, got {self.budget.task!r}")
        self.data = data  # lightweight settings; its loaded arrays are dropped when pickled
        self.with_test = with_test
        self.model_fn = model_fn
        self.verbose = verbose

    def __repr__(self) -> str:
        return f"{type(self).__name__}(budget={self.budget}, with_test={self.with_test})"

    def prepare(self) -> _ChildEvaluator:
        """Load the data now (fail fast on a bad dataset folder) instead of at the first child."""
        self.training_data().eval_dataset("validation", 512)
        return self

    def training_data(self) -> Any:
        """The data object children train on (the dataset; a KWS evaluator may give its augmentation bank)."""
        return self.data

    def optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        """The task's optimiser (with its learning-rate schedule)."""
        raise NotImplementedError

    def evaluate_model(self, model_fn: Callable[[], keras.Model] | keras.Model) -> EvalResult:
        """Train and evaluate a Keras model (or a zero-argument factory of one) under this budget."""
        factory = model_fn if callable(model_fn) and not hasattr(model_fn, "fit") else (lambda: model_fn)
        return train_child(
            factory,
            self.training_data(),
            self.budget,
            optimizer_fn=self.optimizer,
            with_test=self.with_test,
            verbose=self.verbose,
        )

    def __call__(self, spec: Any) -> EvalResult:
        """Build spec (rena_lib.arch.build, or model_fn), train it under the budget, evaluate it."""
        spec_task = getattr(spec, "task", None)
        if spec_task is not None and spec_task != self.task:
            return EvalResult.failure(f"spec for task {spec_task!r} given to the {self.task!r} evaluator")
        build = self.model_fn or _default_build
        result = self.evaluate_model(lambda: build(spec))
        result.extras["budget"] = self.budget.to_dict()
        if self.model_fn is None and not result.failed:
            from rena_lib.metrics import measure

            result.extras["params"] = int(measure(spec)["params"])  # the inference graph (batch norms folded)
        return result


class CifarEvaluator(_ChildEvaluator):
    """CIFAR-10 child evaluator (section 5.1): validation accuracy after training under a budget."""

    task = "cifar10"

    def __init__(
        self,
        budget: Budget | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        with_test: bool = False,
        model_fn: Callable[[Any], keras.Model] | None = None,
        validation_fraction: float = 0.1,
        verbose: int = 0,
    ) -> None:
        from rena_lib.data.cifar10 import Cifar10Data

        data = Cifar10Data(data_dir, validation_fraction=validation_fraction)
        super().__init__(budget, data, with_test=with_test, model_fn=model_fn, verbose=verbose)

    def optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        """SGD + Nesterov with cosine warm restarts."""
        return cifar_optimizer(steps_per_epoch)


class KwsEvaluator(_ChildEvaluator):
    """Speech Commands 12-class child evaluator (section 5.2, Appendix B)."""

    task = "kws"

    def __init__(
        self,
        budget: Budget | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        with_test: bool = False,
        model_fn: Callable[[Any], keras.Model] | None = None,
        split_salt: str = "",
        eval_noise: bool = False,
        cache_dir: str | os.PathLike[str] | None = None,
        augmentation: str = "bank",
        bank_epochs: int | None = None,
        bank: str | os.PathLike[str] | FeatureBank | None = None,
        verbose: int = 0,
    ) -> None:
        from rena_lib.data.speech_commands import SpeechCommandsData

        if augmentation not in AUGMENTATIONS:
            raise ValueError(f"augmentation={augmentation!r}; choose one of {AUGMENTATIONS}")
        if bank_epochs is not None and (
            not isinstance(bank_epochs, int) or isinstance(bank_epochs, bool) or bank_epochs < 1
        ):
            raise ValueError(f"bank_epochs must be None or an int >= 1, got {bank_epochs!r}")
        data = SpeechCommandsData(data_dir, split_salt=split_salt, eval_noise=eval_noise, cache_dir=cache_dir)
        super().__init__(budget, data, with_test=with_test, model_fn=model_fn, verbose=verbose)
        self.augmentation = augmentation
        self.bank_epochs = bank_epochs
        self.bank = str(bank) if isinstance(bank, str | os.PathLike) else bank

    def __repr__(self) -> str:
        return (
            f"KwsEvaluator(budget={self.budget}, with_test={self.with_test}, augmentation={self.augmentation!r}"
            + (f", bank={self.bank!r}" if isinstance(self.bank, str) else "")
            + ")"
        )

    def training_data(self) -> Any:
        """The augmentation bank (given, loaded from its file, or drawn once per process), else the dataset.

        augmentation='bank' (default) draws the budget's epochs of Appendix B augmentation once per
        process and every child reads them; 'online' draws it per child and batch (the paper-scale path,
        where a bank of the full dataset would not fit in memory).
        """
        if self.bank is not None:
            return _load_bank(self.bank) if isinstance(self.bank, str) else self.bank
        if self.augmentation == "online" or not self.budget.augment:
            return self.data
        self.data.noise  # noqa: B018 - a bad _background_noise_ file is named before anything is drawn
        try:
            _, _, epochs = self.budget.plan(len(self.data.labels("train")))
        except ValueError as exc:  # the setup's fault, not a child's: stops a search
            raise SetupError(str(exc)) from exc
        return self.data.feature_bank(self.bank_epochs or epochs)

    def prepare(self) -> KwsEvaluator:
        """Load the validation data and, if used, the background-noise bank now (fail fast on bad data)."""
        # issue 18: a bad _background_noise_ file fails here, not every child
        if self.bank is None and (self.budget.augment or self.data.eval_noise):
            self.data.noise  # noqa: B018 - decodes every _background_noise_ file once
        super().prepare()
        return self

    def optimizer(self, steps_per_epoch: int, total_steps: int | None = None) -> keras.optimizers.Optimizer:
        """Adam with the staircase decay of Appendix B, x0.2 after each third of the child's steps."""
        return kws_optimizer(steps_per_epoch, total_steps=total_steps)


AUGMENTATIONS = ("bank", "online")
_BANKS: dict[str, Any] = {}


def _load_bank(path: str) -> FeatureBank:
    """A FeatureBank file, loaded once per process."""
    from rena_lib.data.feature_bank import FeatureBank

    if path not in _BANKS:
        _BANKS.clear()
        _BANKS[path] = FeatureBank.load(path, reuse=True)
    return _BANKS[path]
