"""Optuna's TPE (tree-structured Parzen estimator) as a proposer: whole architectures, ask / tell.

Every child is a whole architecture of the search space, sampled define-by-run in an Optuna trial
(``study.ask()``): ``n_layers`` in 1..MAX_LAYERS, then for layer (branch) i = 1..n its ``layer{i}.type``
among the space's layer types, then each feature of that type: sources (``layer{i}.src1``/``src2``) as
ints in 0..i-1, every other feature categorical over the space's values. Such a child has no parent and
no edits (its log record's actions are [] and parent_key None; "proposal" names the trial). A child
outside the space or that does not build is a failed child with reward 0, like any other. The trial's
value is the child's reward (maximised; 0 for a failed child) given with ``study.tell``.

Options (``SearchConfig.proposer_options``): ``n_startup_trials`` (random trials before TPE, default
10), ``multivariate`` and ``group`` (default True: TPE over the joint, conditional space; group needs
multivariate). The sampler is seeded with config.seed. config.batch_size trials are asked at once and
told together (the sampler's constant liar accounts for the trials still running).

Checkpoint: the finished trials (params, distributions, values) are JSON state, and the sampler - with
its random states - is pickled into the uint8 array "sampler". On resume a fresh in-memory study gets
the finished trials back (``study.add_trial``) and the unpickled sampler, so the next trials are the
ones an uninterrupted search asks. (The pickle is read only from the search's own checkpoint.)
"""

from __future__ import annotations

import copy
import json
import pickle
import warnings
from typing import Any, ClassVar

import numpy as np

from rena_lib.arch.spec import Layer, Spec
from rena_lib.search.config import SearchConfig
from rena_lib.search.proposers.base import Candidate
from rena_lib.spaces import SOURCE_FEATURES, SearchSpace

__all__ = ["TPEProposer", "sample_architecture"]


def sample_architecture(trial: Any, space: SearchSpace) -> Spec:
    """A whole architecture of space, sampled define-by-run through an Optuna trial's suggest_* calls."""
    n = trial.suggest_int("n_layers", 1, space.max_layers)
    layers = []
    for i in range(1, n + 1):
        layer_type = trial.suggest_categorical(f"layer{i}.type", list(space.layer_types))
        feats: dict[str, Any] = {}
        for f in space.type_features[layer_type]:
            if f in SOURCE_FEATURES:
                feats[f] = trial.suggest_int(f"layer{i}.{f}", 0, i - 1)
            else:
                feats[f] = trial.suggest_categorical(f"layer{i}.{f}", list(space.features[f]))
        layers.append(Layer(layer_type, feats))
    return Spec(space.task, layers, space.granularity, dict(space.stack) if space.stack else None)


class TPEProposer:
    """Optuna TPE over whole architectures (see the module docstring)."""

    name = "tpe"
    OPTIONS: ClassVar[dict[str, Any]] = {"n_startup_trials": 10, "multivariate": True, "group": True}

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """Raise ValueError naming a bad option."""
        opts = {**cls.OPTIONS, **options}
        v = opts["n_startup_trials"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"tpe option 'n_startup_trials' must be an int >= 0, got {v!r}")
        for k in ("multivariate", "group"):
            if not isinstance(opts[k], bool):
                raise ValueError(f"tpe option {k!r} must be True or False, got {opts[k]!r}")
        if opts["group"] and not opts["multivariate"]:
            raise ValueError("tpe option 'group' needs 'multivariate': True")

    def __init__(self, config: SearchConfig):
        import optuna

        self.check_options(config.proposer_options)
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial
        self.config = config
        self.space = config.search_space()
        self.options = {**self.OPTIONS, **config.proposer_options}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ExperimentalWarning of multivariate / group
            sampler = optuna.samplers.TPESampler(seed=config.seed, **self.options)
        self._new_study(sampler, [])
        self.updates = 0

    def _new_study(self, sampler: Any, trials: list[Any]) -> None:
        import optuna

        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        for t in trials:
            self.study.add_trial(t)

    def ask(self) -> list[Candidate]:
        """config.batch_size whole architectures, one Optuna trial each."""
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(self.config.batch_size):
                trial = self.study.ask()
                spec = sample_architecture(trial, self.space)
                out.append(Candidate(spec, None, [], None, decisions=trial, info={"trial": trial.number}))
        return out

    def tell(self, candidates: list[Candidate], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each trial's value is its child's reward (0 for a failed child)."""
        for cand, rec in zip(candidates, records, strict=True):
            self.study.tell(cand.decisions, 0.0 if rec["failed"] else float(rec["reward"]))
        self.updates += 1
        return []

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Finished trials (JSON) and the pickled sampler (uint8 array "sampler")."""
        from optuna.distributions import distribution_to_json

        trials = [
            {
                "params": t.params,
                "distributions": {k: distribution_to_json(d) for k, d in t.distributions.items()},
                "value": t.value,
            }
            for t in self.study.get_trials(deepcopy=False)
        ]
        sampler = np.frombuffer(pickle.dumps(self.study.sampler), dtype=np.uint8).copy()
        return copy.deepcopy({"updates": self.updates, "trials": trials}), {"sampler": sampler}

    def load_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """A fresh study with the finished trials and the unpickled sampler."""
        import optuna
        from optuna.distributions import json_to_distribution

        if "sampler" not in arrays:
            raise ValueError("the checkpoint holds no TPE sampler (array 'sampler')")
        sampler = pickle.loads(np.asarray(arrays["sampler"], dtype=np.uint8).tobytes())
        trials = [
            optuna.trial.create_trial(
                params=t["params"],
                distributions={k: json_to_distribution(d) for k, d in t["distributions"].items()},
                value=t["value"],
            )
            for t in json.loads(json.dumps(state["trials"]))
        ]
        self._new_study(sampler, trials)
        self.updates = int(state["updates"])
