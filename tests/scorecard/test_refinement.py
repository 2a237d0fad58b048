"""Refinement: model_1 coefficients → ML weights → blended weights (blend 0 = base, 1 = ML)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from kycc.modeling.model import CreditRiskModel
from kycc.modeling.preprocessing import CreditPreprocessor
from kycc.scorecard.refinement import (
    RefinementError,
    blend_weights,
    check_model_metadata,
    extract_model_coefficients,
    ml_weights_table,
    refine_definition,
)

FEATURES = [
    "interest_rate",
    "num_of_delayed_payment",
    "credit_mix",
    "age",
    "debt_to_income",
    "annual_income",
    "fe_1",
]


@pytest.fixture(scope="module")
def model_1(sample):
    """model_1 as training builds it: WoE preprocessing (min IV 0.02) + logistic regression, fitted here."""
    prep = CreditPreprocessor(
        kind="woe",
        features=FEATURES,
        categorical=["credit_mix"],
        options={"max_bins": 6, "min_bin_share": 0.05, "monotonic": True, "min_iv": 0.02},
    )
    y = sample["label"].to_numpy()
    X = prep.fit(sample, y).transform(sample)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(X, y)
    return prep, model


def test_coefficients_are_read_per_feature_from_the_woe_logistic_regression(model_1):
    prep, model = model_1
    table = extract_model_coefficients(model, prep)
    assert list(table["feature"]) == list(prep.feature_names_out_)
    assert np.allclose(table["coefficient"], model.coef_[0])
    assert (table["woe_std"] > 0).all()
    # a model of P(default) on WoE (positive = safer) has negative coefficients for useful features
    strong = table.set_index("feature").loc[["interest_rate", "num_of_delayed_payment"]]
    assert (strong["coefficient"] < 0).all() and (strong["sign"] == "ok").all()
    # the registered bundle (preprocessing + estimator) gives the same
    bundle = CreditRiskModel(preprocessor=prep, estimator=model, threshold=0.3, name="model_1")
    pd.testing.assert_frame_equal(extract_model_coefficients(bundle), table)


def test_ml_weights_are_the_normalised_importance_over_the_scorecard_features(small, model_1):
    prep, model = model_1
    table = ml_weights_table(extract_model_coefficients(model, prep), small).set_index("feature")
    assert list(table.index) == small.feature_names
    assert table["ml_weight"].sum() == pytest.approx(1.0)
    # net_degree is not a model feature: weight 0, flagged
    assert table.loc["net_degree", "ml_weight"] == 0 and not table.loc["net_degree", "in_model"]
    assert "not used by the model" in table.loc["net_degree", "note"]
    used = table[table["in_model"]]
    expected = (used["coefficient"].abs() * used["woe_std"]) / (
        used["coefficient"].abs() * used["woe_std"]
    ).sum()
    assert np.allclose(used["ml_weight"], expected)
    # importance on model features outside the scorecard (debt_to_income, annual_income, …) is reported
    assert 0 < ml_weights_table(extract_model_coefficients(model, prep), small).attrs["outside_share"] < 1


def test_blend_factor_0_reproduces_the_base_weights_and_1_gives_the_pure_ml_weights(small, model_1):
    prep, model = model_1
    table = ml_weights_table(extract_model_coefficients(model, prep), small)
    ml = dict(zip(table["feature"], table["ml_weight"], strict=True))

    base_again = refine_definition(small, ml, blend_factor=0)
    assert base_again.weights == small.weights  # exactly
    pure_ml = refine_definition(small, ml, blend_factor=1)
    assert pure_ml.weights == ml  # exactly
    half = refine_definition(small, ml, blend_factor=0.5)
    for f in small.feature_names:
        assert half.weights[f] == pytest.approx((small.weights[f] + ml[f]) / 2)
    assert sum(half.weights.values()) == pytest.approx(1.0)
    # only the weights change
    for a, b in zip(small.features, half.features, strict=True):
        assert (a.edges, a.points, dict(a.categories), a.missing) == (
            b.edges,
            b.points,
            dict(b.categories),
            b.missing,
        )
    assert half.bands == small.bands and half.version == "draft"


def test_a_coefficient_with_the_wrong_sign_gets_no_ml_weight(small):
    coefs = pd.DataFrame(
        {
            "feature": ["interest_rate", "num_of_delayed_payment", "credit_mix", "age"],
            "coefficient": [-0.8, -0.4, 0.3, -0.2],
            "woe_std": [0.5, 0.5, 0.5, 0.5],
            "sign": ["ok", "ok", "wrong", "ok"],
        }
    )
    table = ml_weights_table(coefs, small).set_index("feature")
    assert table.loc["credit_mix", "ml_weight"] == 0 and "wrong sign" in table.loc["credit_mix", "note"]
    assert table.loc["interest_rate", "ml_weight"] == pytest.approx(0.8 / 1.4)
    abs_coef = ml_weights_table(coefs.drop(columns="woe_std"), small, importance="abs_coef").set_index(
        "feature"
    )
    assert abs_coef.loc["age", "ml_weight"] == pytest.approx(0.2 / 1.4)


def test_refinement_refuses_models_it_cannot_use(small, sample, model_1):
    prep, _ = model_1
    trees = DecisionTreeClassifier(max_depth=2).fit(prep.transform(sample), sample["label"])
    with pytest.raises(RefinementError, match="no coefficients"):
        extract_model_coefficients(trees, prep)
    nothing = pd.DataFrame({"feature": ["fe_9"], "coefficient": [-1.0], "woe_std": [1.0]})
    with pytest.raises(RefinementError, match="no usable weight to any feature"):
        ml_weights_table(nothing, small)
    with pytest.raises(RefinementError, match="blend_factor must be a number between 0 and 1"):
        blend_weights(small.weights, small.weights, 1.5)


def test_a_model_that_failed_its_quality_gates_is_refused_unless_configured(model_1):
    failed = {"model": "model_1", "quality_gate": {"passed": False, "reasons": ["oot: ROC-AUC 0.55 < 0.6"]}}
    with pytest.raises(RefinementError, match=r"failed its quality gates \(oot: ROC-AUC 0.55 < 0.6\)"):
        check_model_metadata(failed)
    assert check_model_metadata(failed, require_quality_gate=False)["quality_gate_passed"] is False
    passed = {
        "model": "model_1",
        "training_date": "2024-12-01",
        "quality_gate": {"passed": True, "reasons": []},
        "metrics": {"oot": {"roc_auc": 0.77}},
        "data_fingerprint": "sha256:x",
    }
    info = check_model_metadata(passed)
    assert info["oot_roc_auc"] == 0.77 and info["training_date"] == "2024-12-01"


def test_one_hot_columns_of_other_linear_models_are_aggregated_per_feature(sample):
    prep = CreditPreprocessor(
        kind="standard", features=["interest_rate", "credit_mix"], categorical=["credit_mix"]
    )
    y = sample["label"].to_numpy()
    X = prep.fit(sample, y).transform(sample)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    table = extract_model_coefficients(model, prep).set_index("feature")
    assert set(table.index) == {"interest_rate", "credit_mix"}
    onehot = [i for i, c in enumerate(X.columns) if c.startswith("credit_mix_")]
    assert table.loc["credit_mix", "coefficient"] == pytest.approx(
        float(np.linalg.norm(model.coef_[0][onehot]))
    )
    assert math.isnan(table.loc["credit_mix", "woe_std"]) and table.loc["credit_mix", "sign"] == "n/a"
