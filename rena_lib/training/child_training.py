"""train_child: build, train and evaluate one child under a budget; its failures become failed EvalResults."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rena_lib.evaluation import EvalResult, SetupError
from rena_lib.training.budget import Budget
from rena_lib.training.epoch_timer import _epoch_timer
from rena_lib.training.keras_backend import _is_oom, release_custom_gradients
from rena_lib.training.seeding import set_seed

if TYPE_CHECKING:
    import keras


def _short(exc: BaseException, limit: int = 500) -> str:
    """'Type: message', where a TensorFlow op error keeps its last lines (the cause, not the graph trace)."""
    text = str(exc)
    if "Graph execution error" in text:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        text = " ".join(lines[-2:])
    return f"{type(exc).__name__}: {text[-limit:] if len(text) > limit else text}"


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
