"""CBPE-style expected ROC-AUC and default rate, against Monte-Carlo labels drawn from the PDs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from kycc.monitoring.estimated import expected_default_rate, expected_pair_sums, expected_roc_auc


def _pairs(labels: np.ndarray, rank: np.ndarray) -> tuple[float, float]:
    pos, neg = rank[labels == 1], rank[labels == 0]
    concordant = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(concordant), float(len(pos) * len(neg))


def test_pair_sums_are_exact_expectations_and_the_ratio_is_the_mean_realized_auc():
    rng = np.random.default_rng(11)
    n = 300
    p = 1 / (1 + np.exp(-(-2.2 + 1.1 * rng.normal(size=n))))
    rank = np.round(p, 2)  # ties in the ranking variable (like integer scorecard scores)
    concordant, total = expected_pair_sums(p, rank)
    draws = [rng.random(n) < p for _ in range(1500)]
    sims = np.array([_pairs(y.astype(int), rank) for y in draws])
    # the two sums are unbiased: Monte-Carlo means within 4 standard errors
    for k, exact in enumerate((concordant, total)):
        se = sims[:, k].std(ddof=1) / math.sqrt(len(sims))
        assert abs(sims[:, k].mean() - exact) < 4 * se
    realized = np.mean([roc_auc_score(y.astype(int), rank) for y in draws])
    assert expected_roc_auc(p, rank) == pytest.approx(realized, abs=0.003)


def test_expected_auc_default_ranking_is_the_pd_and_is_half_for_a_flat_pd():
    p = np.array([0.1, 0.5, 0.9])
    # pairs i != j weighted p_i (1 - p_j), ranked by p: written out by hand
    num = 0.5 * 0.9 + 0.9 * 0.9 + 0.9 * 0.5
    den = num + 0.1 * 0.5 + 0.1 * 0.1 + 0.5 * 0.1
    assert expected_roc_auc(p) == pytest.approx(num / den, abs=1e-12)
    assert expected_roc_auc(np.full(50, 0.07)) == pytest.approx(0.5)
    assert math.isnan(expected_roc_auc([0.3]))


def test_expected_default_rate_is_the_mean_pd_with_poisson_binomial_noise():
    p = np.array([0.02, 0.05, 0.2, 0.1])
    mean, sd = expected_default_rate(p)
    assert mean == pytest.approx(p.mean()) and sd == pytest.approx(math.sqrt((p * (1 - p)).sum()) / 4)


def test_bad_pds_are_refused():
    with pytest.raises(ValueError, match="probabilities"):
        expected_roc_auc([0.2, 1.3])
    with pytest.raises(ValueError, match="missing"):
        expected_roc_auc([0.2, float("nan")])
