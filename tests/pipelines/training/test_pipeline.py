"""The training pipeline through an in-memory catalog (no MLflow): windows, models, gates, refusals."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.framework.startup import bootstrap_project
from kedro.runner import SequentialRunner

from kycc.modeling.contract import DataContractError
from kycc.modeling.preprocessing import CreditPreprocessor
from kycc.pipelines.training import create_pipeline, nodes
from kycc.pipelines.training.pipeline import configured_models
from kycc.temporal import InsufficientHistoryError
from tests.pipelines.training.conftest import PROJECT_ROOT, catalog_for, training_params


def _run(model_input, params, models=("model_1", "model_2")):
    pipeline = create_pipeline(list(models))
    catalog = catalog_for(model_input, params, pipeline)
    SequentialRunner().run(pipeline, catalog)
    return catalog


@pytest.fixture(scope="module")
def trained(model_input):
    return _run(model_input, training_params())


def test_windows_are_counted_back_from_the_last_label_month(trained):
    windows = trained.load("mdl_training_windows")
    assert windows["training_date"] == "2024-12-01"  # latest label_date of the table
    assert (windows["train"]["start"], windows["oot"]["end"]) == ("2023-01-01", "2024-05-01")
    profile = trained.load("rpt_training_data_profile")
    assert profile["rows_left_out"]["after_oot"] > 0  # the 2024-06 cohort matured only at T
    assert sum(w["rows"] for w in profile["windows"].values()) == profile["rows_used"]
    data = trained.load("mdl_windowed_input")
    months = data.groupby("_window")["application_date"].agg(["min", "max"])
    assert months.loc["train", "max"] < months.loc["validation", "min"]
    assert months.loc["test", "max"] < months.loc["oot", "min"]


def test_both_models_are_trained_measured_and_pass_the_gates(trained):
    for model in ("model_1", "model_2"):
        evaluation = trained.load(f"{model}.mdl_evaluation")
        metrics = evaluation["metrics"]
        assert set(metrics) == {"train", "validation", "test", "oot"}
        for key in (
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
            "n_defaults",
        ):
            assert np.isfinite(metrics["oot"][key]), (model, key)
        assert metrics["oot"]["roc_auc"] > 0.7 and metrics["test"]["roc_auc"] > 0.7
        assert metrics["oot"]["gini"] == pytest.approx(2 * metrics["oot"]["roc_auc"] - 1)
        assert trained.load(f"{model}.mdl_quality_gate")["passed"]
        metadata = trained.load(f"{model}.mdl_run_metadata")
        assert metadata["data_fingerprint"].startswith("sha256:") and metadata["windows"]["training_date"]
        assert metadata["threshold"] == evaluation["threshold"]
        # no MLflow run here: nothing is registered, and the outcome says why
        outcome = trained.load(f"mdl_registry_result_{model}")
        assert outcome["status"] == "skipped" and "tracking is off" in outcome["reason"]
    assert trained.load("model_1.mdl_run_metadata")["preprocessing"]["kind"] == "woe"
    summary = trained.load("rpt_training_summary")
    assert [m["model"] for m in summary["models"]] == ["model_1", "model_2"]


def test_preprocessing_is_fitted_on_train_only_and_reused(trained):
    prep = trained.load("model_1.mdl_fitted_preprocessing")
    data = trained.load("mdl_windowed_input")
    assert isinstance(prep, CreditPreprocessor)
    n_train = int((data["_window"] == "train").sum())
    feature = prep.feature_names_out_[0]
    assert prep.transformer_.binning_table(feature)["count"].sum() == n_train
    # the packaged model scores raw rows with that same preprocessing
    bundle = trained.load("model_1.mdl_mlflow_model")
    predictions = trained.load("model_1.mdl_run_predictions")
    assert np.allclose(bundle.predict_proba(data)[:, 1], predictions["pd"])
    assert set(predictions["window"]) == {"train", "validation", "test", "oot"}


def test_metrics_for_mlflow_are_per_window(trained):
    metrics = trained.load("model_2.mdl_mlflow_metrics")
    assert metrics["oot.roc_auc"]["step"] == 0 and "test.ks" in metrics and "quality_gate_passed" in metrics
    assert [c["step"] for c in metrics["search.validation_roc_auc"]] == [1, 2]


def test_shuffled_labels_fail_the_auc_gate_and_are_not_registered(model_input):
    shuffled = model_input.assign(label=np.random.default_rng(2).permutation(model_input["label"].to_numpy()))
    catalog = _run(shuffled, training_params(), models=["model_1"])
    gate = catalog.load("model_1.mdl_quality_gate")
    assert not gate["passed"] and any("ROC-AUC" in r for r in gate["reasons"])
    outcome = catalog.load("mdl_registry_result_model_1")
    assert outcome["status"] == "rejected" and outcome["version"] is None


def test_too_few_samples_fail_the_sample_gate(model_input):
    small = model_input.groupby(model_input["application_date"].dt.to_period("M")).head(40)
    catalog = _run(small, training_params(), models=["model_1"])
    reasons = catalog.load("model_1.mdl_quality_gate")["reasons"]
    assert "oot: 40 labelled samples < 100 (training.quality_gates.min_samples)" in reasons


def test_too_little_history_is_refused_with_months_available_and_needed(model_input):
    params = training_params()
    params["training_date"] = "2024-11-01"
    with pytest.raises(InsufficientHistoryError) as err:
        _run(model_input, params, models=["model_1"])
    assert "2022-12..2024-10" in str(err.value) and "2023-01..2024-06" in str(err.value)


def test_labels_from_after_the_training_date_are_refused(model_input):
    late = model_input.assign(label_date=model_input["application_date"] + pd.DateOffset(months=9))
    with pytest.raises(InsufficientHistoryError, match="label date on or after the training date"):
        _run(late, {**training_params(), "training_date": "2024-12-01"}, models=["model_1"])


def test_missing_label_column_says_what_to_do(model_input):
    with pytest.raises(DataContractError, match="no label column 'label'.*training.data_contract"):
        _run(model_input.rename(columns={"label": "target"}), training_params(), models=["model_1"])


def test_a_model_3_is_configuration_only(model_input, tmp_path):
    params = training_params()
    params["models"]["model_3"] = {
        "estimator": "random_forest",
        "preprocessing": {"kind": "native"},
        "params": {"n_estimators": 30, "min_samples_leaf": 30},
        "grid": {"max_depth": [4]},
        "features": ["debt_to_income", "num_of_delayed_payment", "interest_rate", "credit_mix"],
    }
    catalog = _run(model_input, params, models=["model_1", "model_3"])
    assert catalog.load("model_3.mdl_quality_gate")["passed"]
    assert catalog.load("model_3.mdl_run_feature_list")["features"] == params["models"]["model_3"]["features"]
    # the model list itself comes from configuration: a conf/local file adding model_3 is enough
    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf" / "base", conf / "base")
    (conf / "local").mkdir()
    (conf / "local" / "parameters_training.yml").write_text(
        yaml.safe_dump({"training": {"models": {"model_3": params["models"]["model_3"]}}}), encoding="utf-8"
    )
    bootstrap_project(PROJECT_ROOT)  # the project's settings: default env `local`, soft-merged parameters
    assert configured_models(conf_source=conf) == ["model_1", "model_2", "model_3"]
    nodes = {n.name for n in create_pipeline(configured_models(conf_source=conf)).nodes}
    assert "model_3.train_model" in nodes and "model_1.train_model" in nodes


def test_calibration_is_fitted_on_validation_only_and_is_in_the_bundle(trained, model_input):
    data = trained.load("mdl_windowed_input")
    for model in ("model_1", "model_2"):
        calibrator = trained.load(f"{model}.mdl_fitted_calibrator")
        assert calibrator.method == "platt" and calibrator.fitted_on_ == "validation"
        assert calibrator.n_samples_ == int((data["_window"] == "validation").sum())
        assert calibrator.months_ == ["2024-01", "2024-02"]
        # the bundle (what MLflow logs and inference loads) predicts the calibrated PD of the predictions
        bundle = trained.load(f"{model}.mdl_mlflow_model")
        predictions = trained.load(f"{model}.mdl_run_predictions")
        assert bundle.calibrator is calibrator
        assert np.allclose(bundle.predict_proba(data)[:, 1], predictions["pd"])
        assert not np.allclose(bundle.raw_pd(data), predictions["pd"])
        # changing the test/OOT labels does not move the calibrator: they are never used to fit it
        other = data.copy()
        later = other["_window"].isin(["test", "oot"])
        other.loc[later, "label"] = 1 - other.loc[later, "label"]
        refit = nodes.fit_calibration(
            model, bundle.preprocessor, bundle.estimator, other, trained.load("mdl_feature_spec"), {}, {}
        )
        assert (refit.intercept_, refit.slope_) == (calibrator.intercept_, calibrator.slope_)
        metrics = trained.load(f"{model}.mdl_evaluation")["metrics"]
        for window in ("test", "oot"):
            m = metrics[window]
            assert m["ae_lower"] <= m["ae_ratio"] <= m["ae_upper"] and 0 <= m["ae_pvalue"] <= 1
            assert np.isfinite(m["calibration_slope"]) and np.isfinite(m["uncalibrated_ae_ratio"])
        metadata = trained.load(f"{model}.mdl_run_metadata")
        assert metadata["calibration"]["method"] == "platt"
    summary = trained.load("rpt_training_summary")
    assert "calibration platt (fitted on validation 2024-01..2024-02)" in summary["text"]
    assert "oot A/E" in summary["text"]


def test_the_recent_layout_trains_on_the_latest_matured_cohorts(model_input):
    params = training_params()
    params["windows"]["layout"] = "recent"
    catalog = _run(model_input, params, models=("model_1",))
    windows = catalog.load("mdl_training_windows")
    assert windows["layout"] == "recent" and windows["training_date"] == "2024-12-01"
    assert (windows["train"]["start"], windows["train"]["end"]) == (
        "2023-06-01",
        "2024-02-01",
    )  # T-18 .. T-10
    assert [windows[w]["start"] for w in ("validation", "test", "oot")] == [
        "2024-03-01",
        "2024-04-01",
        "2024-05-01",
    ]
    assert catalog.load("model_1.mdl_quality_gate")["passed"]
    assert catalog.load("model_1.mdl_fitted_calibrator").months_ == ["2024-03"]
