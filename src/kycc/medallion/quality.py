"""Data-quality accounting of a bronze → silver run: rows in = rows out + quarantined, by reason."""

from __future__ import annotations

import logging
from typing import Any

import ibis.expr.types as ir

from kycc.medallion.silver import QUARANTINE_REASON
from kycc.medallion.window import RunWindow

logger = logging.getLogger(__name__)

__all__ = ["DataQualityError", "quality_report"]


class DataQualityError(RuntimeError):
    """Rows were lost between bronze and silver (a bug, never expected)."""


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
    report: dict[str, Any] = {"window": str(window), "sources": {}}
    lines = [f"Data quality for {window}:", f"  {'source':<14}{'in':>10}{'silver':>10}{'quarantined':>13}"]
    for source, (bronze, silver, quarantine) in sources.items():
        counts = source_quality(source, bronze, silver, quarantine, window)
        report["sources"][source] = counts
        if counts["rows_in"] == 0:
            logger.warning(
                "%s: no raw rows for %s. Have this month's files arrived in data/01_raw (CSV rows or "
                "batches/BATCH_YYYY_MM_*.json)?",
                source,
                window,
            )
        lines.append(
            f"  {source:<14}{counts['rows_in']:>10}{counts['rows_out']:>10}{counts['rows_quarantined']:>13}"
        )
    logger.info("\n".join(lines))
    return report
