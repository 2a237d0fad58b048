"""Performance and prediction-drift statistics of one monitored cohort.

Performance reuses training's metric definitions (:func:`kycc.modeling.metrics.classification_metrics`), so a
monitored month and the model's OOT baseline are measured the same way, and adds the confusion matrix.
Undefined values (ROC-AUC of a cohort with a single class) are NaN, never an exception.

Uncertainty of a monitored month (:func:`metric_intervals`): ROC-AUC with DeLong's interval
(:func:`kycc.monitoring.backtest.auc_delong`); accuracy, precision and recall are proportions of the confusion
matrix with Jeffreys intervals (:func:`kycc.monitoring.backtest.jeffreys_interval`); F1 has no closed form, so a
seeded bootstrap resamples the confusion matrix (multinomial on its four cells, which is the row bootstrap of a
thresholded classifier).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kycc.modeling.metrics import classification_metrics
from kycc.monitoring.backtest import auc_delong, jeffreys_interval

__all__ = [
    "PERFORMANCE_METRICS",
    "confusion_intervals",
    "metric_intervals",
    "performance_metrics",
    "prediction_drift",
]

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
    from sklearn.metrics import confusion_matrix

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
    from scipy.stats import ks_2samp

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


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)


def confusion_intervals(
    tn: float, fp: float, fn: float, tp: float, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Intervals of the thresholded metrics from the confusion matrix of one cohort.

    Returns:
        ``{metric: {value, lower, upper, n, events, method}}`` for ``accuracy`` (Jeffreys, n = all loans),
        ``precision`` (Jeffreys, n = predicted defaults), ``recall`` (Jeffreys, n = observed defaults) and
        ``f1`` (seeded multinomial bootstrap of the four cells, percentile interval). NaN bounds when n = 0.
    """
    cells = [int(round(float(c))) for c in (tn, fp, fn, tp)]
    if any(c < 0 for c in cells):
        raise ValueError(f"confusion matrix counts must be >= 0, got tn/fp/fn/tp = {cells}")
    tn_, fp_, fn_, tp_ = cells
    n = sum(cells)
    out: dict[str, dict[str, Any]] = {}
    for metric, events, total in (
        ("accuracy", tn_ + tp_, n),
        ("precision", tp_, tp_ + fp_),
        ("recall", tp_, tp_ + fn_),
    ):
        lower, upper = jeffreys_interval(events, total, level) if total else (math.nan, math.nan)
        out[metric] = {
            "value": events / total if total else math.nan,
            "lower": lower,
            "upper": upper,
            "n": total,
            "events": events,
            "method": f"Jeffreys {level:.0%}",
        }
    value = float(_f1(np.array(tp_), np.array(fp_), np.array(fn_)))
    if n:
        draws = np.random.default_rng(seed).multinomial(n, np.array(cells) / n, size=int(n_boot))
        boot = _f1(draws[:, 3], draws[:, 1], draws[:, 2])
        tail = (1 - level) / 2 * 100
        lower, upper = float(np.percentile(boot, tail)), float(np.percentile(boot, 100 - tail))
    else:
        lower = upper = math.nan
    out["f1"] = {
        "value": value if n else math.nan,
        "lower": lower,
        "upper": upper,
        "n": n,
        "events": tp_,
        "method": f"bootstrap {level:.0%} ({int(n_boot)} draws, seed {seed})",
    }
    return out


def metric_intervals(
    y_true: Any, proba: Any, threshold: float, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """:func:`confusion_intervals` at ``threshold`` plus ``roc_auc`` with DeLong's interval, from one cohort.

    ``roc_auc``'s ``n`` is the number of loans and ``events`` the defaults (NaN bounds with a single class).
    """
    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype="float64")
    if y.shape != p.shape:
        raise ValueError(f"labels and probabilities differ in length: {y.shape[0]} vs {p.shape[0]}")
    predicted = p >= threshold
    tp = int((predicted & (y == 1)).sum())
    fp = int((predicted & (y == 0)).sum())
    fn = int((~predicted & (y == 1)).sum())
    tn = int((~predicted & (y == 0)).sum())
    out = confusion_intervals(tn, fp, fn, tp, level=level, n_boot=n_boot, seed=seed)
    auc = auc_delong(y, p, level)
    out["roc_auc"] = {
        "value": auc["roc_auc"],
        "lower": auc["auc_lower"],
        "upper": auc["auc_upper"],
        "se": auc["auc_se"],
        "n": int(len(y)),
        "events": int(auc["n_defaults"]),
        "method": f"DeLong {level:.0%}",
    }
    return out
