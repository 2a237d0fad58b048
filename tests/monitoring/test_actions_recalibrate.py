"""The ``recalibrate`` tier (#11.2): ranking holds but the PD level fails -> recalibrate; ranking fails -> retrain
(retrain outranks recalibrate); calibrated -> no recalibrate. Hand-made evidence, real rule and real Jeffreys test."""

from __future__ import annotations

import pytest
import yaml

from kycc.monitoring.actions import (
    DECISIONS,
    ActionRules,
    calibration_check,
    calibration_evidence,
    evaluate_action,
    render_action_report,
)
from tests.conftest import PROJECT_ROOT

BASE = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_actions.yml").read_text())["actions"]
RULES = ActionRules.from_params(BASE)

# a cohort of 450 loans whose score ranks well: ROC-AUC 0.84 [0.81, 0.87], accuracy 0.79 [0.755, 0.825]
GOOD = {"roc_auc": 0.84, "accuracy": 0.79, "f1": 0.5, "precision": 0.6, "recall": 0.45}
GOOD_CI = {
    "roc_auc": {"lower": 0.805, "upper": 0.875, "n": 450, "events": 140, "method": "DeLong 95%"},
    "accuracy": {"lower": 0.755, "upper": 0.825, "n": 450, "events": 356, "method": "Jeffreys 95%"},
}
# the same cohort after a collapse: ROC-AUC 0.55 [0.49, 0.61]
COLLAPSED = {**GOOD, "roc_auc": 0.55}
COLLAPSED_CI = {**GOOD_CI, "roc_auc": {**GOOD_CI["roc_auc"], "lower": 0.49, "upper": 0.61}}
# an inconclusive ranking: ROC-AUC 0.78 [0.73, 0.83] (reaches below 0.80, not shown below 0.75)
UNSURE = {**GOOD, "roc_auc": 0.78}
UNSURE_CI = {**GOOD_CI, "roc_auc": {**GOOD_CI["roc_auc"], "lower": 0.73, "upper": 0.83}}


def _cal(defaults: int, n: int = 450, mean_pd: float = 0.24) -> dict:
    return calibration_evidence(defaults, n, mean_pd, alpha=RULES.calibration_alpha, level=RULES.confidence)


def test_the_tiers_are_ranked_with_recalibrate_below_retrain():
    assert DECISIONS == ("monitor", "active_monitoring", "recalibrate", "retrain")


def test_calibration_fails_ranking_holds_gives_recalibrate_with_the_evidence():
    cal = _cal(140)  # 140 defaults vs 108 expected: A/E 1.30, Jeffreys [1.12, 1.48], p < 0.001
    out = evaluate_action(GOOD, RULES, None, GOOD_CI, cal)
    assert out["decision"] == "recalibrate"
    check = out["calibration_check"]
    assert check["fails"] and check["status"] == "outside_band"
    assert check["ae_ratio"] == pytest.approx(140 / 108) and check["ae_lower"] > 1.1
    assert check["n"] == 450 and check["actual_defaults"] == 140
    assert check["expected_defaults"] == pytest.approx(108.0)
    assert check["ae_band"] == [0.9, 1.1] and check["rule"] == "significant_outside_band"
    assert check["pvalue"] < 0.05
    reason = out["reasons"][0]
    assert reason.startswith("calibration A/E 1.296 [1.12") and "n=450" in reason
    assert "140 defaults vs 108.0 expected" in reason and "[0.90, 1.10]" in reason and "PD too low" in reason
    # the ranking's own evidence is still there, and clears its thresholds
    assert {c["metric"]: c["status"] for c in out["evidence"]}["roc_auc"] == "ok"
    # PD too high is a failure too
    high = evaluate_action(GOOD, RULES, None, GOOD_CI, _cal(75))  # A/E 0.69
    assert high["decision"] == "recalibrate" and "PD too high" in high["reasons"][0]


def test_an_inconclusive_ranking_with_failed_calibration_is_recalibrated():
    assert evaluate_action(UNSURE, RULES, None, UNSURE_CI)["decision"] == "active_monitoring"
    out = evaluate_action(UNSURE, RULES, None, UNSURE_CI, _cal(140))
    assert out["decision"] == "recalibrate"
    assert any(
        r.startswith("P0 roc_auc") for r in out["reasons"]
    )  # why the ranking is not shown to clear 0.80


def test_ranking_fails_gives_retrain_even_when_calibration_fails_too():
    out = evaluate_action(COLLAPSED, RULES, None, COLLAPSED_CI, _cal(140))
    assert out["decision"] == "retrain"
    assert out["calibration_check"]["fails"]
    assert any("retrain outranks recalibrate" in r for r in out["reasons"])
    assert any("upper bound < business threshold 0.75" in r for r in out["reasons"])
    calibrated = evaluate_action(COLLAPSED, RULES, None, COLLAPSED_CI, _cal(108))
    assert calibrated["decision"] == "retrain" and not calibrated["calibration_check"]["fails"]


def test_calibrated_gives_no_recalibrate():
    out = evaluate_action(GOOD, RULES, None, GOOD_CI, _cal(110))  # A/E 1.02
    assert out["decision"] == "monitor" and out["calibration_check"]["status"] == "ok"
    # outside the band but not significant (a small cohort): no recalibrate
    small = calibration_evidence(15, 50, 0.24)  # A/E 1.25, Jeffreys interval reaches 1
    out = evaluate_action(GOOD, RULES, None, GOOD_CI, small)
    assert out["decision"] == "monitor"
    assert out["calibration_check"]["status"] == "outside_band_not_significant"
    # significant but inside the band (a large cohort, A/E 1.08): not material, no recalibrate
    big = calibration_evidence(2592, 10000, 0.24)
    check = calibration_check(big, RULES)
    assert check["pvalue"] < 0.05 and not check["fails"] and check["status"] == "significant_inside_band"
    assert evaluate_action(GOOD, RULES, None, GOOD_CI, big)["decision"] == "monitor"
    # no calibration evidence at all
    assert evaluate_action(GOOD, RULES, None, GOOD_CI, None)["decision"] == "monitor"


def test_the_rule_band_and_switch_are_configurable():
    cal = _cal(135)  # A/E 1.25 [1.08, 1.43]
    strict = ActionRules.from_params(
        {**BASE, "calibration": {"ae_band": [0.9, 1.1], "rule": "interval_outside_band"}}
    )
    assert (
        evaluate_action(GOOD, strict, None, GOOD_CI, cal)["decision"] == "monitor"
    )  # the interval reaches 1.1
    assert (
        evaluate_action(GOOD, strict, None, GOOD_CI, _cal(150))["decision"] == "recalibrate"
    )  # [1.21, 1.58]
    wide = ActionRules.from_params({**BASE, "calibration": {"ae_band": [0.7, 1.3]}})
    assert evaluate_action(GOOD, wide, None, GOOD_CI, cal)["decision"] == "monitor"
    off = ActionRules.from_params({**BASE, "calibration": {"enabled": False}})
    out = evaluate_action(GOOD, off, None, GOOD_CI, cal)
    assert out["decision"] == "monitor" and out["calibration_check"]["status"] == "disabled"
    # parameters without actions.calibration keep A/E as evidence only (the rule before the tier)
    legacy = ActionRules.from_params({k: v for k, v in BASE.items() if k != "calibration"})
    assert evaluate_action(GOOD, legacy, None, GOOD_CI, cal)["decision"] == "monitor"
    for bad, match in (
        ({"ae_band": [1.1, 0.9]}, "ae_band"),
        ({"ae_band": [0.9]}, "ae_band"),
        ({"rule": "sometimes"}, "rule must be one of"),
        ({"band": [0.9, 1.1]}, "Unknown keys in actions.calibration"),
    ):
        with pytest.raises(ValueError, match=match):
            ActionRules.from_params({**BASE, "calibration": bad})


def test_the_text_report_shows_the_recalibrate_decision_and_its_evidence():
    cal = _cal(140)
    out = evaluate_action(GOOD, RULES, None, GOOD_CI, cal)
    record = {
        "model": "model_1", "month": "2025-01-01", "cohort_month": "2024-07-01", "registered_model_name": "kycc_m",
        "model_version": 1, "n_samples": 450, "n_defaults": 140, **out, "calibration": cal,
        "recalibration_triggered": True,
    }  # fmt: skip
    text = render_action_report(record)
    assert "Decision:          RECALIBRATE" in text
    assert "recalibrate rule significant_outside_band, band [0.90, 1.10]" in text
    assert "status outside_band → RECALIBRATE" in text
    assert "Refit the post-hoc PD calibration" in text and "recalibrates the champion next month" in text
