"""Preprocessing kinds (fit once, apply everywhere), the model factory and hyperparameter selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kycc.modeling.estimators import build_estimator, select_hyperparameters
from kycc.modeling.model import CreditRiskModel
from kycc.modeling.preprocessing import CreditPreprocessor
from kycc.modeling.sample_data import make_model_input

FEATURES = ["debt_to_income", "annual_income", "interest_rate", "fe_3", "credit_mix", "occupation"]
CATEGORICAL = ["credit_mix", "occupation"]


@pytest.fixture(scope="module")
def split():
    frame = make_model_input(3000, n_months=10, seed=5)
    cut = frame["application_date"] < "2023-08-01"
    return frame[cut], frame[~cut]


@pytest.mark.parametrize("kind", ["woe", "standard", "native"])
def test_each_kind_fits_on_train_and_applies_to_new_rows(split, kind):
    train, new = split
    prep = CreditPreprocessor(kind, FEATURES, CATEGORICAL).fit(train, train["label"])
    out = prep.transform(new)
    assert list(out.columns) == prep.feature_names_out_ and out.index.equals(new.index)
    assert out.dtypes.map(pd.api.types.is_float_dtype).all()
    if kind != "native":
        assert out.notna().all().all()  # WoE and imputation leave no gaps
    unseen = new.head(3).assign(occupation="Astronaut", credit_mix=None)
    assert prep.transform(unseen).shape == (3, len(prep.feature_names_out_))


def test_woe_min_iv_drops_useless_features(split):
    train, _ = split
    prep = CreditPreprocessor("woe", FEATURES, CATEGORICAL, {"min_iv": 0.05}).fit(train, train["label"])
    assert "fe_3" not in prep.feature_names_out_  # pure noise in the sample data
    assert "debt_to_income" in prep.feature_names_out_
    assert prep.describe()["information_value"]["fe_3"] < 0.05
    weakest = CreditPreprocessor("woe", ["fe_3", "fe_1"], [], {"min_iv": 5.0}).fit(train, train["label"])
    assert weakest.feature_names_out_ == ["fe_1"]  # nothing reaches 5.0: the strongest is kept, gates decide


def test_preprocessing_errors(split):
    train, new = split
    with pytest.raises(ValueError, match="preprocessing.kind must be one of"):
        CreditPreprocessor("scale", FEATURES, CATEGORICAL).fit(train, train["label"])
    prep = CreditPreprocessor("native", FEATURES, CATEGORICAL).fit(train)
    with pytest.raises(ValueError, match=r"lacks 1 feature column\(s\).*\['fe_3'\]"):
        prep.transform(new.drop(columns="fe_3"))
    with pytest.raises(ValueError, match="not fitted yet"):
        CreditPreprocessor("native", FEATURES, CATEGORICAL).transform(new)


def test_model_factory():
    assert build_estimator("random_forest", {"n_estimators": 10}).n_estimators == 10
    assert type(build_estimator("sklearn.neighbors.KNeighborsClassifier")).__name__ == "KNeighborsClassifier"
    with pytest.raises(ValueError, match="Unknown estimator 'xgboost'"):
        build_estimator("xgboost")
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['depth'\]"):
        build_estimator("random_forest", {"depth": 3})
    with pytest.raises(ValueError, match="has no predict_proba"):
        build_estimator("sklearn.svm.LinearSVC")


def test_hyperparameters_are_chosen_on_validation(split):
    train, valid = split
    prep = CreditPreprocessor("woe", FEATURES, CATEGORICAL).fit(train, train["label"])
    Xt, Xv = prep.transform(train), prep.transform(valid)
    model, results = select_hyperparameters(
        Xt,
        train["label"],
        Xv,
        valid["label"],
        estimator="logistic_regression",
        params={"max_iter": 500},
        grid={"C": [1e-6, 1.0]},
        n_threads=1,
    )
    assert [r["params"] for r in results] == [{"C": 1e-6}, {"C": 1.0}]
    best = max(results, key=lambda r: r["validation_roc_auc"])
    assert best["best"] and best["params"]["C"] == model.C
    assert sum(r["best"] for r in results) == 1


def test_grid_sampling_and_bad_grid(split):
    train, valid = split
    prep = CreditPreprocessor("native", FEATURES, CATEGORICAL).fit(train)
    Xt, Xv = prep.transform(train), prep.transform(valid)
    _, results = select_hyperparameters(
        Xt,
        train["label"],
        Xv,
        valid["label"],
        estimator="hist_gradient_boosting",
        params={"max_iter": 20},
        grid={"max_depth": [2, 3, 4], "learning_rate": [0.1, 0.2]},
        max_candidates=2,
        n_threads=1,
    )
    assert len(results) == 2
    with pytest.raises(ValueError, match="must be a non-empty list"):
        select_hyperparameters(
            Xt, train["label"], Xv, valid["label"], estimator="hist_gradient_boosting", grid={"max_depth": 3}
        )


def test_credit_risk_model_bundles_preprocessing_estimator_and_threshold(split):
    train, new = split
    prep = CreditPreprocessor("woe", FEATURES, CATEGORICAL).fit(train, train["label"])
    est = build_estimator("logistic_regression").fit(prep.transform(train), train["label"])
    bundle = CreditRiskModel(prep, est, threshold=0.2, name="m")
    proba = bundle.predict_proba(new)
    assert proba.shape == (len(new), 2) and np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(bundle.predict(new), (proba[:, 1] >= 0.2).astype(int))
    assert list(bundle.feature_names_in_) == FEATURES
