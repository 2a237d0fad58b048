"""Row-level problems in silver: non-finite and out-of-range numbers, loans whose instalments go backwards."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import yaml

from kycc.datasets import RawCsvDataset
from kycc.labels.rules import label_loans
from kycc.medallion.bronze import batch_rows, build_bronze
from kycc.medallion.quality import source_quality
from kycc.medallion.schemas import get_schema
from kycc.medallion.silver import build_silver
from kycc.medallion.window import RunWindow
from tests import rawdata
from tests.conftest import PROJECT_ROOT
from tests.medallion.test_silver import RULES

NON_FINITE = ["NaN", "inf", "-inf", "Infinity", "1e400"]


def _rules(name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / "conf" / "base" / f"parameters_{name}.yml").read_text())[name]


def _silver(tmp_path, source, rows, window=None, rules=RULES):
    """Bronze holds every month (as the bronze dataset does after earlier runs); silver cleans ``window``."""
    window = window or RunWindow()
    path = rawdata.write_csv(tmp_path / f"{source}.csv", get_schema(source).raw_columns, rows)
    bronze = build_bronze(source, RawCsvDataset(str(path)).load(), batch_rows(source, {}), RunWindow())
    silver, quarantine = build_silver(source, bronze, window, rules)
    return bronze, silver, quarantine


@pytest.mark.parametrize("text", NON_FINITE)
def test_non_finite_numbers_become_null_with_a_dq_issue(con, tmp_path, text):
    rows = [
        rawdata.financials_row("C1", 0, Num_Bank_Accounts=text),  # an integer column
        rawdata.financials_row("C2", 0, Interest_Rate=text),  # a float column with a valid range
        rawdata.financials_row("C3", 0, Amount_invested_monthly="5" + "0" * 30),  # finite, out of range
        rawdata.financials_row("C4", 0, Num_Credit_Card="1e30"),  # an integer beyond int64
    ]
    bronze, silver, quarantine = _silver(tmp_path, "financials", rows, rules=_rules("feature_store"))
    out = con.execute(silver).set_index("customer_id")
    assert sorted(out.index) == ["C1", "C2", "C3", "C4"]
    assert out.loc["C1", "num_bank_accounts"] != out.loc["C1", "num_bank_accounts"]  # null (NaN in pandas)
    assert "Num_Bank_Accounts;" in out.loc["C1", "dq_issues"]
    assert out.loc["C2", "interest_rate"] != out.loc["C2", "interest_rate"]
    assert "Interest_Rate;" in out.loc["C2", "dq_issues"]
    assert out.loc["C3", "amount_invested_monthly"] != out.loc["C3", "amount_invested_monthly"]
    assert "Amount_invested_monthly;" in out.loc["C3", "dq_issues"]  # outside valid_ranges
    assert out.loc["C4", "num_credit_card"] != out.loc["C4", "num_credit_card"]
    assert "Num_Credit_Card;" in out.loc["C4", "dq_issues"]
    assert con.execute(quarantine).empty
    assert source_quality("financials", bronze, silver, quarantine, RunWindow())["balanced"]


def test_non_finite_floats_without_a_range_are_nulled_too(con, tmp_path):
    rows = [{**rawdata.clickstream_row("C1", 0), "fe_3": "NaN", "fe_4": "-inf"}]
    _, silver, _ = _silver(tmp_path, "clickstream", rows)
    out = con.execute(silver).iloc[0]
    assert out["fe_3"] != out["fe_3"] and out["fe_4"] != out["fe_4"]
    assert out["dq_issues"] == "fe_3;fe_4;"


@pytest.mark.parametrize(
    ("column", "text"),
    [
        ("tenure", "inf"),
        ("installment_num", "NaN"),
        ("installment_num", "1e30"),
        ("tenure", "-Infinity"),
    ],
)
def test_non_finite_loan_book_values_are_quarantined(con, tmp_path, column, text):
    rows = rawdata.loan_rows("L1", "C1", 0, 6)
    raw_name = get_schema("lms").column(column).raw
    rows[2] = {**rows[2], raw_name: text}
    bronze, silver, quarantine = _silver(tmp_path, "lms", rows, rules=_rules("label_store"))
    q = con.execute(quarantine)
    assert list(q["quarantine_reason"]) == [f"invalid_value:{raw_name}"]
    assert len(con.execute(silver)) == 6
    assert source_quality("lms", bronze, silver, quarantine, RunWindow())["balanced"]


def test_a_non_finite_optional_amount_is_null_and_reported(con, tmp_path):
    rows = rawdata.loan_rows("L1", "C1", 0, 6)
    rows[2] = {**rows[2], "balance": "NaN"}
    _, silver, quarantine = _silver(tmp_path, "lms", rows, rules=_rules("label_store"))
    kept = con.execute(silver).set_index("installment_num")
    assert pd.isna(kept.loc[2, "balance"]) and kept.loc[2, "dq_issues"] == "balance;"
    assert con.execute(quarantine).empty


def test_huge_durations_do_not_overflow(con, tmp_path):
    rows = [rawdata.financials_row("C1", 0, Credit_History_Age="900000000000000000 Years and 1 Months")]
    _, silver, _ = _silver(tmp_path, "financials", rows)
    out = con.execute(silver).iloc[0]
    assert pd.isna(out["credit_history_age_months"])
    assert "Credit_History_Age;" in out["dq_issues"]


def _backwards_loan() -> list[dict]:
    """L1 (tenure 8) from 2023-01: instalments 0..6 then 5, 6, 7 — month 8 goes back to instalment 5."""
    rows = rawdata.loan_rows("L1", "C1", 0, 8)
    for k, row in enumerate(rows):
        if k >= 7:
            row["installment_num"] = k - 2  # months 7, 8 carry instalments 5, 6 (month 6 had instalment 6)
    rows += rawdata.loan_rows("L2", "C2", 0, 8, missed_from=3)
    # L3: a snapshot quarantined for its own amount does not raise the bar for the later ones
    l3 = rawdata.loan_rows("L3", "C3", 0, 6)
    l3[2] = {**l3[2], "installment_num": "5", "overdue_amt": "-1"}
    return rows + l3


def test_a_loan_going_back_in_installment_num_is_quarantined_from_that_snapshot(con, tmp_path):
    bronze, silver, quarantine = _silver(tmp_path, "lms", _backwards_loan())
    q = con.execute(quarantine).sort_values(["raw__loan_id", "snapshot_date"])
    assert list(q["raw__loan_id"]) == ["L1", "L1", "L3"]
    assert list(q["quarantine_reason"]) == ["invalid_sequence:installment_num"] * 2 + [
        "invalid_value:overdue_amt"
    ]
    assert [str(d)[:10] for d in q["snapshot_date"][:2]] == ["2023-08-01", "2023-09-01"]
    assert list(q["raw__installment_num"][:2]) == ["5", "6"]
    kept = con.execute(silver)
    assert sorted(kept[kept.loan_id == "L1"]["installment_num"]) == [0, 1, 2, 3, 4, 5, 6]
    assert sorted(kept[kept.loan_id == "L3"]["installment_num"]) == [0, 1, 3, 4, 5, 6]
    counts = source_quality("lms", bronze, silver, quarantine, RunWindow())
    assert counts["rows_in"] == 25 == counts["rows_out"] + counts["rows_quarantined"]
    labels = con.execute(label_loans(silver, RunWindow()))
    assert sorted(labels["loan_id"]) == ["L1", "L2", "L3"]  # one label per loan, not two for L1


def test_the_sequence_check_gives_the_same_rows_month_by_month(con, tmp_path):
    """Incremental runs see the earlier months in bronze: same quarantine as one catch-up run."""
    rows = _backwards_loan()
    _, silver_all, quarantine_all = _silver(tmp_path, "lms", rows)
    month = RunWindow(dt.date(2023, 8, 1), dt.date(2023, 8, 1))
    _, silver_aug, quarantine_aug = _silver(tmp_path, "lms", rows, window=month)
    q = con.execute(quarantine_aug)
    assert list(q["quarantine_reason"]) == ["invalid_sequence:installment_num"]
    assert list(con.execute(silver_aug)["loan_id"]) == ["L2"]
    assert len(con.execute(quarantine_all)) == 3 and len(con.execute(silver_all)) == 22


@pytest.mark.parametrize("text", ["infinity", "-infinity", "inf", "99999-01-01", "1066-10-01"])
def test_dates_no_python_date_can_hold_become_null_or_quarantine(con, tmp_path, text):
    """DuckDB reads 'infinity' and years up to 5,881,580 as dates; pandas and Python cannot hold them."""
    attributes = [rawdata.attributes_row("C1", 0, registration_date=text), rawdata.attributes_row("C2", 0)]
    bronze, silver, quarantine = _silver(tmp_path, "attributes", attributes)
    out = con.execute(silver).set_index("customer_id")  # a cast crash before the fix
    assert pd.isna(out.loc["C1", "registration_date"]) and "registration_date;" in out.loc["C1", "dq_issues"]
    assert source_quality("attributes", bronze, silver, quarantine, RunWindow())["balanced"]

    loans = rawdata.loan_rows("L1", "C1", 0, 6)
    loans[1] = {**loans[1], "loan_start_date": text}
    loans[2] = {**loans[2], "snapshot_date": text}
    bronze, silver, quarantine = _silver(tmp_path, "lms", loans, rules=_rules("label_store"))
    q = con.execute(quarantine).sort_values("quarantine_reason")
    assert list(q["quarantine_reason"]) == ["invalid_value:loan_start_date", "invalid_value:snapshot_date"]
    assert len(con.execute(silver)) == 5
    assert source_quality("lms", bronze, silver, quarantine, RunWindow())["balanced"]
