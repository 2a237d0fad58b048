"""JSON batch files: structural problems are one clear error, record problems go to quarantine, counts balance."""

from __future__ import annotations

import copy
import json

import pyarrow as pa
import pytest
from kedro.io import DatasetError

from kycc.datasets import JsonBatchesDataset
from kycc.medallion.bronze import batch_rows, build_bronze
from kycc.medallion.quality import source_quality
from kycc.medallion.silver import QUARANTINE_REASON, build_silver
from kycc.medallion.window import RunWindow
from tests import rawdata
from tests.kedro_run import gold, read_table, run_kedro

RULES = {"max_amount": 1e9, "max_tenure": 480}


def _loan(loan_id: str, **extra) -> dict:
    return {
        "loan_id": loan_id,
        "Customer_ID": "C1",
        "loan_start_date": "2024-11-01",
        "tenure": 8,
        "installment_num": 0,
        "loan_amt": 1200,
        "due_amt": 0,
        "paid_amt": 0,
        "overdue_amt": 0,
        "balance": 1200,
        **extra,
    }


LABELS = {"batch_id": "BATCH_2024_11", "snapshot_date": "2024-11-01", "loans": [_loan("L1"), _loan("L2")]}
PROFILES = {
    "batch_id": "BATCH_2024_11",
    "snapshot_date": "2024-11-01",
    "profiles": [
        {
            "Customer_ID": "C1",
            "attributes": {"Name": "A", "Age": 30, "kyc_verified": True},
            "financials": None,
            "clickstream": {"fe_1": 0.5},
            "relationships": [
                {"target_customer_id": "C2", "relationship_type": "buyer", "volume": 10},
                {"target_customer_id": "C3", "relationship_type": "supplier", "volume": "5"},
            ],
        },
        {"Customer_ID": "C2", "attributes": {"Name": "B"}, "financials": None, "clickstream": None},
    ],
}


def _write(folder, kind: str, payload, batch: str = "BATCH_2024_11"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{batch}_{kind}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def _changed(payload: dict, change) -> dict:
    payload = copy.deepcopy(payload)
    change(payload)
    return payload


STRUCTURAL = {
    "loans as a string": (
        "labels",
        _changed(LABELS, lambda p: p.update(loans="L1,L2")),
        ["field 'loans'", "expected an array", "got a string"],
    ),
    "a loan record as a list": (
        "labels",
        _changed(LABELS, lambda p: p["loans"].__setitem__(1, list(_loan("L2").values()))),
        ["record loans[1]", "record index 1", "expected an object", "got an array"],
    ),
    "attributes as a list": (
        "profiles",
        _changed(PROFILES, lambda p: p["profiles"][1].update(attributes=["B", 30])),
        ["record profiles[1]", "field 'attributes'", "expected an object or null", "got an array"],
    ),
    "relationships as a string": (
        "profiles",
        _changed(PROFILES, lambda p: p["profiles"][0].update(relationships="C2")),
        ["record profiles[0]", "field 'relationships'", "expected an array or null", "got a string"],
    ),
    "an edge as a string": (
        "profiles",
        _changed(PROFILES, lambda p: p["profiles"][0]["relationships"].__setitem__(1, "C3")),
        ["record profiles[0]", "field 'relationships[1]'", "expected an object", "got a string"],
    ),
    "profiles as an object": (
        "profiles",
        _changed(PROFILES, lambda p: p.update(profiles={"C1": p["profiles"][0]})),
        ["field 'profiles'", "expected an array", "got an object"],
    ),
    "a profile as a string": (
        "profiles",
        _changed(PROFILES, lambda p: p["profiles"].__setitem__(1, "C2")),
        ["record profiles[1]", "expected an object", "got a string"],
    ),
    "no snapshot_date": (
        "labels",
        _changed(LABELS, lambda p: p.pop("snapshot_date")),
        ["field 'snapshot_date'", "missing"],
    ),
    "no loans": ("labels", _changed(LABELS, lambda p: p.pop("loans")), ["field 'loans'", "missing"]),
    "snapshot_date not a date": (
        "profiles",
        _changed(PROFILES, lambda p: p.update(snapshot_date="Nov 2024")),
        ["field 'snapshot_date'", "'Nov 2024' is not an ISO date"],
    ),
    "snapshot_date contradicts the file name": (
        "labels",
        _changed(LABELS, lambda p: p.update(snapshot_date="2024-10-01")),
        ["field 'snapshot_date'", "'2024-10-01' contradicts the file name", "2024-11-01"],
    ),
    "batch_id contradicts the file name": (
        "profiles",
        _changed(PROFILES, lambda p: p.update(batch_id="BATCH_2024_10")),
        ["field 'batch_id'", "'BATCH_2024_10' contradicts the file name"],
    ),
}


@pytest.mark.parametrize("case", list(STRUCTURAL))
def test_a_structural_problem_is_one_error_naming_file_batch_record_field_and_problem(tmp_path, case):
    kind, payload, expected = STRUCTURAL[case]
    path = _write(tmp_path / "batches", kind, payload)
    with pytest.raises(DatasetError) as err:
        JsonBatchesDataset(str(tmp_path / "batches"), kind=kind).load()
    message = str(err.value)
    assert str(path) in message and "batch BATCH_2024_11" in message, message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    # the same check guards batch_rows for payloads that did not come through the dataset
    source = "lms" if kind == "labels" else "relationships"
    with pytest.raises(DatasetError, match="batch BATCH_2024_11"):
        batch_rows(source, {"BATCH_2024_11": payload})


def test_a_valid_batch_loads_and_a_bom_is_accepted(tmp_path):
    folder = tmp_path / "batches"
    folder.mkdir()
    (folder / "BATCH_2024_11_labels.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(LABELS).encode())
    loaded = JsonBatchesDataset(str(folder), kind="labels").load()
    assert [loan["loan_id"] for loan in loaded["BATCH_2024_11"]["loans"]] == ["L1", "L2"]
    assert loaded["BATCH_2024_11"]["_source_file"] == "BATCH_2024_11_labels.json"


def _silver_of(source: str, json_rows: pa.Table):
    window = RunWindow()
    bronze = build_bronze(source, json_rows.slice(0, 0), json_rows, window)
    silver, quarantine = build_silver(source, bronze, window, RULES)
    return bronze, silver, quarantine, source_quality(source, bronze, silver, quarantine, window)


def test_record_problems_are_quarantined_with_their_reason_and_counts_are_records(con, tmp_path):
    text = json.dumps(
        _changed(
            LABELS,
            lambda p: p["loans"].extend(
                [
                    _loan("L3", loan_amt={"amount": 1200, "note": "x" * 400}),  # wrong type (kept whole)
                    _loan("L4", snapshot_date="2024-10-01"),  # contradicts its batch
                    _loan("L5", snapshot_date=None),  # missing in the record
                    _loan("L6", tenure=float("nan")),  # NaN is not a JSON number
                    _loan("L7", snapshot_date="2024-11-01"),  # agrees with its batch: fine
                ]
            ),
        )
    )
    path = tmp_path / "batches" / "BATCH_2024_11_labels.json"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    batches = JsonBatchesDataset(str(path.parent), kind="labels").load()
    records = len(json.loads(text)["loans"])  # counted independently of the code under test
    rows = batch_rows("lms", batches)
    assert rows.num_rows == records == 7
    errors = dict(
        zip(rows.column("loan_id").to_pylist(), rows.column("_parse_error").to_pylist(), strict=True)
    )
    assert errors["L1"] is None and errors["L2"] is None and errors["L7"] is None
    assert (
        "loans[2]" in errors["L3"] and "field 'loan_amt'" in errors["L3"] and "got an object" in errors["L3"]
    )
    assert "loans[3]" in errors["L4"] and "'2024-10-01' contradicts batch BATCH_2024_11" in errors["L4"]
    assert "loans[4]" in errors["L5"] and "snapshot_date" in errors["L5"] and "missing" in errors["L5"]
    assert "loans[5]" in errors["L6"] and "field 'tenure'" in errors["L6"] and "finite" in errors["L6"]

    _, silver, quarantine, report = _silver_of("lms", rows)
    assert sorted(silver.execute()["loan_id"]) == ["L1", "L2", "L7"]
    q = quarantine.execute().set_index("raw__loan_id")
    assert sorted(q.index) == ["L3", "L4", "L5", "L6"]
    assert set(q[QUARANTINE_REASON]) == {"malformed_row"}
    assert "contradicts batch" in q.loc["L4", "_parse_error"]
    # the quarantined record keeps its raw value whole (as JSON text), not cut at 300 characters
    assert q.loc["L3", "raw__loan_amt"] == json.dumps({"amount": 1200, "note": "x" * 400})
    assert q.loc["L4", "_source_file"] == "BATCH_2024_11_labels.json"
    assert report["rows_in"] == records and report["balanced"]
    assert report["rows_out"] + report["rows_quarantined"] == records


def test_profile_records_balance_against_the_records_in_the_file(con):
    payload = _changed(
        PROFILES,
        lambda p: (
            p["profiles"][0]["attributes"].update(Customer_ID="C9"),  # contradicts its profile
            p["profiles"][1].update(clickstream={"fe_1": [1, 2]}),  # a list where a number belongs
        ),
    )
    batches = {"BATCH_2024_11": payload}
    expected = {  # JSON records per source, counted by hand from PROFILES
        "attributes": 2,
        "financials": 0,
        "clickstream": 2,
        "relationships": 2,
    }
    for source, n in expected.items():
        rows = batch_rows(source, batches)
        assert rows.num_rows == n, source
        if n:
            _, _, _, report = _silver_of(source, rows)
            assert report["rows_in"] == n and report["balanced"], source
    attrs = batch_rows("attributes", batches)
    assert "'C9' contradicts its profile's 'C1'" in attrs.column("_parse_error")[0].as_py()
    assert attrs.column("Customer_ID").to_pylist() == ["C1", "C2"]
    click = batch_rows("clickstream", batches).column("_parse_error").to_pylist()
    assert click[0] is None and "profiles[1].clickstream" in click[1] and "field 'fe_1'" in click[1]
    edges = batch_rows("relationships", batches)
    assert edges.column("source_customer_id").to_pylist() == ["C1", "C1"]
    assert edges.column("volume").to_pylist() == ["10", "5"]


@pytest.mark.slow
def test_json_batches_through_a_kedro_run_balance_and_a_broken_file_stops_it_cleanly(tmp_path):
    world = rawdata.tiny_world()
    month = rawdata.month(9)
    csv_loans = [r for r in world["lms"] if r["snapshot_date"] != month]
    json_loans = [
        {k: v for k, v in r.items() if k != "snapshot_date"}
        for r in world["lms"]
        if r["snapshot_date"] == month
    ]
    json_loans[1]["snapshot_date"] = rawdata.month(8)  # this record contradicts its batch
    labels = {"batch_id": "BATCH_2023_10", "snapshot_date": month, "loans": json_loans}
    rawdata.write_world(tmp_path, {**world, "lms": csv_loans}, {"BATCH_2023_10_labels.json": labels})
    run_kedro(tmp_path, ["label_store"])

    report = json.loads((tmp_path / "08_reporting" / "duckdb" / "label_store_quality.json").read_text())
    lms = report["sources"]["lms"]
    assert lms["rows_in"] == len(csv_loans) + len(json_loans) and lms["balanced"]
    quarantine = read_table(tmp_path / "03_primary" / "duckdb" / "quarantine" / "lms")
    bad = quarantine[quarantine["_source_file"] == "BATCH_2023_10_labels.json"]
    assert len(bad) == 1 and "contradicts batch BATCH_2023_10" in bad["_parse_error"].iloc[0]

    before = gold(tmp_path, "gold_labels")
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "03_primary").rglob("*.parquet")}
    broken = {**labels, "loans": "L1,L2,L3"}
    (tmp_path / "01_raw" / "batches" / "BATCH_2023_10_labels.json").write_text(json.dumps(broken))
    with pytest.raises(DatasetError) as err:
        run_kedro(tmp_path, ["label_store"])
    message = str(err.value)
    assert "BATCH_2023_10_labels.json" in message and "field 'loans'" in message and "got a string" in message
    assert gold(tmp_path, "gold_labels").equals(before)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "03_primary").rglob("*.parquet")} == stamps
