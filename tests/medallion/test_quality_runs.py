"""Row accounting against the raw files: a runaway quote, a header-only source, a header with spaces."""

from __future__ import annotations

import json

import pytest

from kycc.datasets import RawCsvDataset
from kycc.datasets.raw_csv import count_records
from kycc.medallion.bronze import batch_rows, build_bronze
from kycc.medallion.quality import DataQualityError, check_raw_records, quality_report
from kycc.medallion.schemas import get_schema
from kycc.medallion.silver import build_silver
from kycc.medallion.window import RunWindow
from tests import rawdata
from tests.kedro_run import env_vars, gold, read_table, run_kedro


def _report(path, source="lms"):
    raw = RawCsvDataset(str(path)).load()
    bronze = build_bronze(source, raw, batch_rows(source, {}), RunWindow())
    silver, quarantine = build_silver(source, bronze, RunWindow(), {})
    return quality_report({source: (bronze, silver, quarantine)}, RunWindow())


def test_rows_lost_between_the_file_and_bronze_are_refused_naming_the_file(tmp_path):
    path = rawdata.write_csv(
        tmp_path / "lms_loan_daily.csv", get_schema("lms").raw_columns, rawdata.loan_rows("L1", "C1", 0, 6)
    )
    raw = RawCsvDataset(str(path)).load()
    assert check_raw_records("lms", raw) == 7 == count_records(path)
    with pytest.raises(DataQualityError, match=r"lms_loan_daily\.csv has 7 record line\(s\) but 5 row"):
        check_raw_records("lms", raw.slice(0, 5))  # what a parser folding lines would hand over


def test_a_header_only_source_is_a_warning_in_the_report(con, tmp_path):
    path = rawdata.write_csv(tmp_path / "lms_loan_daily.csv", get_schema("lms").raw_columns, [])
    report = _report(path)
    assert report["sources"]["lms"]["rows_in"] == 0
    assert any(w.startswith("lms: no raw rows") for w in report["warnings"])


def test_a_mostly_quarantined_source_is_a_warning_in_the_report(con, tmp_path):
    rows = [{**r, "loan_id": ""} for r in rawdata.loan_rows("L1", "C1", 0, 6)]
    report = _report(rawdata.write_csv(tmp_path / "lms.csv", get_schema("lms").raw_columns, rows))
    (warning,) = report["warnings"]
    assert warning.startswith("lms: 7 of 7 rows quarantined") and "missing_value:loan_id: 7" in warning


def _quality(root, pipeline="label_store"):
    return json.loads((root / "08_reporting" / "duckdb" / f"{pipeline}_quality.json").read_text())


@pytest.mark.slow
def test_a_stray_quote_in_the_loan_book_loses_one_record_not_the_rest(tmp_path):
    world = rawdata.tiny_world()
    raw = rawdata.write_world(tmp_path, world)
    lms = raw / "lms_loan_daily.csv"
    lines = lms.read_text().splitlines()
    assert lines[4].startswith("L1,C1,") and ",3," in lines[4]  # L1 at instalment 3 (line 5 of the file)
    lines[4] = lines[4].replace(",C1,", ',"C1,', 1)
    lms.write_text("\n".join(lines) + "\n")

    run_kedro(tmp_path, ["label_store"])

    counts = _quality(tmp_path)["sources"]["lms"]
    assert counts["rows_in"] == count_records(lms) == len(world["lms"])
    assert counts["rows_quarantined"] == 1 and counts["quarantine_reasons"] == {"malformed_row": 1}
    quarantine = read_table(tmp_path / "03_primary" / "duckdb" / "quarantine" / "lms")
    assert quarantine["_parse_error"].iloc[0] == f"malformed line 5: unbalanced quote: {lines[4]}"
    assert set(gold(tmp_path, "gold_labels")["loan_id"]) == {"L1", "L2", "L3"}


@pytest.mark.slow
def test_a_header_only_file_after_a_good_run_counts_this_run_and_warns_in_the_summary(tmp_path):
    world = rawdata.tiny_world()
    rawdata.write_world(tmp_path, world)
    run_kedro(tmp_path, ["label_store"])
    assert _quality(tmp_path)["sources"]["lms"]["rows_in"] == len(world["lms"])

    rawdata.write_world(tmp_path, {**world, "lms": []})  # the loan book export now has its header only
    status = tmp_path / "status.json"
    with env_vars(KYCC_RUN_STATUS_FILE=str(status)):
        run_kedro(tmp_path, ["label_store"])

    report = _quality(tmp_path)
    assert report["sources"]["lms"]["rows_in"] == 0  # not the previous run's rows
    summary = json.loads(status.read_text())
    assert summary["state"] == "succeeded"
    assert any(w.startswith("lms: no raw rows") for w in summary["warnings"])


@pytest.mark.slow
def test_a_header_with_spaces_after_commas_loads_every_row(tmp_path):
    world = rawdata.tiny_world()
    raw = rawdata.write_world(tmp_path, world)
    lms = raw / "lms_loan_daily.csv"
    header, *body = lms.read_text().splitlines()
    lms.write_text("\n".join([header.replace(",", ", "), *body]) + "\n")

    run_kedro(tmp_path, ["label_store"])

    counts = _quality(tmp_path)["sources"]["lms"]
    assert counts["rows_in"] == counts["rows_out"] == len(world["lms"])
    assert counts["rows_quarantined"] == 0
    assert set(gold(tmp_path, "gold_labels")["loan_id"]) == {"L1", "L2", "L3"}
