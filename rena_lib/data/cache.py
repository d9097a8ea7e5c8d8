"""A per-process store for loaded data, shared by equal data objects (e.g. evaluators unpickled per child)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from rena_lib.data.paths import ENV_VAR

__all__ = ["clear_data_cache", "shared_property"]

T = TypeVar("T")
_STORE: dict[tuple, dict[str, Any]] = {}


def _key(obj: Any) -> tuple:
    return (type(obj).__qualname__, obj.cache_key(), os.environ.get(ENV_VAR))


def clear_data_cache(obj: Any = None) -> None:
    """Forget the data loaded in this process for obj (or for every data object when obj is None)."""
    if obj is None:
        _STORE.clear()
    else:
        _STORE.pop(_key(obj), None)


class shared_property(Generic[T]):  # noqa: N801 (used like the property builtin)
    """Like functools.cached_property, but the value lives in a process-wide store keyed by
    ``(type, obj.cache_key(), $RENA_DATA_DIR)``: equal data objects in one process load the data once,
    and pickling an object never carries the loaded data."""

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        store = _STORE.setdefault(_key(obj), {})
        if self.name not in store:
            store[self.name] = self.fn(obj)
        return store[self.name]
