"""Per-world state follows the data root: the MLflow store (runs and registry), the scorecard store, the API's
runs — unless given explicitly (issue 15: ``make run DATA_ROOT=/other`` must not find the first world's champion).
"""

from __future__ import annotations

import os
import subprocess
import sys

import mlflow
import numpy as np
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from kycc.paths import MLFLOW_DB, data_path, mlflow_artifact_location, mlflow_tracking_uri
from tests.conftest import PROJECT_ROOT

EXPLICIT = ("KYCC_MLFLOW_URI", "MLFLOW_TRACKING_URI", "KYCC_MLFLOW_ARTIFACTS", "KYCC_SCORECARD_DB")


@pytest.fixture
def no_explicit_store(monkeypatch):
    """No explicit MLflow/scorecard store in the environment; MLflow's global URI restored afterwards."""
    import kycc.paths

    for name in EXPLICIT:
        monkeypatch.delenv(name, raising=False)
    # kycc.paths reads MLFLOW_TRACKING_URI once, at its import; imported lazily after another test's Kedro session
    # (kedro-mlflow's set_tracking_uri writes the variable), it would hold that test's store as "explicit"
    monkeypatch.setattr(kycc.paths, "_MLFLOW_TRACKING_URI_AT_START", None)
    previous = mlflow.get_tracking_uri()
    yield monkeypatch
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(previous)


def _context(monkeypatch, data_root):
    """A real Kedro context of the project for ``data_root`` (kedro-mlflow's hook sets the tracking URI)."""
    monkeypatch.setenv("KYCC_DATA_ROOT", str(data_root))
    bootstrap_project(PROJECT_ROOT)
    session = KedroSession.create(project_path=PROJECT_ROOT, env="test")
    return session, session.load_context()


@pytest.mark.slow
def test_each_data_root_has_its_own_mlflow_registry_scorecard_store_and_api_runs(no_explicit_store, tmp_path):
    from kycc.api.config import load_api_settings

    for world in ("world_a", "world_b"):
        root = tmp_path / world
        session, context = _context(no_explicit_store, root)
        with session:
            db = root / "06_models" / "mlflow.db"
            assert context.config_loader["mlflow"]["server"]["mlflow_tracking_uri"] == f"sqlite:///{db}"
            assert mlflow.get_tracking_uri() == f"sqlite:///{db}" and db.is_file()
            experiment = mlflow.get_experiment_by_name("kycc")
            assert experiment.artifact_location.endswith(f"{world}/06_models/mlruns")
            store = context.config_loader["catalog"]["mdl_scorecard_versions"]["url"]
            assert store == f"sqlite:///{root}/06_models/scorecard/scorecard.db"
            registered = context.catalog.load("model_1.mdl_registered_model")
            if world == "world_a":  # a champion in world A …
                assert registered.champion_version is None
                X = np.random.default_rng(0).normal(size=(60, 2))
                model = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
                with mlflow.start_run():
                    info = mlflow.sklearn.log_model(model, name="model_1", pip_requirements=["scikit-learn"])
                version = mlflow.register_model(info.model_uri, "kycc_model_1")
                MlflowClient().set_registered_model_alias("kycc_model_1", "champion", version.version)
                assert context.catalog.load("model_1.mdl_registered_model").champion_version == 1
            else:  # … is not seen from world B, whose registry is empty
                assert registered.champion_version is None
                assert MlflowClient().search_registered_models() == []
        api = load_api_settings(env="test", project_root=PROJECT_ROOT, require_key=False)
        assert api.runs_dir == root / "08_reporting" / "api_runs"

    session, context = _context(no_explicit_store, tmp_path / "world_a")  # back in world A: still there
    with session:
        assert context.catalog.load("model_1.mdl_registered_model").champion_version == 1


def _resolve_in_a_new_process(env: dict[str, str], data_root: str) -> list[str]:
    code = (
        "import os, sys; from kycc.paths import mlflow_tracking_uri as t, mlflow_artifact_location as a; "
        # what mlflow.set_tracking_uri (a previous session) does in-process
        "os.environ['MLFLOW_TRACKING_URI'] = 'sqlite:///elsewhere.db'; "
        "print(t(sys.argv[1])); print(a(sys.argv[1]))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in EXPLICIT}
    done = subprocess.run(
        [sys.executable, "-c", code, data_root],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_an_explicit_store_wins_over_the_data_root(no_explicit_store, tmp_path):
    root = str(tmp_path / "world")
    assert mlflow_tracking_uri(root) == f"sqlite:///{tmp_path}/world/06_models/mlflow.db"
    assert mlflow_artifact_location(root) == f"{tmp_path}/world/06_models/mlruns"
    # MLFLOW_TRACKING_URI given when the process starts wins; the one mlflow itself sets in-process does not
    assert _resolve_in_a_new_process({"MLFLOW_TRACKING_URI": "http://127.0.0.1:5999"}, root) == [
        "http://127.0.0.1:5999",
        "None",  # the tracking server decides where artifacts go
    ]
    assert _resolve_in_a_new_process({}, root) == [
        f"sqlite:///{tmp_path}/world/06_models/mlflow.db",
        f"{tmp_path}/world/06_models/mlruns",
    ]
    explicit = {"KYCC_MLFLOW_URI": f"sqlite:///{tmp_path}/explicit.db", "KYCC_MLFLOW_ARTIFACTS": "/srv/art"}
    assert _resolve_in_a_new_process({**explicit, "MLFLOW_TRACKING_URI": "http://x"}, root) == [
        f"sqlite:///{tmp_path}/explicit.db",
        "/srv/art",
    ]
    # a relative data root is the project's (not the working directory's)
    no_explicit_store.chdir(tmp_path)
    assert data_path("data", MLFLOW_DB) == PROJECT_ROOT / "data" / "06_models" / "mlflow.db"
