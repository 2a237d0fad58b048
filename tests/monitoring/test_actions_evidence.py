"""Decisions on evidence: intervals decide, the point rule is the base, A/E and the all-good accuracy reported.

The 2025-05 case measured on the ``make run`` world: model_1 had its best ROC-AUC and was sent to ``retrain``
because its accuracy at a fixed PD threshold fell just below 0.70 when the default rate rose. A cohort with that
pattern (450 loans, 31 % defaults, a well-ranking score, accuracy 0.698) must not be sent to retrain on the
interval rule; the same cohort with its scores shuffled (a planted collapse) must, with the interval as reason.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from scipy.special import expit
from scipy.stats import beta

from kycc.monitoring.actions import ActionRules, calibration_evidence, evaluate_action, render_action_report
from kycc.monitoring.backtest import auc_delong
from kycc.monitoring.metrics import confusion_intervals, metric_intervals, performance_metrics
from tests.kedro_run import PROJECT_ROOT

PARAMS = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_actions.yml").read_text())["actions"]


def _cohort(seed: int = 7, n: int = 450, defaults: int = 140, separation: float = 1.3):
    """A cohort whose default rate rose (31 %) scored by a model that still ranks well."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, int)
    y[:defaults] = 1
    rng.shuffle(y)
    proba = expit(separation * y + rng.normal(size=n) - 1.5)
    # the fixed PD threshold at which accuracy is 314/450 = 0.6978 (just below the business 0.70)
    threshold = next(t for t in np.sort(proba) if ((proba >= t) == y).sum() == 314)
    return y, proba, float(threshold)


@pytest.fixture(scope="module")
def rules() -> ActionRules:
    return ActionRules.from_params(PARAMS)


def test_the_2025_05_pattern_is_not_sent_to_retrain_on_its_interval(rules):
    y, proba, threshold = _cohort()
    metrics = performance_metrics(y, proba, threshold)
    assert metrics["accuracy"] == pytest.approx(314 / 450) and metrics["roc_auc"] > 0.8
    point = evaluate_action(metrics, ActionRules.from_params({**PARAMS, "evidence": {"decide_on": "point"}}))
    assert point["decision"] == "retrain"  # the seeds' rule on the point estimate
    intervals = metric_intervals(y, proba, threshold)
    result = evaluate_action(metrics, rules, None, intervals)
    assert result["decision"] == "active_monitoring", result["reasons"]
    accuracy = next(c for c in result["evidence"] if c["metric"] == "accuracy")
    assert (
        accuracy["basis"] == "interval"
        and accuracy["n"] == 450
        and accuracy["status"] == "below_data_science"
    )
    assert accuracy["lower"] == pytest.approx(beta.ppf(0.025, 314.5, 136.5))
    assert accuracy["upper"] == pytest.approx(beta.ppf(0.975, 314.5, 136.5)) and accuracy["upper"] > 0.70
    assert any(
        "upper bound < data-science threshold 0.75; point estimate below business 0.70 but not shown" in r
        for r in result["reasons"]
    )
    auc = next(c for c in result["evidence"] if c["metric"] == "roc_auc")
    assert auc["lower"] == pytest.approx(auc_delong(y, proba)["auc_lower"]) and auc["method"] == "DeLong 95%"


def test_a_planted_collapse_is_sent_to_retrain_with_the_interval_as_reason(rules):
    y, proba, threshold = _cohort()
    shuffled = np.random.default_rng(0).permutation(proba)
    metrics = performance_metrics(y, shuffled, threshold)
    result = evaluate_action(metrics, rules, {"roc_auc": 0.84}, metric_intervals(y, shuffled, threshold))
    assert result["decision"] == "retrain"
    auc = next(c for c in result["evidence"] if c["metric"] == "roc_auc")
    assert auc["status"] == "below_business" and auc["upper"] < 0.75
    assert any(
        r.startswith("P0 roc_auc") and "upper bound < business threshold 0.75" in r for r in result["reasons"]
    )
    assert result["degraded"] == ["roc_auc"]  # shown more than 0.05 below its OOT baseline


@pytest.mark.parametrize(
    ("lower", "upper", "decision"),
    [
        (0.80, 0.90, "monitor"),  # the lower bound exactly at data science: shown to clear it
        (0.7999, 0.90, "active_monitoring"),
        (0.70, 0.75, "active_monitoring"),  # the upper bound exactly at business: not shown below it
        (0.70, 0.7499, "retrain"),
        (0.76, 0.79, "active_monitoring"),  # shown below data science, not below business
    ],
)
def test_interval_boundaries(rules, lower, upper, decision):
    value = (lower + upper) / 2
    intervals = {
        "roc_auc": {"lower": lower, "upper": upper, "n": 400, "method": "given"},
        "accuracy": {"lower": 0.80, "upper": 0.90, "n": 400, "method": "given"},
    }
    result = evaluate_action({"roc_auc": value, "accuracy": 0.85}, rules, None, intervals)
    assert result["decision"] == decision, result["reasons"]


def test_a_metric_without_interval_falls_back_to_its_point_estimate(rules):
    result = evaluate_action(
        {"roc_auc": 0.74, "accuracy": 0.9}, rules, None, {"accuracy": {"lower": 0.85, "upper": 0.95}}
    )
    auc = next(c for c in result["evidence"] if c["metric"] == "roc_auc")
    assert result["decision"] == "retrain" and auc["basis"] == "point (no interval)"
    assert "P0 roc_auc 0.7400 < business threshold 0.75 (point (no interval))" in result["reasons"]


def test_confusion_intervals_are_jeffreys_and_a_seeded_bootstrap():
    out = confusion_intervals(tn=250, fp=60, fn=40, tp=100, n_boot=500, seed=3)
    assert out["accuracy"]["value"] == pytest.approx(350 / 450)
    assert out["precision"]["lower"] == pytest.approx(beta.ppf(0.025, 100.5, 60.5))
    assert out["recall"]["upper"] == pytest.approx(beta.ppf(0.975, 100.5, 40.5))
    f1 = out["f1"]
    assert f1["value"] == pytest.approx(200 / 300) and f1["lower"] < f1["value"] < f1["upper"]
    assert confusion_intervals(250, 60, 40, 100, n_boot=500, seed=3)["f1"] == f1  # seeded: reproducible
    assert confusion_intervals(250, 60, 40, 100, n_boot=500, seed=4)["f1"]["lower"] != f1["lower"]
    with pytest.raises(ValueError, match="confusion matrix counts must be >= 0"):
        confusion_intervals(-1, 0, 0, 0)


def test_actual_over_expected_defaults_with_the_jeffreys_test():
    cal = calibration_evidence(n_defaults=140, n=450, mean_pd=0.20)
    assert cal["ae_ratio"] == pytest.approx(140 / 90)
    assert cal["ae_lower"] == pytest.approx(beta.ppf(0.025, 140.5, 310.5) / 0.20)
    assert cal["verdict"] == "pd too low" and cal["calibration_failed"]
    assert cal["jeffreys_pvalue_two_sided"] == pytest.approx(2 * beta.cdf(0.20, 140.5, 310.5))
    fine = calibration_evidence(n_defaults=92, n=450, mean_pd=0.20)
    assert fine["verdict"] == "consistent" and not fine["calibration_failed"]
    assert calibration_evidence(None, 450, 0.2)["verdict"] == "no data"


def test_the_report_lists_the_evidence_and_the_psi_levels_it_was_given(rules):
    y, proba, threshold = _cohort()
    metrics = performance_metrics(y, proba, threshold)
    result = evaluate_action(metrics, rules, None, metric_intervals(y, proba, threshold))
    record = {
        "model": "model_1", "month": "2025-05-01", "model_version": 3, "n_samples": 450, "n_defaults": 140,
        "default_rate": metrics["default_rate"], "confidence": 0.95, **result,
        "all_good_accuracy": 1 - metrics["default_rate"],
        "calibration": calibration_evidence(140, 450, metrics["mean_pd"]),
        "drift": {"psi_score": 0.31, "psi_level": "major", "n_features_psi_major": 2},
        "psi_levels": {"moderate": 0.15, "major": 0.3}, "notification_channels": ["slack", "email_ml"],
    }  # fmt: skip
    text = render_action_report(record)
    assert "Decision:          ACTIVE_MONITORING" in text and "Notification:      slack, email_ml" in text
    assert (
        "  P1  accuracy     0.6978  [0.654, 0.739]      450      0.70      0.75       n/a  below_data_science"
        in text
    )
    assert "vs 0.6889 for the all-good classifier" in text
    assert "features with PSI >= 0.30: 2" in text and "PSI >= 0.25" not in text
    assert "A/E" in text and "Jeffreys 95% (rate vs mean PD)" in text


def test_bad_evidence_options_are_refused():
    with pytest.raises(ValueError, match="Unknown keys in actions.evidence"):
        ActionRules.from_params({**PARAMS, "evidence": {"level": 0.9}})
    with pytest.raises(ValueError, match="actions.evidence.decide_on must be one of"):
        ActionRules.from_params({**PARAMS, "evidence": {"decide_on": "vibes"}})
    with pytest.raises(ValueError, match=r"actions.evidence.confidence must be a number in \(0, 1\)"):
        ActionRules.from_params({**PARAMS, "evidence": {"confidence": 95}})
