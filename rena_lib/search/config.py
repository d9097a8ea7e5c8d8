"""SearchConfig: every setting of a search as plain data (JSON round-trip), with the paper's presets."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from rena_lib import spaces
from rena_lib.arch.graph import validate
from rena_lib.arch.notation import from_paper_notation, to_paper_notation
from rena_lib.arch.spec import Spec
from rena_lib.metrics import CONVENTIONS, DEFAULT_BATCH_SIZE, DEFAULT_CONVENTION
from rena_lib.reward import Constraint

__all__ = ["PROPOSERS", "SearchConfig", "read_config"]

#: the paper's proposers (RENA and random search, what the notebooks compare); every registered proposer
#: (also "evolution", "tpe" and those added with register_proposer): rena_lib.search.proposer_names()
PROPOSERS = ("rena", "random")

_ALIASES = {"kws": "kws_layer", "cifar": "cifar_layer", "module": "cifar_module"}

# (episode size T, batch size N, top-K, episodes) of the paper's searches (sections 5.1.1, 5.2.1)
_PAPER = {
    "kws_layer": (5, 10, 10, 8),  # 5 x 10 per episode; Fig. 4b spans 400 children = 8 episodes
    "cifar_layer": (10, 8, 8, 8),  # 10 x 8, top-8 baselines; Fig. 4a spans ~500+ children
    "cifar_module": (5, 8, 8, 15),  # 5 x 8, MAX_BRANCHES = 5, always from the one-branch baseline
}


@dataclass
class SearchConfig:
    """Settings of one search; `to_dict`/`from_dict` round-trip, `validate()` raises ValueError early.

    Budget: `episodes` x `episode_size` (T steps) x `batch_size` (N trajectories) children. The REINFORCE
    baseline b(s_t) is an exponential moving average (decay `baseline_decay`) of the mean return-to-go
    from step t (see rena_lib.search.reinforce). `updates_per_episode` > 1 (several Adam steps on one
    episode's batch) and `entropy_weight` > 0 are options beyond the paper (defaults 1 and 0 = paper).
    `metrics_convention` and `metrics_batch_size` say how bytes accessed, and so compute intensity, are
    counted for the constraints (rena_lib.metrics; default: per op at batch 64).

    `proposer` names a proposer of rena_lib.search.proposers ("rena", "random", "evolution", "tpe" or
    one added with register_proposer); `proposer_options` are its own options as plain data (evolution:
    population, sample; tpe: n_startup_trials, multivariate, group), checked by the proposer before the
    search starts. `skip_beyond_bound` (a factor >= 1, off by default) declines to train a child whose
    metrics, measured before training (rena_lib.metrics), are beyond a constraint by more than that factor
    (above factor x bound for "<", below bound / factor for ">"): it is logged as a failed child with
    reward 0 and the reason "skipped beyond bound: ..." naming the metric, value and bound.
    """

    # a registered space's name, or a SearchSpace: a registered one is stored by its name; a user-built,
    # unregistered one is kept and serialised as plain data (its to_dict), its layer types must be registered
    space: str | spaces.SearchSpace = "kws_layer"
    max_layers: int | None = None
    proposer: str = "rena"
    episodes: int = 8
    episode_size: int = 5
    batch_size: int = 10
    top_k: int | None = None  # None: batch_size
    constraints: list[Any] = field(default_factory=list)  # Constraint dicts or strings like "params < 1e5"
    penalty_base: float = 0.9
    seed: int = 0
    embed_size: int = 32
    embed_units: int = 32
    controller_units: int = 128
    learning_rate: float = 0.0006
    baseline: str | None = None  # paper notation; None: spaces.BASELINES[space]
    restart_from_baseline: bool | None = None  # None: True for module search, else False (top-K)
    baseline_decay: float = 0.8
    updates_per_episode: int = 1
    entropy_weight: float = 0.0
    stack: dict[str, Any] | None = None  # module search stacking (spaces.DEFAULT_MODULE_STACK)
    metrics_convention: str = DEFAULT_CONVENTION  # "per_op" or "per_layer" byte accounting
    metrics_batch_size: int = DEFAULT_BATCH_SIZE  # the batch the bytes accessed are counted for
    proposer_options: dict[str, Any] = field(default_factory=dict)  # the proposer's own options
    skip_beyond_bound: float | None = None  # None: train every child; else see the class docstring

    def __post_init__(self) -> None:
        self.space, self.max_layers, self.stack = _space_value(self.space, self.max_layers, self.stack)
        if isinstance(self.constraints, str | Constraint | dict):
            self.constraints = [self.constraints]
        if not isinstance(self.constraints, list | tuple):
            raise ValueError(
                f"constraints must be a list of constraints (strings like 'params < 1e5', dicts or "
                f"Constraint objects), got {self.constraints!r}"
            )
        self.constraints = [_constraint_dict(c) for c in self.constraints]
        self.baseline = _baseline_notation(self.baseline)

    # ---- presets --------------------------------------------------------------------------------
    @classmethod
    def paper(cls, space: str, **overrides: Any) -> SearchConfig:
        """The paper's settings for "kws", "cifar_layer" or "cifar_module" (sections 5.1.1, 5.2.1)."""
        name = _ALIASES.get(space, space)
        if name not in _PAPER:
            raise ValueError(
                f"no paper preset for {space!r}; choose one of {tuple(_PAPER)} (or kws, cifar, module)"
            )
        T, N, K, E = _PAPER[name]
        base = {"space": name, "episode_size": T, "batch_size": N, "top_k": K, "episodes": E}
        if name == "cifar_module":
            base["max_layers"] = 5
        return cls(**{**base, **overrides})

    @classmethod
    def smoke(cls, space: str = "kws_layer", **overrides: Any) -> SearchConfig:
        """A tiny search (2 episodes x 2 steps x 2 trajectories) for notebooks and tests."""
        base = cls.paper(space).to_dict()
        base.update(episodes=2, episode_size=2, batch_size=2, top_k=2)
        return cls(**{**base, **overrides})

    # ---- derived ----------------------------------------------------------------------------------
    @property
    def total_children(self) -> int:
        """episodes x episode_size x batch_size."""
        return self.episodes * self.episode_size * self.batch_size

    @property
    def k(self) -> int:
        """Number of baselines carried to the next episode."""
        return self.batch_size if self.top_k is None else self.top_k

    def search_space(self) -> spaces.SearchSpace:
        """The SearchSpace object (the registered one named, or the one given, at max_layers and stack)."""
        return spaces.get(self.space, self.max_layers, self.stack)

    def baseline_spec(self) -> Spec:
        """The spec every trajectory starts from (validated, a member of the space)."""
        space = self.search_space()
        if self.baseline is None:
            return spaces.baseline(space)
        spec = from_paper_notation(self.baseline, space.task, space.granularity, space.stack)
        space.check(spec)
        validate(spec)
        return spec

    def constraint_objects(self) -> list[Constraint]:
        """The constraints as rena_lib.reward.Constraint objects."""
        return [Constraint.from_dict(c) for c in self.constraints]

    @property
    def restarts(self) -> bool:
        """True if every episode starts from the baseline (module search), else from the top-K."""
        if self.restart_from_baseline is None:
            return self.search_space().granularity == "module"
        return bool(self.restart_from_baseline)

    def validate(self) -> None:
        """Raise ValueError naming the bad setting (before a search starts)."""
        if self.max_layers is not None and (
            isinstance(self.max_layers, bool) or not isinstance(self.max_layers, int) or self.max_layers < 1
        ):
            raise ValueError(f"max_layers must be a positive int (or None), got {self.max_layers!r}")
        space = self.search_space()  # unknown space, or a space whose task or layer types are not registered
        if not isinstance(self.proposer, str) or not self.proposer:
            raise ValueError(
                f"proposer must be a proposer's name (one of {PROPOSERS}), got {self.proposer!r}"
            )
        if not isinstance(self.proposer_options, dict) or not all(
            isinstance(k, str) for k in self.proposer_options
        ):
            raise ValueError(
                f"proposer_options must be a dict of option name -> value, got {self.proposer_options!r}"
            )
        try:
            json.dumps(self.proposer_options, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"proposer_options must be plain JSON data: {exc}") from exc
        if self.skip_beyond_bound is not None and _number("skip_beyond_bound", self.skip_beyond_bound) < 1:
            raise ValueError(
                f"skip_beyond_bound must be a factor >= 1 (or None), got {self.skip_beyond_bound!r}"
            )
        for name in (
            "episodes",
            "episode_size",
            "batch_size",
            "embed_size",
            "embed_units",
            "controller_units",
            "updates_per_episode",
            "metrics_batch_size",
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if self.top_k is not None and (
            isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 1
        ):
            raise ValueError(f"top_k must be a positive int (or None), got {self.top_k!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")
        if self.metrics_convention not in CONVENTIONS:
            raise ValueError(
                f"unknown metrics_convention {self.metrics_convention!r}; choose one of {CONVENTIONS}"
            )
        _positive("learning_rate", self.learning_rate)
        if not 0.0 < _number("penalty_base", self.penalty_base) <= 1.0:
            raise ValueError(f"penalty_base must be in (0, 1], got {self.penalty_base!r}")
        if not 0.0 <= _number("baseline_decay", self.baseline_decay) < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {self.baseline_decay!r}")
        if _number("entropy_weight", self.entropy_weight) < 0:
            raise ValueError(f"entropy_weight must be >= 0, got {self.entropy_weight!r}")
        self.constraint_objects()
        try:
            self.baseline_spec()
        except ValueError as exc:
            raise ValueError(
                f"baseline {self.baseline!r} is not a member of space {space.name!r}: {exc}"
            ) from exc

    # ---- plain data -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (a user-built space as its plain data)."""
        d = asdict(self)
        if isinstance(self.space, spaces.SearchSpace):
            d["space"] = self.space.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SearchConfig:
        """Inverse of to_dict; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown SearchConfig fields {unknown}")
        return cls(**d)

    def to_json(self) -> str:
        """JSON text (sorted keys, strict: no NaN)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> SearchConfig:
        """Inverse of to_json."""
        return cls.from_dict(json.loads(text))


def read_config(path: str | Path) -> SearchConfig:
    """The SearchConfig in a search directory's config.json; ValueError naming the file if unreadable."""
    path = Path(path)
    try:
        return SearchConfig.from_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ValueError(
            f"{path} is not a readable search config ({type(exc).__name__}: {exc}). Restore it from a copy "
            f"(it must equal the config the search was started with), or start again in a new directory"
        ) from exc


def _space_value(
    space: Any, max_layers: int | None, stack: dict[str, Any] | None
) -> tuple[str | spaces.SearchSpace, int | None, dict[str, Any] | None]:
    """(space, max_layers, stack) as stored: a name for a registered space, else the SearchSpace itself."""
    if isinstance(space, dict):
        space = spaces.SearchSpace.from_dict(space)
    if not isinstance(space, spaces.SearchSpace):
        return _ALIASES.get(space, space), max_layers, stack
    name = spaces.registered_name(space)
    if name is None:
        return space, max_layers, stack
    default = spaces.get(name)
    if max_layers is None and space.max_layers != default.max_layers:
        max_layers = space.max_layers
    if stack is None and space.stack != default.stack:
        stack = space.stack
    return name, max_layers, stack


def _baseline_notation(b: Any) -> str | None:
    """A baseline given as paper notation, a Spec or a Spec dict, as paper notation (plain data)."""
    if b is None or isinstance(b, str):
        return b
    try:
        spec = b if isinstance(b, Spec) else Spec.from_dict(b) if isinstance(b, dict) else None
        if spec is not None:
            return to_paper_notation(spec)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"baseline {b!r} is not a spec: {exc}") from exc
    raise ValueError(
        f"baseline must be paper notation (e.g. 'GRU (2,64,1) FC (1,12)'), a Spec or a Spec dict, "
        f"got {type(b).__name__} {b!r}"
    )


def _constraint_dict(c: Any) -> dict[str, Any]:
    if isinstance(c, Constraint):
        return c.to_dict()
    if isinstance(c, str):
        return Constraint.parse(c).to_dict()
    if isinstance(c, dict):
        return Constraint.from_dict(c).to_dict()
    raise ValueError(f"a constraint must be a string, a dict or a Constraint, got {c!r}")


def _number(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def _positive(name: str, v: Any) -> None:
    if _number(name, v) <= 0:
        raise ValueError(f"{name} must be > 0, got {v!r}")
