"""The registries of tasks and layer types: one entry per layer type, one per task.

A :class:`LayerType` holds everything rena_lib knows about one layer type of one *family* (the layer
types one task offers at one granularity: "kws", "cifar", "cifar_module"): its fields and their
allowed values (the defaults a search space takes), which sources it reads, its lowering to graph ops
(shape rule included), its paper notation, its weight in the proxy evaluator and, when it needs a
primitive op the builder and the cost model do not know, that op's :class:`OpKind` (Keras layer and
analytic cost). A :class:`Task` holds the input shape, the classes and, per granularity, the family of
its layer types and how a whole network is lowered (stem, stacking, head).

This module imports nothing from rena_lib: every other arch module reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "TASKS",
    "Granularity",
    "LayerType",
    "OpKind",
    "Task",
    "extension_op_kinds",
    "family_types",
    "get_task",
    "layer_type",
    "op_kind",
    "register_layer_type",
    "register_task",
    "task_names",
    "unregister_layer_type",
    "unregister_task",
]

SOURCE_FIELDS = ("src1", "src2")


@dataclass(frozen=True)
class OpKind:
    """A primitive graph op a layer type adds: its Keras layer, its analytic cost, how Keras is read back.

    keras(op) -> a keras layer named op.name (built from op.config); cost(in_shapes, out_shape, config)
    -> rena_lib.metrics.Cost; keras_class and keras_config(layer) -> config let measure() map a Keras
    model's layer of that class back to this op kind.
    """

    name: str
    keras: Callable[[Any], Any]
    cost: Callable[[list[tuple[int, ...]], tuple[int, ...], dict[str, Any]], Any]
    keras_class: type | None = None
    keras_config: Callable[[Any], dict[str, Any]] | None = None


@dataclass(frozen=True)
class LayerType:
    """One layer type of one family: fields, values, lowering, notation, proxy weight and new op kinds.

    lower(builder, layer, index, inputs) adds the layer's ops to a rena_lib.arch.graph.GraphBuilder and
    returns the name of its output op; inputs are the op names of the sources it reads (``reads``).
    """

    name: str
    family: str
    fields: tuple[str, ...]
    lower: Callable[..., str]
    values: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    reads: tuple[str, ...] = ("src1",)
    notation: str | None = None
    notation_fields: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    checks: Mapping[str, Callable[[Any], str | None]] = field(default_factory=dict)
    ops: tuple[OpKind, ...] = ()
    proxy_weight: float = 0.0

    @property
    def paper_name(self) -> str:
        """The name the paper's notation writes (e.g. "DS-Conv2d")."""
        return self.notation or self.name

    @property
    def written_fields(self) -> tuple[str, ...]:
        """The fields written in brackets in the notation, in order."""
        if self.notation_fields is not None:
            return self.notation_fields
        return tuple(f for f in self.fields if f not in (*SOURCE_FIELDS, "keep_prob"))


@dataclass(frozen=True)
class Granularity:
    """How a task's networks are made at one granularity ("layer" or "module").

    family: the layer types a spec may use; lower(spec, builder) adds the whole network (stem,
    layers or stacked modules, head); stack_fields: the positive ints a spec's stack must hold;
    title: how errors name its layers ("keyword-spotting"); notation "layers" (one token per layer) or
    "branches" (``Branch (type,...)`` per branch).
    """

    family: str
    lower: Callable[..., None]
    title: str = ""
    stack_fields: tuple[str, ...] = ()
    default_stack: Mapping[str, Any] | None = None
    notation: str = "layers"
    proxy: Mapping[str, float] = field(default_factory=dict)  # "p0" and "ceiling" of rena_lib.proxy


@dataclass(frozen=True)
class Task:
    """A classification task: name, input shape (batch left out), classes, and its granularities."""

    name: str
    input_shape: tuple[int, ...]
    classes: int
    granularities: Mapping[str, Granularity]


_TASKS: dict[str, Task] = {}
_LAYER_TYPES: dict[tuple[str, str], LayerType] = {}
_OP_KINDS: dict[str, OpKind] = {}


def register_task(task: Task, *, replace: bool = False) -> Task:
    """Register a task under its name (an error if another task has it, unless replace=True)."""
    if not isinstance(task, Task):
        raise ValueError(f"expected a Task, got {type(task).__name__}")
    old = _TASKS.get(task.name)
    if old is not None and old != task and not replace:
        raise ValueError(f"a different task {task.name!r} is already registered (pass replace=True)")
    _TASKS[task.name] = task
    return task


def register_layer_type(entry: LayerType, *, replace: bool = False) -> LayerType:
    """Register a layer type (and the op kinds it brings) in its family."""
    if not isinstance(entry, LayerType):
        raise ValueError(f"expected a LayerType, got {type(entry).__name__}")
    key = (entry.family, entry.name)
    if key in _LAYER_TYPES and _LAYER_TYPES[key] != entry and not replace:
        raise ValueError(f"layer type {entry.name!r} of family {entry.family!r} is already registered")
    bad = [f for f in entry.reads if f not in entry.fields]
    if bad:
        raise ValueError(f"layer type {entry.name!r} reads {bad} that are not among its fields")
    for kind in entry.ops:
        old = _OP_KINDS.get(kind.name)
        if old is not None and old != kind and not replace:
            raise ValueError(f"op kind {kind.name!r} is already registered by another layer type")
    _LAYER_TYPES[key] = entry
    for kind in entry.ops:
        _OP_KINDS[kind.name] = kind
    return entry


def unregister_layer_type(family: str, name: str) -> None:
    """Remove a layer type (and the op kinds it brought) from the registry: for tests and notebooks."""
    entry = _LAYER_TYPES.pop((family, name), None)
    for kind in entry.ops if entry is not None else ():
        _OP_KINDS.pop(kind.name, None)


def unregister_task(name: str) -> None:
    """Remove a task from the registry: for tests and notebooks."""
    _TASKS.pop(name, None)


def get_task(task: str | Task) -> Task:
    """The registered task of that name (a Task is returned as is); the error lists the known ones."""
    if isinstance(task, Task):
        return task
    if task not in _TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {task_names()}")
    return _TASKS[task]


def task_names() -> tuple[str, ...]:
    """Names of the registered tasks."""
    return tuple(_TASKS)


def family_types(family: str) -> dict[str, LayerType]:
    """The registered layer types of a family, by name, in registration order."""
    return {name: e for (fam, name), e in _LAYER_TYPES.items() if fam == family}


def layer_type(family: str, name: str) -> LayerType | None:
    """The layer type of that name in the family, or None."""
    return _LAYER_TYPES.get((family, name))


def op_kind(name: str) -> OpKind | None:
    """The registered extension op kind of that name, or None (built-in kinds are not listed here)."""
    return _OP_KINDS.get(name)


def extension_op_kinds() -> tuple[OpKind, ...]:
    """Every op kind registered by a layer type."""
    return tuple(_OP_KINDS.values())


class _TaskShapes(Mapping):
    """task name -> (input shape, classes), a live read-only view of the task registry."""

    def __getitem__(self, name: str) -> tuple[tuple[int, ...], int]:
        if name not in _TASKS:
            raise KeyError(name)
        t = _TASKS[name]
        return t.input_shape, t.classes

    def __iter__(self) -> Iterator[str]:
        return iter(_TASKS)

    def __len__(self) -> int:
        return len(_TASKS)


#: task name -> (input shape, number of classes), for every registered task
TASKS: Mapping[str, tuple[tuple[int, ...], int]] = _TaskShapes()
