"""A month removed from every raw source does not survive in bronze, silver or gold (KedroSession runs)."""

from __future__ import annotations

import pytest

from tests import rawdata
from tests.kedro_run import gold, read_table, run_kedro

pytestmark = pytest.mark.slow

GONE = {"2023-03-01", "2023-08-01"}  # L3's application month; the month L1 and L2 reach MOB 6


def _months(frame, column="snapshot_date") -> set[str]:
    return {str(d)[:10] for d in frame[column]}


def _drop_months(tables: dict[str, list[dict]], months: set[str]) -> dict[str, list[dict]]:
    return {source: [r for r in rows if r["snapshot_date"] not in months] for source, rows in tables.items()}


def _silver(root, source):
    return read_table(root / "03_primary" / "duckdb" / f"silver_{source}")


def test_a_month_gone_from_every_source_is_emptied_by_the_next_catch_up_run(tmp_path):
    """(The same rule with an explicit window is tested on the dataset in test_datasets.py.)"""
    world = rawdata.tiny_world()
    rawdata.write_world(tmp_path, world)
    run_kedro(tmp_path, ["label_store", "feature_store"])
    assert _months(_silver(tmp_path, "lms")) >= GONE and _months(_silver(tmp_path, "clickstream")) >= GONE
    assert set(gold(tmp_path, "gold_labels")["loan_id"]) == {"L1", "L2", "L3"}
    assert "L3" in set(gold(tmp_path, "gold_features")["loan_id"])

    rawdata.write_world(tmp_path, _drop_months(world, GONE))
    run_kedro(tmp_path, ["label_store", "feature_store"])

    for source in ("lms", "clickstream"):
        assert not GONE & _months(_silver(tmp_path, source)), source
        bronze = read_table(tmp_path / "02_intermediate" / "duckdb" / f"bronze_{source}")
        assert not GONE & _months(bronze), source
    labels = gold(tmp_path, "gold_labels")
    assert not GONE & _months(labels)
    assert set(labels["loan_id"]) == {"L3"}  # L1 and L2 lost their MOB-6 snapshot
    assert "L3" not in set(gold(tmp_path, "gold_features")["loan_id"])  # its application month is gone
