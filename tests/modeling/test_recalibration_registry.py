"""A recalibrated model registered as a new version that inference can load (real sqlite MLflow registry)."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from kycc.modeling.calibration import calibration_metrics, recalibrate
from kycc.modeling.sample_data import make_model_input
from kycc.registry.read import mlflow_registered_model
from kycc.registry.write import register_recalibrated
from tests.modeling.test_calibration import _train_model

NAME = "kycc_recalibration_test"


@pytest.fixture
def tracking(tmp_path):
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("recalibration", artifact_location=str(tmp_path / "artifacts"))
    yield experiment, tmp_path
    mlflow.set_tracking_uri(previous)


def test_recalibrated_version_is_the_champion_inference_loads(tracking):
    experiment, tmp = tracking
    before = make_model_input(6000, start="2023-01-01", n_months=12, seed=3, default_rate=0.15)
    after = make_model_input(6000, start="2024-01-01", n_months=12, seed=4, default_rate=0.30)
    model = _train_model(before)
    oot = before[before["application_date"] >= "2023-12-01"].reset_index(drop=True)
    predictions = oot[["loan_id", "customer_id", "application_date", "label"]].assign(
        window="oot", pd=model.predict_proba(oot)[:, 1], prediction=model.predict(oot)
    )
    windows = {"training_date": "2024-07-01", "label_maturity_months": 6,
               **{w: {"start": s, "end": e} for w, s, e in (("train", "2023-01-01", "2023-09-01"),
                  ("validation", "2023-10-01", "2023-10-01"), ("test", "2023-11-01", "2023-11-01"),
                  ("oot", "2023-12-01", "2023-12-01"))}}  # fmt: skip
    metadata = {"model": "model_1", "threshold": model.threshold, "windows": windows,
                "metrics": {"oot": {"roc_auc": 0.8}}, "training_date": "2024-07-01"}  # fmt: skip
    (tmp / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    predictions.to_parquet(tmp / "predictions.parquet", index=False)
    with mlflow.start_run(experiment_id=experiment):
        mlflow.log_artifact(str(tmp / "metadata.json"), "model_1/artifacts")
        mlflow.log_artifact(str(tmp / "predictions.parquet"), "model_1/artifacts")
        info = mlflow.sklearn.log_model(model, name="model_1", serialization_format="cloudpickle",
                                        pip_requirements=["scikit-learn"])  # fmt: skip
    mlflow.register_model(
        info.model_uri, NAME, tags={"kycc.model": "model_1", "kycc.training_date": "2024-07-01"}
    )
    MlflowClient().set_registered_model_alias(NAME, "champion", 1)

    matured = after[after["application_date"] < "2024-07-01"]
    later = after[after["application_date"] >= "2024-07-01"]
    new = recalibrate(model, matured, "platt")
    out = register_recalibrated(NAME, 1, new, cohorts=["2024-01", "2024-06"], reference_frame=oot)
    assert out["version"] == 2 and out["champion"] and out["calibration"]["method"] == "platt"
    assert MlflowClient().get_registered_model(NAME).aliases == {"champion": 2, "previous_champion": 1}
    tags = MlflowClient().get_model_version(NAME, "2").tags
    assert tags["kycc.recalibrated_from"] == "1" and tags["kycc.training_date"] == "2024-07-01"

    # what inference reads of the champion: the new bundle, the source's windows, the re-scored reference
    card = mlflow_registered_model("model_1", NAME).champion
    assert card.version == 2 and card.metadata["windows"]["train"]["end"] == "2023-09-01"
    assert card.metadata["recalibrated_from"]["version"] == 1
    np.testing.assert_allclose(card.reference["pd"], new.predict_proba(oot)[:, 1])
    pd_later = card.bundle.predict_proba(later)[:, 1]
    ae = calibration_metrics(later["label"].to_numpy(), pd_later)
    assert 0.9 <= ae["ae_ratio"] <= 1.1
    assert calibration_metrics(later["label"].to_numpy(), model.predict_proba(later)[:, 1])["ae_ratio"] > 1.5
    # logged like a trained model: a signature of the model-input columns, an input example, the pyfunc's PD
    info_v2 = mlflow.models.get_model_info(f"models:/{NAME}/2")
    assert set(info_v2.signature.inputs.input_names()) == set(new.preprocessor.features)
    assert info_v2.saved_input_example_info is not None
    features = new.preprocessor.features
    rows = later[features].head(20).astype({c: "float64" for c in features if later[c].dtype.kind in "iub"})
    np.testing.assert_allclose(
        mlflow.pyfunc.load_model(f"models:/{NAME}/2").predict(rows)["pd"].to_numpy(),
        new.predict_proba(later.head(20))[:, 1],
        rtol=1e-9,
    )
    # its run carries the metrics under training's names (what the API, the notebook and the promotion read):
    # the OOT window recomputed on the re-scored reference
    run_metrics = MlflowClient().get_run(MlflowClient().get_model_version(NAME, "2").run_id).data.metrics
    expected = calibration_metrics(oot["label"].to_numpy(), new.predict_proba(oot)[:, 1])
    assert run_metrics["model_1.oot.ae_ratio"] == pytest.approx(expected["ae_ratio"])
    assert run_metrics["model_1.oot.n_samples"] == len(oot) and 0.5 < run_metrics["model_1.oot.roc_auc"] <= 1
