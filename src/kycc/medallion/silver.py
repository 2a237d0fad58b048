"""Silver: parse, type, validate and deduplicate a bronze table; bad rows go to quarantine with a reason.

Policy for the dirty patterns of raw exports:

* numbers with stray underscores (``"34847.84_"``, ``"__10000__"``) are parsed;
* placeholders (``"_______"``, ``"_"``, ``"NM"``, ``"!@9#%8"``) become null — the row is kept and the column
  is listed in ``dq_issues``;
* impossible values (Age -500 or 8000, negative counts, values outside ``valid_ranges``) become null and are
  listed in ``dq_issues``; for the loan book, where amounts decide the label, they quarantine the row;
* non-finite numbers (``NaN``, ``inf``, ``-inf``, ``Infinity``, ``1e400``) and integers beyond 2**53 are
  values that do not parse: null and listed in ``dq_issues`` (a required column quarantines the row);
* ``"22 Years and 1 Months"`` durations become months (265);
* missing values stay null; a missing *required* value (keys, label inputs) quarantines the row;
* malformed lines, unreadable snapshot dates and duplicate keys within a month are quarantined;
* loan book: a snapshot whose ``installment_num`` is not above every earlier month's of the same loan (the
  loan went backwards, or repeated an instalment) is quarantined (``invalid_sequence:installment_num``).
  Only the offending snapshots go: the earlier ones were valid when they arrived (and an incremental run
  cannot rewrite them), and the rule looks only at earlier months, so catch-up and month-by-month runs
  quarantine the same rows.

Every bronze row ends in exactly one of silver or quarantine (checked by ``kycc.medallion.quality``).
"""

from __future__ import annotations

import sys
from typing import Any

import ibis
import ibis.expr.types as ir

from kycc.medallion.schemas import Column, SourceSchema, get_schema
from kycc.medallion.window import RunWindow

__all__ = ["QUARANTINE_REASON", "build_silver"]

QUARANTINE_REASON = "quarantine_reason"
_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")
# at most 4 digits: a longer number of years or months is not a duration (and would overflow int64 below)
_DURATION = r"^\s*(\d{1,4})\s+Years?\s+and\s+(\d{1,4})\s+Months?\s*$"
_MAX_FLOAT = sys.float_info.max
#: Dates outside this range are not read as dates (DuckDB reads 'infinity' and years up to 5,881,580, which no
#: Python or pandas date can hold): null with a dq_issue, or quarantine for a required date.
DATE_RANGE = ("1800-01-01", "2199-12-31")
_MAX_INT = float(2**53)  # integers beyond this are not exact in float64 (and 1e30 cannot be cast to int64)
SEQUENCE_REASON = "invalid_sequence:installment_num"


def build_silver(
    source: str, bronze: ir.Table, window: RunWindow, rules: dict[str, Any] | None = None
) -> tuple[ir.Table, ir.Table]:
    """Clean the bronze rows of the run window into (silver, quarantine).

    Args:
        source: Source name (see ``kycc.medallion.schemas.SOURCES``).
        bronze: Bronze table (text columns plus ``snapshot_date``).
        window: Months to process; undated rows are always processed (they are quarantined).
        rules: ``placeholders`` {raw column: [values]}, ``valid_ranges`` {raw column: [lo, hi]},
            ``max_amount``, ``max_tenure``, ``max_emi_to_salary``.

    Returns:
        The silver table (typed columns, ``dq_issues``, ``_source_file``) and the quarantine table (the raw
        text columns, ``snapshot_date``, ``_source_file`` and ``quarantine_reason``).
    """
    schema = get_schema(source)
    rules = rules or {}
    in_run = window.contains(bronze.snapshot_date) | bronze.snapshot_date.isnull()
    if schema.name == "lms" and window.start is not None:
        # the instalment sequence needs the loan's earlier months, which earlier runs wrote to bronze
        history = RunWindow(None, window.end).contains(bronze.snapshot_date)
        parsed = _check_installment_sequence(_parse_and_check(bronze.filter(in_run | history), schema, rules))
        parsed = parsed.filter(window.contains(parsed.snapshot_date) | parsed.snapshot_date.isnull())
    else:
        parsed = _parse_and_check(bronze.filter(in_run), schema, rules)
        if schema.name == "lms":
            parsed = _check_installment_sequence(parsed)
    if _backend_name(parsed) == "pyspark":
        # Spark's optimiser inlines every parsed expression into both branches of the deduplication and
        # exhausts the driver's memory on wide tables: materialise the parsed rows first.
        parsed = parsed.cache()
    # Materialised once deduplicated: silver and quarantine are two filters of the same rows.
    parsed = _mark_duplicates(parsed, schema).cache()
    silver_cols = [c.silver for c in schema.columns if c.raw != "snapshot_date"]
    silver = parsed.filter(parsed[QUARANTINE_REASON].isnull()).select(
        *silver_cols, "snapshot_date", "dq_issues", "_source_file"
    )
    quarantine = parsed.filter(parsed[QUARANTINE_REASON].notnull()).select(
        *[_raw(c) for c in schema.columns if c.raw != "snapshot_date"],
        "_snapshot_date_raw",
        "snapshot_date",
        "_source_file",
        "_parse_error",
        QUARANTINE_REASON,
    )
    return silver, quarantine


def _parse_and_check(rows: ir.Table, schema: SourceSchema, rules: dict[str, Any]) -> ir.Table:
    """Raw text renamed ``raw__<column>`` and trimmed, typed columns, ``dq_issues`` and the row's reason."""
    rows = rows.rename({_raw(c): c.raw for c in schema.columns if c.raw != "snapshot_date"})
    # surrounding whitespace is not data; a whitespace-only field is a missing value
    rows = rows.mutate(**{_raw(c): _trim(rows[_raw(c)]) for c in schema.columns if c.raw != "snapshot_date"})
    parsed = _parse(rows, schema, rules)
    return parsed.mutate(**{QUARANTINE_REASON: _row_reason(parsed, schema, rules)})


def _check_installment_sequence(parsed: ir.Table) -> ir.Table:
    """Quarantine snapshots whose ``installment_num`` is not above every earlier month's of the same loan.

    ``parsed`` holds the loan's earlier months too (an incremental run reads them from bronze); only snapshots
    valid on their own count. A snapshot quarantined by this rule never raises the running maximum, so it
    need not be excluded from it.
    """
    month = parsed.snapshot_date.year().cast("int64") * 12 + parsed.snapshot_date.month().cast("int64")
    valid = ibis.ifelse(parsed[QUARANTINE_REASON].isnull(), parsed.installment_num, ibis.null("int64"))
    # the maximum over strictly earlier months (a range frame ending one month before the row's own)
    earlier = valid.max().over(ibis.window(group_by=parsed.loan_id, order_by=month, range=(None, -1)))
    backwards = (parsed.installment_num <= earlier).fill_null(False)
    reason = ibis.coalesce(
        parsed[QUARANTINE_REASON], ibis.ifelse(backwards, ibis.literal(SEQUENCE_REASON), ibis.null("string"))
    )
    return parsed.mutate(**{QUARANTINE_REASON: reason})


def _trim(text: ir.StringValue) -> ir.StringValue:
    """Surrounding spaces/tabs removed, blank → null.

    Not ``strip()``: Ibis passes Python's whitespace set to Spark's ``trim``, whose SQL literal turns ``\\f``
    and ``\\v`` into the letters f and v (``CUS_0x584ef`` became ``CUS_0x584e``). The regex only runs on the
    rare values that need it.
    """
    padded = text.startswith(" ") | text.endswith(" ") | text.startswith("\t") | text.endswith("\t")
    trimmed = ibis.ifelse(padded, text.re_replace(r"^[ \t]+|[ \t]+$", ""), text)
    return trimmed.nullif("")


def _backend_name(table: ir.Table) -> str:
    try:
        return table.get_backend().name
    except Exception:  # noqa: BLE001 - an unbound memtable runs on the default backend (DuckDB)
        return "duckdb"


def _raw(col: Column) -> str:
    """Name of the raw text of a column while parsing (and in quarantine)."""
    return f"raw__{col.raw}"


def _parse(rows: ir.Table, schema: SourceSchema, rules: dict[str, Any]) -> ir.Table:
    """Typed columns (silver names) beside the raw text, and ``dq_issues`` listing nulled values."""
    placeholders = rules.get("placeholders", {})
    ranges = rules.get("valid_ranges", {})
    typed: dict[str, ir.Value] = {}
    issue_parts: list[ir.StringValue] = []
    for col in schema.columns:
        if col.raw == "snapshot_date":
            continue
        raw = rows[_raw(col)]
        value = _convert(raw, col)
        flagged = ibis.literal(False)
        if col.raw in placeholders:
            is_placeholder = raw.isin(list(placeholders[col.raw]))
            value = ibis.ifelse(is_placeholder, ibis.null(value.type()), value)
            flagged |= is_placeholder.fill_null(False)
        if col.raw in ranges and col.kind in {"int", "float"}:
            lo, hi = (float(v) for v in ranges[col.raw])
            out = (value < lo) | (value > hi)
            value = ibis.ifelse(out, ibis.null(value.type()), value)
            flagged |= out.fill_null(False)
        if col.kind != "text":
            flagged |= raw.notnull() & value.isnull()  # text that does not parse
        typed[col.silver] = value
        issue_parts.append(ibis.ifelse(flagged, ibis.literal(f"{col.raw};"), ibis.literal("")))
    issues = ibis.literal("")
    for part in issue_parts:
        issues = issues.concat(part)
    parsed = rows.mutate(**typed, dq_issues=issues)
    if "Total_EMI_per_month" in schema.raw_columns and rules.get("max_emi_to_salary") is not None:
        emi, salary = parsed.total_emi_per_month, parsed.monthly_inhand_salary
        implausible = ((salary > 0) & (emi > salary * float(rules["max_emi_to_salary"]))).fill_null(False)
        parsed = parsed.mutate(
            total_emi_per_month=ibis.ifelse(implausible, ibis.null("float64"), emi),
            dq_issues=parsed.dq_issues.concat(ibis.ifelse(implausible, "emi_to_salary;", "")),
        )
    return parsed.mutate(dq_issues=parsed.dq_issues.nullif(""))


def _convert(raw: ir.StringValue, col: Column) -> ir.Value:
    if col.kind == "text":
        return raw
    if col.kind == "float":
        return _finite(raw.replace("_", "").try_cast("float64"))  # text is already trimmed by the raw readers
    if col.kind == "int":
        number = _finite(raw.replace("_", "").try_cast("float64"))
        # beyond 2**53 first (Ibis' floor() casts to int64, which 1e30 would overflow), then whole numbers
        number = ibis.ifelse((number.abs() <= _MAX_INT).fill_null(False), number, ibis.null("float64"))
        whole = (number == number.floor()).fill_null(False)
        return ibis.ifelse(whole, number, ibis.null("float64")).cast("int64")
    if col.kind == "date":
        return parse_date(raw)
    if col.kind == "bool":
        lowered = raw.lower()
        return ibis.cases(
            (lowered.isin(_TRUE), True), (lowered.isin(_FALSE), False), else_=ibis.null("boolean")
        )
    if col.kind == "duration":
        years = raw.re_extract(_DURATION, 1).nullif("").try_cast("int64")
        months = raw.re_extract(_DURATION, 2).nullif("").try_cast("int64")
        return years * 12 + months
    raise ValueError(f"unknown column kind {col.kind!r} for {col.raw}")


def parse_date(raw: ir.StringValue) -> ir.DateValue:
    """An ISO date read from text, null when it does not parse or falls outside :data:`DATE_RANGE`."""
    date = raw.try_cast("date")
    lo, hi = (ibis.literal(d).cast("date") for d in DATE_RANGE)
    return ibis.ifelse(((date >= lo) & (date <= hi)).fill_null(False), date, ibis.null("date"))


def _finite(number: ir.FloatingValue) -> ir.FloatingValue:
    """``number`` where it is finite, else null. NaN compares above every number on DuckDB and Spark alike."""
    finite = (number >= -_MAX_FLOAT) & (number <= _MAX_FLOAT)
    return ibis.ifelse(finite.fill_null(False), number, ibis.null("float64"))


def _row_reason(parsed: ir.Table, schema: SourceSchema, rules: dict[str, Any]) -> ir.StringValue:
    """The first reason a row cannot enter silver, or null."""
    cases: list[tuple[ir.BooleanValue, str]] = [
        (parsed._parse_error.notnull(), "malformed_row"),
        (parsed.snapshot_date.isnull(), "invalid_value:snapshot_date"),
    ]
    for col in schema.columns:
        if col.raw == "snapshot_date":
            continue
        value = parsed[col.silver]
        if col.required:
            raw = parsed[_raw(col)]
            cases.append((raw.isnull(), f"missing_value:{col.raw}"))
            cases.append((value.isnull(), f"invalid_value:{col.raw}"))
        if col.non_negative:
            cases.append((value < 0, f"invalid_value:{col.raw}"))
    if schema.name == "lms":
        max_amount = float(rules.get("max_amount", 1e9))
        for name in ("loan_amt", "due_amt", "overdue_amt"):
            cases.append((parsed[name] > max_amount, f"invalid_value:{name}"))
        max_tenure = int(rules.get("max_tenure", 480))
        cases.append(((parsed.tenure < 1) | (parsed.tenure > max_tenure), "invalid_value:tenure"))
        cases.append((parsed.installment_num > parsed.tenure, "invalid_value:installment_num"))
    for name, allowed in schema.allowed_values.items():
        cases.append((~parsed[name].isin(list(allowed)), f"invalid_value:{schema.column(name).raw}"))
    return ibis.cases(*[(cond.fill_null(False), reason) for cond, reason in cases], else_=ibis.null("string"))


def _mark_duplicates(parsed: ir.Table, schema: SourceSchema) -> ir.Table:
    """Quarantine every row after the first of each key (deterministic on every engine).

    Only keys that occur more than once are sorted (by the raw text of the row), so the cost of the ordering
    is paid on the duplicates alone.
    """
    ok = parsed[QUARANTINE_REASON].isnull()
    keys = [*schema.key, "_ok"]
    counted = parsed.mutate(_ok=ok).mutate(
        _n=lambda t: t.count().over(ibis.window(group_by=[t[k] for k in keys]))
    )
    singles = counted.filter(counted._n == 1).mutate(_rank=ibis.literal(0, "int64"))
    repeated = counted.filter(counted._n > 1)
    order = [ibis.coalesce(repeated[_raw(c)], "") for c in schema.columns if c.raw != "snapshot_date"]
    order.append(ibis.coalesce(repeated._source_file, ""))
    # Rank only the rows still eligible, so a malformed twin does not hide the good row.
    rank = ibis.row_number().over(ibis.window(group_by=[repeated[k] for k in keys], order_by=order))
    ranked = singles.union(repeated.mutate(_rank=rank.cast("int64")), distinct=False)
    reason = ibis.ifelse(
        ranked._ok & (ranked._rank > 0), ibis.literal("duplicate_key"), ranked[QUARANTINE_REASON]
    )
    return ranked.mutate(**{QUARANTINE_REASON: reason}).drop("_ok", "_rank", "_n")
