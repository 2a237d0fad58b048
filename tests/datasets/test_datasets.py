"""The project's datasets: clear errors on bad raw files, month replacement and no half-written output."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest
from kedro.io import DatasetError

from kycc.datasets import JsonBatchesDataset, MonthPartitionedIbisDataset, RawCsvDataset


def test_missing_column_names_file_and_column(tmp_path):
    path = tmp_path / "lms_loan_daily.csv"
    path.write_text("loan_id,Customer_ID,snapshot_date\nL1,C1,2023-01-01\n")
    with pytest.raises(DatasetError) as err:
        RawCsvDataset(str(path), required_columns=["loan_id", "overdue_amt", "snapshot_date"]).load()
    message = str(err.value)
    assert (
        str(path) in message
        and "'overdue_amt'" in message
        and "'loan_id'" not in message.split("header", maxsplit=1)[0]
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty"), (b"\xff\xfe\x00garbage", "UTF-8")],
)
def test_unreadable_files_give_one_clear_error(tmp_path, content, expected):
    path = tmp_path / "features_attributes.csv"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=expected) as err:
        RawCsvDataset(str(path), required_columns=["Customer_ID"]).load()
    assert str(path) in str(err.value)


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(DatasetError, match="kycc generate"):
        RawCsvDataset(str(tmp_path / "nope.csv")).load()


def test_malformed_lines_are_kept_with_their_problem(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,snapshot_date\n1,2,2023-01-01\n1,2,3,2023-02-01\n,,2023-03-01\n")
    table = RawCsvDataset(str(path)).load()
    assert table.num_rows == 3
    rows = table.to_pylist()
    assert rows[1]["a"] is None and rows[1]["b"] is None  # empty fields are missing values
    bad = rows[2]
    assert bad["snapshot_date"] == "2023-02-01"
    assert "expected 3 fields, got 4" in bad["_parse_error"]


def test_json_batches_missing_folder_is_empty_and_bad_json_is_named(tmp_path):
    assert JsonBatchesDataset(str(tmp_path / "none"), kind="labels").load() == {}
    (tmp_path / "BATCH_2023_01_labels.json").write_text("{not json")
    with pytest.raises(DatasetError, match="BATCH_2023_01_labels.json"):
        JsonBatchesDataset(str(tmp_path), kind="labels").load()


def _table(rows):
    return ibis.memtable(pa.table({"snapshot_date": [r[0] for r in rows], "x": [r[1] for r in rows]}))


def test_save_replaces_only_the_months_it_holds(tmp_path, con):
    ds = MonthPartitionedIbisDataset(str(tmp_path / "t"))
    ds.save(_table([(dt.date(2024, 1, 1), 1), (dt.date(2024, 2, 1), 2)]))
    ds.save(_table([(dt.date(2024, 2, 1), 20), (dt.date(2024, 3, 1), 30)]))
    out = ds.load().order_by("snapshot_date").execute()
    assert list(out["x"]) == [1, 20, 30]
    assert ds.months() == ["2024-01", "2024-02", "2024-03"]
    assert "batch_month" not in out.columns


def test_failed_write_leaves_earlier_output_untouched(tmp_path):
    ds = MonthPartitionedIbisDataset(str(tmp_path / "t"))
    ds.save(_table([(dt.date(2024, 1, 1), 1)]))
    failing = _table([(dt.date(2024, 1, 1), 5)]).mutate(x=ibis.literal("not a number").cast("int64"))
    with pytest.raises(Exception):  # noqa: B017 - the engine's own conversion error
        ds.save(failing)
    assert list(ds.load().execute()["x"]) == [1]
    assert not [p for p in (tmp_path / "t").iterdir() if p.name.startswith(".")]


def test_empty_table_loads_with_its_schema(tmp_path):
    ds = MonthPartitionedIbisDataset(str(tmp_path / "t"))
    ds.save(_table([(dt.date(2024, 1, 1), 1)]).limit(0))
    assert ds.months() == []
    loaded = ds.load()
    assert loaded.columns == ("snapshot_date", "x") and loaded.count().execute() == 0


def test_load_before_any_save_explains(tmp_path):
    with pytest.raises(DatasetError, match="no data yet"):
        MonthPartitionedIbisDataset(str(tmp_path / "t")).load()


def test_monthly_table_empties_months_left_without_rows(tmp_path):
    from kycc.datasets import MonthlyTable

    ds = MonthPartitionedIbisDataset(str(tmp_path / "q"))
    ds.save(_table([(dt.date(2024, 1, 1), 1), (dt.date(2024, 2, 1), 2)]))
    # February re-run: its bad rows were fixed upstream, nothing is quarantined any more
    ds.save(MonthlyTable(_table([(dt.date(2024, 2, 1), 0)]).limit(0), ("2024-02",)))
    assert ds.months() == ["2024-01"]
    assert list(ds.load().execute()["x"]) == [1]


def test_monthly_table_with_a_window_empties_stored_months_the_run_has_no_rows_for(tmp_path, caplog):
    """A month removed from every raw source is emptied by the next run whose window holds it."""
    from kycc.datasets import MonthlyTable
    from kycc.medallion.window import RunWindow

    ds = MonthPartitionedIbisDataset(str(tmp_path / "s"))
    stored = [(dt.date(2024, m, 1), m) for m in (1, 2, 3, 4)] + [(None, 0)]
    ds.save(_table(stored))
    assert ds.months() == ["2024-01", "2024-02", "2024-03", "2024-04", "undated"]
    # incremental run of 2024-03 after its rows vanished from the raw files: explicit window, no rows
    window = RunWindow(dt.date(2024, 3, 1), dt.date(2024, 3, 1))
    with caplog.at_level("WARNING", logger="kycc.datasets.partitioned_ibis"):
        ds.save(MonthlyTable(_table([(dt.date(2024, 3, 1), 0)]).limit(0), (), window))
    assert ds.months() == ["2024-01", "2024-02", "2024-04"]  # undated rows are carried by every run
    assert "2024-03" in caplog.text and "emptied" in caplog.text
    # catch-up (open window): every stored month without rows goes, the months with rows are replaced
    ds.save(MonthlyTable(_table([(dt.date(2024, 2, 1), 20)]), ("2024-02",), RunWindow()))
    assert ds.months() == ["2024-02"]
    assert list(ds.load().execute()["x"]) == [20]


def test_monthly_table_window_leaves_months_outside_it_alone(tmp_path):
    from kycc.datasets import MonthlyTable
    from kycc.medallion.window import RunWindow

    ds = MonthPartitionedIbisDataset(str(tmp_path / "s"))
    ds.save(_table([(dt.date(2024, m, 1), m) for m in (1, 2, 3, 4)]))
    window = RunWindow(dt.date(2024, 2, 1), None)
    ds.save(MonthlyTable(_table([(dt.date(2024, 4, 1), 40)]), ("2024-04",), window))
    assert ds.months() == ["2024-01", "2024-04"]
    assert sorted(ds.load().execute()["x"]) == [1, 40]
