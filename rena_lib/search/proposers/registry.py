"""Proposers by name: the built-in ones and any registered with register_proposer.

A registered proposer is a class (or factory) called with the SearchConfig; it may have ``OPTIONS``
(name -> default) and ``check_options(options)`` for its ``SearchConfig.proposer_options``: an option
it does not list is an error naming the known ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rena_lib.search.config import PROPOSERS, SearchConfig
from rena_lib.search.proposers.base import Proposer, check_protocol
from rena_lib.search.proposers.evolution import RegularizedEvolution
from rena_lib.search.proposers.random_search import RandomProposer
from rena_lib.search.proposers.rena import RenaProposer
from rena_lib.search.proposers.tpe import TPEProposer

__all__ = ["check_proposer", "make_proposer", "proposer_names", "register_proposer"]

_REGISTRY: dict[str, Callable[[SearchConfig], Any]] = {
    "rena": RenaProposer,
    "random": RandomProposer,
    "evolution": RegularizedEvolution,
    "tpe": TPEProposer,
}
assert set(PROPOSERS) <= set(_REGISTRY), "config.PROPOSERS names the paper's proposers"


def proposer_names() -> tuple[str, ...]:
    """The names make_proposer knows."""
    return tuple(_REGISTRY)


def register_proposer(name: str, factory: Callable[[SearchConfig], Any], replace: bool = False) -> None:
    """Make factory (a class taking the SearchConfig) the proposer called name."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a proposer name must be a non-empty str, got {name!r}")
    if not callable(factory):
        raise ValueError(f"proposer {name!r}: the factory must be callable (config -> proposer)")
    if name in _REGISTRY and not replace and _REGISTRY[name] is not factory:
        raise ValueError(f"a proposer {name!r} is already registered; pass replace=True to replace it")
    _REGISTRY[name] = factory


def _factory(name: str) -> Callable[[SearchConfig], Any]:
    if name not in _REGISTRY:
        raise ValueError(f"unknown proposer {name!r}; known proposers: {list(_REGISTRY)}")
    return _REGISTRY[name]


def check_options(factory: Any, name: str, options: dict[str, Any]) -> None:
    """Raise ValueError for options the proposer does not know, or that its check_options refuses."""
    known = dict(getattr(factory, "OPTIONS", {}) or {})
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"unknown proposer_options {unknown} for proposer {name!r}; it takes {sorted(known) or 'none'}"
        )
    check = getattr(factory, "check_options", None)
    if callable(check):
        check(options)


def check_proposer(config: SearchConfig, proposer: Any = None) -> None:
    """Raise ValueError if config's proposer (or the proposer object given) cannot run the search."""
    if proposer is None:
        check_options(_factory(config.proposer), config.proposer, config.proposer_options)
        return
    check_protocol(proposer)
    if proposer.name != config.proposer:
        raise ValueError(
            f"the proposer object is named {proposer.name!r} but config.proposer is {config.proposer!r}; "
            "they must agree (the config names the proposer in config.json and the log)"
        )
    check_options(proposer, proposer.name, config.proposer_options)


def make_proposer(config: SearchConfig) -> Proposer:
    """The proposer named by config.proposer, built from config."""
    factory = _factory(config.proposer)
    check_options(factory, config.proposer, config.proposer_options)
    proposer = factory(config)
    check_protocol(proposer)
    return proposer
