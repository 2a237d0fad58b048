"""Dagster definitions of KYCC's monthly cycle: one monthly-partitioned job whose month is ``kycc backfill``'s.

``dagster dev -m kycc.orchestration.dagster`` (``make dagster-dev``) serves one job, ``kycc_cycle``, partitioned
by month (:data:`MONTHS`, partition key ``YYYY-MM-01``), with one op that runs
:func:`kycc.cycle.backfill.run_backfill` for the partition's month, in process (Dagster runs in the project's
virtualenv). So a month under Dagster is exactly the cycle of ``kycc backfill --start M --end M``: the data
pipelines, training when due with its seed backfill, recalibration, inference, stability, monitoring and actions
(skips recorded as skips), the month record, fair lending and reporting — no step list here. The op logs the
month record and the cycle summary into the run's log and fails when the month fails.

A monthly schedule (``kycc_cycle_schedule``, off by default) runs each month once it is over, as Airflow's
``@monthly``; a catch-up is a Dagster backfill over the partitions — months must run in order, so
``deploy/dagster.yaml`` (copied into ``DAGSTER_HOME`` by ``make dagster-dev``) lets one cycle run at a time, or
run the range with ``kycc backfill``. The op's config takes ``kycc backfill``'s options: ``env``, ``params``
(nested, like ``--params``), ``retrain``; ``KYCC_PROJECT_PATH`` moves the project. Importing this module builds
the Definitions only (no Kedro session, no project read). See docs/orchestration.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

__all__ = ["FIRST_MONTH", "JOB_NAME", "MONTHS", "defs", "kycc_cycle"]

JOB_NAME = "kycc_cycle"
#: The first month of the partitions (the first month of the data): ``KYCC_FIRST_MONTH`` overrides it.
FIRST_MONTH = os.environ.get("KYCC_FIRST_MONTH", "2023-01-01")
#: One partition per month, from :data:`FIRST_MONTH` to the last month that is over (key ``YYYY-MM-01``).
MONTHS = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, fmt="%Y-%m-%d", timezone="UTC")


def _project_path() -> Path:
    from kycc.paths import find_project_root

    configured = os.environ.get("KYCC_PROJECT_PATH")
    root = Path(configured) if configured else find_project_root()
    if root is None:
        raise FileNotFoundError("no Kedro project found: set KYCC_PROJECT_PATH to the KYCC project folder")
    return root


@dg.op(
    name="monthly_cycle",
    description="kycc backfill for the partition's month (kycc.cycle.backfill.run_backfill)",
    config_schema={
        "env": dg.Field(
            dg.Noneable(str), default_value=None, description="Kedro environment (kycc backfill --env)"
        ),
        "params": dg.Field(
            dg.Permissive(),
            default_value={},
            description="Runtime parameters, nested (kycc backfill --params)",
        ),
        "retrain": dg.Field(bool, default_value=False, description="Process the month again if it is done"),
    },
    tags={"kind": "kedro"},
)
def monthly_cycle(context) -> None:  # not annotated: Dagster would check a string annotation
    from kycc.cycle.backfill import run_backfill

    month = context.partition_key
    config = context.op_config
    context.log.info(f"kycc backfill --start {month} --end {month} (project {_project_path()})")
    report = run_backfill(
        month,
        month,
        project_path=_project_path(),
        env=config["env"],
        params=config["params"],
        retrain=config["retrain"],
    )
    record = next((r for r in report.records if r.get("month") == month), None)
    if record is None:
        raise dg.Failure(f"kycc backfill wrote no month record for {month}")
    kept = month in report.kept
    context.log.info(("kept as recorded: " if kept else "month record: ") + json.dumps(record, default=str))
    context.log.info(f"cycle summary:\n{report.table()}")
    context.add_output_metadata(
        {
            "month": month,
            "kept": kept,
            **{
                step: dg.MetadataValue.text(str((record.get(step) or {}).get("status", "-")))
                for step in ("training", "seed_backfill", "inference", "monitoring", "actions")
            },
            "dashboard": report.dashboard or "-",
            "seconds": round(report.seconds, 1),
        }
    )


@dg.job(
    name=JOB_NAME,
    description="KYCC monthly cycle: kycc backfill for the partition's month (src/kycc/cycle/backfill.py)",
    partitions_def=MONTHS,
    executor_def=dg.in_process_executor,
    tags={"kycc/cycle": "month"},  # deploy/dagster.yaml: one run with this tag at a time (months in order)
)
def kycc_cycle() -> None:
    monthly_cycle()


defs = dg.Definitions(
    jobs=[kycc_cycle],
    schedules=[dg.build_schedule_from_partitioned_job(kycc_cycle, name=f"{JOB_NAME}_schedule")],
)
