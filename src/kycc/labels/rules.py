"""The label rule: days past due at a given month on book, as an Ibis expression (DuckDB and Spark).

For each silver loan snapshot:

* ``mob = installment_num``
* ``installments_missed = ceil(overdue_amt / due_amt)`` when ``due_amt > 0``, else 0 (at most 1200)
* ``first_missed_date = snapshot_date − installments_missed`` calendar months (when missed > 0)
* ``dpd = snapshot_date − first_missed_date`` in days when ``overdue_amt > 0``, else 0
* keep ``mob == mob_threshold``; ``label = dpd >= dpd_threshold``; ``label_def = "{dpd}dpd_{mob}mob"``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from kycc.medallion.window import RunWindow, add_months, enforce_schema

__all__ = ["GOLD_LABEL_SCHEMA", "MAX_INSTALLMENTS_MISSED", "label_definition", "label_loans", "loan_dpd"]

#: Upper bound of ``installments_missed`` (100 years of monthly instalments), so odd amounts cannot overflow.
MAX_INSTALLMENTS_MISSED = 1200

GOLD_LABEL_SCHEMA = {
    "loan_id": "string",
    "customer_id": "string",
    "application_date": "date",
    "snapshot_date": "date",
    "mob": "int64",
    "installments_missed": "int64",
    "dpd": "int64",
    "label": "int64",
    "label_def": "string",
}


def label_definition(dpd: int, mob: int) -> str:
    """The label's name, e.g. ``30dpd_6mob``."""
    return f"{int(dpd)}dpd_{int(mob)}mob"


def loan_dpd(lms: ir.Table) -> ir.Table:
    """Add ``mob``, ``installments_missed``, ``first_missed_date`` and ``dpd`` to loan snapshots."""
    # capped at MAX_INSTALLMENTS_MISSED before ceil() (an int64 cast) and the month arithmetic: a tiny due amount
    # beside a large overdue one must not overflow them (a loan 100 years in arrears is in default either way)
    ratio = (lms.overdue_amt / lms.due_amt).clip(upper=MAX_INSTALLMENTS_MISSED)
    missed = ibis.ifelse(lms.due_amt > 0, ratio.ceil(), 0).cast("int64")
    lms = lms.mutate(mob=lms.installment_num.cast("int64"), installments_missed=missed)
    first_missed = ibis.ifelse(
        lms.installments_missed > 0,
        add_months(lms.snapshot_date, -lms.installments_missed),
        ibis.null("date"),
    )
    lms = lms.mutate(first_missed_date=first_missed)
    dpd = ibis.ifelse(
        (lms.overdue_amt > 0) & lms.first_missed_date.notnull(),
        lms.snapshot_date.delta(lms.first_missed_date, unit="day"),
        0,
    )
    return lms.mutate(dpd=dpd.cast("int64"))


def label_loans(silver_lms: ir.Table, window: RunWindow, mob: int = 6, dpd: int = 30) -> ir.Table:
    """Gold labels: one row per loan whose MOB-``mob`` snapshot falls in the run window.

    Args:
        silver_lms: Clean loan snapshots (one row per loan and month).
        window: Snapshot months to label.
        mob: Months on book at which the outcome is read.
        dpd: Days past due from which a loan is a default (label 1).
    """
    if mob < 0 or dpd < 0:
        raise ValueError(f"mob and dpd thresholds must be >= 0, got mob={mob}, dpd={dpd}")
    rows = silver_lms.filter(window.contains(silver_lms.snapshot_date) & (silver_lms.installment_num == mob))
    rows = loan_dpd(rows)
    labels = rows.mutate(
        application_date=rows.loan_start_date,
        label=(rows.dpd >= dpd).cast("int64"),
        label_def=ibis.literal(label_definition(dpd, mob)),
    )
    return enforce_schema(labels, GOLD_LABEL_SCHEMA)
