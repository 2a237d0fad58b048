"""Training end to end through KedroSession, logging to a temporary sqlite MLflow.

1. A generated world (``kycc.synthetic.generate``) → label_store → feature_store → model_input → training: the
   run is in MLflow with its metrics, parameters and artifacts, and both models are registered as champions.
2. A second run with a worse model_1 registers a new version but leaves the champion where it was.
3. Bring your own data: a CSV unlike the synthetic table, pointed at from conf/local, trains without code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow import MlflowClient

from kycc.modeling.sample_data import make_model_input
from kycc.synthetic import generate
from tests.pipelines.training.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow

FAST_MODEL_2 = {"grid": {"max_depth": [3]}, "params": {"max_iter": 80}}


def _end_mlflow_runs() -> None:
    """kedro-mlflow 2.0.3 leaves its run active after a session (kedro 1.x runs nodes in a worker thread and the
    plugin re-opens the run there): a second session in the same process would log into the first run."""
    while mlflow.active_run():
        mlflow.end_run()


def _run(
    data_root: Path,
    pipelines: list[str],
    params: dict | None = None,
    conf_source: Path | None = None,
    env: str | None = "test",
) -> None:
    _end_mlflow_runs()
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(
        project_path=PROJECT_ROOT,
        env=env,
        runtime_params=params or {},
        conf_source=str(conf_source) if conf_source else None,
    ) as session:
        session.run(pipeline_names=pipelines)
    _end_mlflow_runs()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Data and MLflow (tracking DB and artifacts) under ``tmp_path``."""
    monkeypatch.chdir(tmp_path)  # MLflow puts the experiment's artifacts under ./mlruns
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path / "data"))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("KYCC_MLFLOW_URI", uri)
    previous = mlflow.get_tracking_uri()
    yield tmp_path, MlflowClient(tracking_uri=uri)
    mlflow.set_tracking_uri(previous)


def _training_runs(client: MlflowClient, name: str = "training"):
    experiment = client.get_experiment_by_name("kycc")
    return client.search_runs(
        [experiment.experiment_id],
        filter_string=f"attributes.run_name = '{name}'",
        order_by=["attributes.start_time ASC"],
    )


def _model_runs(client: MlflowClient, run) -> dict:
    """The run's child runs, one per model (``model_1``, ``model_2``): each holds its model's metrics,
    parameters, artifacts and logged model."""
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    return {child.info.run_name: child for child in children}


def _metrics(client: MlflowClient, run) -> dict:
    """The run's metrics and its models' (``model_1.oot.roc_auc`` is in the child run ``model_1``)."""
    merged = dict(run.data.metrics)
    for child in _model_runs(client, run).values():
        merged.update(child.data.metrics)
    return merged


def test_generated_world_trains_logs_and_registers_then_a_worse_model_leaves_the_champion(isolated):
    root, client = isolated
    data = root / "data"
    generate(data / "01_raw", n_customers=3000, seed=7)
    _run(data, ["label_store", "feature_store", "model_input"])
    _run(
        data,
        ["training"],
        {"training": {"training_date": "2024-12-01", "models": {"model_2": FAST_MODEL_2}}},
    )

    # the run is named with its month, tagged, and ended (no MLflow run outlives the session)
    (run,) = _training_runs(client, "training 2024-12")
    assert run.info.status == "FINISHED" and mlflow.active_run() is None
    assert run.data.tags["kycc.months"] == "2024-12" and run.data.tags["kycc.pipelines"] == "training"
    children = _model_runs(client, run)
    assert set(children) == {"model_1", "model_2"}
    metrics, params = _metrics(client, run), {**run.data.params, **children["model_1"].data.params}
    for model in ("model_1", "model_2"):
        for window in ("test", "oot"):
            for metric in (
                "roc_auc",
                "gini",
                "ks",
                "accuracy",
                "precision",
                "recall",
                "f1",
                "brier",
                "default_rate",
                "n_samples",
                # calibration (fitted on validation; measured on test and OOT)
                "ae_ratio",
                "ae_lower",
                "ae_upper",
                "ae_pvalue",
                "calibration_slope",
                "calibration_intercept",
                "uncalibrated_ae_ratio",
            ):
                assert f"{model}.{window}.{metric}" in metrics
        assert metrics[f"{model}.oot.roc_auc"] >= 0.6 and metrics[f"{model}.quality_gate_passed"] == 1.0
    assert params["window.training_date"] == "2024-12-01" and params["window.oot.start"] == "2024-05-01"
    assert params["training.models.model_1.estimator"] == "logistic_regression"
    artifacts = {a.path for a in client.list_artifacts(children["model_1"].info.run_id, "model_1/plots")}
    assert artifacts == {"model_1/plots/roc_curve.png", "model_1/plots/calibration_curve.png"}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "training")} >= {
        "training/training_windows.json",
        "training/data_profile.json",
    }

    # registry: both models are champions, and the champion scores model-input rows
    for name in ("kycc_model_1", "kycc_model_2"):
        assert client.get_registered_model(name).aliases == {"champion": 1}
    champion = mlflow.sklearn.load_model("models:/kycc_model_1@champion")
    rows = pd.read_parquet(data / "05_model_input" / "model_input.parquet").head(5)
    assert champion.predict_proba(rows).shape == (5, 2)
    # the registered model predicts the calibrated PD (Platt on validation), not the estimator's own
    assert champion.calibrator is not None and champion.calibrator.method == "platt"
    assert not np.allclose(champion.predict_proba(rows)[:, 1], champion.raw_pd(rows))
    # the logged model has a signature (the model-input columns) and an input example, and its pyfunc returns
    # the PD the bundle gives (column pd) and the class at the threshold (prediction)
    info = mlflow.models.get_model_info("models:/kycc_model_1@champion")
    assert info.signature is not None
    assert set(info.signature.inputs.input_names()) == set(champion.preprocessor.features)
    assert info.saved_input_example_info is not None
    pyfunc = mlflow.pyfunc.load_model("models:/kycc_model_1@champion")
    example = rows[champion.preprocessor.features].astype(
        {c: "float64" for c in champion.preprocessor.features if rows[c].dtype.kind in "iub"}
    )
    np.testing.assert_allclose(
        pyfunc.predict(example)["pd"].to_numpy(), champion.predict_proba(rows)[:, 1], rtol=1e-9
    )
    assert not hasattr(champion, "input_example_")  # dropped before pickling

    # local artifacts
    folder = data / "06_models" / "model_1"
    for name in ("model.pkl", "preprocessing.pkl", "features.json", "metadata.json"):
        assert (folder / name).is_file(), name
    report = data / "08_reporting" / "training"
    assert (report / "model_1" / "registry.json").is_file() and (report / "training_windows.json").is_file()
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["windows"]["oot"]["start"] == "2024-05-01"
    assert metadata["data_fingerprint"].startswith("sha256:") and metadata["quality_gate"]["passed"]
    assert (
        metadata["calibration"]["method"] == "platt" and metadata["calibration"]["fitted_on"] == "validation"
    )
    assert metadata["calibration"]["months"] == [
        "2024-01",
        "2024-02",
    ]  # the validation window, never test/OOT
    first_auc = metrics["model_1.oot.roc_auc"]

    # a second run with a worse model_1 (two weak features; gate lowered so that it is registered): a new
    # version, but the champion stays
    worse = {
        "training": {
            "quality_gates": {"min_roc_auc": 0.55},
            "models": {"model_1": {"features": ["num_credit_inquiries", "tenure"]}, "model_2": FAST_MODEL_2},
        }
    }
    _run(data, ["training"], worse)
    second = _training_runs(client)[-1]
    second_metrics = _metrics(client, second)
    assert second_metrics["model_1.oot.roc_auc"] < first_auc
    outcome = json.loads((data / "08_reporting" / "training" / "model_1" / "registry.json").read_text())
    assert outcome["status"] == "registered" and outcome["version"] == 2 and not outcome["champion"]
    # compared on the same rows: the champion v1 scored on this run's OOT window (the same month here, so its
    # AUC there is the one it recorded) with a paired DeLong test
    comparison = outcome["comparison"]
    assert comparison["champion_version"] == 1 and comparison["months"] == ["2024-05"]
    assert comparison["comparison"]["champion_auc"] == pytest.approx(first_auc, abs=1e-9)
    assert comparison["comparison"]["candidate_auc"] == pytest.approx(second_metrics["model_1.oot.roc_auc"])
    assert second_metrics["model_1.promotion.champion_auc"] == pytest.approx(first_auc, abs=1e-9)
    assert "paired DeLong" in outcome["reason"]
    assert client.get_registered_model("kycc_model_1").aliases == {"champion": 1}
    summary = json.loads((data / "08_reporting" / "training" / "training_summary.json").read_text())
    assert summary["models"][0]["champion_version"] == 1


def test_bring_your_own_data_with_other_column_names(isolated):
    root, client = isolated
    renames = {
        "application_date": "opened_on",
        "label": "bad_flag",
        "loan_id": "account_no",
        "debt_to_income": "dti_ratio",
        "annual_income": "income_usd",
        "credit_mix": "bureau_mix",
        "num_of_delayed_payment": "late_payments",
        "occupation": "job",
    }
    own = (
        make_model_input(5000, n_months=18, seed=4)
        .drop(columns=["customer_id", "label_date"])
        .rename(columns=renames)
    )
    own["opened_on"] = own["opened_on"].dt.strftime("%Y-%m-%d")  # a plain CSV export
    table = root / "my_loans.csv"
    own.to_csv(table, index=False)

    conf = root / "conf"
    shutil.copytree(PROJECT_ROOT / "conf" / "base", conf / "base")
    (conf / "local").mkdir()
    (conf / "local" / "catalog_model_input.yml").write_text(
        yaml.safe_dump({"mdl_model_input": {"type": "pandas.CSVDataset", "filepath": str(table)}}),
        encoding="utf-8",
    )
    (conf / "local" / "parameters_training.yml").write_text(
        yaml.safe_dump(
            {
                "training": {
                    "data_contract": {
                        "date_column": "opened_on",
                        "label_column": "bad_flag",
                        "id_columns": ["account_no"],
                        "label_date_column": None,
                        "exclude_columns": [],
                        "features": None,
                        "categorical": None,
                    }
                }
            }
        ),
        encoding="utf-8",
    )

    _run(
        root / "data",
        ["training"],
        {"training": {"models": {"model_2": FAST_MODEL_2}}},
        conf_source=conf,
        env=None,
    )

    features = json.loads((root / "data" / "06_models" / "model_1" / "features.json").read_text())
    assert {"dti_ratio", "income_usd", "bureau_mix", "late_payments", "job"} <= set(features["features"])
    assert "bad_flag" not in features["features"] and "account_no" not in features["features"]
    windows = json.loads((root / "data" / "08_reporting" / "training" / "training_windows.json").read_text())
    # the last application month 2024-06 matured at 2024-12: it is the OOT cohort of T = 2025-01
    assert windows["training_date"] == "2025-01-01" and windows["oot"]["start"] == "2024-06-01"
    (run,) = _training_runs(client)
    assert _metrics(client, run)["model_1.oot.roc_auc"] > 0.7
    assert client.get_registered_model("kycc_model_1").aliases == {"champion": 1}
