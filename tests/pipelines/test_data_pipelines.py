"""label_store + feature_store end to end through KedroSession on hand-made raw data."""

from __future__ import annotations

import shutil

import pytest
from kedro.io import DatasetError

from tests import rawdata
from tests.kedro_run import gold, run_kedro

pytestmark = pytest.mark.slow


@pytest.fixture
def world(tmp_path):
    rawdata.write_world(tmp_path, rawdata.tiny_world())
    return tmp_path


def test_gold_tables_from_hand_made_world(world):
    run_kedro(world, ["label_store", "feature_store"])
    labels = gold(world, "gold_labels").set_index("loan_id")
    assert labels["label"].to_dict() == {"L1": 0, "L2": 1, "L3": 0}
    features = gold(world, "gold_features").set_index("loan_id")
    assert list(features.index) == ["L1", "L2", "L3"]
    # C1 has attributes at 2023-01 (age 35) and 2023-06 (age 36): L1 applied 2023-02 sees 35 only.
    assert features.loc["L1", "age"] == 35
    assert str(features.loc["L1", "kyc_as_of"])[:10] == "2023-01-01"
    # the C1-C2 supplier edge of 2023-01 is known to both parties; C2's loan is not in arrears yet at 2023-02
    assert features.loc["L1", "net_degree"] == 1 and features.loc["L3", "net_degree"] == 0
    assert features.loc["L1", "net_counterparty_arrears_share"] == 0.0
    assert features.loc["L1", "click_months_observed"] == 2  # 2023-01 and 2023-02, lookback 3


def test_missing_column_stops_the_run_and_keeps_earlier_outputs(world):
    run_kedro(world, ["label_store"])
    before = gold(world, "gold_labels")
    stamps = {p: p.stat().st_mtime_ns for p in (world / "04_feature").rglob("*.parquet")}
    lms = world / "01_raw" / "lms_loan_daily.csv"
    text = lms.read_text().splitlines()
    lms.write_text("\n".join([text[0].replace("overdue_amt", "overdue")] + text[1:]) + "\n")
    with pytest.raises(DatasetError) as err:
        run_kedro(world, ["label_store"])
    assert "lms_loan_daily.csv" in str(err.value) and "'overdue_amt'" in str(err.value)
    assert gold(world, "gold_labels").equals(before)
    assert {p: p.stat().st_mtime_ns for p in (world / "04_feature").rglob("*.parquet")} == stamps


def test_feature_store_alone_needs_the_label_store_first(world):
    shutil.rmtree(world / "03_primary", ignore_errors=True)
    with pytest.raises(DatasetError, match="no data yet"):
        run_kedro(world, ["feature_store"])
