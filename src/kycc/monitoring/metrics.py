"""Performance and prediction-drift statistics of one monitored cohort.

Performance reuses training's metric definitions (:func:`kycc.modeling.metrics.classification_metrics`), so a
monitored month and the model's OOT baseline are measured the same way, and adds the confusion matrix.
Undefined values (ROC-AUC of a cohort with a single class) are NaN, never an exception.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import ks_2samp
from sklearn.metrics import confusion_matrix

from kycc.modeling.metrics import classification_metrics

__all__ = ["PERFORMANCE_METRICS", "performance_metrics", "prediction_drift"]

#: The metrics reported per model and month (and compared with the thresholds of the action rules).
PERFORMANCE_METRICS = ("roc_auc", "gini", "ks", "accuracy", "precision", "recall", "f1", "brier")


def performance_metrics(y_true: Any, proba: Any, threshold: float) -> dict[str, float]:
    """Ranking, decision and calibration metrics at ``threshold``, the confusion matrix and counts.

    Args:
        y_true: Observed labels (1 = default).
        proba: Predicted probabilities of default.
        threshold: PD at or above which the model says "default" (the model's own threshold).

    Returns:
        ``roc_auc, gini, ks, accuracy, precision, recall, f1, brier, n_samples, n_defaults, default_rate,
        mean_pd, predicted_default_rate, threshold, tn, fp, fn, tp``.
    """
    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype="float64")
    if y.shape != p.shape:
        raise ValueError(f"labels and probabilities differ in length: {y.shape[0]} vs {p.shape[0]}")
    if not np.isfinite(threshold) or not 0 < threshold < 1:
        raise ValueError(f"threshold must be a probability in (0, 1), got {threshold!r}")
    if not set(np.unique(y)) <= {0, 1}:
        raise ValueError("labels must be 0/1 (1 = default)")
    base = classification_metrics(y, p, threshold)
    out = {k: base[k] for k in (*PERFORMANCE_METRICS, "n_samples", "n_defaults", "default_rate", "mean_pd")}
    out["predicted_default_rate"] = base["predicted_default_rate"]
    out["threshold"] = float(threshold)
    if len(y):
        tn, fp, fn, tp = confusion_matrix(y, (p >= threshold).astype(int), labels=[0, 1]).ravel()
    else:
        tn = fp = fn = tp = 0
    out.update(tn=float(tn), fp=float(fp), fn=float(fn), tp=float(tp))
    return out


def prediction_drift(reference: Any, current: Any, threshold: float | None = None) -> dict[str, float]:
    """How the predicted PDs moved from the reference: means, spread, quantiles and the two-sample KS.

    Returns:
        ``pd_mean_reference``, ``pd_mean``, ``pd_mean_shift`` (current − reference), ``pd_std_reference``,
        ``pd_std``, ``pd_p10``/``pd_p50``/``pd_p90``, ``pd_ks`` (max gap between the two CDFs, 0..1) and its
        ``pd_ks_pvalue``; with a threshold also the predicted default rates and their shift.
    """
    ref = np.asarray(reference, dtype="float64")
    cur = np.asarray(current, dtype="float64")
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    nan = math.nan
    out = {
        "pd_mean_reference": float(ref.mean()) if ref.size else nan,
        "pd_mean": float(cur.mean()) if cur.size else nan,
        "pd_std_reference": float(ref.std()) if ref.size else nan,
        "pd_std": float(cur.std()) if cur.size else nan,
    }
    out["pd_mean_shift"] = out["pd_mean"] - out["pd_mean_reference"]
    for q in (10, 50, 90):
        out[f"pd_p{q}"] = float(np.percentile(cur, q)) if cur.size else nan
    if ref.size and cur.size:
        result = ks_2samp(ref, cur)
        out["pd_ks"], out["pd_ks_pvalue"] = float(result.statistic), float(result.pvalue)
    else:
        out["pd_ks"] = out["pd_ks_pvalue"] = nan
    if threshold is not None:
        out["predicted_default_rate_reference"] = float((ref >= threshold).mean()) if ref.size else nan
        out["predicted_default_rate_now"] = float((cur >= threshold).mean()) if cur.size else nan
        out["predicted_default_rate_shift"] = (
            out["predicted_default_rate_now"] - out["predicted_default_rate_reference"]
        )
    return out
