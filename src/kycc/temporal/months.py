"""Month arithmetic: the one home of the platform's month helpers.

A month is the first day of a calendar month (a ``datetime.date``). :func:`to_month` maps any date-like value to
its month (the first of that month); every other helper is built on it. Series helpers give the month of each
row of a table (``month_keys``: ``YYYY-MM-01`` strings, ``month_starts``: timestamps).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = [
    "add_months",
    "batch_id",
    "format_months",
    "month_keys",
    "month_label",
    "month_range",
    "month_starts",
    "months_between",
    "parse_month",
    "to_month",
]


def to_month(value: Any) -> dt.date:
    """The first day of the month of ``value`` (a date, datetime, ``pd.Timestamp`` or ISO string)."""
    if value is None:
        raise TypeError("A month is required, got None")
    if isinstance(value, str):
        try:
            value = pd.Timestamp(value)
        except ValueError as err:
            raise ValueError(f"Not a date: {value!r} (expected YYYY-MM-DD)") from err
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            raise ValueError("A month is required, got NaT")
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise TypeError(f"Not a date: {value!r} ({type(value).__name__})")
    return value.replace(day=1)


def add_months(month: Any, n: int) -> dt.date:
    """``month`` shifted by ``n`` calendar months (negative goes back), as a first-of-month date."""
    m = to_month(month)
    index = m.year * 12 + (m.month - 1) + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(start: Any, end: Any) -> int:
    """Number of months from ``start`` to ``end`` (``end - start``; 0 when equal)."""
    s, e = to_month(start), to_month(end)
    return (e.year - s.year) * 12 + (e.month - s.month)


def month_range(start: Any, end: Any) -> list[dt.date]:
    """Every month from ``start`` to ``end``, both included (empty when ``end < start``)."""
    s = to_month(start)
    return [add_months(s, i) for i in range(months_between(s, end) + 1)]


def format_months(months: Iterable[dt.date]) -> str:
    """``2023-01..2023-12`` for a contiguous run of months, comma-separated runs otherwise."""
    ordered = sorted(set(months))
    if not ordered:
        return "none"
    runs: list[tuple[dt.date, dt.date]] = []
    start = prev = ordered[0]
    for m in ordered[1:]:
        if m != add_months(prev, 1):
            runs.append((start, prev))
            start = m
        prev = m
    runs.append((start, prev))
    return ", ".join(
        f"{s:%Y-%m}" if s == e else f"{s:%Y-%m}..{e:%Y-%m} ({months_between(s, e) + 1} months)"
        for s, e in runs
    )


def parse_month(value: Any, name: str) -> dt.date | None:
    """A month given by a user (a parameter, a CLI option), by the one rule of the platform: ``YYYY-MM-01`` or
    ``YYYY-MM`` (or a date on the first of a month). A mid-month date is **refused** with an error naming
    ``name`` — never silently read as its month. ``None`` / ``""`` (not set) is ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise ValueError(f"{name}={value!r} is not a month: expected YYYY-MM-01 (or YYYY-MM)")
        value = value.date()
    if isinstance(value, dt.date):
        parsed = value
    else:
        text = str(value).strip()
        if re.fullmatch(r"\d{4}-\d{2}", text):
            text = f"{text}-01"
        try:
            parsed = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{name}={value!r} is not an ISO date: expected a month YYYY-MM-01 (or YYYY-MM), e.g. 2024-06-01"
            ) from None
    if parsed.day != 1:
        raise ValueError(
            f"{name}={parsed.isoformat()} is not the first of a month: months are given as YYYY-MM-01 "
            f"(e.g. {parsed:%Y-%m}-01)"
        )
    return parsed


def month_label(month: Any) -> str:
    """``2024-06`` for any date of June 2024."""
    return f"{to_month(month):%Y-%m}"


def batch_id(month: Any) -> str:
    """``BATCH_2024_06`` for June 2024 (one-to-one with the snapshot date)."""
    m = to_month(month)
    return f"BATCH_{m.year:04d}_{m.month:02d}"


def month_keys(frame: pd.DataFrame, column: str = "snapshot_date") -> pd.Series:
    """The month of each row as a ``YYYY-MM-01`` string."""
    return pd.to_datetime(frame[column]).dt.strftime("%Y-%m-01")


def month_starts(dates: pd.Series) -> pd.Series:
    """The month of each date as a timestamp (the first of the month, midnight)."""
    return pd.to_datetime(dates).dt.to_period("M").dt.to_timestamp()
