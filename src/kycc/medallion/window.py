"""The run window (catch-up range or one incremental month) and month arithmetic as Ibis expressions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from kycc.temporal.months import parse_month

__all__ = ["RunWindow", "add_months", "month_start"]


@dataclass(frozen=True)
class RunWindow:
    """Months ``start``..``end`` (inclusive, first-of-month dates); ``None`` leaves that side open."""

    start: dt.date | None = None
    end: dt.date | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> RunWindow:
        """Build from the ``run`` parameters (``start_month`` / ``end_month``, ISO dates or null)."""
        params = params or {}
        start = parse_month(params.get("start_month"), "run.start_month")
        end = parse_month(params.get("end_month"), "run.end_month")
        if start and end and start > end:
            raise ValueError(f"run.start_month {start} is after run.end_month {end}")
        return cls(start, end)

    def contains(self, date: ir.DateValue) -> ir.BooleanValue:
        """True where ``date`` falls inside the window (a null date is outside)."""
        cond = date.notnull()
        if self.start is not None:
            cond &= date >= ibis.literal(self.start)
        if self.end is not None:
            cond &= date <= ibis.literal(self.end)
        return cond

    def __str__(self) -> str:
        return f"{self.start or 'first month'} .. {self.end or 'last month'}"


def month_start(date: ir.DateValue) -> ir.DateValue:
    """First day of the month of ``date``."""
    return ibis.date(date.year(), date.month(), 1)


def add_months(date: ir.DateValue, months: ir.IntegerValue | int) -> ir.DateValue:
    """First of the month ``months`` after ``date``'s month (negative goes back). Portable DuckDB/Spark."""
    index = date.year().cast("int64") * 12 + date.month().cast("int64") - 1 + months
    year = (index // 12).cast("int32")
    month = (index % 12 + 1).cast("int32")
    return ibis.date(year, month, 1)


def enforce_schema(table: ir.Table, schema: dict[str, str]) -> ir.Table:
    """Select ``schema``'s columns in order, each with an explicit CAST to its type.

    Ibis drops a cast it believes is a no-op, but engines disagree on result types (DuckDB may write an
    integer sum as DOUBLE, Spark a string length as INT): the gold boundary always casts, so both engines
    write the same schema.
    """
    import ibis.expr.datatypes as dt
    import ibis.expr.operations as ops

    missing = [c for c in schema if c not in table.columns]
    if missing:
        raise ValueError(f"gold table is missing column(s) {missing}")
    return table.select(
        *(ops.Cast(table[name], to=dt.dtype(dtype)).to_expr().name(name) for name, dtype in schema.items())
    )


def months_in(table: ir.Table, window: RunWindow, date_column: str = "snapshot_date") -> tuple[str, ...]:
    """The partition months (``YYYY-MM``, ``undated``) of ``table``'s rows in the run window."""
    from kycc.datasets.partitioned_ibis import month_key

    rows = table.filter(window.contains(table[date_column]) | table[date_column].isnull())
    dates = rows.select(date_column).distinct().execute()[date_column]
    return tuple(sorted({month_key(d) for d in dates}))
