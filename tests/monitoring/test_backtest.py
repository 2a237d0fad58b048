"""Backtest math: Jeffreys interval/test against scipy's Beta, DeLong against a brute-force bootstrap, rank order."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta
from sklearn.metrics import roc_auc_score

from kycc.monitoring.backtest import (
    auc_delong,
    band_test,
    bootstrap_auc_ci,
    jeffreys_interval,
    jeffreys_pvalue,
    rank_order,
)


def test_jeffreys_interval_is_the_beta_half_half_posterior_quantiles():
    lower, upper = jeffreys_interval(12, 400, 0.95)
    assert lower == pytest.approx(beta.ppf(0.025, 12.5, 388.5), abs=1e-12)
    assert upper == pytest.approx(beta.ppf(0.975, 12.5, 388.5), abs=1e-12)
    assert lower < 12 / 400 < upper
    # boundary conventions: no default -> lower 0; all default -> upper 1; no rows -> undefined
    assert jeffreys_interval(0, 50)[0] == 0.0 and jeffreys_interval(50, 50)[1] == 1.0
    assert all(math.isnan(v) for v in jeffreys_interval(0, 0))


def test_jeffreys_pvalue_is_the_posterior_mass_below_the_pd():
    assert jeffreys_pvalue(30, 400, 0.05) == pytest.approx(beta.cdf(0.05, 30.5, 370.5), abs=1e-12)
    # 30 defaults of 400 (7.5 %) against a PD of 2 %: the PD is far too low
    test = band_test(30, 400, 0.02, alpha=0.05)
    assert test["jeffreys_pvalue"] < 1e-6 and test["verdict"] == "pd too low"
    assert test["binomial_pvalue"] < 1e-6
    assert band_test(2, 400, 0.08)["verdict"] == "pd too high"
    assert band_test(20, 400, 0.05)["verdict"] == "consistent"
    assert band_test(0, 0, 0.05)["verdict"] == "no data"


def test_band_test_refuses_impossible_counts():
    with pytest.raises(ValueError, match="defaults must be in 0..n"):
        band_test(5, 3, 0.1)
    with pytest.raises(ValueError, match="PD must be in"):
        jeffreys_pvalue(1, 10, 1.5)


def test_rank_order_names_each_inversion_and_skips_empty_bands():
    assert rank_order(["A", "B", "C"], [0.01, 0.03, 0.08]) == {
        "monotone": True,
        "inversions": [],
        "ok": {"A": True, "B": True, "C": True},
    }
    out = rank_order(["A", "B", "C", "D", "E"], [0.01, 0.06, 0.04, float("nan"), 0.03])
    assert not out["monotone"]
    assert out["inversions"] == ["B>C", "C>E"]  # D empty: E is compared with C
    assert out["ok"] == {"A": True, "B": True, "C": False, "D": True, "E": False}


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(7)
    n = 600
    risk = rng.normal(size=n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 1.2 * risk)))).astype(int)
    return labels, np.round(risk, 1)  # rounding makes ties, which DeLong's midranks must handle


def test_delong_auc_equals_sklearn_and_its_se_matches_a_brute_force_bootstrap(sample):
    labels, risk = sample
    out = auc_delong(labels, risk)
    assert out["roc_auc"] == pytest.approx(roc_auc_score(labels, risk), abs=1e-12)
    assert out["gini"] == pytest.approx(2 * out["roc_auc"] - 1)
    boot = bootstrap_auc_ci(labels, risk, n_boot=2000, seed=3)
    assert boot["roc_auc"] == pytest.approx(out["roc_auc"], abs=1e-12)
    assert out["auc_se"] == pytest.approx(boot["auc_se"], rel=0.1)
    assert out["auc_lower"] == pytest.approx(boot["auc_lower"], abs=0.01)
    assert out["auc_upper"] == pytest.approx(boot["auc_upper"], abs=0.01)
    assert out["auc_lower"] < out["roc_auc"] < out["auc_upper"]


def test_delong_structural_components_match_the_pairwise_definition():
    labels = np.array([1, 1, 0, 0, 0, 1, 0])
    risk = np.array([0.9, 0.4, 0.4, 0.1, 0.3, 0.7, 0.8])
    pos, neg = risk[labels == 1], risk[labels == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    var = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    out = auc_delong(labels, risk)
    assert out["roc_auc"] == pytest.approx(psi.mean())
    assert out["auc_se"] == pytest.approx(math.sqrt(var), abs=1e-12)


def test_delong_single_class_is_undefined_not_an_error():
    out = auc_delong([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(out["roc_auc"]) and math.isnan(out["auc_lower"]) and out["n_defaults"] == 0
    with pytest.raises(ValueError, match="labels must be 0/1"):
        auc_delong([0, 2], [0.1, 0.2])
