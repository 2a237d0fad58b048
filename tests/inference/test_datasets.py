"""Month-partitioned pandas tables (replace a month, keep the others) and the read-only registry dataset."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DatasetError

from kycc.inference.datasets import MonthPartitionedPandasDataset, RegisteredModelDataset
from kycc.inference.registry import ModelCard, RegisteredModel


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
