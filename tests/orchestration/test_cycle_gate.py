"""deploy/cycle_gate.py: the orchestrators' training decision, read from the project's catalog.

Each test writes the durable state it needs (model input, last training summary, action decisions) under a
temporary data root and asks the gate, through the real catalog, what ``kycc backfill`` would decide.
"""

from __future__ import annotations

import importlib.util
import json
import shutil

import pandas as pd
import pytest

from tests.orchestration.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gate():
    spec = importlib.util.spec_from_file_location(
        "kycc_cycle_gate", PROJECT_ROOT / "deploy" / "cycle_gate.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def context(isolated_env):
    """The project's context on the temporary data root (env ``airflow``: what the DAG tasks load)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env="airflow") as session:
        return session.load_context()


def _model_input(first: str, last: str) -> pd.DataFrame:
    """Ten applications a month, each labelled six months later."""
    months = pd.date_range(first, last, freq="MS")
    rows = [
        {"loan_id": f"L{m:%Y%m}{i}", "customer_id": f"C{i}", "application_date": m, "label": i % 2}
        for m in months
        for i in range(10)
    ]
    frame = pd.DataFrame(rows)
    frame["label_date"] = frame["application_date"] + pd.DateOffset(months=6)
    return frame


@pytest.fixture
def state(context, isolated_env):
    """An empty data root for one test; returns the context's catalog and the data root."""
    data = isolated_env / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    return context.catalog, data


def _trained_at(data, month: str) -> None:
    """The summary a training run at ``month`` leaves (rpt_training_summary, written as the pipeline writes it)."""
    path = data / "08_reporting" / "training" / "training_summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"training_date": month, "windows": {}, "models": []}), encoding="utf-8")


def test_no_history_no_training(gate, context, state):
    train, reason = gate.decide_from_catalog("2024-12-01", context.params, state[0])
    assert (train, reason) == (False, "no labelled loans yet")


def test_first_month_with_enough_history_trains(gate, context, state):
    catalog, _ = state
    catalog.save("mdl_model_input", _model_input("2022-01-01", "2025-06-01"))
    assert gate.decide_from_catalog("2024-12-01", context.params, catalog) == (
        True,
        "first month with enough history",
    )
    # 23 months of history are needed (12 train + 2 + 2 + 1 + 6 maturing): not yet in 2023-06
    train, reason = gate.decide_from_catalog("2023-06-01", context.params, catalog)
    assert not train and reason.startswith("history ")


def test_retraining_follows_the_schedule(gate, context, state):
    catalog, data = state
    catalog.save("mdl_model_input", _model_input("2022-01-01", "2025-06-01"))
    _trained_at(data, "2024-12-01")
    assert gate.decide_from_catalog("2025-01-01", context.params, catalog) == (
        False,
        "not due (last 2024-12, every 3)",
    )
    assert gate.decide_from_catalog("2025-03-01", context.params, catalog) == (
        True,
        "scheduled (3 months since 2024-12)",
    )
    # a retried training month trains again; an older month never retrains after a later training
    assert gate.decide_from_catalog("2024-12-01", context.params, catalog)[0] is True
    train, reason = gate.decide_from_catalog("2024-11-01", context.params, catalog)
    assert not train and "later training" in reason


def test_a_retrain_decision_trains_the_next_month(gate, context, state):
    catalog, data = state
    catalog.save("mdl_model_input", _model_input("2022-01-01", "2025-06-01"))
    _trained_at(data, "2024-12-01")
    decisions = pd.DataFrame({"snapshot_date": [pd.Timestamp("2025-01-01")], "decision": ["retrain"]})
    catalog.save("model_2.out_action_decisions", decisions)
    assert gate.decide_from_catalog("2025-02-01", context.params, catalog) == (
        True,
        "retrain decided 2025-01 (model_2)",
    )
    off = {**context.params, "actions": {**context.params["actions"], "trigger_training": False}}
    assert gate.decide_from_catalog("2025-02-01", off, catalog)[0] is False


def test_training_decision_opens_its_own_session(gate, state):
    catalog, _ = state
    catalog.save("mdl_model_input", _model_input("2022-01-01", "2025-06-01"))
    assert gate.training_decision(
        "2024-12-01",
        project_path=PROJECT_ROOT,
        env="airflow",
        runtime_params={"training": {"training_date": "2024-12-01"}},
    ) == (True, "first month with enough history")
