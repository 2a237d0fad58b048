"""Backtest of a scorecard on matured cohorts: per band observed vs predicted default rate, rank order, AUC.

Pure functions (no I/O), used by the monitoring pipeline's ``backtest_scorecard`` node.

* **Jeffreys interval and test** (the ECB/TRIM PD back-test): with ``d`` defaults in ``n`` applications the
  Jeffreys posterior of the default rate is ``Beta(d + 1/2, n - d + 1/2)``. The interval is its
  ``(1-level)/2`` and ``(1+level)/2`` quantiles; the one-sided p-value of "the predicted PD is not too low" is
  ``P(rate <= PD) = BetaCDF(PD; d + 1/2, n - d + 1/2)`` — small when more defaults came than the PD predicts.
  The two-sided p-value is ``2 · min(p, 1 − p)``; the exact binomial two-sided p-value is reported beside it.
* **Rank order**: the observed default rate must not fall from a better band to a worse one (bands listed best
  first, empty bands skipped); each inversion is named (``B>C``: band B defaulted more than the worse C).
* **ROC-AUC with DeLong's confidence interval** (DeLong, DeLong & Clarke-Pearson 1988): AUC = P(risk score of a
  default > that of a non-default) + ½ P(tie); its variance from the structural components
  ``V10_i = mean_j ψ(x_i, y_j)``, ``V01_j = mean_i ψ(x_i, y_j)``:
  ``var = s²(V10)/m + s²(V01)/n`` (m defaults, n non-defaults). CI = AUC ± z·sqrt(var), clipped to [0, 1];
  Gini = 2·AUC − 1 (and its CI). A seeded bootstrap (:func:`bootstrap_auc_ci`) is the cross-check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "auc_delong",
    "band_test",
    "bootstrap_auc_ci",
    "jeffreys_interval",
    "jeffreys_pvalue",
    "rank_order",
]


def _counts(defaults: int, n: int) -> tuple[int, int]:
    d, n = int(defaults), int(n)
    if n < 0 or d < 0 or d > n:
        raise ValueError(f"defaults must be in 0..n, got {d} defaults of {n}")
    return d, n


def jeffreys_interval(defaults: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Jeffreys interval of a default rate: quantiles of ``Beta(d + 1/2, n − d + 1/2)`` (NaN when ``n = 0``).

    The lower bound is 0 when ``d = 0`` and the upper bound 1 when ``d = n`` (Brown, Cai & DasGupta 2001).
    """
    from scipy.stats import beta

    d, n = _counts(defaults, n)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if n == 0:
        return math.nan, math.nan
    a, b = d + 0.5, n - d + 0.5
    lower = 0.0 if d == 0 else float(beta.ppf((1 - level) / 2, a, b))
    upper = 1.0 if d == n else float(beta.ppf((1 + level) / 2, a, b))
    return lower, upper


def jeffreys_pvalue(defaults: int, n: int, pd_value: float) -> float:
    """One-sided Jeffreys p-value ``P(rate <= PD | data) = BetaCDF(PD; d + 1/2, n − d + 1/2)``.

    Small (< alpha) means more defaults than the PD predicts: the PD is too low. NaN when ``n = 0`` or no PD.
    """
    from scipy.stats import beta

    d, n = _counts(defaults, n)
    if n == 0 or pd_value is None or not np.isfinite(pd_value):
        return math.nan
    if not 0 <= pd_value <= 1:
        raise ValueError(f"the predicted PD must be in [0, 1], got {pd_value!r}")
    return float(beta.cdf(pd_value, d + 0.5, n - d + 0.5))


def band_test(
    defaults: int, n: int, pd_value: float, alpha: float = 0.05, level: float = 0.95
) -> dict[str, Any]:
    """Observed vs predicted default rate of one band.

    Returns:
        ``observed_default_rate``, ``jeffreys_lower``/``jeffreys_upper``, ``jeffreys_pvalue`` (one-sided: PD too
        low), ``jeffreys_pvalue_two_sided``, ``binomial_pvalue`` (exact, two-sided) and ``verdict``: ``pd too
        low`` / ``pd too high`` (two-sided Jeffreys p < alpha, by the side), ``consistent``, or ``no data``.
    """
    from scipy.stats import binomtest

    d, n = _counts(defaults, n)
    lower, upper = jeffreys_interval(d, n, level)
    has_pd = pd_value is not None and np.isfinite(pd_value)
    p_low = jeffreys_pvalue(d, n, pd_value) if has_pd else math.nan
    two_sided = min(1.0, 2 * min(p_low, 1 - p_low)) if np.isfinite(p_low) else math.nan
    binomial = (
        float(binomtest(d, n, float(pd_value)).pvalue) if n and has_pd and 0 < pd_value < 1 else math.nan
    )
    if n == 0 or not has_pd:
        verdict = "no data" if n == 0 else "no pd"
    elif two_sided < alpha:
        verdict = "pd too low" if p_low < 0.5 else "pd too high"
    else:
        verdict = "consistent"
    return {
        "observed_default_rate": d / n if n else math.nan,
        "jeffreys_lower": lower,
        "jeffreys_upper": upper,
        "jeffreys_pvalue": p_low,
        "jeffreys_pvalue_two_sided": two_sided,
        "binomial_pvalue": binomial,
        "verdict": verdict,
    }


def rank_order(bands: Sequence[str], rates: Sequence[float]) -> dict[str, Any]:
    """Is the default rate monotone (non-decreasing) from the best band to the worst?

    Args:
        bands: Band names, best first.
        rates: Observed default rate per band (NaN = empty band, skipped).

    Returns:
        ``{"monotone": bool, "inversions": ["B>C", …], "ok": {band: bool}}`` — ``ok[band]`` is False when the
        band defaulted less than the nearest better non-empty band.
    """
    if len(bands) != len(rates):
        raise ValueError(f"{len(bands)} bands but {len(rates)} rates")
    inversions, ok = [], {}
    previous: tuple[str, float] | None = None
    for band, rate in zip(bands, rates, strict=True):
        if rate is None or not np.isfinite(rate):
            ok[band] = True
            continue
        good = previous is None or rate >= previous[1]
        if not good:
            inversions.append(f"{previous[0]}>{band}")
        ok[band] = good
        previous = (band, float(rate))
    return {"monotone": not inversions, "inversions": inversions, "ok": ok}


def _split(labels: Any, risk: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(int)
    r = np.asarray(risk, dtype="float64")
    if y.shape != r.shape:
        raise ValueError(f"labels and scores differ in length: {y.shape[0]} vs {r.shape[0]}")
    if not set(np.unique(y)) <= {0, 1}:
        raise ValueError("labels must be 0/1 (1 = default)")
    return r[y == 1], r[y == 0]


def auc_delong(labels: Any, risk: Any, level: float = 0.95) -> dict[str, float]:
    """ROC-AUC of ``risk`` (higher = riskier) with DeLong's standard error and confidence interval.

    Returns:
        ``roc_auc``, ``auc_se``, ``auc_lower``, ``auc_upper``, ``gini``, ``gini_lower``, ``gini_upper``,
        ``n_defaults``, ``n_non_defaults`` (NaN metrics when a class is missing).
    """
    from scipy.stats import norm, rankdata

    pos, neg = _split(labels, risk)
    m, n = len(pos), len(neg)
    out = {"n_defaults": float(m), "n_non_defaults": float(n)}
    if m == 0 or n == 0:
        nan = math.nan
        return out | dict.fromkeys(
            ("roc_auc", "auc_se", "auc_lower", "auc_upper", "gini", "gini_lower", "gini_upper"), nan
        )
    # midranks: V10_i = (rank of pos_i among all − rank among positives) / n; V01_j likewise (Sun & Xu 2014)
    all_ranks = rankdata(np.concatenate([pos, neg]))
    v10 = (all_ranks[:m] - rankdata(pos)) / n
    v01 = 1.0 - (all_ranks[m:] - rankdata(neg)) / m
    auc = float(v10.mean())
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    se = float(math.sqrt(max(var, 0.0)))
    z = float(norm.ppf((1 + level) / 2))
    lower, upper = max(0.0, auc - z * se), min(1.0, auc + z * se)
    return out | {
        "roc_auc": auc,
        "auc_se": se,
        "auc_lower": lower,
        "auc_upper": upper,
        "gini": 2 * auc - 1,
        "gini_lower": 2 * lower - 1,
        "gini_upper": 2 * upper - 1,
    }


def bootstrap_auc_ci(
    labels: Any, risk: Any, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Seeded stratified bootstrap of the ROC-AUC: ``{roc_auc, auc_se, auc_lower, auc_upper}`` (percentiles)."""
    from scipy.stats import rankdata

    pos, neg = _split(labels, risk)
    if len(pos) == 0 or len(neg) == 0:
        return {"roc_auc": math.nan, "auc_se": math.nan, "auc_lower": math.nan, "auc_upper": math.nan}
    rng = np.random.default_rng(seed)

    def auc(p: np.ndarray, q: np.ndarray) -> float:
        ranks = rankdata(np.concatenate([p, q]))
        return float((ranks[: len(p)].sum() - len(p) * (len(p) + 1) / 2) / (len(p) * len(q)))

    draws = np.array([auc(rng.choice(pos, len(pos)), rng.choice(neg, len(neg))) for _ in range(int(n_boot))])
    tail = (1 - level) / 2 * 100
    return {
        "roc_auc": auc(pos, neg),
        "auc_se": float(draws.std(ddof=1)),
        "auc_lower": float(np.percentile(draws, tail)),
        "auc_upper": float(np.percentile(draws, 100 - tail)),
    }
