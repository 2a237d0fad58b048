"""One month through Dagster (the job ``kycc_cycle`` executed in process for a partition) equals ``kycc backfill``
for that month on an identical copy of the project state (tests/orchestration/conftest.py)."""

from __future__ import annotations

import pytest

from tests.orchestration.conftest import ENV, MONTH, PARAMS_DICT, assert_same_month, copy_state
from tests.project_state import isolated

pytestmark = pytest.mark.slow


def test_a_month_through_dagster_equals_kycc_backfill(tmp_path, before_the_month, backfill_month):
    import dagster as dg

    from kycc.orchestration.dagster import defs

    root = copy_state(before_the_month, tmp_path / "data")
    job = defs.get_job_def("kycc_cycle")
    config = {"ops": {"monthly_cycle": {"config": {"env": ENV, "params": PARAMS_DICT}}}}
    with isolated(root), dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(run_config=config, partition_key=MONTH, instance=instance)
        assert result.success
        logs = [e.message for e in instance.all_logs(result.run_id) if e.message]
    assert any(m.startswith("month record: ") and '"seed_backfill"' in m for m in logs)
    assert_same_month(root, backfill_month)
