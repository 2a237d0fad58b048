"""One month through a real Apache Airflow 3 (``airflow dags test kycc_cycle <month>`` in ``.venv-airflow``, the
task running ``kycc backfill`` from the project's venv) equals ``kycc backfill`` for that month on an identical copy
of the project state. ``make airflow-test`` installs Airflow in its own venv and runs this test."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.kedro_run import PROJECT_ROOT
from tests.orchestration.conftest import ENV, MONTH, PARAMS, assert_same_month, copy_state

AIRFLOW = PROJECT_ROOT / ".venv-airflow" / "bin" / "airflow"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not AIRFLOW.is_file(), reason="no .venv-airflow: `make airflow-test` installs Airflow there"
    ),
]


def test_a_month_through_airflow_equals_kycc_backfill(tmp_path, before_the_month, backfill_month):
    from kycc.orchestration.airflow import DAG_ID, write_cycle_dag

    root = copy_state(before_the_month, tmp_path / "data")
    dags, home = tmp_path / "dags", tmp_path / "airflow_home"
    write_cycle_dag(dags, project_path=PROJECT_ROOT, env=ENV, params=PARAMS, start_month="2023-01-01")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYTHON"))},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "KEDRO_DISABLE_TELEMETRY": "1",
        "KYCC_DATA_ROOT": str(root),
        "KYCC_MLFLOW_URI": f"sqlite:///{root / 'mlflow.db'}",
        "KYCC_MLFLOW_ARTIFACTS": str(root / "mlruns"),
    }
    home.mkdir()
    migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, check=False)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    run = subprocess.run(
        [AIRFLOW, "dags", "test", DAG_ID, MONTH],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert_same_month(root, backfill_month)
