"""One JSON-safe conversion for everything the project writes as JSON (registry cards, the scorecard store's
records, the decision log, action records)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def json_safe(value: Any, *, date_only: bool = False) -> Any:  # noqa: PLR0911 (one branch per type)
    """A JSON-safe copy of ``value``: mappings → dicts with string keys, tuples → lists, numpy scalars → Python,
    NaN / inf / ``pd.NA`` / ``NaT`` → ``None``, timestamps and dates → ISO strings (``date_only``: timestamps as
    their date, ``2024-01-01``, for month-level records)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, date_only=date_only) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, date_only=date_only) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        if pd.isna(value):
            return None
        return value.date().isoformat() if date_only else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value
