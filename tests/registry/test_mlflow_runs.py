"""MLflow that reads like the cycle, on a real sqlite MLflow through KedroSession (issue #17 item 4).

A generated world → data pipelines → ``training`` for 2024-12 → ``inference`` for 2024-12:

- one run per pipeline run and month, named with the month (``training 2024-12``, ``inference 2024-12``);
- a child run per model under it (``model_1``, ``model_2``, ``mlflow.parentRunId`` = the run), holding that
  model's metrics, parameters, artifacts and logged model; the registered version points at it, and what
  inference reads of the champion (metadata.json, the OOT predictions) is found there;
- the logged model has a signature and an input example, and its pyfunc returns the probability of default
  (``pd``, equal to ``predict_proba[:, 1]``) and the class at the threshold — not 0/1 alone.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow import MlflowClient

from kycc.synthetic import generate
from tests import project_state
from tests.kedro_run import PROJECT_ROOT, env_vars

pytestmark = pytest.mark.slow

FAST_MODEL_2 = {"grid": {"max_depth": [3]}, "params": {"max_iter": 80}}
MODELS = ("model_1", "model_2")


def _end_runs() -> None:
    """No run left active and kedro-mlflow's hook forgets this module's run (as ``kycc backfill`` does): its
    ``before_node_run`` would re-open it in a later session of the process, against another store."""
    from kycc.cycle.backfill import _reset_mlflow_plugin

    _reset_mlflow_plugin()


def _run(pipelines: list[str], params: dict | None = None) -> None:
    _end_runs()
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env="test", runtime_params=params or {}) as session:
        session.run(pipeline_names=pipelines)
    _end_runs()


def _env(root: Path) -> dict[str, str]:
    return {
        "KYCC_DATA_ROOT": str(root / "data"),
        "KYCC_MLFLOW_URI": f"sqlite:///{root / 'mlflow.db'}",
        "KYCC_MLFLOW_ARTIFACTS": str(root / "mlruns"),
    }


def _build(root: Path) -> Path:
    """Data built and ``training`` for 2024-12 (both models champions) in ``root``."""
    with env_vars(**_env(root)):
        generate(root / "data" / "01_raw", n_customers=3000, seed=7)
        _run(["label_store", "feature_store", "model_input"])
        _run(["training"], {"training": {"training_date": "2024-12-01", "models": {"model_2": FAST_MODEL_2}}})
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A trained world, built once per test session across xdist workers (the module's tests may run on both)."""
    previous = mlflow.get_tracking_uri()
    root = project_state.shared(tmp_path_factory, "mlflow_runs_world", _build)
    uri = _env(root)["KYCC_MLFLOW_URI"]
    # the worker that did not build has never opened a session (which points MLflow at the store): point it here
    # (the registry follows the tracking URI; pinning it would outlive this module)
    mlflow.set_tracking_uri(uri)
    with env_vars(**_env(root)):
        yield root, MlflowClient(tracking_uri=uri)
    _end_runs()
    mlflow.set_tracking_uri(previous)


def _runs(client: MlflowClient, filter_string: str):
    experiment = client.get_experiment_by_name("kycc")
    return client.search_runs([experiment.experiment_id], filter_string=filter_string)


def _children(client: MlflowClient, parent_id: str) -> dict[str, object]:
    return {r.info.run_name: r for r in _runs(client, f"tags.mlflow.parentRunId = '{parent_id}'")}


def test_a_training_run_is_named_with_its_month_and_has_a_child_run_per_model(world):
    root, client = world
    (run,) = _runs(client, "attributes.run_name = 'training 2024-12'")
    assert run.info.status == "FINISHED" and mlflow.active_run() is None
    assert run.data.tags["kycc.months"] == "2024-12" and "mlflow.parentRunId" not in run.data.tags
    # the shared steps log into the run: the windows as parameters, the training setup as artifacts
    assert run.data.params["window.training_date"] == "2024-12-01"
    assert {a.path for a in client.list_artifacts(run.info.run_id, "training")} >= {
        "training/training_windows.json",
        "training/data_profile.json",
        "training/training_summary.json",
    }
    assert not any(key.startswith(MODELS) for key in run.data.metrics)  # per-model metrics are the children's

    children = _children(client, run.info.run_id)
    assert set(children) == set(MODELS)
    for model, child in children.items():
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == run.info.run_id
        assert child.data.tags["kycc.model"] == model and child.data.tags["kycc.months"] == "2024-12"
        assert child.data.metrics[f"{model}.oot.roc_auc"] >= 0.6
        assert child.data.metrics[f"{model}.quality_gate_passed"] == 1.0
        assert not any(k.startswith(tuple(m for m in MODELS if m != model)) for k in child.data.metrics)
        # the model's parameters as kedro-mlflow logs them, in its own run
        assert child.data.params[f"training.models.{model}.estimator"]
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id, f"{model}/artifacts")}
        assert {f"{model}/artifacts/metadata.json", f"{model}/artifacts/predictions.parquet"} <= artifacts
        assert {a.path for a in client.list_artifacts(child.info.run_id, f"{model}/plots")} == {
            f"{model}/plots/roc_curve.png",
            f"{model}/plots/calibration_curve.png",
        }
        # the registered version is the child run's logged model
        (version,) = client.search_model_versions(f"name = 'kycc_{model}'")
        assert version.run_id == child.info.run_id and client.get_registered_model(
            f"kycc_{model}"
        ).aliases == {"champion": 1}


def test_the_champion_is_read_from_its_child_run(world):
    root, client = world
    from kycc.registry.read import mlflow_registered_model

    champion = mlflow_registered_model("model_1", "kycc_model_1").champion
    (run,) = _runs(client, "attributes.run_name = 'training 2024-12'")
    assert champion.run_id == _children(client, run.info.run_id)["model_1"].info.run_id
    assert (
        champion.training_date == "2024-12-01"
        and champion.metadata["windows"]["oot"]["start"] == "2024-05-01"
    )
    assert len(champion.reference) > 0 and set(champion.reference["window"]) == {"oot"}
    assert hasattr(champion.bundle, "predict_proba")


def test_the_logged_model_has_a_signature_an_example_and_a_pyfunc_that_returns_the_pd(world):
    root, client = world
    champion = mlflow.sklearn.load_model("models:/kycc_model_1@champion")
    info = mlflow.models.get_model_info("models:/kycc_model_1@champion")
    assert info.signature is not None
    assert set(info.signature.inputs.input_names()) == set(champion.preprocessor.features)
    assert info.signature.outputs.input_names() == ["pd", "prediction"]
    assert info.saved_input_example_info is not None
    example = mlflow.models.Model.load("models:/kycc_model_1@champion").load_input_example()
    assert list(example.columns) == list(champion.preprocessor.features) and len(example) > 0

    rows = pd.read_parquet(root / "data" / "05_model_input" / "model_input.parquet").head(50)
    features = champion.preprocessor.features
    rows = rows[features].astype({c: "float64" for c in features if rows[c].dtype.kind in "iub"})
    scored = mlflow.pyfunc.load_model("models:/kycc_model_1@champion").predict(rows)
    assert list(scored.columns) == ["pd", "prediction"] and len(scored) == len(rows)
    pd_ = scored["pd"].to_numpy()
    assert ((pd_ >= 0) & (pd_ <= 1)).all() and not set(np.unique(pd_)) <= {0.0, 1.0}
    np.testing.assert_allclose(pd_, champion.predict_proba(rows)[:, 1], rtol=1e-12)
    np.testing.assert_array_equal(scored["prediction"].to_numpy(), champion.predict(rows))


def test_an_inference_run_is_named_with_its_month_and_scores_per_model_in_child_runs(world):
    """``kedro run --pipelines inference`` on this state: no scorecard setup step before it (#17 item 3)."""
    root, client = world
    _run(["inference"], {"inference": {"start_month": "2024-12-01", "end_month": "2024-12-01"}})
    (run,) = _runs(client, "attributes.run_name = 'inference 2024-12'")
    assert run.info.status == "FINISHED" and run.data.tags["kycc.months"] == "2024-12"
    children = _children(client, run.info.run_id)
    assert set(children) == set(MODELS)
    assert all(c.data.tags["kycc.model"] == m for m, c in children.items())
    summary = __import__("json").loads(
        (Path(root) / "data" / "08_reporting" / "inference" / "inference_summary.json").read_text()
    )
    assert summary["scorecard"]["scorecard_version"] == "v1_1"  # scorecard.initial_version
    assert [m["status"] for m in summary["models"]] == ["scored", "scored"]
