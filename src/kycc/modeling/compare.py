"""Champion / challenger on the same rows: paired DeLong test of two ROC-AUCs and the promotion rule.

Two models scored on the **same** labelled rows have correlated AUCs; DeLong, DeLong & Clarke-Pearson (1988)
give the covariance from the structural components: for model ``k``, ``V10_k[i]`` (each default ``i``) and
``V01_k[j]`` (each non-default ``j``), ``S10 = cov(V10)``, ``S01 = cov(V01)``;
``var(AUC_c − AUC_p) = (S10_cc + S10_pp − 2 S10_cp) / m + (S01_cc + S01_pp − 2 S01_cp) / n``
(m defaults, n non-defaults). ``z = diff / se``; the CI is ``diff ± z_(1+level)/2 · se``. The single-model
AUCs and their CIs come from :func:`kycc.monitoring.backtest.auc_delong` (the monitoring's DeLong).

:func:`decide_promotion` applies ``training.promotion``:

* ``paired_delong`` (default): promote when the candidate's AUC is higher by more than ``min_gain`` and the
  one-sided paired p-value (H0: candidate <= champion) is below ``alpha``;
* ``min_gain``: promote when the lower bound of the ``confidence`` CI of the difference exceeds ``min_gain``;
* ``own_oot``: the former rule (each version's own recorded OOT value, measured on different months) —
  kept for comparison only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from kycc.monitoring.backtest import auc_delong

__all__ = ["PROMOTION_METHODS", "PromotionSettings", "decide_promotion", "paired_auc_delong"]

PROMOTION_METHODS = ("paired_delong", "min_gain", "own_oot")


@dataclass(frozen=True)
class PromotionSettings:
    """``training.promotion`` parameters."""

    method: str = "paired_delong"
    alpha: float = 0.05
    min_gain: float = 0.0
    confidence: float = 0.95
    min_defaults: int = 10

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> PromotionSettings:
        params = dict(params or {})
        unknown = set(params) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"Unknown keys in training.promotion: {sorted(unknown)}; allowed: {sorted(cls.__dataclass_fields__)}"
            )
        settings = cls(**params)
        if settings.method not in PROMOTION_METHODS:
            raise ValueError(
                f"training.promotion.method must be one of {list(PROMOTION_METHODS)}, got {settings.method!r}"
            )
        for name in ("alpha", "confidence"):
            value = getattr(settings, name)
            if not 0 < float(value) < 1:
                raise ValueError(f"training.promotion.{name} must be in (0, 1), got {value!r}")
        return settings


def _components(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components (midranks, ties count ½): V10 per default, V01 per non-default."""
    from scipy.stats import rankdata

    m, n = len(pos), len(neg)
    all_ranks = rankdata(np.concatenate([pos, neg]))
    v10 = (all_ranks[:m] - rankdata(pos)) / n
    v01 = 1.0 - (all_ranks[m:] - rankdata(neg)) / m
    return v10, v01


def paired_auc_delong(labels: Any, candidate: Any, champion: Any, level: float = 0.95) -> dict[str, float]:
    """Paired DeLong comparison of two risk scores (higher = riskier) on the same labelled rows.

    Returns:
        ``n_samples``, ``n_defaults``, ``candidate_auc``/``champion_auc`` with their own DeLong CIs
        (``*_lower``/``*_upper``), ``difference`` (candidate − champion), ``difference_se``,
        ``difference_lower``/``difference_upper`` (``level``), ``z``, ``p_value`` (two-sided) and
        ``p_value_greater`` (one-sided, H0: candidate <= champion). NaN when a class is missing.
    """
    from scipy.stats import norm

    y = np.asarray(labels).astype(int)
    a = np.asarray(candidate, dtype="float64")
    b = np.asarray(champion, dtype="float64")
    if not (y.shape == a.shape == b.shape):
        raise ValueError(f"labels and scores differ in length: {y.shape[0]}, {a.shape[0]}, {b.shape[0]}")
    own_a, own_b = auc_delong(y, a, level), auc_delong(y, b, level)
    out = {
        "n_samples": float(len(y)),
        "n_defaults": float(y.sum()),
        "candidate_auc": own_a["roc_auc"],
        "candidate_auc_lower": own_a["auc_lower"],
        "candidate_auc_upper": own_a["auc_upper"],
        "champion_auc": own_b["roc_auc"],
        "champion_auc_lower": own_b["auc_lower"],
        "champion_auc_upper": own_b["auc_upper"],
        "confidence": float(level),
    }
    m, n = int(y.sum()), int(len(y) - y.sum())
    nan_keys = ("difference", "difference_se", "difference_lower", "difference_upper", "z", "p_value")
    if m < 2 or n < 2:  # noqa: PLR2004 - a covariance needs two rows of each class
        return out | dict.fromkeys((*nan_keys, "p_value_greater"), math.nan)
    v10a, v01a = _components(a[y == 1], a[y == 0])
    v10b, v01b = _components(b[y == 1], b[y == 0])
    s10 = np.cov(np.vstack([v10a, v10b]))
    s01 = np.cov(np.vstack([v01a, v01b]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    diff = float(v10a.mean() - v10b.mean())
    se = float(math.sqrt(max(var, 0.0)))
    zq = float(norm.ppf((1 + level) / 2))
    if se == 0.0:  # identical rankings: no evidence either way
        z, p_two, p_greater = 0.0 if diff == 0 else math.copysign(math.inf, diff), 1.0, 0.5
        if diff != 0:
            p_two, p_greater = 0.0, 0.0 if diff > 0 else 1.0
    else:
        z = diff / se
        p_two = float(2 * norm.sf(abs(z)))
        p_greater = float(norm.sf(z))
    return out | {
        "difference": diff,
        "difference_se": se,
        "difference_lower": diff - zq * se,
        "difference_upper": diff + zq * se,
        "z": float(z),
        "p_value": p_two,
        "p_value_greater": p_greater,
    }


def decide_promotion(comparison: dict[str, float], settings: PromotionSettings) -> tuple[bool, str]:
    """Whether the candidate beats the champion on the compared rows, and the reason in words."""
    n, d = int(comparison["n_samples"]), int(comparison["n_defaults"])
    diff = comparison.get("difference", math.nan)
    if d < settings.min_defaults or n - d < settings.min_defaults:
        return False, (
            f"too few rows of each class to compare ({d} defaults, {n - d} non-defaults < "
            f"training.promotion.min_defaults = {settings.min_defaults})"
        )
    if diff is None or not np.isfinite(diff):
        return False, "the AUC difference is undefined on the compared rows"
    text = (
        f"same rows (n {n}, {d} defaults): candidate AUC {comparison['candidate_auc']:.4f} vs champion "
        f"{comparison['champion_auc']:.4f}, difference {diff:+.4f} "
        f"[{comparison['difference_lower']:+.4f}, {comparison['difference_upper']:+.4f}] "
        f"({comparison['confidence']:.0%}), paired DeLong p (one-sided) {comparison['p_value_greater']:.3g}"
    )
    if settings.method == "min_gain":
        ok = comparison["difference_lower"] > settings.min_gain
        rule = f"lower bound {'>' if ok else '<='} min_gain {settings.min_gain}"
    else:
        ok = diff > settings.min_gain and comparison["p_value_greater"] < settings.alpha
        rule = (
            f"p {'<' if comparison['p_value_greater'] < settings.alpha else '>='} alpha {settings.alpha}"
            f", gain {'>' if diff > settings.min_gain else '<='} min_gain {settings.min_gain}"
        )
    return bool(ok), f"{text}: {rule}"
