"""A profiles batch whose ``snapshot_date`` is missing or disagrees with its batch (issue 15.1): one error naming
the file, the batch and the field — never accepted into quarantine counts that no longer balance."""

from __future__ import annotations

import json

import pytest
from kedro.io import DatasetError

from kycc.datasets import JsonBatchesDataset
from kycc.medallion.bronze import batch_rows

PROFILE = {
    "Customer_ID": "C1",
    "attributes": {"Name": "A", "Age": 30},
    "financials": None,
    "clickstream": None,
}


@pytest.mark.parametrize(
    "payload, expected",
    [
        ({"batch_id": "BATCH_2024_11", "profiles": [PROFILE]}, ["field 'snapshot_date'", "missing"]),
        (
            {"batch_id": "BATCH_2024_11", "snapshot_date": None, "profiles": [PROFILE]},
            ["field 'snapshot_date'"],
        ),
        (
            {"batch_id": "BATCH_2024_11", "snapshot_date": "2024-10-01", "profiles": [PROFILE]},
            ["field 'snapshot_date'", "'2024-10-01' contradicts the file name", "2024-11-01"],
        ),
    ],
    ids=["missing", "null", "contradicts the batch"],
)
def test_a_profiles_batch_without_its_own_month_is_one_error_naming_file_batch_and_field(
    tmp_path, payload, expected
):
    folder = tmp_path / "batches"
    folder.mkdir()
    path = folder / "BATCH_2024_11_profiles.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        JsonBatchesDataset(str(folder), kind="profiles").load()
    message = str(err.value)
    assert str(path) in message and "batch BATCH_2024_11" in message, message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    # batch_rows (payloads that did not come through the dataset) refuses it the same way, for every source
    for source in ("attributes", "financials", "clickstream", "relationships"):
        with pytest.raises(DatasetError, match="batch BATCH_2024_11.*snapshot_date"):
            batch_rows(source, {"BATCH_2024_11": payload})
