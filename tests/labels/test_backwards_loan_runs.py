"""A loan whose instalments go backwards yields one gold label and one feature row (KedroSession run)."""

from __future__ import annotations

import pytest

from tests import rawdata
from tests.kedro_run import gold, read_table, run_kedro

pytestmark = pytest.mark.slow


def test_a_loan_going_backwards_gives_one_label_and_one_feature_row(tmp_path):
    world = rawdata.tiny_world()
    l1 = [r for r in world["lms"] if r["loan_id"] == "L1"]  # 2023-02 .. 2023-10, instalments 0..8
    l1[7]["installment_num"] = 6  # 2023-09 repeats MOB 6 (reached 2023-08)
    l1[8]["installment_num"] = 0  # 2023-10 starts over at MOB 0, as if a new application
    rawdata.write_world(tmp_path, world)

    run_kedro(tmp_path, ["label_store", "feature_store"])

    labels = gold(tmp_path, "gold_labels")
    assert sorted(labels["loan_id"]) == ["L1", "L2", "L3"]
    assert str(labels.set_index("loan_id").loc["L1", "snapshot_date"])[:10] == "2023-08-01"
    features = gold(tmp_path, "gold_features")
    assert sorted(features["loan_id"]) == ["L1", "L2", "L3"]
    quarantine = read_table(tmp_path / "03_primary" / "duckdb" / "quarantine" / "lms")
    assert list(quarantine["quarantine_reason"]) == ["invalid_sequence:installment_num"] * 2
    assert sorted(str(d)[:10] for d in quarantine["snapshot_date"]) == ["2023-09-01", "2023-10-01"]
