"""Dagster definitions of KYCC's monthly cycle, translated from the Kedro pipelines by kedro-dagster.

Scaffolded by ``kedro dagster init`` and configured in ``conf/base/dagster.yml``: one Dagster job per Kedro
pipeline of the month, one op per Kedro node. On top of the plugin's translation:

* every job takes **one month** as its run config (``{"month": "2024-11-01"}``), which reaches its nodes as
  the runtime parameters ``kycc backfill`` passes for that month (``run.start_month``,
  ``training.training_date``, ``inference.*`` …; :data:`MONTH_PARAMS`);
* the **monthly schedule** starts the first job for the first month whose cycle is not complete yet, from
  ``first_month`` in ``dagster.yml`` on: a new deployment catches up month by month (Airflow's ``catchup``),
  then runs one month a month;
* the **chain sensor** starts the month's next job when one succeeds, trains only when the cycle would
  (``deploy/cycle_gate.py``: the decision of ``kycc backfill``), and goes on with the next month after the
  last job while months are behind.

Months are run config rather than Dagster partitions on purpose: in a partitioned run, kedro-dagster 0.8.1's
IO managers reduce every dict-valued dataset (JSON reports, batch files) to the partition's key.

Run it locally with ``dagster dev -m kycc.orchestration.dagster -h 127.0.0.1`` (docs/orchestration.md).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import kedro_dagster.translator as kedro_dagster_translator
from kedro_dagster import KedroProjectTranslator
from kedro_dagster.utils import find_kedro_project

from kycc.temporal import add_months, month_range, to_month

logger = logging.getLogger(__name__)

__all__ = ["MONTHLY_STEPS", "MONTH_PARAMS", "defs", "month_params", "month_run_config", "next_step"]

KEDRO_ENV = os.environ.get("KEDRO_ENV", "local")
PROJECT_PATH = Path(
    os.environ.get("KYCC_PROJECT_PATH")
    or find_kedro_project(Path.cwd())
    or Path(__file__).resolve().parents[2]
)

#: The month's steps in order (``kycc backfill``'s): the jobs of ``conf/base/dagster.yml`` and the session steps.
MONTHLY_STEPS = (
    "label_store",
    "feature_store",
    "model_input",
    "scorecard_setup",
    "training",
    "inference",
    "monitoring",
    "actions",
    "reporting",
)
#: Steps that are a few nodes of another pipeline, run in one Kedro session: step → (pipeline, nodes).
#: (kedro-dagster 0.8.1 cannot turn ``declare_config_versions`` into an op: its parameters have integer keys,
#: e.g. ``categories: {1: 100}``, which the plugin's op config model refuses.)
SESSION_STEPS = {"scorecard_setup": ("scorecard", ("declare_config_versions",))}
#: The step the training gate guards.
GATED_STEP = "training"
_WINDOW = {"start_month": "{month}", "end_month": "{month}"}
#: Runtime parameters of each step; ``{month}`` becomes the run's month (the same as conf/airflow/airflow.yml).
MONTH_PARAMS: dict[str, dict[str, Any]] = {
    "label_store": {"run": _WINDOW},
    "feature_store": {"run": _WINDOW},
    "model_input": {"run": _WINDOW},
    "training": {"training": {"training_date": "{month}"}},
    "inference": {"inference": _WINDOW},
    "monitoring": {"monitoring": _WINDOW},
    "actions": {"actions": _WINDOW},
}
#: Run tag holding a run's month (the schedule and the sensor set it).
MONTH_TAG = "kycc/month"
_MONTH_CONFIG = {
    "month": dg.Field(
        dg.Noneable(str),
        default_value=None,
        description="The month to run (YYYY-MM-01); null: the pipeline's configured defaults",
    )
}
_IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def month_params(step: str, month: str) -> dict[str, Any]:
    """The runtime parameters of ``step`` for ``month`` (``YYYY-MM-01``)."""

    def fill(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: fill(item) for key, item in value.items()}
        return month if value == "{month}" else value

    return fill(MONTH_PARAMS.get(step, {}))


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        return {**base, **{k: _merge(base.get(k), v) for k, v in override.items()}}
    return override


def month_run_config(op_params: Mapping[str, Mapping[str, Any]], runtime_params: Mapping[str, Any]) -> dict:
    """The run config giving the ops the runtime parameters, as Kedro merges ``--params`` into parameters.

    Args:
        op_params: Op name → its Kedro parameter inputs (``params:run``, ``params:training.training_date``)
            with their configured values (kedro-dagster exposes them as the op's config).
        runtime_params: Nested runtime parameters, e.g. ``{"run": {"start_month": "2024-11-01"}}``.
    """
    ops = {}
    for op_name, params in op_params.items():
        config = {}
        for name, default in params.items():
            value: Any = runtime_params
            for part in name.removeprefix("params:").split("."):
                if not isinstance(value, Mapping) or part not in value:
                    break
                value = value[part]
            else:
                config[name] = _merge(default, value)
        if config:
            ops[op_name] = {"config": config}
    return {"ops": ops} if ops else {}


def _op_params(job: dg.JobDefinition) -> dict[str, dict[str, Any]]:
    """Op name → its Kedro parameter inputs and their configured values (the op's config defaults)."""
    out: dict[str, dict[str, Any]] = {}
    for node in job.graph.nodes:
        field = node.definition.config_field
        fields = getattr(field.config_type, "fields", None) if field is not None else None
        params = {
            name: f.default_value
            for name, f in (fields or {}).items()
            if name.startswith("params:") and f.default_provided
        }
        if params:
            out[node.name] = params
    return out


def _iso(month: Any) -> str:
    return to_month(month).isoformat()


def next_step(
    step: str, month: str, *, training_due: Callable[[str], tuple[bool, str]], last_month: str
) -> tuple[str, str, str] | None:
    """What runs after ``step`` of ``month`` succeeded: ``(step, month, why)``, or None (caught up).

    Args:
        step: A step of :data:`MONTHLY_STEPS`.
        month: Its month (``YYYY-MM-01``).
        training_due: The training gate, ``month → (train, reason)``.
        last_month: The latest month to run (the current month).
    """
    index = MONTHLY_STEPS.index(step) + 1
    if index < len(MONTHLY_STEPS):
        nxt = MONTHLY_STEPS[index]
        if nxt == GATED_STEP:
            train, reason = training_due(month)
            if not train:
                return MONTHLY_STEPS[index + 1], month, f"{GATED_STEP} skipped: {reason}"
            return nxt, month, reason
        return nxt, month, ""
    following = add_months(month, 1).isoformat()
    if following <= _iso(last_month):
        return MONTHLY_STEPS[0], following, f"catch-up: {month[:7]} done"
    return None


@contextmanager
def _plugin_workarounds() -> Iterator[None]:
    """Two workarounds for kedro-dagster 0.8.1, while it translates the project only.

    1. Its MLflow resource needs ``dagster-mlflow``, which pins ``pandas<3`` (the stack runs pandas 3.1): the
       resource is left out. kedro-mlflow still tracks the runs through its Kedro hooks, which kedro-dagster
       calls around each job.
    2. It calls ``find_pipelines()`` once per dataset to name asset groups, and our pipelines read the
       configuration when they are built (``training.models``): minutes. It gets the project's registered
       pipelines instead (built once per process by Kedro).
    """
    from kedro.framework import project

    import kycc.pipeline_registry  # noqa: F401 - binds the real find_pipelines before the patch (no recursion)

    real_find, real_mlflow = project.find_pipelines, kedro_dagster_translator.is_mlflow_enabled

    def registered_pipelines(raise_errors: bool = False) -> dict[str, Any]:
        return dict(project.pipelines)

    project.find_pipelines = registered_pipelines
    kedro_dagster_translator.is_mlflow_enabled = lambda: False
    try:
        yield
    finally:
        project.find_pipelines = real_find
        kedro_dagster_translator.is_mlflow_enabled = real_mlflow


def _cycle_gate() -> ModuleType:
    """``deploy/cycle_gate.py``: the training decision, shared with the Airflow DAG."""
    path = PROJECT_PATH / "deploy" / "cycle_gate.py"
    spec = importlib.util.spec_from_file_location("kycc_cycle_gate", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise FileNotFoundError(f"{path}: the training gate of the monthly cycle is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _monthly_job(job: dg.JobDefinition, step: str) -> dg.JobDefinition:
    """The plugin's job with ``{"month": …}`` as its run config (mapped onto its ops' parameters)."""
    op_params = _op_params(job)

    def to_ops(config: Mapping[str, Any]) -> dict:
        month = config.get("month")
        return month_run_config(op_params, month_params(step, _iso(month))) if month else {}

    return job.graph.to_job(
        name=job.name,
        description=f"KYCC monthly cycle: {step} (the Kedro pipeline, one month per run)",
        resource_defs=job.resource_defs,
        executor_def=job.executor_def,
        logger_defs=job.loggers,
        hooks=job.hook_defs,
        op_retry_policy=job.op_retry_policy,
        tags={**job.tags, "kycc/step": step},
        metadata=job.metadata,
        config=dg.ConfigMapping(config_fn=to_ops, config_schema=_MONTH_CONFIG),
    )


def _session_job(step: str, pipeline_name: str, node_names: tuple[str, ...]) -> dg.JobDefinition:
    """A job whose op runs Kedro nodes in a Kedro session with the month's parameters (:data:`SESSION_STEPS`)."""

    @dg.op(
        name=node_names[0],
        description=f"Kedro nodes {', '.join(node_names)} of the {pipeline_name} pipeline, in one session",
        config_schema=_MONTH_CONFIG,
    )
    def run_kedro_nodes(context) -> None:  # not annotated: Dagster checks the annotation, a string fails
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project

        month = context.op_config.get("month")
        bootstrap_project(PROJECT_PATH)
        params = month_params(step, _iso(month)) if month else {}
        with KedroSession.create(project_path=PROJECT_PATH, env=KEDRO_ENV, runtime_params=params) as session:
            session.run(pipeline_names=[pipeline_name], node_names=list(node_names))

    @dg.job(
        name=f"{KEDRO_ENV}__{step}",
        description=f"KYCC monthly cycle: {step} ({pipeline_name}: {', '.join(node_names)})",
        executor_def=dg.in_process_executor,
        tags={"kycc/step": step},
        config=dg.ConfigMapping(
            config_fn=lambda config: {"ops": {node_names[0]: {"config": {"month": config.get("month")}}}},
            config_schema=_MONTH_CONFIG,
        ),
    )
    def session_job() -> None:
        run_kedro_nodes()

    return session_job


def _month_of(run: dg.DagsterRun) -> str | None:
    month = run.tags.get(MONTH_TAG) or (run.run_config or {}).get("month")
    return _iso(month) if month else None


def _months_of(instance: dg.DagsterInstance, job_names: Iterable[str], statuses: list) -> set[str]:
    months = set()
    for job_name in job_names:
        for run in instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=statuses)):
            month = _month_of(run)
            if month:
                months.add(month)
    return months


def _run_request(job: dg.JobDefinition, month: str, trigger: str) -> dg.RunRequest:
    return dg.RunRequest(
        job_name=job.name, run_config={"month": month}, tags={MONTH_TAG: month, "kycc/trigger": trigger}
    )


def _monthly_schedule(
    schedule: dg.ScheduleDefinition, jobs: Mapping[str, dg.JobDefinition], first_month: str
) -> dg.ScheduleDefinition:
    """The plugin's schedule of the first job, run from the first month not complete (the catch-up)."""
    head, last = jobs[MONTHLY_STEPS[0]], jobs[MONTHLY_STEPS[-1]]

    @dg.schedule(
        name=schedule.name,
        cron_schedule=schedule.cron_schedule,
        execution_timezone=schedule.execution_timezone,
        job=head,
        description=schedule.description,
    )
    def monthly_cycle(context):  # not annotated: see run_kedro_nodes
        now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        months = [m.isoformat() for m in month_range(first_month, now.date())]
        done = _months_of(context.instance, [last.name], [dg.DagsterRunStatus.SUCCESS])
        pending = [m for m in months if m not in done]
        if not pending:
            return dg.SkipReason(f"every month up to {months[-1] if months else '-'} is complete")
        busy = sorted(_months_of(context.instance, [job.name for job in jobs.values()], _IN_PROGRESS))
        if busy:
            return dg.SkipReason(f"month {', '.join(busy)} in progress: the chain sensor carries it on")
        return _run_request(head, pending[0], "schedule")

    return monthly_cycle


def _chain_sensor(jobs: Mapping[str, dg.JobDefinition], gate: ModuleType) -> dg.SensorDefinition:
    """When a job of the month succeeds, start the next one (see :func:`next_step`)."""
    step_of = {job.name: step for step, job in jobs.items()}

    def training_due(month: str) -> tuple[bool, str]:
        return gate.training_decision(
            month, project_path=PROJECT_PATH, env=KEDRO_ENV, runtime_params=month_params(GATED_STEP, month)
        )

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="kycc_monthly_chain",
        monitored_jobs=list(jobs.values()),
        request_jobs=list(jobs.values()),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts the month's next job when one succeeds (training only when due), then the next month",
    )
    def monthly_chain(context):  # not annotated: see run_kedro_nodes
        run = context.dagster_run
        month, step = _month_of(run), step_of.get(run.job_name)
        if month is None or step is None:
            return dg.SkipReason(f"{run.job_name}: no month, not a step of the monthly cycle")
        this_month = to_month(dt.datetime.now(dt.UTC).date()).isoformat()
        following = next_step(step, month, training_due=training_due, last_month=this_month)
        if following is None:
            return dg.SkipReason(f"{month[:7]} complete: caught up")
        nxt, nxt_month, why = following
        context.log.info(f"{step} {month[:7]} done: {nxt} {nxt_month[:7]} {why}".strip())
        return _run_request(jobs[nxt], nxt_month, step)

    return monthly_chain


def build_definitions() -> dg.Definitions:
    """Translate the project with kedro-dagster, then add the months, the schedule and the chain."""
    with _plugin_workarounds():
        translator = KedroProjectTranslator(env=KEDRO_ENV, project_path=PROJECT_PATH)
        location = translator.to_dagster()
    missing = [s for s in MONTHLY_STEPS if s not in location.named_jobs and s not in SESSION_STEPS]
    if missing:
        raise ValueError(f"conf/*/dagster.yml has no job for the monthly step(s) {missing}")
    schedule = location.named_schedules.get(MONTHLY_STEPS[0])
    if schedule is None:
        raise ValueError(f"conf/*/dagster.yml: the job {MONTHLY_STEPS[0]!r} needs the monthly schedule")
    first_month = schedule.metadata.get("first_month")
    first_month = getattr(first_month, "value", first_month)
    if not first_month:
        raise ValueError("conf/*/dagster.yml: the monthly schedule needs metadata.first_month (YYYY-MM-01)")
    jobs = {
        step: _session_job(step, *SESSION_STEPS[step])
        if step in SESSION_STEPS
        else _monthly_job(location.named_jobs[step], step)
        for step in MONTHLY_STEPS
    }
    other_jobs = [job for name, job in location.named_jobs.items() if name not in jobs]
    return dg.Definitions(
        assets=list(location.named_assets.values()),
        resources=location.named_resources,
        jobs=[*jobs.values(), *other_jobs],
        schedules=[_monthly_schedule(schedule, jobs, _iso(first_month))],
        sensors=[_chain_sensor(jobs, _cycle_gate()), *location.named_sensors.values()],
        loggers={"console": dg.colored_console_logger},
    )


defs = build_definitions()
