"""Data-quality accounting of a bronze → silver run: rows in = rows out + quarantined, by reason."""

from __future__ import annotations

import logging
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from kycc.datasets.raw_csv import RECORDS_METADATA_KEY
from kycc.medallion.silver import QUARANTINE_REASON
from kycc.medallion.window import RunWindow

logger = logging.getLogger(__name__)

__all__ = ["MOSTLY_QUARANTINED", "DataQualityError", "check_raw_records", "quality_report"]

#: Share of a source's rows in quarantine above which the run summary warns (a broken export, not bad rows).
MOSTLY_QUARANTINED = 0.5


class DataQualityError(RuntimeError):
    """Rows were lost between the raw file, bronze and silver (a bug, never expected)."""


def check_raw_records(source: str, raw: pa.Table) -> int:
    """Rows read from a raw CSV export, checked against the file's record count taken from its lines.

    ``RawCsvDataset`` counts the records of the file without the CSV parser (non-blank lines after the
    header) and stores the count in the table's schema metadata; every record must be a row (a malformed one
    included), so an unbalanced quote that folds lines together can never pass as balanced downstream.

    Raises:
        DataQualityError: naming the file, when the rows and the record count differ.
    """
    metadata = raw.schema.metadata or {}
    if RECORDS_METADATA_KEY not in metadata:
        return raw.num_rows  # not read from a file (an in-memory table in a notebook or test)
    records = int(metadata[RECORDS_METADATA_KEY])
    files = sorted(set(raw.column("_source_file").to_pylist())) if "_source_file" in raw.column_names else []
    name = ", ".join(files) or source
    if raw.num_rows != records:
        raise DataQualityError(
            f"{source}: {name} has {records} record line(s) but {raw.num_rows} row(s) were read; "
            f"rows would be lost — please report this as a bug."
        )
    return records


def _in_run(table: ir.Table, window: RunWindow) -> ir.Table:
    return table.filter(window.contains(table.snapshot_date) | table.snapshot_date.isnull())


def source_quality(
    source: str, bronze: ir.Table, silver: ir.Table, quarantine: ir.Table, window: RunWindow
) -> dict[str, Any]:
    """Counts for one source over the run window; raises ``DataQualityError`` if rows went missing."""
    rows_in = int(_in_run(bronze, window).count().execute())
    rows_out = int(silver.filter(window.contains(silver.snapshot_date)).count().execute())
    q = _in_run(quarantine, window)
    by_reason = q.group_by(QUARANTINE_REASON).aggregate(n=q.count()).execute()
    reasons = {str(r): int(n) for r, n in zip(by_reason[QUARANTINE_REASON], by_reason["n"], strict=True)}
    quarantined = sum(reasons.values())
    s = silver.filter(window.contains(silver.snapshot_date) & silver.dq_issues.notnull())
    issues = s.select(issue=s.dq_issues.split(";").unnest()).filter(lambda t: t.issue != "")
    issue_counts = issues.group_by("issue").aggregate(n=issues.count()).execute()
    fixed = {str(i): int(n) for i, n in zip(issue_counts["issue"], issue_counts["n"], strict=True)}
    report = {
        "rows_in": rows_in,
        "rows_out": rows_out,
        "rows_quarantined": quarantined,
        "quarantine_reasons": dict(sorted(reasons.items())),
        "values_nulled_in_silver": dict(sorted(fixed.items())),
        "balanced": rows_in == rows_out + quarantined,
    }
    if not report["balanced"]:
        raise DataQualityError(
            f"{source}: {rows_in} bronze rows but {rows_out} silver + {quarantined} quarantined rows "
            f"for {window}; rows were lost — please report this as a bug."
        )
    return report


def quality_report(
    sources: dict[str, tuple[ir.Table, ir.Table, ir.Table]], window: RunWindow
) -> dict[str, Any]:
    """Quality report over several sources, logged as a short table.

    Args:
        sources: ``{source: (bronze, silver, quarantine)}``.
        window: The run window the counts cover.
    """
    report: dict[str, Any] = {"window": str(window), "sources": {}, "warnings": []}
    lines = [f"Data quality for {window}:", f"  {'source':<14}{'in':>10}{'silver':>10}{'quarantined':>13}"]
    for source, (bronze, silver, quarantine) in sources.items():
        counts = source_quality(source, bronze, silver, quarantine, window)
        report["sources"][source] = counts
        if counts["rows_in"] == 0:
            report["warnings"].append(
                f"{source}: no raw rows for {window} (a header-only file, or this month's files have not "
                f"arrived in data/01_raw: CSV rows or batches/BATCH_YYYY_MM_*.json)"
            )
        elif counts["rows_quarantined"] > MOSTLY_QUARANTINED * counts["rows_in"]:
            report["warnings"].append(
                f"{source}: {counts['rows_quarantined']} of {counts['rows_in']} rows quarantined for {window} "
                f"({', '.join(f'{r}: {n}' for r, n in counts['quarantine_reasons'].items())}); "
                f"check the export"
            )
        lines.append(
            f"  {source:<14}{counts['rows_in']:>10}{counts['rows_out']:>10}{counts['rows_quarantined']:>13}"
        )
    logger.info("\n".join(lines))
    for warning in report["warnings"]:
        logger.warning(warning)
    return report
