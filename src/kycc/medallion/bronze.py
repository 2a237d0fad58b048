"""Bronze: raw rows as read (text), from the CSV export and the JSON batch files, for the run window."""

from __future__ import annotations

import logging
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kycc.medallion.schemas import get_schema
from kycc.medallion.window import RunWindow

logger = logging.getLogger(__name__)

__all__ = ["BRONZE_META", "batch_rows", "build_bronze"]

BRONZE_META = ("_source_file", "_parse_error", "_snapshot_date_raw")

# Where each source's rows sit inside a profiles batch ({"profiles": [{...}]}); lms rows come from labels.
_PROFILE_SECTIONS = {"attributes": "attributes", "financials": "financials", "clickstream": "clickstream"}


def batch_rows(source: str, batches: dict[str, dict]) -> pa.Table:
    """Flatten JSON batch payloads into raw text rows of ``source`` (same columns as its CSV).

    Args:
        source: One of the medallion sources.
        batches: ``{batch_id: payload}`` from ``JsonBatchesDataset`` (profiles, or labels for ``lms``).
    """
    schema = get_schema(source)
    rows: list[dict[str, Any]] = []
    for batch_id, payload in sorted(batches.items()):
        snapshot = payload.get("snapshot_date")
        file = payload.get("_source_file", batch_id)
        if source == "lms":
            records = [dict(r) for r in payload.get("loans", [])]
        elif source == "relationships":
            records = [
                {**edge, "source_customer_id": profile.get("Customer_ID")}
                for profile in payload.get("profiles", [])
                for edge in profile.get("relationships") or []
            ]
        else:
            section = _PROFILE_SECTIONS[source]
            records = [
                {**profile[section], "Customer_ID": profile.get("Customer_ID")}
                for profile in payload.get("profiles", [])
                if profile.get(section)
            ]
        for record in records:
            record["snapshot_date"] = snapshot
            record["_source_file"] = file
            rows.append(record)
    names = [*schema.raw_columns, "_source_file"]
    columns = {name: pa.array([_text(r.get(name)) for r in rows], pa.string()) for name in names}
    columns["_parse_error"] = pa.nulls(len(rows), pa.string())
    return pa.table(columns)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    text = str(value).strip()
    return text or None


def build_bronze(source: str, csv_rows: pa.Table, json_rows: pa.Table, window: RunWindow) -> ir.Table:
    """Bronze table of ``source`` for the run window: CSV rows and JSON batch rows, as text.

    Adds ``snapshot_date`` parsed as a date (the partition key; the raw text is kept in
    ``_snapshot_date_raw``). Rows whose snapshot date cannot be read are carried by every run (they land in
    the ``undated`` partition and are quarantined in silver), so no row is ever lost to the window filter.
    """
    schema = get_schema(source)
    wanted = [*schema.raw_columns, "_source_file", "_parse_error"]
    tables = [_select(csv_rows, wanted), _select(json_rows, wanted)]
    # one chunk per column: PySpark's Arrow path rejects chunked arrays (and its fallback turns nulls into "nan")
    combined = pa.concat_tables([t for t in tables if t.num_rows] or tables[:1]).combine_chunks()
    table = ibis.memtable(combined)
    table = table.rename(_snapshot_date_raw="snapshot_date")
    date = table._snapshot_date_raw.re_replace(r"^[ \t]+|[ \t]+$", "").try_cast("date")
    table = table.mutate(snapshot_date=ibis.ifelse(date.day() == 1, date, ibis.null("date")))
    return table.filter(window.contains(table.snapshot_date) | table.snapshot_date.isnull())


def _select(table: pa.Table, wanted: list[str]) -> pa.Table:
    n = table.num_rows
    columns = {
        name: table.column(name) if name in table.column_names else pa.nulls(n, pa.string())
        for name in wanted
    }
    return pa.table({k: v.cast(pa.string()) for k, v in columns.items()})
