"""CBPE-style expected ROC-AUC and default rate, against Monte-Carlo labels drawn from the PDs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from kycc.monitoring.estimated import (
    PdCalibrator,
    expected_default_rate,
    expected_pair_sums,
    expected_roc_auc,
)


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


def test_a_calibrator_fitted_on_the_reference_repairs_compressed_pds():
    """Raw PDs squeezed towards the mean (as a regularised or class-weighted fit gives) understate the expected
    AUC; the isotonic calibrator fitted on a labelled reference (never on the judged sample) repairs it."""
    rng = np.random.default_rng(5)

    def sample(n):
        true = 1 / (1 + np.exp(-(-1.8 + 1.3 * rng.normal(size=n))))
        raw = 0.5 * true + 0.5 * true.mean()  # same ranking, compressed PDs
        return true, raw, (rng.random(n) < true).astype(int)

    _, raw_ref, y_ref = sample(3000)
    calibrator = PdCalibrator(raw_ref, y_ref, "reference")
    assert calibrator.fitted and calibrator.description.startswith("isotonic on reference (3000 loans, ")
    errors_raw, errors_cal = [], []
    for _ in range(20):
        _, raw, y = sample(500)
        realized = roc_auc_score(y, raw)
        errors_raw.append(realized - expected_roc_auc(raw))
        errors_cal.append(realized - expected_roc_auc(calibrator(raw), raw))
    assert np.mean(errors_raw) > 0.04  # the raw estimate is biased low
    assert abs(np.mean(errors_cal)) < 0.015 < np.mean(np.abs(errors_raw))
    assert np.mean(np.abs(errors_cal)) < np.mean(np.abs(errors_raw)) / 2


def test_a_reference_with_too_few_defaults_gives_the_raw_pds():
    p = np.linspace(0.01, 0.2, 200)
    y = np.zeros(200, dtype=int)
    y[:5] = 1
    calibrator = PdCalibrator(p, y, "tiny reference")
    assert not calibrator.fitted and "too few defaults" in calibrator.description
    np.testing.assert_array_equal(calibrator(p), p)
    with pytest.raises(ValueError, match="3 PDs but 2 labels"):
        PdCalibrator([0.1, 0.2, 0.3], [0, 1], "bad")
