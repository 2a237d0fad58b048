"""RawCsvDataset: one row per physical record, counted without the CSV parser, and normalised headers."""

from __future__ import annotations

import logging

import pytest
from kedro.io import DatasetError

from kycc.datasets import RawCsvDataset
from kycc.datasets.raw_csv import RECORDS_METADATA_KEY, count_records

HEADER = "loan_id,Customer_ID,snapshot_date"


def _lines(n: int) -> list[str]:
    return [f"L{i},C{i},2023-{1 + i % 12:02d}-01" for i in range(1, n + 1)]


def test_a_stray_quote_cannot_fold_the_rest_of_the_file(tmp_path):
    lines = _lines(200)
    long_tail = "x" * 400  # the raw text of the bad record is kept whole, not cut at 300 characters
    lines[9] = f'L10,"C10,2023-10-01,{long_tail}'  # physical line 11 (the header is line 1)
    path = tmp_path / "lms_loan_daily.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")

    table = RawCsvDataset(str(path)).load()

    assert count_records(path) == 200
    assert table.num_rows == 200  # every physical record is one row: 199 good, 1 malformed
    assert int(table.schema.metadata[RECORDS_METADATA_KEY]) == 200
    rows = table.to_pylist()
    good = [r for r in rows if r["_parse_error"] is None]
    assert len(good) == 199
    assert {r["loan_id"] for r in good} == {f"L{i}" for i in range(1, 201)} - {"L10"}
    (bad,) = [r for r in rows if r["_parse_error"] is not None]
    assert bad["_parse_error"].startswith("malformed line 11: unbalanced quote")
    assert bad["_parse_error"].endswith(lines[9])  # the full raw text
    assert bad["snapshot_date"] == "2023-10-01"  # still attributed to its month


def test_malformed_lines_name_their_physical_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(f"{HEADER}\nL1,C1,2023-01-01\n\nL2,C2,extra,2023-02-01\nL3,C3,2023-03-01\n")
    table = RawCsvDataset(str(path)).load()
    assert table.num_rows == 3 == count_records(path)  # the blank line is not a record
    (bad,) = [r for r in table.to_pylist() if r["_parse_error"]]
    assert bad["_parse_error"] == "malformed line 4: expected 3 fields, got 4: L2,C2,extra,2023-02-01"


def test_quoted_fields_with_commas_still_parse(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('Customer_ID,Type_of_Loan,snapshot_date\nC1,"Auto Loan, and Personal Loan",2023-01-01\n')
    (row,) = RawCsvDataset(str(path)).load().to_pylist()
    assert row["Type_of_Loan"] == "Auto Loan, and Personal Loan" and row["_parse_error"] is None


def test_header_with_spaces_is_normalised_and_rows_parse(tmp_path, caplog):
    path = tmp_path / "features_attributes.csv"
    path.write_text("Customer_ID, Age , snapshot_date\nC1,35,2023-01-01\nC2,40,2023-02-01\n")
    with caplog.at_level(logging.WARNING, logger="kycc.datasets.raw_csv"):
        table = RawCsvDataset(str(path), required_columns=["Customer_ID", "Age", "snapshot_date"]).load()
    assert table.column_names[:3] == ["Customer_ID", "Age", "snapshot_date"]
    assert table.column("Age").to_pylist() == ["35", "40"]
    assert table.column("_parse_error").null_count == 2
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert str(path) in warning and "' Age '" in warning and "spaces" in warning


def test_quoted_names_after_a_space_are_unquoted_too(tmp_path, caplog):
    """``"a", "b"``: the CSV reader keeps the quotes of a field that starts with a space."""
    path = tmp_path / "lms_loan_daily.csv"
    path.write_bytes(('\ufeff"loan_id", "Customer_ID" , "snapshot_date"\nL1,C1,2023-01-01\n').encode("utf-8"))
    with caplog.at_level(logging.WARNING, logger="kycc.datasets.raw_csv"):
        table = RawCsvDataset(str(path), required_columns=["loan_id", "Customer_ID", "snapshot_date"]).load()
    assert table.column_names[:3] == ["loan_id", "Customer_ID", "snapshot_date"]
    assert table.to_pylist()[0]["Customer_ID"] == "C1"
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "BOM" in warning and """' "Customer_ID" '""" in warning


def test_utf8_bom_is_stripped_before_the_required_column_check(tmp_path, caplog):
    path = tmp_path / "lms_loan_daily.csv"
    path.write_bytes(("\ufeff" + HEADER + "\nL1,C1,2023-01-01\n").encode("utf-8"))
    with caplog.at_level(logging.WARNING, logger="kycc.datasets.raw_csv"):
        table = RawCsvDataset(str(path), required_columns=["loan_id", "snapshot_date"]).load()
    assert table.column("loan_id").to_pylist() == ["L1"]
    assert any("BOM" in r.getMessage() and str(path) in r.getMessage() for r in caplog.records)


def test_names_that_collide_after_normalisation_are_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a, a,snapshot_date\n1,2,2023-01-01\n")
    with pytest.raises(DatasetError, match=r"x\.csv.*'a'.*more than once"):
        RawCsvDataset(str(path)).load()


def test_header_only_file_loads_no_rows_and_warns(tmp_path, caplog):
    path = tmp_path / "feature_clickstream.csv"
    path.write_text("Customer_ID,snapshot_date\n")
    with caplog.at_level(logging.WARNING, logger="kycc.datasets.raw_csv"):
        table = RawCsvDataset(str(path)).load()
    assert table.num_rows == 0
    assert any("header but no data rows" in r.getMessage() for r in caplog.records)
