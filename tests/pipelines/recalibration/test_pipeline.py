"""The recalibration step for a month (#11.2), through Kedro against a real sqlite MLflow registry: a recalibrate
decision of M - 1 gives a new version (same estimator) that becomes the champion, the scorecard's score -> PD
calibration in force from M, and a better A/E on the cohorts that mature later; a re-run registers nothing new."""

from __future__ import annotations

import json

import ibis
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.runner import SequentialRunner
from mlflow import MlflowClient

from kycc.modeling.calibration import calibration_metrics
from kycc.modeling.sample_data import make_model_input
from kycc.pipelines.recalibration import create_pipeline
from kycc.pipelines.recalibration.nodes import matured_cohorts
from kycc.registry.read import mlflow_registered_model
from kycc.scorecard.calibration import calibrations_in_force, labelled_history
from kycc.scorecard.definition import ScorecardDefinition
from tests.conftest import PROJECT_ROOT
from tests.inference.cards import SCORECARD, memory_catalog, scorecard_versions
from tests.modeling.test_calibration import _train_model

NAME = "kycc_model_1"
WINDOWS = {
    "training_date": "2024-07-01",
    "label_maturity_months": 6,
    "train": {"start": "2023-01-01", "end": "2023-09-01"},
    "validation": {"start": "2023-10-01", "end": "2023-10-01"},
    "test": {"start": "2023-11-01", "end": "2023-11-01"},
    "oot": {"start": "2023-12-01", "end": "2023-12-01"},
}
PARAMS = {"month": "2025-01-01", "decided_month": "2024-12-01", "models": None, "method": "platt", "cohorts": 3,
          "min_defaults": 20, "scorecard": True}  # fmt: skip
CONTRACT = {"date_column": "application_date", "label_column": "label", "id_columns": ["loan_id", "customer_id"],
            "label_date_column": "label_date"}  # fmt: skip
ACTIONS = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_actions.yml").read_text())["actions"]
CALIBRATION = {"months": 12, "min_samples": 50, "min_defaults": 5, "refresh_every_months": 3,
               "prior": {"score": 600, "pd": 0.1, "pdo": 60}}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A model trained on a 15 % default book (2023); from 2024 the same loans default twice as often."""
    tmp = tmp_path_factory.mktemp("recalibration")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    experiment = mlflow.create_experiment("kycc", artifact_location=str(tmp / "artifacts"))
    before = make_model_input(6000, start="2023-01-01", n_months=12, seed=3, default_rate=0.15)
    after = make_model_input(6000, start="2024-01-01", n_months=12, seed=4, default_rate=0.30)
    after["loan_id"] = after["loan_id"].astype(str) + "-b"
    data = pd.concat([before, after], ignore_index=True)
    model = _train_model(before[before["application_date"] < "2023-10-01"])
    oot = data[data["application_date"].dt.strftime("%Y-%m") == "2023-12"].reset_index(drop=True)
    predictions = oot[["loan_id", "customer_id", "application_date", "label"]].assign(
        window="oot", pd=model.predict_proba(oot)[:, 1], prediction=model.predict(oot)
    )
    metadata = {"model": "model_1", "threshold": model.threshold, "windows": WINDOWS, "training_date": "2024-07-01",
                "metrics": {"oot": {"roc_auc": 0.8}}}  # fmt: skip
    (tmp / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    predictions.to_parquet(tmp / "predictions.parquet", index=False)
    with mlflow.start_run(experiment_id=experiment, run_name="training"):
        mlflow.log_artifact(str(tmp / "metadata.json"), "model_1/artifacts")
        mlflow.log_artifact(str(tmp / "predictions.parquet"), "model_1/artifacts")
        info = mlflow.sklearn.log_model(model, name="model_1", serialization_format="cloudpickle",
                                        pip_requirements=["scikit-learn"])  # fmt: skip
    mlflow.register_model(
        info.model_uri, NAME, tags={"kycc.model": "model_1", "kycc.training_date": "2024-07-01"}
    )
    MlflowClient().set_registered_model_alias(NAME, "champion", 1)
    yield data, model
    mlflow.set_tracking_uri(previous)


def _decisions(decision: str, version: int = 1, month: str = "2024-12-01") -> pd.DataFrame:
    before = f"{pd.Timestamp(month) - pd.DateOffset(months=1):%Y-%m-%d}"
    return pd.DataFrame(
        {"snapshot_date": pd.to_datetime([before, month]), "model": "model_1",
         "model_version": [1, version], "decision": ["active_monitoring", decision], "ae_ratio": [1.4, 1.6],
         "ae_lower": [1.2, 1.4], "ae_upper": [1.6, 1.8], "ae_pvalue": [0.001, 0.0001]}
    )  # fmt: skip


def _run(data: pd.DataFrame, decisions: pd.DataFrame, versions: dict | None = None, params=PARAMS) -> dict:
    pipeline = create_pipeline(["model_1"])
    features = data.drop(columns=["label", "label_date"]).assign(snapshot_date=data["application_date"])
    labels = data[["loan_id", "customer_id", "label"]].assign(snapshot_date=data["label_date"])
    catalog = memory_catalog(
        pipeline,
        {
            "model_1.mdl_registered_model": mlflow_registered_model("model_1", NAME),
            "model_1.out_action_decisions": decisions,
            "mdl_model_input": data,
            "mdl_scorecard_versions": versions or scorecard_versions(),
            "feat_gold_features": ibis.memtable(features),
            "feat_gold_labels": ibis.memtable(labels),
            "params:recalibration": params,
            "params:training.data_contract": CONTRACT,
            "params:scorecard.calibration": CALIBRATION,
            "params:actions": ACTIONS,
        },
    )
    SequentialRunner().run(pipeline, catalog)
    return {name: catalog.load(name) for name in pipeline.all_outputs()}


def test_the_fitting_rows_are_the_latest_matured_cohorts_only(world):
    data, _ = world
    rows, cohorts, left_out = matured_cohorts(data, pd.Timestamp("2025-01-01").date(), 3, windows=WINDOWS)
    assert cohorts == ["2024-04", "2024-05", "2024-06"] and left_out == []
    assert (rows["label_date"] < "2025-01-01").all() and len(rows) == data["application_date"].between(
        "2024-04-01", "2024-06-30"
    ).sum()
    # the batch-lag rule: cohorts in the train/validation windows are never fitting rows
    early_rows, early, refused = matured_cohorts(data, pd.Timestamp("2024-07-01").date(), 3, windows=WINDOWS)
    assert early == ["2023-11", "2023-12"] and refused == ["2023-10"]  # validation month left out
    assert set(early_rows["application_date"].dt.strftime("%Y-%m")) == {"2023-11", "2023-12"}


def test_a_recalibrate_decision_registers_a_champion_whose_later_cohorts_are_calibrated(world):
    data, model = world
    client = MlflowClient()
    client.set_registered_model_alias(NAME, "champion", 1)  # whatever another test of this module did before
    new_version = len(client.search_model_versions(f"name = '{NAME}'")) + 1
    out = _run(data, _decisions("recalibrate"))
    result = out["rcl_result_model_1"]
    assert result["status"] == "ran", result
    assert result["source_version"] == 1 and result["version"] == new_version and result["champion"]
    assert result["cohorts"] == ["2024-04", "2024-05", "2024-06"] and result["decided_month"] == "2024-12-01"
    aliases = client.get_registered_model(NAME).aliases
    assert aliases["champion"] == new_version and aliases["previous_champion"] == 1
    tags = client.get_model_version(NAME, str(new_version)).tags
    assert tags["kycc.recalibrated_from"] == "1" and tags["kycc.recalibrated_at"] == "2025-01-01"
    assert tags["kycc.recalibrated_on"] == "2024-04,2024-05,2024-06"

    # the new champion, as inference loads it: same estimator and windows, a new calibration
    card = mlflow_registered_model("model_1", NAME).champion
    assert card.version == new_version and card.metadata["windows"] == WINDOWS
    assert card.metadata["calibration"]["months"] == ["2024-04", "2024-05", "2024-06"]
    new = card.bundle
    later = data[data["application_date"] >= "2024-07-01"]  # matured 2025-01..2025-06: after the decision
    y = later["label"].to_numpy()
    old_ae = calibration_metrics(y, model.predict_proba(later)[:, 1])
    new_ae = calibration_metrics(y, new.predict_proba(later)[:, 1])
    assert old_ae["ae_ratio"] > 1.5 and old_ae["ae_consistent"] == 0.0
    assert 0.9 <= new_ae["ae_ratio"] <= 1.1 and abs(new_ae["ae_ratio"] - 1) < abs(old_ae["ae_ratio"] - 1)
    np.testing.assert_allclose(new.raw_pd(later), model.raw_pd(later))  # the same estimator
    # the OOT reference (the score PSI's) is re-scored by the new bundle
    oot = data[data["application_date"].dt.strftime("%Y-%m") == "2023-12"]
    np.testing.assert_allclose(np.sort(card.reference["pd"]), np.sort(new.predict_proba(oot)[:, 1]))

    # the scorecard's score -> PD calibration in force from 2025-01, fitted on labels known before it
    (calibration,) = out["rcl_scorecard_calibration_log"]["calibrations"]
    assert calibration["fitted_on"]["valid_from"] == "2025-01-01"
    assert calibration["fitted_on"]["labels_before"] == "2025-01-01"
    assert calibration["fitted_on"]["months"] == "2023-07..2024-06"
    assert f"model_1 v1 -> v{new_version}" in calibration["refresh_reason"]
    # inference's own mechanism takes it as the calibration in force in 2025-01 (no refit due) and refits 3 months on
    definition = ScorecardDefinition.from_dict(SCORECARD, version="t1")
    history = labelled_history(data, data[["loan_id", "label"]].assign(snapshot_date=data["label_date"]),
                               definition.feature_names)  # fmt: skip
    by_month, fitted = calibrations_in_force(
        definition, history, ["2025-01-01", "2025-02-01", "2025-04-01"], [calibration], refresh_every_months=3
    )
    assert by_month["2025-01-01"] == calibration and by_month["2025-02-01"] == calibration
    assert [c["fitted_on"]["valid_from"] for c in fitted] == ["2025-04-01"]
    summary = out["rpt_recalibration_summary"]
    assert summary["models"]["model_1"]["version"] == new_version and summary["scorecard"]["status"] == "ran"
    assert list(out["rpt_recalibration_reports"]) == ["recalibration_2025_01"]

    # a re-run of the month registers nothing new and stores no second scorecard calibration
    stored = {**scorecard_versions(), "calibrations": {"t1": [calibration]}}
    again = _run(data, _decisions("recalibrate"), versions=stored)
    assert (
        again["rcl_result_model_1"]["status"] == "kept"
        and again["rcl_result_model_1"]["version"] == new_version
    )
    assert again["rcl_scorecard_calibration_log"]["calibrations"] == []
    assert again["rcl_scorecard_result"]["status"] == "kept"
    assert len(client.search_model_versions(f"name = '{NAME}'")) == new_version


def test_no_recalibrate_decision_or_a_replaced_champion_registers_nothing(world):
    data, _ = world
    versions = len(MlflowClient().search_model_versions(f"name = '{NAME}'"))
    out = _run(data, _decisions("active_monitoring"))
    assert out["rcl_result_model_1"]["status"] == "skipped"
    assert "was active_monitoring, not recalibrate" in out["rcl_result_model_1"]["reason"]
    assert out["rcl_scorecard_result"] == {"status": "skipped", "reason": "no model recalibrated"}
    # the decision judged v1 but the champion is another version (here: v2 after the test above, or v1 alone)
    champion = MlflowClient().get_model_version_by_alias(NAME, "champion").version
    judged = 7
    out = _run(data, _decisions("recalibrate", version=judged))
    assert out["rcl_result_model_1"]["status"] == "skipped"
    assert f"decided on v{judged}, the champion is now v{champion}" in out["rcl_result_model_1"]["reason"]
    assert len(MlflowClient().search_model_versions(f"name = '{NAME}'")) == versions


def test_a_level_error_the_fitting_cohorts_do_not_share_is_not_recalibrated(world):
    """recalibration.confirm: the judged cohort said recalibrate, but the latest matured cohorts pooled are calibrated
    (here the champion's own test/OOT months, 2023-11..12, at the default rate it was trained on)."""
    data, _ = world
    MlflowClient().set_registered_model_alias(NAME, "champion", 1)  # v1 judged and champion (a rollback)
    versions = len(MlflowClient().search_model_versions(f"name = '{NAME}'"))
    params = {**PARAMS, "month": "2024-07-01", "decided_month": "2024-06-01"}
    out = _run(data, _decisions("recalibrate", version=_champion(), month="2024-06-01"), params=params)
    result = out["rcl_result_model_1"]
    assert result["status"] == "skipped" and result["cohorts"] == ["2023-11", "2023-12"]
    assert result["reason"].startswith("not confirmed on the fitting rows: 2023-11, 2023-12 pooled")
    assert 0.85 < result["fitting_rows_before"]["ae_ratio"] < 1.15
    assert len(MlflowClient().search_model_versions(f"name = '{NAME}'")) == versions
    # without the confirmation the same decision is carried out on those rows
    out = _run(data, _decisions("recalibrate", version=_champion(), month="2024-06-01"),
               params={**params, "confirm": False})  # fmt: skip
    assert out["rcl_result_model_1"]["status"] == "ran"
    assert len(MlflowClient().search_model_versions(f"name = '{NAME}'")) == versions + 1


def _champion() -> int:
    return int(MlflowClient().get_model_version_by_alias(NAME, "champion").version)
