"""Nodes of the feature_store pipeline (thin: features live in ``kycc.features``)."""

from __future__ import annotations

import logging
from typing import Any

import ibis.expr.types as ir

from kycc.datasets.partitioned_ibis import MonthlyTable
from kycc.features.point_in_time import build_gold_features
from kycc.medallion.quality import quality_report
from kycc.medallion.window import RunWindow, months_in

logger = logging.getLogger(__name__)

PARTY_SOURCES = ("attributes", "financials", "clickstream", "relationships")


def build_feature_table(
    silver_lms: ir.Table,
    attributes: ir.Table,
    financials: ir.Table,
    clickstream: ir.Table,
    relationships: ir.Table,
    run: dict[str, Any],
    options: dict[str, Any],
) -> MonthlyTable:
    """Gold features of the run window's applications, each as known at the application date."""
    window = RunWindow.from_params(run)
    features = build_gold_features(
        silver_lms, attributes, financials, clickstream, relationships, window, options
    )
    return MonthlyTable(features, months_in(silver_lms, window), window)


def report_feature_quality(run: dict[str, Any], features: ir.Table, *tables: ir.Table) -> dict[str, Any]:
    """Row accounting per party source (bronze, silver, quarantine triples) and the gold row count."""
    window = RunWindow.from_params(run)
    triples = {s: tuple(tables[3 * i : 3 * i + 3]) for i, s in enumerate(PARTY_SOURCES)}
    report = quality_report(triples, window)
    in_run = features.filter(window.contains(features.application_date))
    report["gold_features"] = {
        "applications": int(in_run.count().execute()),
        "columns": len(features.columns),
    }
    logger.info(
        "Gold features for %s: %d applications x %d columns",
        window,
        report["gold_features"]["applications"],
        len(features.columns),
    )
    return report
