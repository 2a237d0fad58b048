"""Write raw tables as CSV exports (with duplicates and malformed lines) and as monthly JSON batches."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kycc.synthetic.dirty import RowPlan
from kycc.synthetic.table import RawTable

logger = logging.getLogger(__name__)

__all__ = ["csv_lines", "write_csv", "write_json_batch", "write_json"]

_NEEDS_QUOTES = r'[,"\r\n]'


def _quoted(column: pa.Array) -> pa.Array:
    """CSV-quote the values that hold a delimiter, a quote or a newline (minimal quoting, like ``csv``)."""
    needs = pc.match_substring_regex(column, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return column
    escaped = pc.replace_substring(column, '"', '""')
    return pc.if_else(needs, pc.binary_join_element_wise('"', escaped, '"', ""), column)


def csv_lines(table: RawTable, rows: np.ndarray) -> list[str]:
    """The CSV lines (no terminator) of ``rows``; missing values are empty fields."""
    if len(rows) == 0:
        return []
    indices = pa.array(rows, pa.int64())
    columns = [_quoted(table.data[c].take(indices)) for c in table.columns]
    joined = pc.binary_join_element_wise(*columns, ",", null_handling="replace", null_replacement="")
    return joined.to_pylist()


def _malformed_line(fields: list[str], extra: bool, rng: np.random.Generator) -> str:
    """A line with one field too many or too few; the snapshot date stays the last field."""
    fields = list(fields)
    position = int(rng.integers(0, len(fields) - 1)) if len(fields) > 1 else 0
    if extra:
        fields.insert(len(fields) - 1, fields[position] or "#N/A")
    else:
        del fields[position]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue()


def write_csv(
    table: RawTable, path: Path, csv_rows: np.ndarray, plan: RowPlan, rng: np.random.Generator
) -> dict[str, int]:
    """Write the CSV export of ``csv_rows`` (sorted row indices); return line counts."""
    lines = csv_lines(table, csv_rows)
    position = np.searchsorted(csv_rows, plan.malformed)
    for pos, row, extra in zip(
        position.tolist(), plan.malformed.tolist(), plan.malformed_extra.tolist(), strict=True
    ):
        fields = ["" if v is None else str(v) for v in (table.data[c][row].as_py() for c in table.columns)]
        lines[pos] = _malformed_line(fields, extra, rng)
    dup_pos = np.searchsorted(csv_rows, plan.duplicates)
    out_order = np.sort(np.concatenate([np.arange(len(csv_rows)), dup_pos]), kind="stable")
    header = ",".join(table.columns)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(header + "\n")
        if len(out_order):
            handle.write("\n".join(lines[i] for i in out_order.tolist()))
            handle.write("\n")
    return {"rows": len(out_order), "distinct_rows": len(csv_rows) - len(plan.malformed)}


def _records(table: RawTable, rows: np.ndarray, drop: tuple[str, ...]) -> list[dict[str, Any]]:
    indices = pa.array(rows, pa.int64())
    names = [c for c in table.columns if c not in drop]
    values = [table.data[c].take(indices).to_pylist() for c in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Compact, deterministic JSON (UTF-8)."""
    path.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def write_json_batch(
    batches_dir: Path,
    batch: str,
    month_index: int,
    snapshot_date: str,
    tables: dict[str, RawTable],
) -> dict[str, int]:
    """Write ``{batch}_profiles.json`` and ``{batch}_labels.json`` for one month; return their counts."""
    by_table = {name: np.flatnonzero(t.month == month_index) for name, t in tables.items()}
    profiles: dict[int, dict[str, Any]] = {}

    def profile(cust: int, customer_id: str) -> dict[str, Any]:
        if cust not in profiles:
            profiles[cust] = {
                "Customer_ID": customer_id,
                "attributes": None,
                "financials": None,
                "clickstream": None,
                "relationships": [],
            }
        return profiles[cust]

    for section, name in (
        ("attributes", "features_attributes.csv"),
        ("financials", "features_financials.csv"),
        ("clickstream", "feature_clickstream.csv"),
    ):
        table, rows = tables[name], by_table[name]
        records = _records(table, rows, ("Customer_ID", "snapshot_date"))
        ids = table.data["Customer_ID"].take(pa.array(rows, pa.int64())).to_pylist()
        for cust, customer_id, record in zip(table.cust[rows].tolist(), ids, records, strict=True):
            profile(cust, customer_id)[section] = record
    rel, rel_rows = tables["party_relationships.csv"], by_table["party_relationships.csv"]
    sources = rel.data["source_customer_id"].take(pa.array(rel_rows, pa.int64())).to_pylist()
    for cust, source, record in zip(
        rel.cust[rel_rows].tolist(),
        sources,
        _records(rel, rel_rows, ("source_customer_id", "snapshot_date")),
        strict=True,
    ):
        profile(cust, source)["relationships"].append(record)
    ordered = [profiles[c] for c in sorted(profiles)]
    write_json(
        batches_dir / f"{batch}_profiles.json",
        {"batch_id": batch, "snapshot_date": snapshot_date, "profiles": ordered},
    )
    lms, lms_rows = tables["lms_loan_daily.csv"], by_table["lms_loan_daily.csv"]
    loans = _records(lms, lms_rows, ("snapshot_date",))
    write_json(
        batches_dir / f"{batch}_labels.json",
        {"batch_id": batch, "snapshot_date": snapshot_date, "loans": loans},
    )
    return {
        "profiles": len(ordered),
        "attributes": len(by_table["features_attributes.csv"]),
        "financials": len(by_table["features_financials.csv"]),
        "clickstream": len(by_table["feature_clickstream.csv"]),
        "relationships": len(rel_rows),
        "loans": len(loans),
    }
