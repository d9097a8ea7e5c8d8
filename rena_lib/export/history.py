"""A child's edit history: the steps from the search's baseline to it, each step's actions replayed and checked.

The chain of records is SearchLog.lineage (parent_key links); the baseline comes from the log's config
(or is given); every step's scale / insert / remove actions are replayed with rena_lib.actions.apply
and must reproduce the logged spec exactly, or HistoryError is raised.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rena_lib.analysis import log_records, search_config
from rena_lib.arch.notation import to_paper_notation
from rena_lib.arch.spec import Spec
from rena_lib.export.selection import select_child
from rena_lib.search.log import SearchLog

if TYPE_CHECKING:
    import pandas as pd


class HistoryError(ValueError):
    """The log's actions do not replay to its specs (or the chain to the baseline is broken)."""


@dataclass
class HistoryStep:
    """One step of an edit history: the actions taken and the network they produced, in paper notation."""

    index: int
    child_id: int | None
    episode: int | None
    step: int | None
    actions: list[dict[str, Any]]
    description: str
    notation: str
    spec_key: str
    spec: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _baseline_candidates(config: dict[str, Any]) -> list[Spec]:
    """Specs a search may have started from: its SearchConfig's baseline, else explicit specs / notation."""
    out: list[Spec] = []
    if "space" in config:
        with contextlib.suppress(Exception):  # not a SearchConfig dict: try the plainer forms below
            from rena_lib.search.config import SearchConfig

            out.append(SearchConfig.from_dict(config).baseline_spec())
    for b in [config.get("baseline"), *(config.get("baselines") or [])]:
        if isinstance(b, dict):
            out.append(Spec.from_dict(b))
    if isinstance(config.get("space"), str):
        from rena_lib import spaces

        with contextlib.suppress(Exception):
            out.append(spaces.baseline(config["space"], config.get("max_layers"), config.get("stack")))
    return out


def _find_baseline(config: dict[str, Any], key: str | None, given: Spec | None) -> Spec:
    cands = [given] if given is not None else _baseline_candidates(config)
    for spec in cands:
        if key is None or spec.key() == key:
            return spec
    if given is not None:
        raise HistoryError(f"the given baseline has key {given.key()}, the chain starts from {key}")
    raise HistoryError(
        f"cannot find the baseline (spec key {key}) in the log's config.json; pass baseline= explicitly"
    )


def _layer_text(spec: Spec, index: int) -> str:
    """Paper notation of layer `index` (1-based) alone, with @src when it does not read the previous layer."""
    layer = spec.layers[index - 1]
    if spec.granularity == "module":
        return to_paper_notation(Spec(spec.task, [layer], spec.granularity, spec.stack))
    src = layer.get("src1")
    alone = layer.replace(src1=0) if layer.type != "add" else layer
    text = to_paper_notation(Spec(spec.task, [alone], spec.granularity, spec.stack))
    return text if layer.type == "add" or src in (None, index - 1) else f"{text.split('@')[0]}@{src}"


def describe_action(action: dict[str, Any], before: Spec, after: Spec) -> str:
    """A one-line description of an action dict, e.g. "scale L1 channels 12->32" or "insert 2: GRU (1,16,1)"."""
    op = action.get("op")
    if op == "scale":
        parts = []
        for layer, feature, value in action.get("changes", []):
            old = before.layers[layer - 1].get(feature) if 1 <= layer <= len(before.layers) else None
            parts.append(f"L{layer} {feature} {old}->{value}")
        return "scale " + (", ".join(parts) if parts else "(no change)")
    if op == "insert":
        pos = action["position"]
        return f"insert at {pos}: {_layer_text(after, pos)}"
    if op == "remove":
        k = action["index"]
        return f"remove L{k}: {_layer_text(before, k)}"
    return str(op)


def edit_history(
    log: Any, child: int | dict[str, Any] | None = None, *, baseline: Spec | None = None
) -> list[HistoryStep]:
    """The steps from the baseline to the child (default: best feasible), each replayed and checked.

    Follows parent_key links back to a spec key no earlier record has (SearchLog.lineage; the baseline,
    found in config.json or given), then replays every step's actions with rena_lib.actions.apply; each
    replayed spec must equal the logged one. Returns a list of HistoryStep, the baseline first; a lineage
    that starts at a child sampled whole (no parent: TPE, evolution's initial population) starts there.
    """
    from rena_lib.actions import apply

    records = log_records(log)
    if child is None or isinstance(child, int | np.integer):
        rec = select_child(records, None if child is None else int(child))
    else:
        rec = child
    chain = SearchLog.lineage(records, rec)
    first = chain[0]
    if first.get("parent_key") is None:  # sampled whole (TPE, evolution's initial population): start there
        spec = Spec.from_dict(first["spec"])
        what = f"sampled whole by {first.get('proposer')}"
        steps = [
            HistoryStep(0, first["child_id"], first.get("episode"), first.get("step"), [], what,
                        to_paper_notation(spec), spec.key(), spec.to_dict())
        ]  # fmt: skip
        chain = chain[1:]
    else:
        spec = _find_baseline(search_config(log), first.get("parent_key"), baseline)
        steps = [
            HistoryStep(
                0, None, None, None, [], "baseline", to_paper_notation(spec), spec.key(), spec.to_dict()
            )
        ]
    for i, r in enumerate(chain, start=1):
        actions = list(r.get("actions") or [])
        words = []
        for action in actions:
            new = apply(spec, action)
            if action.get("op") != "keep":
                words.append(describe_action(action, spec, new))
            spec = new
        logged = Spec.from_dict(r["spec"])
        if spec != logged:
            raise HistoryError(
                f"child {r['child_id']}: replaying its actions gives {to_paper_notation(spec)!r}, "
                f"the log has {to_paper_notation(logged)!r}"
            )
        steps.append(
            HistoryStep(
                i, r["child_id"], r.get("episode"), r.get("step"), actions,
                "; ".join(words) or "keep", to_paper_notation(spec), spec.key(), spec.to_dict(),
            )
        )  # fmt: skip
    return steps


def history_frame(history: Sequence[HistoryStep]) -> pd.DataFrame:
    """The edit history as a table: one row per step with its description and paper notation."""
    import pandas as pd

    cols = ["index", "child_id", "episode", "step", "description", "notation"]
    df = pd.DataFrame([{k: getattr(h, k) for k in cols} for h in history]).set_index("index")
    return df.astype({"child_id": "Int64", "episode": "Int64", "step": "Int64"})
