"""The action decision on its boundaries with point estimates (the seeds' rule, and the fallback of a metric
without interval): a metric meets a threshold when value >= threshold. Interval decisions: test_actions_evidence.py."""

from __future__ import annotations

import pytest
import yaml

from kycc.monitoring.actions import ActionRules, evaluate_action, render_action_report
from tests.kedro_run import PROJECT_ROOT


@pytest.fixture(scope="module")
def rules() -> ActionRules:
    params = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_actions.yml").read_text())["actions"]
    return ActionRules.from_params({**params, "evidence": {**params["evidence"], "decide_on": "point"}})


@pytest.mark.parametrize(
    ("roc_auc", "accuracy", "decision"),
    [
        (0.80, 0.75, "monitor"),  # exactly the data-science thresholds: met
        (0.85, 0.90, "monitor"),
        (0.7999, 0.90, "active_monitoring"),
        (0.75, 0.90, "active_monitoring"),  # exactly the business ROC-AUC: met, below data science
        (0.7499, 0.90, "retrain"),
        (0.85, 0.7499, "active_monitoring"),
        (0.85, 0.70, "active_monitoring"),  # exactly the business accuracy
        (0.85, 0.6999, "retrain"),
        (0.74, 0.74, "retrain"),  # retrain wins over active_monitoring
    ],
)
def test_decision_on_the_boundaries(rules, roc_auc, accuracy, decision):
    result = evaluate_action({"roc_auc": roc_auc, "accuracy": accuracy, "f1": 0.1}, rules)
    assert result["decision"] == decision, result["reasons"]


def test_p2_and_p3_are_reported_but_do_not_decide(rules):
    result = evaluate_action(
        {"roc_auc": 0.9, "accuracy": 0.9, "f1": 0.01, "precision": 0.0, "recall": 0.0}, rules
    )
    assert result["decision"] == "monitor"
    f1 = next(c for c in result["evidence"] if c["metric"] == "f1")
    assert f1["priority"] == "P2" and f1["status"] == "info" and not f1["decides"]


def test_undefined_auc_asks_for_active_monitoring(rules):
    result = evaluate_action({"roc_auc": float("nan"), "accuracy": 0.9}, rules)
    assert result["decision"] == "active_monitoring" and "undefined" in result["reasons"][0]


def test_degradation_from_the_oot_baseline_is_strictly_more_than_max_drop():
    params = {
        "thresholds": {"roc_auc": {"priority": "P0", "business": 0.75, "data_science": 0.80}},
        "degradation": {"max_drop": {"roc_auc": 0.0625}},
    }
    rules = ActionRules.from_params({**params, "evidence": {"decide_on": "point"}})
    assert (
        evaluate_action({"roc_auc": 0.8125}, rules, {"roc_auc": 0.875})["decision"] == "monitor"
    )  # drop = max
    degraded = evaluate_action({"roc_auc": 0.8124}, rules, {"roc_auc": 0.875})
    assert degraded["decision"] == "active_monitoring" and degraded["degraded"] == ["roc_auc"]
    # degradation never asks for retraining by itself
    assert evaluate_action({"roc_auc": 0.85}, rules, {"roc_auc": 0.99})["decision"] == "active_monitoring"


def test_report_text_and_bad_rules(rules):
    result = evaluate_action({"roc_auc": 0.74, "accuracy": 0.8}, rules, {"roc_auc": 0.8, "accuracy": 0.8})
    record = {"model": "model_1", "month": "2025-01-01", "model_version": 2, **result}
    text = render_action_report(record)
    assert "Decision:          RETRAIN" in text and "P0 roc_auc 0.7400 < business threshold 0.75" in text
    assert "Notification:      no channel configured for this level" in text
    with pytest.raises(ValueError, match="must not be below the business threshold"):
        ActionRules.from_params(
            {"thresholds": {"roc_auc": {"priority": "P0", "business": 0.8, "data_science": 0.7}}}
        )
    with pytest.raises(ValueError, match="priority must be one of"):
        ActionRules.from_params({"thresholds": {"roc_auc": {"priority": "P9"}}})
    with pytest.raises(ValueError, match="Unknown keys in actions.thresholds.roc_auc"):
        ActionRules.from_params({"thresholds": {"roc_auc": {"priority": "P0", "minimum": 0.7}}})
