"""The leakage boundary of the gold feature store: ``feature_store.availability_lag_days`` (issue 15.8).

Hand-made silver tables, the real point-in-time joins on DuckDB: a value planted in the snapshot dated on the
application date is used with the default (0 days, the seeds' behaviour) and never with a lag of 1 day or more.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from kycc.features.point_in_time import build_gold_features
from kycc.medallion.schemas import get_schema
from kycc.medallion.window import RunWindow

_TYPES = {"text": "string", "int": "int64", "float": "float64", "bool": "boolean", "date": "date"}
_TYPES["duration"] = "int64"
APPLICATION = dt.date(2024, 3, 1)
BEFORE = dt.date(2024, 2, 1)


def _silver(source: str, rows: list[dict]) -> ibis.Table:
    columns = get_schema(source).columns
    schema = {c.silver: _TYPES[c.kind] for c in columns if c.silver != "name"}
    frame = pd.DataFrame([{k: r.get(k) for k in schema} for r in rows], columns=list(schema))
    return ibis.memtable(frame, schema=schema)


def _world(customers: list[str], planted: dict[str, float]) -> dict[str, ibis.Table]:
    """One application per customer on 2024-03-01; every party has a snapshot on 2024-02-01 (neutral values)
    and one on the application date carrying ``planted[customer]`` (interest rate, age, clickstream, an edge)."""
    lms, attributes, financials, clicks, edges = [], [], [], [], []
    for i, customer in enumerate(customers):
        lms.append(
            {
                "loan_id": f"L{i}",
                "customer_id": customer,
                "loan_start_date": APPLICATION,
                "tenure": 12,
                "installment_num": 0,
                "loan_amt": 1000.0,
                "due_amt": 0.0,
                "paid_amt": 0.0,
                "overdue_amt": 0.0,
                "balance": 1000.0,
                "snapshot_date": APPLICATION,
            }
        )
        for day, value in ((BEFORE, None), (APPLICATION, planted[customer])):
            attributes.append(
                {
                    "customer_id": customer,
                    "age": 30 if value is None else int(40 + value * 10),
                    "ssn": "123-45-6789",
                    "occupation": "Engineer",
                    "kyc_verified": True,
                    "party_type": "individual",
                    "country": "GB",
                    "registration_date": dt.date(2020, 1, 1),
                    "snapshot_date": day,
                }
            )
            financials.append(
                {
                    "customer_id": customer,
                    "annual_income": 50000.0,
                    "interest_rate": 10.0 if value is None else 10.0 + 20.0 * value,
                    "snapshot_date": day,
                }
            )
            clicks.append(
                {"customer_id": customer, "fe_1": 1.0 if value is None else value, "snapshot_date": day}
            )
        edges.append(
            {
                "source_customer_id": customer,
                "target_customer_id": "PARTNER",
                "relationship_type": "guarantor",
                "volume": 10.0,
                "snapshot_date": APPLICATION,
            }
        )
    return {
        "silver_lms": _silver("lms", lms),
        "attributes": _silver("attributes", attributes),
        "financials": _silver("financials", financials),
        "clickstream": _silver("clickstream", clicks),
        "relationships": _silver("relationships", edges),
    }


def _gold(world: dict[str, ibis.Table], **options) -> pd.DataFrame:
    table = build_gold_features(**world, window=RunWindow(APPLICATION, APPLICATION), options=options)
    return table.execute().sort_values("loan_id").set_index("loan_id")


def test_by_default_a_snapshot_dated_on_the_application_date_is_known_at_the_application():
    gold = _gold(_world(["C1"], {"C1": 1.0}))  # default: availability_lag_days 0 (today's behaviour)
    row = gold.loc["L0"]
    assert (row["interest_rate"], row["age"], row["fe_1"], row["net_degree"]) == (30.0, 50, 1.0, 1)
    assert str(row["kyc_as_of"])[:10] == str(row["financial_as_of"])[:10] == "2024-03-01"
    assert _gold(_world(["C1"], {"C1": 1.0}), availability_lag_days=0).equals(gold)


def test_a_lag_of_one_day_excludes_the_value_planted_on_the_application_date():
    gold = _gold(_world(["C1"], {"C1": 1.0}), availability_lag_days=1)
    row = gold.loc["L0"]
    # the previous snapshot's values; the edge observed only on the application date is not known
    assert (row["interest_rate"], row["age"], row["fe_1"], row["net_degree"]) == (10.0, 30, 1.0, 0)
    assert str(row["kyc_as_of"])[:10] == str(row["behavioural_as_of"])[:10] == "2024-02-01"
    assert pd.isna(row["network_as_of"])
    # 40 days: the 2024-02-01 snapshot is not known either (2024-03-01 - 40 days = 2024-01-21)
    far = _gold(_world(["C1"], {"C1": 1.0}), availability_lag_days=40).loc["L0"]
    assert pd.isna(far["interest_rate"]) and pd.isna(far["age"]) and pd.isna(far["kyc_as_of"])


def test_the_strict_setting_removes_a_planted_lift():
    rng = np.random.default_rng(5)
    customers = [f"C{i}" for i in range(300)]
    label = rng.integers(0, 2, size=len(customers))
    # the application-date snapshot leaks the outcome: its interest rate is the label
    world = _world(customers, {c: float(y) for c, y in zip(customers, label, strict=True)})
    outcome = pd.Series(label, index=[f"L{i}" for i in range(len(customers))])
    leaky, strict = _gold(world), _gold(world, availability_lag_days=1)
    assert roc_auc_score(outcome, leaky.loc[outcome.index, "interest_rate"]) == 1.0
    assert strict["interest_rate"].nunique() == 1  # only the neutral earlier snapshot: no lift left
    assert (strict["financial_as_of"] < pd.Timestamp(APPLICATION)).all()


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_availability_lag_days_must_be_a_whole_number_of_days(bad):
    with pytest.raises(
        ValueError, match=r"feature_store.availability_lag_days must be a whole number of days"
    ):
        _gold(_world(["C1"], {"C1": 1.0}), availability_lag_days=bad)
