"""The orchestrators' definitions, fast (test tier): Dagster's Definitions load with the monthly job, and the
Airflow DAG file is one self-contained task running ``kycc backfill`` for the run's month (no Airflow here)."""

from __future__ import annotations

import ast

from kycc.orchestration.airflow import DAG_ID, render_cycle_dag


def test_the_dagster_definitions_load_with_the_monthly_job():
    import dagster as dg

    from kycc.orchestration.dagster import defs

    dg.Definitions.validate_loadable(defs)
    job = defs.get_job_def("kycc_cycle")
    assert [node.name for node in job.graph.nodes] == ["monthly_cycle"]
    keys = job.partitions_def.get_partition_keys()
    assert keys[:2] == ["2023-01-01", "2023-02-01"]
    (schedule,) = defs.get_repository_def().schedule_defs
    assert schedule.cron_schedule.split()[2:] == ["1", "*", "*"]


def test_the_airflow_dag_runs_kycc_backfill_for_the_month_and_imports_only_airflow(tmp_path):
    text = render_cycle_dag(project_path=tmp_path, env="test", params="a.b=1")
    tree = ast.parse(text)
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported == {"airflow", "os", "shlex", "datetime", "pathlib"}
    assert f'dag_id="{DAG_ID}"' in text
    assert str(tmp_path.resolve()) in text
    assert '"backfill", "--start", MONTH, "--end", MONTH' in text
    assert "['--env', 'test', '--params', 'a.b=1']" in text
    assert "logical_date.strftime('%Y-%m')" in text
