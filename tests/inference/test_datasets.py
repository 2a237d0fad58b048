"""Month-partitioned pandas tables (replace a month, keep the others) and the read-only registry dataset."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DatasetError

from kycc.datasets.tables import (
    DecisionSetsDataset,
    MonthPartitionedPandasDataset,
    MonthRecordDataset,
    RegisteredModelDataset,
)
from kycc.registry.read import ModelCard, RegisteredModel


def _frame(month: str, n: int, value: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"snapshot_date": pd.Timestamp(month), "loan_id": [f"L{month[:7]}_{i}" for i in range(n)], "p": value}
    )


def test_a_save_replaces_its_months_only(tmp_path):
    ds = MonthPartitionedPandasDataset(str(tmp_path / "t"))
    assert ds.load().empty  # nothing yet: an empty frame, not an error
    ds.save(pd.concat([_frame("2024-01-01", 3, 0.1), _frame("2024-02-01", 2, 0.2)]))
    ds.save(_frame("2024-02-01", 4, 0.9))  # scoring February again
    out = ds.load()
    assert ds.months() == ["2024-01", "2024-02"]
    assert out.groupby("snapshot_date")["p"].agg(["size", "max"]).to_dict("list") == {
        "size": [3, 4], "max": [0.1, 0.9],
    }  # fmt: skip
    ds.save(_frame("2024-03-01", 0, 0.5))  # an empty frame writes nothing
    assert ds.months() == ["2024-01", "2024-02"]


def test_bad_frames_are_refused(tmp_path):
    ds = MonthPartitionedPandasDataset(str(tmp_path / "t"))
    with pytest.raises(DatasetError, match="no 'snapshot_date' column"):
        ds.save(pd.DataFrame({"loan_id": ["a"]}))
    with pytest.raises(DatasetError, match="1 row\\(s\\) have no date"):
        ds.save(pd.DataFrame({"snapshot_date": [pd.NaT], "loan_id": ["a"]}))
    with pytest.raises(DatasetError, match="expected a pandas DataFrame"):
        ds.save([1, 2])


def test_the_registry_dataset_is_read_only():
    with pytest.raises(DatasetError, match="read-only"):
        RegisteredModelDataset("model_1").save({"model": "x"})


def test_registered_model_versions(world):
    reg = RegisteredModel.in_memory("model_1", [world.card], champion=1)
    assert reg.champion is world.card and reg.version(1) is world.card
    with pytest.raises(KeyError, match="has no version 7"):
        reg.version(7)
    with pytest.raises(ValueError, match="the training metadata has no 'windows'"):
        ModelCard("model_1", "kycc_model_1", 2, {"threshold": 0.5, "metrics": {}}, pd.DataFrame())


def test_an_append_only_table_never_replaces_a_recorded_month(tmp_path):
    ds = MonthPartitionedPandasDataset(str(tmp_path / "t"), append_only=True)
    ds.save(_frame("2024-01-01", 3, 0.1))
    files = {p: p.read_bytes() for p in (tmp_path / "t").rglob("*.parquet")}
    with pytest.raises(DatasetError, match="2024-01 already recorded: this table is append-only"):
        ds.save(pd.concat([_frame("2024-01-01", 3, 0.9), _frame("2024-02-01", 2, 0.2)]))
    assert {p: p.read_bytes() for p in (tmp_path / "t").rglob("*.parquet")} == files  # nothing half-written
    ds.save(_frame("2024-02-01", 2, 0.2))  # a new month is added
    assert ds.months() == ["2024-01", "2024-02"] and ds.load()["p"].tolist() == [0.1] * 3 + [0.2] * 2


def test_decision_sets_are_append_only_files(tmp_path):
    ds = DecisionSetsDataset(str(tmp_path / "sets"))
    assert ds.load().empty and ds.months() == [] and ds.sets() == {}
    ds.save(pd.concat([_frame("2024-01-01", 2, 0.5), _frame("2024-02-01", 1, 0.6)]).assign(decision_set=2))
    ds.save(_frame("2024-01-01", 2, 0.7).assign(decision_set=3))
    assert ds.sets() == {"2024-01": [2, 3], "2024-02": [2]}
    first = (tmp_path / "sets/batch_month=2024-01/decision_set=0002.parquet").read_bytes()
    with pytest.raises(DatasetError, match="decision set 2 of 2024-01 is already recorded"):
        ds.save(_frame("2024-01-01", 2, 0.9).assign(decision_set=2))
    assert (tmp_path / "sets/batch_month=2024-01/decision_set=0002.parquet").read_bytes() == first
    out = ds.load()
    assert out[["decision_set", "p"]].values.tolist() == [[2, 0.5], [2, 0.5], [3, 0.7], [3, 0.7], [2, 0.6]]
    with pytest.raises(DatasetError, match="every row needs a 'decision_set'"):
        ds.save(_frame("2024-03-01", 1, 0.1))


def test_the_month_record_reads_what_a_table_and_its_sets_hold(tmp_path):
    MonthPartitionedPandasDataset(str(tmp_path / "t")).save(
        pd.concat([_frame("2024-01-01", 3, 0.1), _frame("2024-02-01", 2, 0.2)])
    )
    DecisionSetsDataset(str(tmp_path / "sets")).save(_frame("2024-02-01", 2, 0.3).assign(decision_set=2))
    dataset = MonthRecordDataset(str(tmp_path / "t"), str(tmp_path / "sets"))
    record = dataset.load()
    assert record.months() == ["2024-01", "2024-02"]
    assert record.frame(["2024-02-01"])["p"].tolist() == [0.2, 0.2]
    assert record.frame(["2024-05-01"]).empty
    assert record.next_decision_set("2024-02-01") == 3 and record.next_decision_set("2024-01-01") == 2
    assert MonthRecordDataset(str(tmp_path / "none")).load().months() == []
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(object())
