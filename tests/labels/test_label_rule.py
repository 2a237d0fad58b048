"""The label rule on hand-made loans: DPD 29 vs 30, MOB 5/6/7, zero due amounts."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from kycc.labels.rules import label_definition, label_loans, loan_dpd
from kycc.medallion.window import RunWindow


def _snapshots(rows: list[dict]) -> ibis.Table:
    base = {
        "customer_id": "C",
        "loan_start_date": dt.date(2023, 1, 1),
        "tenure": 12,
        "loan_amt": 1200.0,
        "paid_amt": 0.0,
        "balance": 0.0,
    }
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["installment_num"] = frame["installment_num"].astype("int64")
    return ibis.memtable(frame)


def _labels(con, rows, **kwargs) -> pd.DataFrame:
    out = con.execute(label_loans(_snapshots(rows), RunWindow(), **kwargs))
    return out.set_index("loan_id")


def test_dpd_29_is_not_a_default_and_30_is(con):
    # One missed instalment: DPD = days in the previous month. Feb 2024 has 29 days, June 2023 has 30.
    rows = [
        {
            "loan_id": "dpd29",
            "snapshot_date": dt.date(2024, 3, 1),
            "installment_num": 6,
            "due_amt": 100.0,
            "overdue_amt": 100.0,
        },
        {
            "loan_id": "dpd30",
            "snapshot_date": dt.date(2023, 7, 1),
            "installment_num": 6,
            "due_amt": 100.0,
            "overdue_amt": 100.0,
        },
    ]
    labels = _labels(con, rows)
    assert labels.loc["dpd29", "dpd"] == 29
    assert labels.loc["dpd29", "label"] == 0
    assert labels.loc["dpd30", "dpd"] == 30
    assert labels.loc["dpd30", "label"] == 1


def test_only_loans_at_mob_6_are_labelled(con):
    rows = [
        {
            "loan_id": f"mob{m}",
            "snapshot_date": dt.date(2023, 1 + m, 1),
            "installment_num": m,
            "due_amt": 100.0,
            "overdue_amt": 300.0,
        }
        for m in (5, 6, 7)
    ]
    labels = _labels(con, rows)
    assert list(labels.index) == ["mob6"]
    row = labels.loc["mob6"]
    # three instalments missed at 2023-07-01 -> first missed 2023-04-01 -> 91 days
    assert (row["installments_missed"], row["dpd"], row["label"]) == (3, 91, 1)
    assert row["label_def"] == "30dpd_6mob"


def test_zero_due_amount_gives_zero_missed_and_no_division_error(con):
    rows = [
        {
            "loan_id": "zero_due",
            "snapshot_date": dt.date(2023, 7, 1),
            "installment_num": 6,
            "due_amt": 0.0,
            "overdue_amt": 250.0,
        },
        {
            "loan_id": "zero_all",
            "snapshot_date": dt.date(2023, 7, 1),
            "installment_num": 6,
            "due_amt": 0.0,
            "overdue_amt": 0.0,
        },
    ]
    labels = _labels(con, rows)
    assert labels.loc["zero_due", "installments_missed"] == 0
    assert labels.loc["zero_due", "dpd"] == 0
    assert labels.loc["zero_due", "label"] == 0
    assert labels.loc["zero_all", "label"] == 0


def test_partial_instalment_rounds_up(con):
    # 150 overdue on a 100 instalment = ceil(1.5) = 2 instalments missed
    dpd = con.execute(
        loan_dpd(
            _snapshots(
                [
                    {
                        "loan_id": "p",
                        "snapshot_date": dt.date(2023, 7, 1),
                        "installment_num": 6,
                        "due_amt": 100.0,
                        "overdue_amt": 150.0,
                    }
                ]
            )
        )
    )
    assert dpd["installments_missed"].iloc[0] == 2
    assert dpd["first_missed_date"].iloc[0] == pd.Timestamp("2023-05-01")
    assert dpd["dpd"].iloc[0] == 61


def test_thresholds_are_parameters(con):
    rows = [
        {
            "loan_id": "x",
            "snapshot_date": dt.date(2023, 4, 1),
            "installment_num": 3,
            "due_amt": 100.0,
            "overdue_amt": 200.0,
        }
    ]
    labels = _labels(con, rows, mob=3, dpd=60)
    assert labels.loc["x", "dpd"] == 59  # 2023-02-01 .. 2023-04-01
    assert labels.loc["x", "label"] == 0
    assert labels.loc["x", "label_def"] == label_definition(60, 3) == "60dpd_3mob"


def test_window_limits_the_labelled_months(con):
    rows = [
        {
            "loan_id": f"l{m}",
            "snapshot_date": dt.date(2023, m, 1),
            "installment_num": 6,
            "due_amt": 1.0,
            "overdue_amt": 0.0,
        }
        for m in (6, 7, 8)
    ]
    out = con.execute(label_loans(_snapshots(rows), RunWindow(dt.date(2023, 7, 1), dt.date(2023, 7, 1))))
    assert list(out["loan_id"]) == ["l7"]


def test_negative_thresholds_are_refused():
    with pytest.raises(ValueError, match="thresholds"):
        label_loans(
            _snapshots(
                [
                    {
                        "loan_id": "x",
                        "snapshot_date": dt.date(2023, 7, 1),
                        "installment_num": 6,
                        "due_amt": 1.0,
                        "overdue_amt": 0.0,
                    }
                ]
            ),
            RunWindow(),
            mob=-1,
        )


def test_a_tiny_due_amount_beside_a_large_overdue_one_does_not_overflow(con):
    # overdue / due = 1e14 instalments: the month arithmetic overflowed (DuckDB cast error) before the cap
    rows = [
        {
            "loan_id": "odd",
            "snapshot_date": dt.date(2023, 7, 1),
            "installment_num": 6,
            "due_amt": 1e-6,
            "overdue_amt": 1e8,
        }
    ]
    labels = _labels(con, rows)
    assert labels.loc["odd", "installments_missed"] == 1200
    assert labels.loc["odd", "label"] == 1 and labels.loc["odd", "dpd"] > 30
