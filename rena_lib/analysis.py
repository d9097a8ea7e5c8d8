"""Reading saved results back: the provenance a notebook saved beside its results, and two checks on a
batch of search logs that say when a result is less than it looks (a constraint that never binds,
searches that share their first children)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from rena_lib.search import SearchLog

__all__ = [
    "constraint_binds",
    "load_log",
    "load_policy_log",
    "saved_label",
    "saved_provenance",
    "saved_score",
    "shared_prefix",
]


def saved_provenance(results: str | os.PathLike, name: str) -> dict[str, Any]:
    """The provenance.json notebook `name` saved under results/ (FileNotFoundError, with advice, if none)."""
    path = Path(results) / name / "provenance.json"
    if not path.exists():
        raise FileNotFoundError(
            f"no saved provenance for notebook {name} ({path.name} missing under {path.parent.name}/): "
            f"run notebooks/{name}.ipynb at this scale first"
        )
    return json.loads(path.read_text())


def saved_label(results: str | os.PathLike, name: str) -> str:
    """The one-line label (scale, data where read, evaluator) of notebook `name`'s saved results."""
    p = saved_provenance(results, name)
    keys = ("scale", "data", "evaluator")
    return ", ".join(f"{k}: {p[k]}" for k in keys if p.get(k))


def saved_score(results: str | os.PathLike, name: str) -> str:
    """What the performance numbers of notebook `name`'s saved results are ("proxy score", ...)."""
    p = saved_provenance(results, name)
    if p.get("score"):
        return str(p["score"])
    if p.get("evaluator") == "proxy":
        return "proxy score"
    raise ValueError(f"the saved provenance of {name} does not say what its scores are (no 'score' entry)")


def constraint_binds(logs: Mapping[str, SearchLog]) -> pd.Series:
    """Per search: whether any evaluated child violated a constraint (False: it never bound, so the search
    ran exactly as an unconstrained one with the same seed would; None for an unconstrained search)."""
    out: dict[str, bool | None] = {}
    for name, log in logs.items():
        if log.config is None or not log.config.constraints:
            out[name] = None
            continue
        df = log.to_dataframe()
        evaluated = df[~df["failed"]] if len(df) else df
        out[name] = bool(len(evaluated) and (~evaluated["feasible"].astype(bool)).any())
    return pd.Series(out, name="constraint binds", dtype=object)


def shared_prefix(logs: Mapping[str, SearchLog]) -> int:
    """How many leading children (in search order) have the same architecture in every one of the logs."""
    notations = [log.to_dataframe()["notation"].tolist() for log in logs.values()]
    if not notations:
        return 0
    n = 0
    for column in zip(*notations, strict=False):
        if len(set(column)) != 1:
            break
        n += 1
    return n


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file; a torn last line (a search still writing it) is ignored, a corrupt
    line before it is a LogError naming the file and the line."""
    from rena_lib.search.log import read_jsonl

    return read_jsonl(path)[0]


def load_log(log: Any) -> pd.DataFrame:
    """The children of a search log as a DataFrame: from a directory, a log.jsonl, a SearchLog or records."""
    if isinstance(log, pd.DataFrame):
        return log
    if hasattr(log, "to_dataframe"):
        return log.to_dataframe()
    if isinstance(log, str | os.PathLike):
        path = Path(log)
        path = path / "log.jsonl" if path.is_dir() else path
        if not path.exists():
            raise FileNotFoundError(f"no search log at {path}")
        return pd.DataFrame(_read_jsonl(path))
    if isinstance(log, list | tuple):
        return pd.DataFrame(list(log))
    raise TypeError(f"cannot read a search log from {type(log).__name__}")


def load_policy_log(log: Any) -> pd.DataFrame | None:
    """The policy updates (policy_log.jsonl) of a search directory, a DataFrame, or None if there are none."""
    if log is None or isinstance(log, pd.DataFrame):
        return log
    if hasattr(log, "policy_dataframe"):
        return log.policy_dataframe()
    if isinstance(log, str | os.PathLike):
        path = Path(log)
        path = path / "policy_log.jsonl" if path.is_dir() else path
        records = _read_jsonl(path)
        return pd.DataFrame(records) if records else None
    if isinstance(log, list | tuple):
        return pd.DataFrame(list(log)) if log else None
    return None
