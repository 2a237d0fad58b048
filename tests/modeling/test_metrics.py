"""Metrics on hand-made scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kycc.modeling.metrics import best_f1_threshold, classification_metrics, ks_statistic, score

Y = np.array([0, 0, 0, 0, 1, 1, 0, 1])
P = np.array([0.1, 0.2, 0.3, 0.4, 0.35, 0.8, 0.6, 0.9])


def test_ranking_metrics_on_hand_made_scores():
    # 15 (default, non-default) pairs, 13 ordered correctly -> AUC 13/15
    assert score("roc_auc", Y, P) == pytest.approx(13 / 15)
    assert score("gini", Y, P) == pytest.approx(2 * 13 / 15 - 1)
    # at threshold 0.8: TPR 2/3, FPR 0 -> KS 2/3 (at 0.35: TPR 1, FPR 2/5 -> 0.6)
    assert ks_statistic(Y, P) == pytest.approx(2 / 3)


def test_classification_metrics_at_a_threshold():
    m = classification_metrics(Y, P, threshold=0.5)
    assert m["n_samples"] == 8 and m["n_defaults"] == 3 and m["default_rate"] == pytest.approx(3 / 8)
    # predicted 1: 0.8, 0.6, 0.9 -> TP 2, FP 1, FN 1
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(6 / 8) and m["f1"] == pytest.approx(2 / 3)
    assert m["brier"] == pytest.approx(np.mean((P - Y) ** 2))


def test_single_class_window_gives_nan_not_an_error():
    m = classification_metrics(np.zeros(5), np.linspace(0, 1, 5))
    assert math.isnan(m["roc_auc"]) and math.isnan(m["ks"]) and m["default_rate"] == 0.0


def test_best_f1_threshold():
    t = best_f1_threshold(Y, P)
    assert t == pytest.approx(0.8)  # precision 1, recall 2/3: F1 0.8 (at 0.35: 3/5 and 1 -> F1 0.75)
    assert best_f1_threshold(np.zeros(3), np.ones(3)) == 0.5


def test_unknown_metric():
    with pytest.raises(ValueError, match="Unknown metric"):
        score("auc", Y, P)
