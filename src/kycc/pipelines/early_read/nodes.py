"""Nodes of the early_read pipeline (thin: the logic lives in ``kycc.monitoring.vintages``)."""

from __future__ import annotations

import logging
from typing import Any

import ibis.expr.types as ir

from kycc.datasets.partitioned_ibis import MonthlyTable
from kycc.medallion.window import RunWindow
from kycc.monitoring.vintages import EarlyReadOptions, projection_summary, roll_rate_table, vintage_table

logger = logging.getLogger(__name__)


def _options(label_store: dict[str, Any], early_read: dict[str, Any]) -> EarlyReadOptions:
    return EarlyReadOptions.from_params(label_store, early_read)


def build_vintages(
    silver_lms: ir.Table, run: dict[str, Any], label_store: dict[str, Any], early_read: dict[str, Any]
) -> MonthlyTable:
    """Vintage rows read in the run window (dated at the read month: cohort + MOB).

    Args:
        silver_lms: Clean loan snapshots (every month: a row reads only snapshots up to its own month).
        run: The ``run`` parameters (window).
        label_store: The label's rule (``mob``, ``dpd``).
        early_read: The early read's parameters (buckets, read MOBs, fit window).
    """
    window = RunWindow.from_params(run)
    table = vintage_table(silver_lms, _options(label_store, early_read))
    return MonthlyTable(table.filter(window.contains(table.snapshot_date)), (), window)


def build_roll_rates(
    silver_lms: ir.Table, run: dict[str, Any], label_store: dict[str, Any], early_read: dict[str, Any]
) -> MonthlyTable:
    """Roll rates between DPD buckets for the months of the run window (month M−1 → M)."""
    window = RunWindow.from_params(run)
    table = roll_rate_table(silver_lms, _options(label_store, early_read))
    return MonthlyTable(table.filter(window.contains(table.snapshot_date)), (), window)


def report_early_read(
    silver_lms: ir.Table, run: dict[str, Any], label_store: dict[str, Any], early_read: dict[str, Any]
) -> dict[str, Any]:
    """The projection checked against the realized rate (MAE per read MOB) and the open projections.

    Everything known at the end of the run window: vintage rows dated up to its last month.
    """
    window = RunWindow.from_params(run)
    opts = _options(label_store, early_read)
    table = vintage_table(silver_lms, opts)
    if window.end is not None:
        table = table.filter(table.snapshot_date <= window.end)
    vintages = table.execute()
    checks = projection_summary(vintages, opts)
    matured = set(vintages.loc[vintages["mob"] == opts.mob, "cohort"]) if len(vintages) else set()
    open_rows = vintages[vintages["projected_default_rate"].notna() & ~vintages["cohort"].isin(matured)]
    latest = open_rows.sort_values("mob").groupby("cohort").tail(1).sort_values("cohort")
    report = {
        "label_def": opts.label_def,
        "read_dpd": opts.read_dpd,
        "read_mobs": list(opts.read_mobs),
        "as_of": f"{vintages['snapshot_date'].max():%Y-%m}" if len(vintages) else None,
        "projection_check": checks,
        "open_projections": [
            {
                "cohort": f"{r.cohort:%Y-%m}",
                "read_mob": int(r.mob),
                "projected_default_rate": round(float(r.projected_default_rate), 4),
                "fit_cohorts": int(r.fit_cohorts),
            }
            for r in latest.itertuples(index=False)
        ],
    }
    for key, check in checks.items():
        if check["cohorts"]:
            logger.info(
                "Early read: %s projection of the %s default rate over %d matured cohort(s): MAE %.2f pp, "
                "bias %+.2f pp (realized rate noise ~%.2f pp)",
                key.replace("_", "-").upper(),
                opts.label_def,
                check["cohorts"],
                check["mae_pp"],
                check["bias_pp"],
                check["realized_noise_sd_pp"],
            )
    return report
