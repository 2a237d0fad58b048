"""Scorecard definitions, scoring (hand-computed applicants) and the score → PD calibration."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from kycc.scorecard.calibration import CalibrationError, calibrate_scorecard, fit_logistic_calibration
from kycc.scorecard.definition import ScorecardDefinition, ScorecardDefinitionError
from kycc.scorecard.points import ScoringError, assign_bands, pd_from_score, score_applications
from tests.scorecard.conftest import SMALL


def test_v1_in_config_has_16_features_over_the_four_groups_and_weights_summing_to_one(v1):
    assert len(v1.features) == 16
    groups = {f.group for f in v1.features}
    assert {"kyc", "financial", "behavioural", "network"} <= groups
    assert math.isclose(sum(v1.weights.values()), 1.0)
    assert (v1.score_min, v1.score_max) == (300, 850)
    assert v1.band_names == ["A", "B", "C", "D", "E"]


def test_v1_features_are_gold_feature_columns_of_the_groups_the_dictionary_gives(v1):
    from kycc.features.dictionary import FEATURES  # the enforced gold schema

    groups = {f.name: f.group for f in FEATURES}
    assert {f.name: groups.get(f.name) for f in v1.features} == {f.name: f.group for f in v1.features}


def test_a_hand_made_applicant_gets_the_hand_computed_v1_score_and_band(v1):
    applicant = pd.DataFrame(
        [
            {
                "loan_id": "LOAN_0x1_1",
                "customer_id": "CUS_0x1",
                "kyc_verified": 1.0,  # categories {1: 100}             0.05 x 100 = 5.00
                "age": 30.0,  # (25, 35] -> 55                           0.04 x  55 = 2.20
                "customer_tenure_months": 24.0,  # (12, 36] -> 75        0.05 x  75 = 3.75
                "credit_mix": "Good",  # 100                             0.11 x 100 = 11.00
                "payment_of_min_amount": "Yes",  # 25                    0.07 x  25 = 1.75
                "debt_to_income": 0.05,  # right-closed (0.02, 0.05] -> 80 0.09 x 80 = 7.20
                "interest_rate": None,  # missing -> 40                  0.09 x  40 = 3.60
                "num_of_delayed_payment": 10.0,  # (9, 14] -> 55         0.08 x  55 = 4.40
                "delay_from_due_date": 3.0,  # <= 5 -> 100               0.08 x 100 = 8.00
                "num_credit_inquiries": 12.0,  # > 10 -> 10              0.07 x  10 = 0.70
                "credit_utilization_ratio": 30.0,  # (28, 32] -> 70      0.06 x  70 = 4.20
                "credit_history_age_months": 200.0,  # (120, 240] -> 75  0.05 x  75 = 3.75
                "click_fe_mean_lookback": 125.0,  # (120, 130] -> 70     0.04 x  70 = 2.80
                "click_months_observed": 0,  # <= 0 -> 20                0.03 x  20 = 0.60
                "net_counterparty_arrears_share": 0.5,  # (0.25, 0.5] -> 30 0.05 x 30 = 1.50
                "net_guarantor_links": 2,  # > 1 -> 30                   0.04 x  30 = 1.20
            }
        ]
    )
    # P = 61.65; score = floor(300 + 550 * 0.6165 + 0.5) = floor(639.575) = 639; 600 <= 639 < 660 -> C
    out = score_applications(applicant, v1, with_points=True)
    assert out.loc[0, "weighted_points"] == pytest.approx(61.65)
    assert out.loc[0, "score"] == 639
    assert out.loc[0, "band"] == "C"
    assert out.loc[0, "scorecard_version"] == "v1"
    assert out.loc[0, "loan_id"] == "LOAN_0x1_1"
    assert out.loc[0, "points_debt_to_income"] == 80
    assert out.loc[0, "points_interest_rate"] == 40


def test_the_best_possible_applicant_scores_near_the_top_of_the_range(v1):
    best = {f.name: (f.edges[0] if f.kind == "numeric" else None) for f in v1.features}
    best.update(kyc_verified=1, credit_mix="Good", payment_of_min_amount="No", customer_tenure_months=100)
    best.update(age=60, credit_history_age_months=400, click_fe_mean_lookback=200, click_months_observed=3)
    out = score_applications(pd.DataFrame([best]), v1, with_points=True)
    points = out[[f"points_{f}" for f in v1.feature_names]].iloc[0]
    capped = ["points_age", "points_click_fe_mean_lookback"]  # their best bins give 90 points
    assert points.drop(capped).eq(100).all() and points[capped].eq(90).all()
    # P = 100 - 0.04 * 10 - 0.04 * 10 = 99.2; score = floor(300 + 550 * 0.992 + 0.5) = floor(846.1) = 846
    assert out.loc[0, "score"] == 846
    assert out.loc[0, "band"] == "A"


def test_score_formula_rounds_halves_up_and_bands_start_at_their_lowest_score(small):
    # interest_rate 0.3 and num_of_delayed_payment 0.25 points chosen to hit exact values
    definition = small
    rows = pd.DataFrame(
        {
            "interest_rate": [5, 30, 10],  # 100, 10, 80
            "num_of_delayed_payment": [2, 30, 2],  # 100, 10, 100
            "credit_mix": ["Good", "Bad", "Unknown"],  # 100, 10, 40 (unlisted -> other = missing)
            "age": [40, 20, np.nan],  # 85, 30, 40
            "net_degree": [5, 0, 1],  # 100, 60, 80
        }
    )
    out = score_applications(rows, definition, with_points=True)
    # row 0: .3*100 + .25*100 + .2*100 + .15*85 + .1*100 = 97.75 -> 300 + 550*.9775 = 837.625 -> 838
    # row 1: .3*10 + .25*10 + .2*10 + .15*30 + .1*60 = 18 -> 300 + 99 = 399
    # row 2: .3*80 + .25*100 + .2*40 + .15*40 + .1*80 = 71 -> 300 + 390.5 = 690.5 -> 691 (half up)
    assert out["score"].tolist() == [838, 399, 691]
    assert out["band"].tolist() == ["A", "E", "B"]
    assert assign_bands([720, 719, 660, 659, 300, 850], definition).tolist() == ["A", "B", "B", "C", "E", "A"]


def test_categorical_values_match_whatever_their_type_and_text_numbers_are_missing(v1):
    rows = pd.DataFrame({f: [None] * 4 for f in v1.feature_names})
    rows["kyc_verified"] = [1, 1.0, "1", 0]
    rows["age"] = ["30", "thirty", None, 30]
    pts = score_applications(rows, v1, with_points=True)
    assert pts["points_kyc_verified"].tolist() == [100, 100, 100, 30]
    assert pts["points_age"].tolist() == [55, 40, 40, 55]  # "thirty" is not a number: the missing points


def test_scoring_data_without_a_feature_column_names_it(small):
    rows = pd.DataFrame({"interest_rate": [5.0], "age": [30]})
    with pytest.raises(
        ScoringError, match=r"lacks feature column\(s\) \['num_of_delayed_payment', 'credit_mix'"
    ):
        score_applications(rows, small)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["features"]["age"].update(weight=0.25), "weights must sum to 1, got 1.1"),
        (lambda d: d["features"]["age"].update(points=[30, 60, 85]), r"needs len\(edges\) \+ 1 = 4 values"),
        (lambda d: d["features"]["age"].update(edges=[25, 25, 50]), "strictly increasing"),
        (lambda d: d["features"]["net_degree"].update(points=[60, 80, 120]), "between 0 and 100 points"),
        (lambda d: d["features"]["age"].update(bins=[1]), r"unknown key\(s\) \['bins'\]"),
        (lambda d: d["features"]["age"].pop("missing"), "needs 'missing'"),
        (lambda d: d["bands"].update(E=320), "must start at score_range.min"),
        (lambda d: d["features"]["credit_mix"].update(edges=[1], points=[1, 2]), "either numeric bins"),
    ],
)
def test_malformed_definitions_fail_with_the_feature_and_field_named(change, message):
    data = copy.deepcopy(SMALL)
    change(data)
    with pytest.raises(ScorecardDefinitionError, match=message):
        ScorecardDefinition.from_dict(data, version="v9")


def test_definition_round_trips_and_fingerprint_ignores_the_name(small):
    again = ScorecardDefinition.from_dict(small.to_dict())
    assert again == small
    assert small.renamed("other").fingerprint() == small.fingerprint()
    changed = small.with_weights({**small.weights, "age": 0.1, "net_degree": 0.15})
    assert changed.fingerprint() != small.fingerprint()


def test_pd_follows_the_logistic_formula_and_calibration_recovers_a_known_relation():
    assert pd_from_score([500.0], {"intercept": 5.0, "slope": -0.01})[0] == pytest.approx(0.5)
    rng = np.random.default_rng(4)
    scores = rng.normal(620, 60, 4000).round()
    true = 1 / (1 + np.exp(-(8.0 - 0.015 * scores)))
    labels = (rng.random(4000) < true).astype(int)
    fit = fit_logistic_calibration(scores, labels)
    assert fit["slope"] == pytest.approx(-0.015, rel=0.15)
    assert fit["intercept"] == pytest.approx(8.0, rel=0.15)


def test_calibration_of_a_scorecard_reports_pd_per_band(small, sample):
    cal = calibrate_scorecard(small, sample, fitted_on={"months": "2024-01..2024-06"})
    assert cal["slope"] < 0 < cal["roc_auc"] - 0.5  # higher score, lower PD; it ranks risk
    assert cal["rows"] == len(sample) and cal["defaults"] == int(sample["label"].sum())
    bands = {b["band"]: b for b in cal["bands"]}
    assert bands["A"]["mean_pd"] < bands["C"]["mean_pd"] < bands["E"]["mean_pd"]
    assert sum(b["rows"] for b in cal["bands"]) == len(sample)


def test_calibration_refuses_too_few_labels(small, sample):
    with pytest.raises(CalibrationError, match="only 20 labelled application"):
        calibrate_scorecard(small, sample.head(20))
    with pytest.raises(CalibrationError, match="0 default"):
        calibrate_scorecard(small, sample[sample["label"] == 0].head(200))
