"""The child evaluators: spec -> trained child -> EvalResult, for CIFAR-10 and for KWS (with its augmentation bank)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rena_lib.evaluation import EvalResult, SetupError
from rena_lib.training.budget import Budget
from rena_lib.training.child_training import train_child
from rena_lib.training.schedules import cifar_optimizer, kws_optimizer

if TYPE_CHECKING:
    import keras

    from rena_lib.data.feature_bank import FeatureBank


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
