"""Post-hoc PD calibration, its metrics, and ``recalibrate`` on a world whose default rate shifted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from kycc.modeling.calibration import PDCalibrator, calibration_metrics, recalibrate
from kycc.modeling.metrics import score
from kycc.modeling.model import CreditRiskModel
from kycc.modeling.preprocessing import CreditPreprocessor
from kycc.modeling.sample_data import make_model_input

NOT_FEATURES = {"loan_id", "customer_id", "application_date", "label_date", "label"}


def _miscalibrated(n: int, seed: int, shift: float = -1.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from σ(z) and a PD σ(z + shift) that ranks perfectly but predicts the wrong level."""
    rng = np.random.default_rng(seed)
    z = rng.normal(-1.5, 1.2, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return 1 / (1 + np.exp(-(z + shift))), y


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrator_fitted_on_one_sample_brings_another_to_ae_one(method):
    # two independent samples (fixed seeds): the interval statement below holds for 95 % of seed pairs
    fit_pd, fit_y = _miscalibrated(4000, seed=3)
    test_pd, test_y = _miscalibrated(4000, seed=4)
    before = calibration_metrics(test_y, test_pd)
    assert before["ae_ratio"] > 1.5 and before["ae_consistent"] == 0.0  # PD far too low, and significant

    calibrator = PDCalibrator(method).fit(fit_pd, fit_y, fitted_on="validation", months=["2024-01"])
    after = calibration_metrics(test_y, calibrator.transform(test_pd))
    assert 0.9 <= after["ae_ratio"] <= 1.1
    assert after["ae_lower"] < 1 < after["ae_upper"] and after["ae_consistent"] == 1.0
    assert abs(after["calibration_slope"] - 1) < 0.2 and abs(after["calibration_intercept"]) < 0.3
    assert score("brier", test_y, calibrator.transform(test_pd)) < score("brier", test_y, test_pd)
    if method == "platt":  # monotone: the ranking is the same
        assert score("roc_auc", test_y, calibrator.transform(test_pd)) == pytest.approx(
            score("roc_auc", test_y, test_pd), abs=1e-12
        )
        # the true map is logit(p) - shift: intercept ≈ +1 and slope ≈ 1
        assert calibrator.slope_ == pytest.approx(1.0, abs=0.15)
        assert calibrator.intercept_ == pytest.approx(1.0, abs=0.25)
    described = calibrator.describe()
    assert described["method"] == method and described["fitted_on"] == "validation"
    assert described["n_samples"] == 4000 and described["months"] == ["2024-01"]


def test_calibration_metrics_report_counts_interval_and_test():
    y = np.array([1] * 30 + [0] * 170)
    m = calibration_metrics(y, np.full(200, 0.15))
    assert m["expected_defaults"] == pytest.approx(30.0)
    assert m["ae_ratio"] == pytest.approx(1.0) and m["ae_consistent"] == 1.0
    assert m["ae_lower"] < 1 < m["ae_upper"] and m["ae_pvalue"] > 0.5
    assert np.isnan(m["calibration_slope"])  # a constant PD has no slope
    with pytest.raises(ValueError, match="0/1"):
        calibration_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="method must be one of"):
        PDCalibrator("beta").fit([0.1, 0.2], [0, 1])


def _train_model(frame: pd.DataFrame) -> CreditRiskModel:
    features = [c for c in frame.columns if c not in NOT_FEATURES]
    categorical = [
        c for c in features if frame[c].dtype == object or str(frame[c].dtype) in {"str", "string"}
    ]
    prep = CreditPreprocessor(kind="standard", features=features, categorical=categorical).fit(
        frame, frame["label"].to_numpy()
    )
    estimator = LogisticRegression(C=1.0, max_iter=1000).fit(prep.transform(frame), frame["label"])
    return CreditRiskModel(preprocessor=prep, estimator=estimator, threshold=0.3, name="model_1")


def _ae(model: CreditRiskModel, frame: pd.DataFrame) -> dict:
    return calibration_metrics(frame["label"].to_numpy(), model.predict_proba(frame)[:, 1])


def test_recalibrate_on_matured_cohorts_after_a_default_rate_shift():
    # trained on a 15 % default world; later cohorts default twice as often (same features, same link)
    before = make_model_input(6000, start="2023-01-01", n_months=12, seed=3, default_rate=0.15)
    after = make_model_input(6000, start="2024-01-01", n_months=12, seed=4, default_rate=0.30)
    model = _train_model(before)
    matured = after[after["application_date"] < "2024-07-01"]  # the latest matured cohorts: 2024-01..06
    later = after[after["application_date"] >= "2024-07-01"]  # cohorts after the recalibration
    stale = _ae(model, later)
    assert stale["ae_ratio"] > 1.5 and stale["ae_consistent"] == 0.0  # under-predicts, significantly

    new = recalibrate(model, matured, "platt")
    assert new is not model and new.estimator is model.estimator and new.preprocessor is model.preprocessor
    fresh = _ae(new, later)
    assert 0.9 <= fresh["ae_ratio"] <= 1.1, fresh
    assert fresh["ae_consistent"] == 1.0
    # the ranking is the estimator's: same AUC; the decisions on the fitting rows are kept
    auc_old = score("roc_auc", later["label"], model.predict_proba(later)[:, 1])
    auc_new = score("roc_auc", later["label"], new.predict_proba(later)[:, 1])
    assert auc_new == pytest.approx(auc_old, abs=1e-12)
    assert (new.predict(matured) == model.predict(matured)).all()
    card = new.calibrator.describe()
    assert card["months"] == [f"2024-0{m}" for m in range(1, 7)] and card["n_samples"] == len(matured)

    iso = recalibrate(model, matured, "isotonic")
    assert 0.9 <= _ae(iso, later)["ae_ratio"] <= 1.1
    with pytest.raises(ValueError, match="no label column 'bad'"):
        recalibrate(model, matured, "platt", label_column="bad")
    with pytest.raises(TypeError, match="CreditRiskModel"):
        recalibrate(model.estimator, matured)


def test_bundles_pickled_before_calibration_load_without_one():
    model = _train_model(make_model_input(1200, n_months=6, seed=5))
    state = model.__getstate__()
    state.pop("calibrator")
    old = CreditRiskModel.__new__(CreditRiskModel)
    old.__setstate__(state)
    frame = make_model_input(300, n_months=2, seed=6)
    assert old.calibrator is None
    np.testing.assert_allclose(old.predict_proba(frame)[:, 1], model.raw_pd(frame))
