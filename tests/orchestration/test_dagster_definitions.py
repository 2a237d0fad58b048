"""The Dagster definitions of the monthly cycle (kycc.orchestration.dagster), loaded for real with kedro-dagster."""

from __future__ import annotations

import datetime as dt
import importlib

import dagster as dg
import pytest

from tests.orchestration.conftest import EXPECTED_PARAMS, MONTHLY_PIPELINES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def definitions(isolated_env):
    """``kycc.orchestration.dagster`` imported as ``dagster dev -m kycc.orchestration.dagster`` does (translated at import)."""
    module = importlib.import_module("kycc.orchestration.dagster")
    dg.Definitions.validate_loadable(module.defs)
    return module


@pytest.fixture(scope="module")
def repo(definitions):
    return definitions.defs.get_repository_def()


def _job(repo, step: str):
    return repo.get_job(f"local__{step}")


def test_every_node_of_the_monthly_pipelines_is_an_op(repo, registered_nodes):
    from kedro_dagster.utils import format_node_name

    for name in MONTHLY_PIPELINES:
        ops = {node.name for node in _job(repo, name).graph.nodes}
        hooks = {f"before_pipeline_run_hook_{name}", f"after_pipeline_run_hook_{name}"}
        assert ops - hooks == {format_node_name(node) for node in registered_nodes[name]}, name
    setup = {node.name for node in _job(repo, "scorecard_setup").graph.nodes}
    assert setup == {"declare_config_versions"} <= registered_nodes["scorecard"]


def test_the_chain_covers_the_month_in_backfill_order(definitions, repo):
    assert [s for s in definitions.MONTHLY_STEPS if s != "scorecard_setup"] == list(MONTHLY_PIPELINES)
    jobs = {job.name for job in repo.get_all_jobs()}
    assert {f"local__{step}" for step in definitions.MONTHLY_STEPS} <= jobs
    sensor = repo.get_sensor_def("kycc_monthly_chain")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_the_schedule_is_monthly(repo):
    (schedule,) = repo.schedule_defs
    minute, hour, day, month, weekday = schedule.cron_schedule.split()
    assert (day, month, weekday) == ("1", "*", "*")  # on the first of every month ...
    assert schedule.job_name == "local__label_store"
    assert minute.isdigit() and hour.isdigit()  # at one time of that day: one tick a month
    assert schedule.execution_timezone == "UTC"


def test_the_schedule_catches_up_from_the_first_month_not_complete(repo, tmp_path):
    (schedule,) = repo.schedule_defs
    april = dt.datetime(2023, 4, 1, tzinfo=dt.UTC)
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path)) as instance:

        def tick():
            return schedule.evaluate_tick(
                dg.build_schedule_context(instance=instance, scheduled_execution_time=april)
            )

        (request,) = tick().run_requests  # a new deployment starts at the first month of the data
        assert request.job_name == "local__label_store"
        assert request.run_config == {"month": "2023-01-01"}
        assert request.tags["kycc/month"] == "2023-01-01"
        month_done = dg.DagsterRun(
            job_name="local__reporting", status=dg.DagsterRunStatus.SUCCESS, tags={"kycc/month": "2023-01-01"}
        )
        instance.add_run(month_done)
        assert tick().run_requests[0].run_config == {"month": "2023-02-01"}
        in_progress = dg.DagsterRun(
            job_name="local__inference", status=dg.DagsterRunStatus.STARTED, tags={"kycc/month": "2023-02-01"}
        )
        instance.add_run(in_progress)
        result = tick()
        assert not result.run_requests and "in progress" in result.skip_message


def _leaves(params: dict, prefix: str = "") -> dict[str, object]:
    """``{"run": {"start_month": x}}`` → ``{"run.start_month": x}``."""
    out: dict[str, object] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            out |= _leaves(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def _month_leaves_of(param: str, leaves: dict[str, object]) -> dict[str, object]:
    """The month's leaves a Kedro parameter input (``params:run``) covers, relative to it."""
    path = param.removeprefix("params:")
    return {
        leaf.removeprefix(path).lstrip("."): value
        for leaf, value in leaves.items()
        if leaf == path or leaf.startswith(path + ".")
    }


def test_a_run_s_month_reaches_the_nodes_as_runtime_params(definitions, repo):
    from kedro.framework.project import pipelines
    from kedro_dagster.utils import format_node_name

    for name in MONTHLY_PIPELINES:
        assert definitions.month_params(name, "2024-11-01") == EXPECTED_PARAMS[name]
        leaves = _leaves(EXPECTED_PARAMS[name])
        # the nodes that read one of the month's parameters (model_input reads none: it joins every month of
        # the gold tables, as in kycc backfill)
        readers = {
            format_node_name(node.name)
            for node in pipelines[name].nodes
            if any(_month_leaves_of(i, leaves) for i in node.inputs if i.startswith("params:"))
        }
        config = dg.validate_run_config(_job(repo, name), {"month": "2024-11-01"})["ops"]
        given = set()
        for op_name, op in config.items():
            for param, value in (op["config"] or {}).items():
                for rest, month in _month_leaves_of(param, leaves).items():
                    got = value
                    for part in filter(None, rest.split(".")):
                        got = got[part]
                    assert got == month, (name, op_name, param, rest)
                    given.add(op_name)
        assert given == readers, name
    # without a month the nodes keep their configured parameters (every month / the latest one)
    config = dg.validate_run_config(_job(repo, "label_store"), {})["ops"]
    assert config["lms__ingest_bronze"]["config"]["params:run"] == {"start_month": None, "end_month": None}


def test_month_run_config_merges_like_runtime_params(definitions):
    op_params = {
        "a": {"params:run": {"start_month": None, "end_month": None, "keep": 1}},
        "b": {"params:training.training_date": None, "params:training.windows": {"train_months": 12}},
        "c": {"params:reporting": {"dpi": 90}},
    }
    runtime = {"run": {"start_month": "2024-11-01"}, "training": {"training_date": "2024-11-01"}}
    assert definitions.month_run_config(op_params, runtime) == {
        "ops": {
            "a": {"config": {"params:run": {"start_month": "2024-11-01", "end_month": None, "keep": 1}}},
            "b": {"config": {"params:training.training_date": "2024-11-01"}},
        }
    }


def test_next_step_walks_the_month_then_the_next(definitions):
    def never(month):
        return False, "history 3/23 window months"

    def always(month):
        return True, "first month with enough history"

    step, month, seen = "label_store", "2024-11-01", []
    while True:
        following = definitions.next_step(step, month, training_due=never, last_month="2024-12-01")
        if following is None:
            break
        step, month, _ = following
        seen.append((step, month))
    steps_nov = [s for s, m in seen if m == "2024-11-01"]
    assert steps_nov == [s for s in definitions.MONTHLY_STEPS[1:] if s != "training"]
    assert seen[len(steps_nov)] == ("label_store", "2024-12-01")  # then the next month, from the start
    assert seen[-1] == ("reporting", "2024-12-01")  # and it stops at the last month
    assert definitions.next_step(
        "scorecard_setup", "2024-11-01", training_due=always, last_month="2024-11-01"
    )[:2] == ("training", "2024-11-01")
    assert (
        definitions.next_step("reporting", "2024-11-01", training_due=always, last_month="2024-11-01") is None
    )
