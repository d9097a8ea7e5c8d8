"""A surrogate of validation accuracy fitted on real trainings (as NAS-Bench-301 does), and its evaluator.

Fitted on one budget's rows of the table of real trainings (rena_lib.real_trainings): each row's spec
becomes a fixed-length feature vector (spec_features: per layer type its count, total depth and mean
features, the first and last layer types, and the analytic log-params, log-FLOPs and intensity), and a
scikit-learn gradient-boosting regressor maps it to the measured validation accuracy. Its quality is
measured on architectures held out from the fit (cross_validate: Kendall tau and mean absolute error,
overall and per source of the rows). SurrogateEvaluator turns it into a search evaluator: deterministic by
spec, with the seed noise measured on repeated trainings of one spec optionally added from a draw seeded
by (seed, spec).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rena_lib import spaces
from rena_lib.arch.registry import family_types, get_task
from rena_lib.arch.spec import Spec
from rena_lib.evaluation import EvalResult

__all__ = [
    "Surrogate",
    "SurrogateEvaluator",
    "cross_validate",
    "feature_names",
    "fit_surrogate",
    "seed_noise",
    "spec_features",
]

MIN_ROWS = 20
#: the first columns of every space's features (the per-layer-type columns follow them)
_GLOBAL_FEATURES = ("log10_params", "log10_flops", "log10_intensity", "layers")
#: the features whose fitted range Surrogate.inside_fit_range checks, by column
_RANGE_FEATURES = {
    name: _GLOBAL_FEATURES.index(name) for name in ("log10_params", "log10_flops", "log10_intensity")
}
_FILES = ("surrogate.json", "model.pkl")


def _space(space: str | spaces.SearchSpace) -> spaces.SearchSpace:
    return spaces.get(space) if isinstance(space, str) else space


def _numeric_fields(space: spaces.SearchSpace) -> dict[str, list[str]]:
    """Every layer type a spec of the space's task and granularity may hold (the space's own first, then the
    family's others, such as the global average pooling of Table 2's notation), with its numeric fields
    (those whose values in the space are numbers)."""
    family = get_task(space.task).granularities[space.granularity].family
    fields = {t: space.type_features[t] for t in space.layer_types}
    fields |= {name: entry.fields for name, entry in family_types(family).items() if name not in fields}
    return {
        t: [
            f
            for f in fs
            if f not in spaces.SOURCE_FEATURES
            and f in space.features
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in space.features[f])
        ]
        for t, fs in fields.items()
    }


def _names(numeric: dict[str, list[str]]) -> list[str]:
    names = list(_GLOBAL_FEATURES)
    for t, fs in numeric.items():
        names += [f"{t}:count", f"{t}:depth", f"{t}:first", f"{t}:last", *(f"{t}:{f}" for f in fs)]
    return names


def feature_names(space: str | spaces.SearchSpace) -> list[str]:
    """The names of spec_features' columns for a space, in order."""
    return _names(_numeric_fields(_space(space)))


def spec_features(spec: Spec, space: str | spaces.SearchSpace) -> np.ndarray:
    """A spec as a fixed-length float vector (named by feature_names); a spec of another task or space raises."""
    from rena_lib.metrics import measure

    space = _space(space)
    numeric = _check_describable(spec, space)
    m = measure(spec)
    row: dict[str, float] = {
        "log10_params": math.log10(max(m["params"], 1)),
        "log10_flops": math.log10(max(m["flops"], 1.0)),
        "log10_intensity": math.log10(max(m["intensity"], 1e-6)),
        "layers": float(len(spec.layers)),
    }
    for t, fields in numeric.items():
        mine = [layer for layer in spec.layers if layer.type == t]
        row[f"{t}:count"] = float(len(mine))
        row[f"{t}:depth"] = float(sum(layer.get("num_layers", 1) for layer in mine))
        row[f"{t}:first"] = float(spec.layers[0].type == t)
        row[f"{t}:last"] = float(spec.layers[-1].type == t)
        for f in fields:
            row[f"{t}:{f}"] = float(np.mean([layer[f] for layer in mine])) if mine else 0.0
    return np.array([row[n] for n in _names(numeric)], dtype=np.float64)


def _check_describable(spec: Spec, space: spaces.SearchSpace) -> dict[str, list[str]]:
    """The space's numeric fields per layer type (_numeric_fields), after raising ValueError unless spec has
    the space's task, granularity, layer types and fields (values may lie off the space's grid, as the
    published architectures of Table 2 do)."""
    where = f"the surrogate describes networks of the space {space.name!r} ({space.task})"
    if not isinstance(spec, Spec):
        raise ValueError(f"{where}; got {type(spec).__name__}, not a Spec")
    if spec.task != space.task or spec.granularity != space.granularity:
        raise ValueError(f"{where}; this spec is a {spec.granularity} spec of the task {spec.task!r}")
    if not spec.layers:
        raise ValueError(f"{where}; this spec has no layers")
    numeric = _numeric_fields(space)
    for i, layer in enumerate(spec.layers, start=1):
        if layer.type not in numeric:
            raise ValueError(f"{where}; layer {i} has the type {layer.type!r}, not one of {tuple(numeric)}")
        missing = [f for f in numeric[layer.type] if not isinstance(layer.get(f), int | float)]
        if missing:
            raise ValueError(f"{where}; layer {i} ({layer.type}) lacks the numeric fields {missing}")
    return numeric


def _budget_key(budget: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in budget.items() if k != "seed"}, sort_keys=True)


def _rows(
    records: Iterable[dict[str, Any]], budget: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict]:
    """The successful rows of one budget (named errors for a mixed or missing budget, or a partial row)."""
    records = list(records)
    for i, r in enumerate(records):
        missing = [k for k in ("spec", "budget", "val_accuracy", "failed") if k not in r]
        if missing:
            raise ValueError(f"row {i} of the table lacks {missing}: not a complete table of real trainings")
    budgets = {_budget_key(r["budget"]): r["budget"] for r in records}
    if budget is None:
        if len(budgets) > 1:
            raise ValueError(
                f"the table holds {len(budgets)} budgets; pass budget= one of them to fit on: "
                + "; ".join(sorted(budgets))
            )
        if not budgets:
            raise ValueError("the table of real trainings is empty")
        budget = next(iter(budgets.values()))
    want = _budget_key(budget)
    if want not in budgets:
        raise ValueError(f"no row of the table was trained at the budget {want}; it holds: {sorted(budgets)}")
    rows = [r for r in records if _budget_key(r["budget"]) == want and not r["failed"]]
    return rows, {k: v for k, v in budget.items() if k != "seed"}


def seed_noise(records: Iterable[dict[str, Any]]) -> tuple[float | None, int]:
    """(pooled std of validation accuracy over seeds of the same spec, specs with repeats); None if none.

    A spec trained twice with the same seed (by two sources: the same training, repeated) counts once.
    """
    groups: dict[str, dict[Any, float]] = {}
    for r in records:
        if not r.get("failed") and r.get("val_accuracy") is not None:
            seed = r.get("seed", (r.get("budget") or {}).get("seed"))
            groups.setdefault(Spec.from_dict(r["spec"]).key(), {}).setdefault(seed, float(r["val_accuracy"]))
    reps = [list(v.values()) for v in groups.values() if len(v) > 1]
    if not reps:
        return None, 0
    ss = sum(float(np.sum((np.array(v) - np.mean(v)) ** 2)) for v in reps)
    dof = sum(len(v) - 1 for v in reps)
    return math.sqrt(ss / dof), len(reps)


def _regressor(seed: int) -> Any:
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(
        n_estimators=400,
        max_depth=3,
        learning_rate=0.05,
        subsample=0.8,
        min_samples_leaf=3,
        random_state=seed,
    )


@dataclass
class Surrogate:
    """A fitted accuracy model of one space at one budget: predict(specs) -> validation accuracies."""

    space: str
    budget: dict[str, Any]
    model: Any = field(repr=False)
    rows: int = 0
    seed: int = 0
    noise_std: float | None = None
    noise_specs: int = 0
    validation: dict[str, Any] | None = None
    #: feature -> [min, max] over the fitted rows (log10_params, log10_flops, log10_intensity): where the
    #: surrogate has seen real trainings; outside it a prediction is an extrapolation
    fit_range: dict[str, list[float]] | None = None

    def describe(self) -> str:
        """One line: what the surrogate models, on how many real trainings, and its held-out quality."""
        budget = self.budget or {}
        what = (
            f"surrogate of validation accuracy (gradient boosting on {self.rows} real trainings in the "
            f"{self.space} space, {budget.get('epochs', '?')}-epoch search budget"
        )
        v = self.validation or {}
        if v.get("kendall_tau") is not None:
            what += f"; held-out Kendall tau {v['kendall_tau']:.2f}, MAE {v['mae']:.3f}"
        return what + ")"

    def inside_fit_range(self, spec: Spec) -> bool:
        """Whether spec's log-params, log-FLOPs and log-intensity lie within those of the fitted rows."""
        return self._inside(spec_features(spec, self.space))

    def _inside(self, features: np.ndarray) -> bool:
        if not self.fit_range:
            return True
        return all(lo <= features[_RANGE_FEATURES[name]] <= hi for name, (lo, hi) in self.fit_range.items())

    def predict(self, specs: Sequence[Spec] | Spec) -> np.ndarray:
        """Predicted validation accuracy of each spec (clipped to [0, 1])."""
        specs = [specs] if isinstance(specs, Spec) else list(specs)
        return self._predict(np.stack([spec_features(s, self.space) for s in specs]))

    def _predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted validation accuracy of each row of spec features (clipped to [0, 1])."""
        return np.clip(self.model.predict(features), 0.0, 1.0)

    def check_budget(self, budget: dict[str, Any]) -> None:
        """Raise ValueError if budget is not the one the surrogate was fitted on (seeds aside)."""
        if _budget_key(budget) != _budget_key(self.budget):
            raise ValueError(
                f"the surrogate was fitted on the budget {_budget_key(self.budget)}, not {_budget_key(budget)}"
            )

    def save(self, directory: str | os.PathLike[str], overwrite: bool = False) -> Path:
        """Write surrogate.json and model.pkl into directory (an existing surrogate only with overwrite)."""
        import pickle

        directory = Path(directory)
        if not overwrite and any((directory / f).exists() for f in _FILES):
            raise FileExistsError(f"{directory} already holds a surrogate; pass overwrite=True to replace it")
        directory.mkdir(parents=True, exist_ok=True)
        keys = ("space", "budget", "rows", "seed", "noise_std", "noise_specs", "fit_range")
        meta = {k: getattr(self, k) for k in keys}
        meta |= {"validation": self.validation, "features": feature_names(self.space)}
        meta["sklearn"] = __import__("sklearn").__version__
        for name, data in (("model.pkl", pickle.dumps(self.model)), ("surrogate.json", None)):
            tmp = directory / (name + ".tmp")
            if data is None:
                tmp.write_text(json.dumps(meta, indent=2, allow_nan=False) + "\n")
            else:
                tmp.write_bytes(data)
            tmp.replace(directory / name)
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Surrogate:
        """Read a surrogate written by save()."""
        import pickle

        directory = Path(directory)
        missing = [f for f in _FILES if not (directory / f).exists()]
        if missing:
            raise FileNotFoundError(
                f"{directory} holds no surrogate (missing {missing}); fit one and save() it"
            )
        meta = json.loads((directory / "surrogate.json").read_text())
        if meta.get("features") != feature_names(meta["space"]):
            raise ValueError(
                f"{directory}: its features differ from this version's spec_features; fit it again"
            )
        model = pickle.loads((directory / "model.pkl").read_bytes())
        keys = ("space", "budget", "rows", "seed", "noise_std", "noise_specs", "validation", "fit_range")
        return cls(model=model, **{k: meta.get(k) for k in keys})


def _design(records: Iterable[dict[str, Any]], space: Any, budget: dict[str, Any] | None) -> tuple:
    """(rows, budget, specs, features, accuracies) of one budget's successful rows (at least MIN_ROWS)."""
    rows, budget = _rows(records, budget)
    if len(rows) < MIN_ROWS:
        raise ValueError(
            f"{len(rows)} successful trainings at this budget; the surrogate needs >= {MIN_ROWS}"
        )
    specs = [Spec.from_dict(r["spec"]) for r in rows]
    x = np.stack([spec_features(s, space) for s in specs])
    y = np.array([float(r["val_accuracy"]) for r in rows])
    return rows, budget, specs, x, y


def fit_surrogate(
    records: Iterable[dict[str, Any]],
    space: str = "kws_layer",
    budget: dict[str, Any] | None = None,
    seed: int = 0,
) -> Surrogate:
    """Fit validation accuracy on one budget's successful rows of a table of real trainings."""
    rows, budget, _, x, y = _design(records, space, budget)
    model = _regressor(seed).fit(x, y)
    noise, n = seed_noise(rows)
    column = {name: x[:, i] for name, i in _RANGE_FEATURES.items()}
    fit_range = {  # widened to 4 decimals, so that every fitted row lies inside
        name: [math.floor(float(c.min()) * 1e4) / 1e4, math.ceil(float(c.max()) * 1e4) / 1e4]
        for name, c in column.items()
    }
    return Surrogate(
        space, budget, model, rows=len(rows), seed=seed, noise_std=noise, noise_specs=n, fit_range=fit_range
    )


def cross_validate(
    records: Iterable[dict[str, Any]],
    space: str = "kws_layer",
    budget: dict[str, Any] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Kendall tau and MAE on architectures held out from the fit (k folds over unique specs), per source too."""
    from scipy.stats import kendalltau
    from sklearn.model_selection import GroupKFold

    rows, budget, specs, x, y = _design(records, space, budget)
    keys = [s.key() for s in specs]
    order = {k: i for i, k in enumerate(np.random.default_rng(seed).permutation(sorted(set(keys))))}
    groups = np.array([order[k] for k in keys])
    pred = np.empty_like(y)
    for train, test in GroupKFold(n_splits=folds).split(x, y, groups):
        pred[test] = _regressor(seed).fit(x[train], y[train]).predict(x[test])
    pred = np.clip(pred, 0.0, 1.0)

    def quality(mask: np.ndarray) -> dict[str, Any]:
        tau = kendalltau(y[mask], pred[mask]).statistic if mask.sum() > 2 else None
        return {
            "rows": int(mask.sum()),
            "kendall_tau": None if tau is None or not math.isfinite(tau) else round(float(tau), 4),
            "mae": round(float(np.mean(np.abs(y[mask] - pred[mask]))), 4),
        }

    sources = np.array([str(r.get("source", "unknown")) for r in rows])
    return {
        "space": space if isinstance(space, str) else space.name,
        "budget": budget,
        "folds": folds,
        "unique_specs": len(order),
        **quality(np.ones(len(y), dtype=bool)),
        "per_source": {s: quality(sources == s) for s in sorted(set(sources))},
    }


@dataclass
class SurrogateEvaluator:
    """A search evaluator from a Surrogate: deterministic by spec; noise=True adds the measured seed noise."""

    surrogate: Surrogate
    noise: bool = False
    seed: int = 0

    def __call__(self, spec: Spec) -> EvalResult:
        """The surrogate's accuracy of spec (a spec outside the surrogate's space raises ValueError)."""
        t0 = time.perf_counter()
        x = spec_features(spec, self.surrogate.space)
        acc = float(self.surrogate._predict(x[None, :])[0])
        if self.noise:
            if self.surrogate.noise_std is None:
                raise ValueError(
                    "noise=True, but the surrogate's table had no spec trained with several seeds"
                )
            rng = np.random.default_rng([self.seed, int(spec.key(), 16)])
            acc = float(np.clip(acc + rng.normal(0.0, self.surrogate.noise_std), 0.0, 1.0))
        return EvalResult(
            performance=acc,
            wall_time=time.perf_counter() - t0,
            extras={
                "evaluator": "surrogate",
                "surrogate_rows": self.surrogate.rows,
                "inside_fit_range": self.surrogate._inside(x),
            },
        )
