"""The children a figure draws: one DataFrame per search, from any log form analysis.load_log reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from rena_lib.analysis import load_log


def _frames(logs: Any, name: str = "rena") -> dict[str, pd.DataFrame]:
    """{name: children} of one log or a mapping of logs; one log with both proposers is split by proposer."""
    if isinstance(logs, Mapping):
        return {str(k): load_log(v) for k, v in logs.items()}
    df = load_log(logs)
    if "proposer" in df and df["proposer"].nunique() > 1:
        return {str(p): g for p, g in df.groupby("proposer", sort=False)}
    if "proposer" in df and len(df):
        name = str(df["proposer"].iloc[0])
    return {name: df}


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    """Children that were built and trained (not failed)."""
    return df[~df["failed"].fillna(False).astype(bool)] if "failed" in df else df
