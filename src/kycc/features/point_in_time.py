"""Gold features per loan application, as known at the application date (point-in-time joins in Ibis).

**The leakage boundary** is ``feature_store.availability_lag_days`` (N, default 0): a snapshot counts as known
at an application when ``snapshot_date <= application_date - N days``. With 0, a snapshot dated on the
application date itself is used (the month's snapshot describes the party as it applied); with N >= 1 only
snapshots at least N days before the application are (with monthly snapshots: the previous month's). The loan's
own history is always strictly before the application date (and N days before it when N > 0). No value from a
later snapshot ever reaches a feature: the ``*_as_of`` columns record which snapshot each group came from. The
same expressions run on DuckDB and on Spark.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from kycc.features.dictionary import GOLD_FEATURE_SCHEMA
from kycc.medallion.window import RunWindow, add_months, enforce_schema

__all__ = ["applications", "availability_lag_days", "build_gold_features", "known_by", "latest_as_of"]

_SSN = r"^\d{3}-\d{2}-\d{4}$"


def applications(silver_lms: ir.Table, window: RunWindow) -> ir.Table:
    """Loan applications of the window: loans at MOB 0 (one row per loan)."""
    apps = silver_lms.filter((silver_lms.installment_num == 0) & window.contains(silver_lms.snapshot_date))
    return apps.select("loan_id", "customer_id", "loan_amt", "tenure", application_date=apps.snapshot_date)


def availability_lag_days(options: dict[str, Any] | None) -> int:
    """``feature_store.availability_lag_days``: a whole number of days >= 0 (default 0)."""
    value = (options or {}).get("availability_lag_days", 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            "feature_store.availability_lag_days must be a whole number of days >= 0 (0 = a snapshot dated on "
            f"the application date is known at the application), got {value!r}"
        )
    return value


def known_by(application_date: ir.DateValue, lag_days: int = 0) -> ir.DateValue:
    """The latest snapshot date known at ``application_date``: the date itself, or ``lag_days`` days before."""
    return application_date - ibis.interval(days=lag_days) if lag_days else application_date


def latest_as_of(
    apps: ir.Table, table: ir.Table, columns: list[str], as_of_name: str, lag_days: int = 0
) -> ir.Table:
    """For each application, ``columns`` from the customer's latest snapshot known at its date.

    A portable as-of join: a join on the customer with ``snapshot_date <= application_date - lag_days``, then
    the latest snapshot per loan by a window rank.
    """
    right = table.select("customer_id", *columns, _as_of=table.snapshot_date)
    keys = apps.select("loan_id", "customer_id", "application_date")
    joined = keys.join(
        right,
        [keys.customer_id == right.customer_id, right._as_of <= known_by(keys.application_date, lag_days)],
    ).select(keys.loan_id, *[right[c] for c in columns], right._as_of)
    rank = ibis.row_number().over(ibis.window(group_by=joined.loan_id, order_by=ibis.desc(joined._as_of)))
    latest = joined.mutate(_rank=rank).filter(lambda t: t._rank == 0).drop("_rank")
    return latest.rename({as_of_name: "_as_of"})


def _ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """Division guarded against zero/negative denominators (Spark raises on /0)."""
    safe = ibis.ifelse(denominator > 0, denominator, ibis.null("float64"))
    return (numerator.cast("float64") / safe).cast("float64")


def _kyc(apps: ir.Table, attributes: ir.Table, lag_days: int) -> ir.Table:
    cols = ["age", "occupation", "kyc_verified", "party_type", "country", "registration_date", "ssn"]
    latest = latest_as_of(apps, attributes, cols, "kyc_as_of", lag_days)
    keys = apps.select("loan_id", "application_date")
    joined = keys.join(latest, "loan_id")
    reg = joined.registration_date
    tenure = (joined.application_date.year() - reg.year()) * 12 + (
        joined.application_date.month() - reg.month()
    )
    return joined.select(
        "loan_id",
        "age",
        "occupation",
        "party_type",
        "country",
        "kyc_as_of",
        kyc_verified=joined.kyc_verified.cast("int64"),
        customer_tenure_months=ibis.ifelse(reg <= joined.application_date, tenure, ibis.null("int64")),
        ssn_valid=joined.ssn.re_search(_SSN).fill_null(False).cast("int64"),
    )


_FIN_COLS = [
    "annual_income",
    "monthly_inhand_salary",
    "num_bank_accounts",
    "num_credit_card",
    "interest_rate",
    "num_of_loan",
    "type_of_loan",
    "delay_from_due_date",
    "num_of_delayed_payment",
    "changed_credit_limit",
    "num_credit_inquiries",
    "credit_mix",
    "outstanding_debt",
    "credit_utilization_ratio",
    "credit_history_age_months",
    "payment_of_min_amount",
    "total_emi_per_month",
    "amount_invested_monthly",
    "payment_behaviour",
    "monthly_balance",
]


def _financial(apps: ir.Table, financials: ir.Table, lag_days: int) -> ir.Table:
    latest = latest_as_of(apps, financials, _FIN_COLS, "financial_as_of", lag_days)
    types = latest.type_of_loan
    comma_count = types.length() - types.replace(",", "").length()
    num_types = ibis.ifelse(types.isnull() | (types.strip() == ""), 0, comma_count + 1)
    loans = apps.select("loan_id", "loan_amt")
    joined = loans.join(latest, "loan_id")
    return joined.mutate(
        num_loan_types=num_types.cast("int64"),
        debt_to_income=_ratio(joined.outstanding_debt, joined.annual_income),
        emi_to_salary=_ratio(joined.total_emi_per_month, joined.monthly_inhand_salary),
        loan_to_income=_ratio(joined.loan_amt, joined.annual_income),
    ).drop("type_of_loan", "loan_amt")


def _behavioural(apps: ir.Table, clickstream: ir.Table, lookback: int, lag_days: int) -> ir.Table:
    fe_cols = [f"fe_{i}" for i in range(1, 21)]
    latest = latest_as_of(apps, clickstream, fe_cols, "behavioural_as_of", lag_days)
    keys = apps.select("loan_id", "customer_id", "application_date")
    activity = sum((clickstream[c].fill_null(0) for c in fe_cols[1:]), clickstream[fe_cols[0]].fill_null(0))
    click = clickstream.select("customer_id", "snapshot_date", _activity=activity / len(fe_cols))
    window_start = add_months(keys.application_date, -(lookback - 1))
    recent = keys.join(
        click,
        [
            keys.customer_id == click.customer_id,
            click.snapshot_date <= known_by(keys.application_date, lag_days),
            click.snapshot_date >= window_start,
        ],
    )
    agg = recent.group_by(recent.loan_id).aggregate(
        click_months_observed=recent.snapshot_date.nunique().cast("int64"),
        # float sums are rounded: engines add in any order, and 1e-14 differences between a catch-up and a
        # month-by-month run must not change a model trained on the table
        click_fe_mean_lookback=recent._activity.mean().round(6).cast("float64"),
    )
    return latest.join(agg, "loan_id", how="left").drop("loan_id_right")


def _network(
    apps: ir.Table, relationships: ir.Table, silver_lms: ir.Table, lookback: int, lag_days: int
) -> ir.Table:
    rel = relationships
    both = rel.select(
        customer_id=rel.source_customer_id,
        counterparty=rel.target_customer_id,
        relationship_type=rel.relationship_type,
        volume=rel.volume,
        snapshot_date=rel.snapshot_date,
    ).union(
        rel.select(
            customer_id=rel.target_customer_id,
            counterparty=rel.source_customer_id,
            relationship_type=rel.relationship_type,
            volume=rel.volume,
            snapshot_date=rel.snapshot_date,
        ),
        distinct=False,
    )
    keys = apps.select("loan_id", "customer_id", "application_date")
    window_start = add_months(keys.application_date, -(lookback - 1))
    edges = keys.join(
        both,
        [
            keys.customer_id == both.customer_id,
            both.snapshot_date <= known_by(keys.application_date, lag_days),
            both.snapshot_date >= window_start,
        ],
    ).select(
        keys.loan_id,
        keys.application_date,
        both.counterparty,
        both.relationship_type,
        both.volume,
        both.snapshot_date,
    )
    rtype = edges.relationship_type
    per_loan = edges.group_by("loan_id").aggregate(
        net_degree=edges.counterparty.nunique().cast("int64"),
        net_weighted_exposure=edges.volume.fill_null(0).sum().round(6).cast("float64"),
        net_guarantor_links=(rtype == "guarantor").cast("int64").sum(),
        net_shared_director_links=(rtype == "shared_director").cast("int64").sum(),
        net_trade_links=rtype.isin(["supplier", "buyer"]).cast("int64").sum(),
        network_as_of=edges.snapshot_date.max(),
    )
    # counterparties in arrears in the loan-book snapshots of the lookback window up to the application date
    arrears = silver_lms.filter(silver_lms.overdue_amt > 0).select(
        arrears_customer=silver_lms.customer_id, arrears_date=silver_lms.snapshot_date
    )
    pairs = edges.select("loan_id", "application_date", "counterparty").distinct()
    pair_start = add_months(pairs.application_date, -(lookback - 1))
    in_arrears = (
        pairs.join(
            arrears,
            [
                pairs.counterparty == arrears.arrears_customer,
                arrears.arrears_date <= known_by(pairs.application_date, lag_days),
                arrears.arrears_date >= pair_start,
            ],
        )
        .select("loan_id", "counterparty")
        .distinct()
        .group_by("loan_id")
        .aggregate(_cp_in_arrears=lambda t: t.count())
    )
    net = per_loan.join(in_arrears, "loan_id", how="left").drop("loan_id_right")
    return net.mutate(
        net_counterparty_arrears_share=_ratio(net._cp_in_arrears.fill_null(0), net.net_degree)
    ).drop("_cp_in_arrears")


def _history(apps: ir.Table, silver_lms: ir.Table, lag_days: int) -> ir.Table:
    keys = apps.select("loan_id", "customer_id", "application_date")
    lms = silver_lms.select(
        prior_loan=silver_lms.loan_id,
        prior_customer=silver_lms.customer_id,
        prior_start=silver_lms.loan_start_date,
        prior_snapshot=silver_lms.snapshot_date,
        prior_overdue=silver_lms.overdue_amt,
    )
    conditions = [
        keys.customer_id == lms.prior_customer,
        keys.loan_id != lms.prior_loan,
        lms.prior_start < keys.application_date,
        lms.prior_snapshot < keys.application_date,
    ]
    if lag_days:
        conditions.append(lms.prior_snapshot <= known_by(keys.application_date, lag_days))
    joined = keys.join(lms, conditions)
    return joined.group_by("loan_id").aggregate(
        prior_loans=joined.prior_loan.nunique().cast("int64"),
        prior_max_overdue=joined.prior_overdue.max().cast("float64"),
        prior_delinquent=(joined.prior_overdue > 0).cast("int64").max(),
    )


def build_gold_features(
    silver_lms: ir.Table,
    attributes: ir.Table,
    financials: ir.Table,
    clickstream: ir.Table,
    relationships: ir.Table,
    window: RunWindow,
    options: dict[str, Any] | None = None,
) -> ir.Table:
    """One row per application of the window with every feature of the dictionary, schema enforced.

    Args:
        silver_lms: Clean loan snapshots (applications and the party's loan history).
        attributes, financials, clickstream, relationships: Clean silver tables (whole history).
        window: Application months to build.
        options: ``clickstream_lookback_months``, ``network_lookback_months`` and ``availability_lag_days``
            (the leakage boundary, see the module docstring).
    """
    options = options or {}
    lag_days = availability_lag_days(options)
    click_lookback = int(options.get("clickstream_lookback_months", 3))
    net_lookback = int(options.get("network_lookback_months", 12))
    if click_lookback < 1 or net_lookback < 1:
        raise ValueError("clickstream_lookback_months and network_lookback_months must be >= 1")
    apps = applications(silver_lms, window)
    gold = apps.mutate(snapshot_date=apps.application_date)
    for part in (
        _kyc(apps, attributes, lag_days),
        _financial(apps, financials, lag_days),
        _behavioural(apps, clickstream, click_lookback, lag_days),
        _network(apps, relationships, silver_lms, net_lookback, lag_days),
        _history(apps, silver_lms, lag_days),
    ):
        gold = gold.join(part, "loan_id", how="left")
        gold = gold.drop(*[c for c in gold.columns if c.endswith("_right")])
    fills = {
        "prior_loans": 0,
        "prior_delinquent": 0,
        "click_months_observed": 0,
        "net_degree": 0,
        "net_weighted_exposure": 0.0,
        "net_guarantor_links": 0,
        "net_shared_director_links": 0,
        "net_trade_links": 0,
        "net_counterparty_arrears_share": 0.0,
    }
    gold = gold.mutate(**{name: gold[name].fill_null(value) for name, value in fills.items()})
    return enforce_schema(gold, GOLD_FEATURE_SCHEMA)
