"""Bronze: raw rows as read (text), from the CSV export and the JSON batch files, for the run window."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from kycc.datasets.json_batches import VALIDATED, json_type, validate_batch
from kycc.medallion.schemas import get_schema
from kycc.medallion.silver import parse_date
from kycc.medallion.window import RunWindow

logger = logging.getLogger(__name__)

__all__ = ["BRONZE_META", "batch_rows", "build_bronze"]

BRONZE_META = ("_source_file", "_parse_error", "_snapshot_date_raw")

# Where each source's rows sit inside a profiles batch ({"profiles": [{...}]}); lms rows come from labels.
_PROFILE_SECTIONS = {"attributes": "attributes", "financials": "financials", "clickstream": "clickstream"}


def batch_rows(source: str, batches: dict[str, dict]) -> pa.Table:
    """Flatten JSON batch payloads into raw text rows of ``source`` (same columns as its CSV).

    Every payload is first checked against the batch schema (``validate_batch``: a structural problem raises
    one ``DatasetError`` naming file, batch, record index, field and problem). Then each JSON record becomes
    exactly one row — a loan of ``loans``, a non-empty ``attributes``/``financials``/``clickstream`` object of
    a profile, an edge of its ``relationships`` — so rows in bronze = records in the files. A record with a
    problem (a value that is an object/array or a non-finite number, its own ``snapshot_date`` contradicting
    the batch or null, a ``Customer_ID``/``source_customer_id`` contradicting its profile) still becomes one
    row, with ``_parse_error`` naming the record and the problem: silver quarantines it with that reason.

    Args:
        source: One of the medallion sources.
        batches: ``{batch_id: payload}`` from ``JsonBatchesDataset`` (profiles, or labels for ``lms``).
    """
    schema = get_schema(source)
    kind = "labels" if source == "lms" else "profiles"
    fields = set(schema.raw_columns)
    rows: list[dict[str, Any]] = []
    for batch_id, payload in sorted(batches.items()):
        file = payload.get("_source_file", batch_id) if isinstance(payload, dict) else batch_id
        if not (isinstance(payload, dict) and payload.get(VALIDATED) is True):
            validate_batch(kind, batch_id, payload, file)
        snapshot = payload["snapshot_date"].strip()
        unknown: set[str] = set()
        for where, record, parent in _batch_records(source, payload):
            unknown |= record.keys() - fields
            rows.append(_record_row(schema.raw_columns, where, record, parent, snapshot, batch_id, file))
        if unknown:
            logger.warning(
                "%s: field(s) %s are not %s columns: ignored", file, ", ".join(sorted(unknown)), source
            )
    names = [*schema.raw_columns, "_source_file", "_parse_error"]
    return pa.table({name: pa.array([r.get(name) for r in rows], pa.string()) for name in names})


def _batch_records(source: str, payload: dict[str, Any]):
    """``(where, record, parent keys)`` for each JSON record of ``source`` in a validated payload."""
    if source == "lms":
        for i, loan in enumerate(payload["loans"]):
            yield f"loans[{i}]", loan, {}
        return
    for i, profile in enumerate(payload["profiles"]):
        customer = profile.get("Customer_ID")
        if source == "relationships":
            for j, edge in enumerate(profile.get("relationships") or []):
                yield f"profiles[{i}].relationships[{j}]", edge, {"source_customer_id": customer}
        elif profile.get(_PROFILE_SECTIONS[source]):
            yield (
                f"profiles[{i}].{_PROFILE_SECTIONS[source]}",
                profile[_PROFILE_SECTIONS[source]],
                {"Customer_ID": customer},
            )


def _record_row(
    columns: list[str],
    where: str,
    record: dict[str, Any],
    parent: dict[str, Any],
    snapshot: str,
    batch_id: str,
    file: str,
) -> dict[str, str | None]:
    """One bronze row (text) of a JSON record; ``_parse_error`` lists its problems (null when there are none)."""
    problems: list[str] = []
    row = {name: _text(record.get(name)) for name in columns}
    for name, value in record.items():
        kind = type(value)
        if kind in _PLAIN or (kind is float and math.isfinite(value)) or name not in row:
            continue
        if name == "snapshot_date" or name in parent:
            continue  # checked against the batch / the profile below
        row[name], problem = _json_text(value)
        if problem:
            problems.append(f"field {name!r}: {problem}")
    for name, value in parent.items():
        own = record.get(name)
        if own is not None and _scalar_text(own) != _scalar_text(value):
            problems.append(f"{name} {own!r} contradicts its profile's {value!r}")
        row[name], problem = _json_text(value)
        if problem:
            problems.append(f"field {name!r} of the profile: {problem}")
    if "snapshot_date" in record:
        own = record["snapshot_date"]
        if own is None or (isinstance(own, str) and not own.strip()):
            problems.append(f"field 'snapshot_date': missing (null) in the record of batch {batch_id}")
        elif _scalar_text(own) != snapshot:
            problems.append(f"field 'snapshot_date': {own!r} contradicts batch {batch_id} ({snapshot})")
    row["snapshot_date"] = snapshot
    row["_source_file"] = file
    row["_parse_error"] = f"JSON record {where}: {'; '.join(problems)}" if problems else None
    return row


_PLAIN = (str, int, bool, type(None))


def _json_text(value: Any) -> tuple[str | None, str | None]:
    """A record value as raw text, and the problem when it cannot be one (kept whole, as JSON text, for quarantine)."""
    if isinstance(value, dict | list):
        return json.dumps(value), f"expected text, a number or null, got {json_type(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value), f"{value} is not a finite number"
    return _text(value), None


def _scalar_text(value: Any) -> str | None:
    return _text(value) if not isinstance(value, dict | list) else repr(value)


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
    date = parse_date(table._snapshot_date_raw.re_replace(r"^[ \t]+|[ \t]+$", ""))
    table = table.mutate(snapshot_date=ibis.ifelse(date.day() == 1, date, ibis.null("date")))
    return table.filter(window.contains(table.snapshot_date) | table.snapshot_date.isnull())


def _select(table: pa.Table, wanted: list[str]) -> pa.Table:
    n = table.num_rows
    columns = {
        name: table.column(name) if name in table.column_names else pa.nulls(n, pa.string())
        for name in wanted
    }
    return pa.table({k: v.cast(pa.string()) for k, v in columns.items()})
