"""Checks on a notebook's papermill parameters, called right after its parameters cell.

``papermill -p evaluator trian`` or ``-p episodes 0`` should fail at the top of the notebook, naming the
parameter and what it may be, before anything is loaded, searched or deleted. :func:`check` looks each
parameter up in :data:`RULES` by name; a notebook with a parameter no rule knows fails too, so a new
parameter gets a rule when it is added.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["RULES", "Rule", "check", "choice"]

#: a rule returns None when the value is allowed, else what is allowed (for the error message)
Rule = Callable[[Any], str | None]


def choice(*allowed: Any) -> Rule:
    """A rule: the value must be one of `allowed` (listed in the error)."""

    def rule(value: Any) -> str | None:
        ok = any(type(value) is type(a) and value == a for a in allowed)
        return None if ok else f"one of {list(allowed)}"

    return rule


def _int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _positive_int(value: Any) -> str | None:
    return None if _int(value, 1) else "a positive int"


def _seed(value: Any) -> str | None:
    return None if _int(value, 0) else "an int >= 0"


def _seeds(value: Any) -> str | None:
    ok = isinstance(value, list | tuple) and value and all(_int(v, 0) for v in value)
    return None if ok and len(set(value)) == len(value) else "a non-empty list of distinct ints >= 0"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "True or False"


def _seconds(value: Any) -> str | None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return (
        None if value is None or (number and math.isfinite(value) and value > 0) else "None or a number > 0"
    )


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) else "a string"


def _optional_text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, str) and value) else "None or a non-empty string"


def _notation(value: Any) -> str | None:
    from rena_lib.arch import from_paper_notation

    try:
        from_paper_notation(value, "kws")
    except (TypeError, ValueError) as err:
        return f"a KWS architecture in the paper's notation, e.g. 'Conv2d (2,32,4,8,1,2) FC (1,12)' ({err})"
    return None


def _constraints(value: Any) -> str | None:
    from rena_lib.reward import Constraint

    allowed = "a list of constraints such as ['params < 100000', 'intensity > 10']"
    if not isinstance(value, list | tuple):
        return allowed
    for text in value:
        try:
            Constraint.parse(text)
        except (TypeError, ValueError, AttributeError) as err:
            return f"{allowed} ({text!r}: {err})"
    return None


def _strategies(value: Any) -> str | None:
    from rena_lib.fig4b import STUDY

    allowed = f"a non-empty list of distinct strategies of rena_lib.fig4b.STUDY: {sorted(STUDY)}"
    ok = isinstance(value, list | tuple) and value and all(isinstance(v, str) and v in STUDY for v in value)
    return None if ok and len(set(value)) == len(value) else allowed


def _children(value: Any) -> str | None:
    from rena_lib.fig4b import children_per_episode

    n = children_per_episode()
    return (
        None
        if _int(value, n) and value % n == 0
        else f"a positive multiple of {n} (one episode of the paper)"
    )


_POSITIVE_INTS = (
    "episodes",
    "episode_size",
    "batch_size",
    "layer_episodes",
    "layer_episode_size",
    "module_episodes",
    "module_episode_size",
    "search_epochs",
    "export_epochs",
    "latency_runs",
    "num_threads",
)


def _rules() -> dict[str, Rule]:
    from rena_lib.experiments import EVALUATORS, IF_EXISTS
    from rena_lib.metrics import CONVENTIONS

    return {
        "scale": choice("smoke", "cpu", "paper"),
        "evaluator": choice(*EVALUATORS),
        "search_evaluator": choice("surrogate", "proxy", "kws"),
        "executor": choice("local", "ray"),
        "if_exists": choice(*IF_EXISTS),
        "convention": choice(*CONVENTIONS),
        **dict.fromkeys(_POSITIVE_INTS, _positive_int),
        "seed": _seed,
        "seeds": _seeds,
        "retrain_winners": _bool,
        "max_seconds_per_child": _seconds,
        "child_seconds": _seconds,
        "data_dir": _optional_text,
        "ray_address": _optional_text,
        "split_salt": _text,
        "network": _notation,
        "constraints": _constraints,
        "strategies": _strategies,
        "children": _children,
        "max_flops": _seconds,  # None or a number > 0
    }


#: parameter name -> rule, shared by every notebook (a parameter means the same thing everywhere)
RULES: dict[str, Rule] = {}


def check(**parameters: Any) -> None:
    """Raise ValueError naming every parameter whose value is not allowed, with what is allowed."""
    if not RULES:
        RULES.update(_rules())
    unknown = sorted(set(parameters) - set(RULES))
    if unknown:
        raise TypeError(f"no rule for notebook parameters {unknown}: add one to rena_lib.notebook_params")
    bad = []
    for name, value in parameters.items():
        allowed = RULES[name](value)
        if allowed is not None:
            bad.append(f"{name} = {value!r}: must be {allowed}")
    if bad:
        raise ValueError("bad notebook parameters (set them with papermill -p / -f):\n  " + "\n  ".join(bad))
