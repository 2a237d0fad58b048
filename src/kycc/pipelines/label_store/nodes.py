"""Nodes of the label_store pipeline (thin: the rule lives in ``kycc.labels.rules``)."""

from __future__ import annotations

import logging
from typing import Any

import ibis.expr.types as ir

from kycc.datasets.partitioned_ibis import MonthlyTable
from kycc.labels.rules import label_loans
from kycc.medallion.quality import quality_report
from kycc.medallion.window import RunWindow

logger = logging.getLogger(__name__)


def build_gold_labels(silver_lms: ir.Table, run: dict[str, Any], options: dict[str, Any]) -> MonthlyTable:
    """Gold labels for the loans reaching ``options['mob']`` months on book in the run window.

    Args:
        silver_lms: Clean loan snapshots.
        run: The ``run`` parameters (window).
        options: ``label_store`` parameters (``mob``, ``dpd``).
    """
    window = RunWindow.from_params(run)
    labels = label_loans(silver_lms, window, mob=int(options["mob"]), dpd=int(options["dpd"]))
    return MonthlyTable(labels, (), window)  # every stored month of the window is restated


def report_label_quality(
    bronze: ir.Table, silver: ir.Table, quarantine: ir.Table, labels: ir.Table, run: dict[str, Any]
) -> dict[str, Any]:
    """Row accounting of the loan book and the label summary of the run window."""
    window = RunWindow.from_params(run)
    report = quality_report({"lms": (bronze, silver, quarantine)}, window)
    in_run = labels.filter(window.contains(labels.snapshot_date))
    summary = in_run.aggregate(n=in_run.count(), defaults=in_run.label.sum().fill_null(0)).execute()
    n, defaults = int(summary["n"].iloc[0]), int(summary["defaults"].iloc[0])
    report["labels"] = {
        "loans_labelled": n,
        "defaults": defaults,
        "default_rate": round(defaults / n, 4) if n else None,
    }
    logger.info(
        "Labels for %s: %d loans, %d defaults (%.1f%%)", window, n, defaults, 100 * defaults / n if n else 0.0
    )
    return report
