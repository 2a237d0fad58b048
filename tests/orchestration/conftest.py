"""Shared helpers of the orchestration tests: the registered pipelines, a temporary data root, a shared folder."""

from __future__ import annotations

import fcntl
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The pipelines of the monthly cycle, in kycc backfill's order (what the DAGs and the Dagster jobs deploy).
MONTHLY_PIPELINES = (
    "label_store",
    "feature_store",
    "model_input",
    "training",
    "inference",
    "monitoring",
    "actions",
    "reporting",
)
WINDOW = {"start_month": "2024-11-01", "end_month": "2024-11-01"}
#: The runtime parameters kycc backfill passes to each pipeline for the month 2024-11 (kycc/cycle/backfill.py).
EXPECTED_PARAMS = {
    "label_store": {"run": WINDOW},
    "feature_store": {"run": WINDOW},
    "model_input": {"run": WINDOW},
    "training": {"training": {"training_date": "2024-11-01"}},
    "inference": {"inference": WINDOW},
    "monitoring": {"monitoring": WINDOW},
    "actions": {"actions": WINDOW},
    "reporting": {},
}


AIRFLOW_COMMAND = [
    sys.executable, "-m", "kedro", "airflow", "create",
    "--env", "airflow",
    "--group-by", "memory",
    "--jinja-file", "deploy/airflow_dag.j2",
    "--pipelines", ",".join(MONTHLY_PIPELINES),
]  # fmt: skip


def _session_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # shared by the xdist workers


@pytest.fixture(scope="session", autouse=True)
def _airflow_dags_in_background(tmp_path_factory) -> Iterator[None]:
    """Start ``kedro airflow create`` once per test session (across xdist workers), in the background.

    The generation takes a while (a Kedro session, the catalog, every pipeline): it runs while the first tests
    do, and :func:`airflow_dags` waits for it. Its exit status lands in ``airflow_dags.rc``.
    """
    base = _session_dir(tmp_path_factory)
    process = None
    with open(base / "airflow_dags.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (base / "airflow_dags.started").exists():
                (base / "airflow_dags.started").touch()
                target, root = base / "airflow_dags", tmp_path_factory.mktemp("airflow_generation")
                env = {
                    **os.environ,
                    "KEDRO_DISABLE_TELEMETRY": "1",
                    "KYCC_DATA_ROOT": str(root / "data"),
                    "KYCC_MLFLOW_URI": f"sqlite:///{root / 'mlflow.db'}",
                }
                command = " ".join(shlex.quote(c) for c in [*AIRFLOW_COMMAND, "--target-dir", str(target)])
                script = f"{command} > {shlex.quote(str(base / 'airflow_dags.log'))} 2>&1; echo $? > {{rc}}"
                rc = base / "airflow_dags.rc"
                process = subprocess.Popen(  # noqa: S602 - our own command, quoted
                    ["/bin/sh", "-c", script.format(rc=shlex.quote(str(rc)))], cwd=PROJECT_ROOT, env=env
                )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield
    if process is not None:
        process.wait(timeout=600)


def airflow_dags(tmp_path_factory, timeout: float = 600) -> Path:
    """The folder of the generated DAGs, once ``kedro airflow create`` has finished (fails with its output)."""
    base = _session_dir(tmp_path_factory)
    rc = base / "airflow_dags.rc"
    waited = 0.0
    while not (rc.is_file() and rc.read_text().strip()):
        assert waited < timeout, "kedro airflow create did not finish"
        time.sleep(0.2)
        waited += 0.2
    log = (base / "airflow_dags.log").read_text(encoding="utf-8", errors="replace")
    assert rc.read_text().strip() == "0", f"kedro airflow create failed:\n{log[-4000:]}"
    return base / "airflow_dags"


@pytest.fixture(scope="session")
def registered_nodes() -> dict[str, set[str]]:
    """Pipeline name → its node names, from the project's registry (``kycc.pipeline_registry``)."""
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    return {name: {node.name for node in pipeline.nodes} for name, pipeline in pipelines.items()}


@pytest.fixture(scope="module")
def isolated_env(tmp_path_factory) -> Iterator[Path]:
    """A temporary ``KYCC_DATA_ROOT`` and MLflow store for the module (the project's data stays untouched)."""
    import mlflow
    from mlflow.tracking import fluent

    root = tmp_path_factory.mktemp("orchestration")
    uri, experiment = mlflow.get_tracking_uri(), fluent._active_experiment_id
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KEDRO_DISABLE_TELEMETRY", "1")
        mp.setenv("KYCC_DATA_ROOT", str(root / "data"))
        mp.setenv("KYCC_MLFLOW_URI", f"sqlite:///{root / 'mlflow.db'}")
        mp.setenv("KYCC_MLFLOW_ARTIFACTS", str(root / "mlruns"))
        yield root
    # kedro-mlflow sets the process's tracking URI and experiment: give them back to the other tests
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(uri)
    fluent._active_experiment_id = experiment
