"""Silver cleaning: each dirty pattern is parsed or quarantined, and rows in = rows out + quarantined."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kycc.datasets import RawCsvDataset
from kycc.medallion.bronze import batch_rows, build_bronze
from kycc.medallion.quality import DataQualityError, source_quality
from kycc.medallion.silver import build_silver
from kycc.medallion.window import RunWindow
from tests import rawdata

RULES = {
    "placeholders": {
        "Occupation": ["_______"],
        "Credit_Mix": ["_"],
        "Payment_of_Min_Amount": ["NM"],
        "Payment_Behaviour": ["!@9#%8"],
    },
    "valid_ranges": {"Age": [18, 100], "Num_Bank_Accounts": [0, 20], "Num_Credit_Inquiries": [0, 100]},
    "max_emi_to_salary": 5.0,
}


def _clean(con, tmp_path, source, rows, lines_after=(), window=None):
    window = window or RunWindow()
    from kycc.medallion.schemas import get_schema

    path = rawdata.write_csv(tmp_path / f"{source}.csv", get_schema(source).raw_columns, rows)
    if lines_after:
        with path.open("a", encoding="utf-8") as handle:
            handle.writelines(line + "\n" for line in lines_after)
    raw = RawCsvDataset(str(path)).load()
    bronze = build_bronze(source, raw, batch_rows(source, {}), window)
    silver, quarantine = build_silver(source, bronze, window, RULES)
    return bronze, silver, quarantine


def test_financial_dirty_patterns_are_parsed(con, tmp_path):
    rows = [
        rawdata.financials_row("C1", 0, income="34847.84_", Outstanding_Debt="__10000__"),
        rawdata.financials_row(
            "C2", 0, Credit_Mix="_", Payment_of_Min_Amount="NM", Payment_Behaviour="!@9#%8"
        ),
        rawdata.financials_row("C3", 0, Num_Bank_Accounts="-1", Credit_History_Age="22 Years and 1 Months"),
        rawdata.financials_row("C4", 0, Annual_Income="", Num_Credit_Inquiries="abc"),
        rawdata.financials_row("C5", 0, Total_EMI_per_month="99999"),  # 99999 > 5 x 3500 salary
    ]
    bronze, silver, quarantine = _clean(con, tmp_path, "financials", rows)
    out = con.execute(silver).set_index("customer_id")
    assert out.loc["C1", "annual_income"] == pytest.approx(34847.84)
    assert out.loc["C1", "outstanding_debt"] == 10000.0
    assert out.loc["C2", ["credit_mix", "payment_of_min_amount", "payment_behaviour"]].isna().all()
    assert "Credit_Mix;" in out.loc["C2", "dq_issues"]
    assert out.loc["C3", "num_bank_accounts"] != out.loc["C3", "num_bank_accounts"]  # NaN: impossible value
    assert out.loc["C3", "credit_history_age_months"] == 22 * 12 + 1
    assert "Num_Bank_Accounts;" in out.loc["C3", "dq_issues"]
    assert out.loc["C4", "annual_income"] != out.loc["C4", "annual_income"]  # missing stays missing
    assert out.loc["C4", "dq_issues"] == "Num_Credit_Inquiries;"  # unparseable text is reported
    assert out.loc["C5", "total_emi_per_month"] != out.loc["C5", "total_emi_per_month"]
    assert "emi_to_salary;" in out.loc["C5", "dq_issues"]
    assert con.execute(quarantine).empty


def test_impossible_age_becomes_null_and_is_reported(con, tmp_path):
    rows = [
        rawdata.attributes_row("C1", 0, age="-500"),
        rawdata.attributes_row("C2", 0, age="8000"),
        rawdata.attributes_row("C3", 0, age="4_2", occupation="_______"),
    ]
    _, silver, _ = _clean(con, tmp_path, "attributes", rows)
    out = con.execute(silver).set_index("customer_id")
    assert out.loc[["C1", "C2"], "age"].isna().all()
    assert out.loc["C3", "age"] == 42
    assert out.loc["C3", "occupation"] is None or out.loc["C3", "occupation"] != out.loc["C3", "occupation"]
    assert set(out.loc["C1", "dq_issues"].split(";")) >= {"Age"}


def test_duplicates_malformed_and_undated_rows_are_quarantined(con, tmp_path):
    row = rawdata.clickstream_row("C1", 0)
    rows = [
        row,
        dict(row),
        rawdata.clickstream_row("C2", 0),
        {**rawdata.clickstream_row("C3", 0), "snapshot_date": "2023-01-15"},
        {**rawdata.clickstream_row("C4", 0), "Customer_ID": ""},
    ]
    bad_line = "1,2,3,C9,2023-01-01"  # too few fields: malformed, still attributed to January
    bronze, silver, quarantine = _clean(con, tmp_path, "clickstream", rows, lines_after=[bad_line])
    q = con.execute(quarantine)
    reasons = sorted(q["quarantine_reason"])
    assert reasons == [
        "duplicate_key",
        "invalid_value:snapshot_date",
        "malformed_row",
        "missing_value:Customer_ID",
    ]
    malformed = q[q.quarantine_reason == "malformed_row"].iloc[0]
    assert "expected 22 fields, got 5" in malformed["_parse_error"]
    assert str(malformed["snapshot_date"])[:10] == "2023-01-01"
    assert sorted(con.execute(silver)["customer_id"]) == ["C1", "C2"]
    counts = source_quality("clickstream", bronze, silver, quarantine, RunWindow())
    assert counts["rows_in"] == 6 == counts["rows_out"] + counts["rows_quarantined"]
    assert counts["balanced"]


def test_loan_book_rows_with_bad_amounts_are_quarantined(con, tmp_path):
    rows = rawdata.loan_rows("L1", "C1", 0, 6)
    rows[2] = {**rows[2], "overdue_amt": "-5"}
    rows[3] = {**rows[3], "due_amt": "abc"}
    rows[4] = {**rows[4], "installment_num": "9"}  # beyond the tenure of 6
    rows[5] = {**rows[5], "loan_amt": "1_200"}  # stray underscore: parsed, kept
    _, silver, quarantine = _clean(con, tmp_path, "lms", rows)
    reasons = sorted(con.execute(quarantine)["quarantine_reason"])
    assert reasons == ["invalid_value:due_amt", "invalid_value:installment_num", "invalid_value:overdue_amt"]
    kept = con.execute(silver)
    assert len(kept) == 4
    assert kept["loan_amt"].eq(1200.0).all()


def test_json_batches_feed_the_same_bronze_columns(con):
    batches = {
        "BATCH_2023_02": {
            "snapshot_date": "2023-02-01",
            "_source_file": "BATCH_2023_02_profiles.json",
            "profiles": [
                {
                    "Customer_ID": "C1",
                    "attributes": {"Name": "A", "Age": 30, "kyc_verified": True},
                    "financials": None,
                    "clickstream": None,
                    "relationships": [
                        {"target_customer_id": "C2", "relationship_type": "buyer", "volume": 10}
                    ],
                }
            ],
        }
    }
    attrs = batch_rows("attributes", batches)
    rels = batch_rows("relationships", batches)
    assert attrs.num_rows == 1 and batch_rows("financials", batches).num_rows == 0
    assert attrs.column("Age").to_pylist() == ["30"]
    assert attrs.column("snapshot_date").to_pylist() == ["2023-02-01"]
    assert rels.column("source_customer_id").to_pylist() == ["C1"]
    bronze = con.execute(build_bronze("attributes", attrs.slice(0, 0), attrs, RunWindow()))
    assert list(bronze["Customer_ID"]) == ["C1"]
    assert bronze["_source_file"].iloc[0] == "BATCH_2023_02_profiles.json"


def test_lost_rows_are_detected(con):
    bronze = build_bronze(
        "relationships",
        pa.table(
            {
                "source_customer_id": ["a", "b"],
                "target_customer_id": ["b", "c"],
                "relationship_type": ["buyer"] * 2,
                "volume": ["1", "2"],
                "snapshot_date": ["2023-01-01"] * 2,
                "_source_file": ["f"] * 2,
                "_parse_error": [None, None],
            }
        ),
        batch_rows("relationships", {}),
        RunWindow(),
    )
    silver, quarantine = build_silver("relationships", bronze, RunWindow(), RULES)
    with pytest.raises(DataQualityError, match="rows were lost"):
        source_quality("relationships", bronze, silver.limit(1), quarantine, RunWindow())


def test_whitespace_is_trimmed_and_blank_fields_are_missing(con, tmp_path):
    rows = [
        rawdata.attributes_row("C1", 0, age=" 41 ", occupation="  "),
        {**rawdata.attributes_row("C2", 0), "Customer_ID": " C2 "},
    ]
    _, silver, quarantine = _clean(con, tmp_path, "attributes", rows)
    out = con.execute(silver).set_index("customer_id")
    assert sorted(out.index) == ["C1", "C2"]
    assert out.loc["C1", "age"] == 41
    assert out.loc["C1", "occupation"] is None or out.loc["C1", "occupation"] != out.loc["C1", "occupation"]
    assert con.execute(quarantine).empty
