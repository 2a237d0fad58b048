"""Performance metrics by hand (ROC-AUC, accuracy, precision, recall, F1, confusion matrix) and PD drift."""

from __future__ import annotations

import math

import pytest

from kycc.monitoring.metrics import performance_metrics, prediction_drift

Y = [0, 0, 1, 1]
P = [0.1, 0.4, 0.35, 0.8]  # pairs (default, repaid) ranked right: 3 of 4 -> AUC 0.75


def test_metrics_by_hand_at_threshold_one_half():
    m = performance_metrics(Y, P, 0.5)  # predicted [0, 0, 0, 1]: TP 1, FP 0, FN 1, TN 2
    assert m["roc_auc"] == pytest.approx(0.75) and m["gini"] == pytest.approx(0.5)
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (2, 0, 1, 1)
    assert m["accuracy"] == pytest.approx(3 / 4)
    assert m["precision"] == pytest.approx(1.0) and m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)  # 2/3
    assert m["n_samples"] == 4 and m["n_defaults"] == 2 and m["default_rate"] == 0.5


def test_the_threshold_is_inclusive():
    m = performance_metrics(Y, P, 0.35)  # PD >= 0.35 is a default: predicted [0, 1, 1, 1]
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (1, 1, 0, 2)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == 1.0 and m["f1"] == pytest.approx(0.8)


def test_single_class_cohort_has_an_undefined_auc():
    m = performance_metrics([0, 0, 0], [0.1, 0.2, 0.3], 0.25)
    assert math.isnan(m["roc_auc"]) and m["accuracy"] == pytest.approx(2 / 3)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        performance_metrics([0, 1], [0.2], 0.5)
    with pytest.raises(ValueError, match="threshold must be a probability"):
        performance_metrics(Y, P, 1.5)
    with pytest.raises(ValueError, match="labels must be 0/1"):
        performance_metrics([0, 2, 1, 1], P, 0.5)


def test_prediction_drift_by_hand():
    d = prediction_drift([0.1, 0.2, 0.3, 0.4], [0.3, 0.4, 0.5, 0.6], threshold=0.35)
    assert d["pd_mean_reference"] == pytest.approx(0.25) and d["pd_mean"] == pytest.approx(0.45)
    assert d["pd_mean_shift"] == pytest.approx(0.2)
    assert d["pd_ks"] == pytest.approx(0.5)  # CDFs differ most between 0.2 and 0.3: 2/4 vs 0/4
    assert d["predicted_default_rate_reference"] == 0.25 and d["predicted_default_rate_now"] == 0.75
    assert prediction_drift([], [0.1])["pd_ks"] != prediction_drift([], [0.1])["pd_ks"]  # NaN
