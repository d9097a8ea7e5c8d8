"""Reading saved results back: a search log in any form (directory, log.jsonl, SearchLog, DataFrame,
records) as a DataFrame, records or its config; the provenance a notebook saved beside its results; and
two checks on a batch of search logs that say when a result is less than it looks (a constraint that
never binds, searches that share their first children).

Files are read by rena_lib.search.log.SearchLog; dashboards, exports and latency tables read logs here."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rena_lib.search import SearchLog

__all__ = [
    "constraint_binds",
    "load_log",
    "load_policy_log",
    "log_records",
    "plain_value",
    "saved_label",
    "saved_provenance",
    "saved_score",
    "search_config",
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


def _log_source(log: Any) -> Path | None:
    """The search directory or log file a str / PathLike names (None for anything else)."""
    return Path(log) if isinstance(log, str | os.PathLike) else None


def load_log(log: Any) -> pd.DataFrame:
    """The children of a search log as a DataFrame: from a directory, a log.jsonl, a SearchLog or records."""
    if isinstance(log, pd.DataFrame):
        return log
    if hasattr(log, "to_dataframe"):
        return log.to_dataframe()
    if (path := _log_source(log)) is not None:
        return pd.DataFrame(SearchLog.read_records(path))
    if isinstance(log, list | tuple):
        return pd.DataFrame(list(log))
    raise TypeError(f"cannot read a search log from {type(log).__name__}")


def load_policy_log(log: Any) -> pd.DataFrame | None:
    """The policy updates (policy_log.jsonl) of a search directory, a DataFrame, or None if there are none."""
    if log is None or isinstance(log, pd.DataFrame):
        return log
    if hasattr(log, "policy_dataframe"):
        return log.policy_dataframe()
    if (path := _log_source(log)) is not None:
        records = SearchLog.read_records(path, policy=True)
    elif isinstance(log, list | tuple):
        records = list(log)
    else:
        return None
    return pd.DataFrame(records) if records else None


def log_records(log: Any) -> list[dict[str, Any]]:
    """The children of a search log (anything load_log reads) as plain dicts: numpy scalars as Python
    numbers, NaN as None."""
    return [{k: plain_value(v) for k, v in r.items()} for r in load_log(log).to_dict("records")]


def plain_value(v: Any) -> Any:
    """A numpy scalar as a Python number and a NaN as None (other values as they are)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def search_config(log: Any) -> dict[str, Any]:
    """The search config of a SearchLog or a search directory (its config.json) as a dict; {} if none."""
    config = getattr(log, "config", None)
    if config is not None:
        return config.to_dict() if hasattr(config, "to_dict") else dict(config)
    path = _log_source(log)
    if path is not None and path.is_dir() and (path / "config.json").exists():
        return json.loads((path / "config.json").read_text())
    return {}
